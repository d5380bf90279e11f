"""Shared fixtures: fast fakes for unit tests, the real models for integration tests.

Nothing here writes to the user's cache or to index/: every path is a temp dir.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


class KeywordEmbedder:
    """Bag of lower-cased words hashed into 4096 dims: same words, same direction."""

    name = "keyword-fake"
    fingerprint = "fake-1"
    dim = 4096

    def __init__(self):
        self.calls = 0
        self.embedded = 0

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    def _encode(self, texts):
        self.calls += 1
        self.embedded += len(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    embed_passages = _encode
    embed_queries = _encode


class ScriptedLLM:
    """Returns a fixed draft, streamed word by word; records the prompts it saw."""

    name = "scripted"
    fingerprint = "scripted-1"
    n_ctx = 8192

    def __init__(self, draft: str):
        self.draft = draft
        self.prompts: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, prompt, max_tokens, temperature, stop, cancel=None):
        self.prompts.append(prompt)
        yield from re.findall(r"\S+\s*", self.draft)


@pytest.fixture
def keyword_embedder():
    return KeywordEmbedder()


@pytest.fixture
def make_settings(tmp_path):
    """Settings whose cache and index live in the test's temp dir."""
    from assistant.settings import load_settings

    def make(**overrides):
        values = {"cache_dir": tmp_path / "cache", "index_dir": tmp_path / "index", "corpus_dir": CORPUS}
        values.update(overrides)
        return load_settings("test", **values)

    return make


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory):
    """A model cache for the whole session, prepared from the installed packages."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def real_settings(real_cache, tmp_path_factory):
    from assistant.settings import load_settings

    return load_settings("test", cache_dir=real_cache, index_dir=tmp_path_factory.mktemp("index"), corpus_dir=CORPUS)


@pytest.fixture(scope="session")
def real_embedder(real_settings):
    from assistant.embedding import load_embedder

    return load_embedder(real_settings)


@pytest.fixture(scope="session")
def real_assistant(real_settings, real_embedder):
    """The real embedder, index and test LLM over the bundled corpus."""
    from assistant.indexing import build_index
    from assistant.qa import Assistant

    build_index(real_settings, real_embedder)
    return Assistant.open(real_settings)


@pytest.fixture
def corpus_copy(tmp_path):
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


def free_port() -> int:
    """A free TCP port on loopback, for a server a test starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chat_over(settings, embedder, llm=None):
    """A ChatApp over the index at ``settings`` with stand-in models (for tests whose subject is the app)."""
    from assistant.chat import ChatApp
    from assistant.indexing import identity_for
    from assistant.qa import Assistant
    from assistant.store import load_index

    return ChatApp(
        settings,
        open_assistant=lambda s: Assistant(s, embedder, load_index(s.index_path, identity_for(s, embedder)), llm),
    )
