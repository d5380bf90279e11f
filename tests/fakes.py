"""Stand-ins for the models, for tests whose subject is not the model, and the helpers tests share.

``KeywordEmbedder`` gives texts with the same words the same direction, so retrieval and evidence
selection behave sensibly without e5; its cosines are lower than e5's, hence ``KEYWORD_THRESHOLDS``.
``ScriptedLLM`` streams a fixed draft, so the checks around the model can be tested on chosen text.
Everything is assembled through ``Assistant.open``, as in the product.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from bench.server import free_port  # noqa: F401  (one copy, shared with the benchmarks)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

# Grounding thresholds that fit the keyword embedder's cosines (e5's are higher and closer together).
KEYWORD_THRESHOLDS = {"min_relevance": 0.2, "min_evidence_relevance": 0.2, "min_support": 0.5}


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


def assistant_over(settings, embedder, llm=None):
    """The assistant over the index at ``settings``, with the given (stand-in or real) models."""
    from assistant.qa import Assistant

    return Assistant.open(settings, embedder=embedder, llm=llm)


def chat_over(settings, embedder, llm=None):
    """A ChatApp over the index at ``settings`` with stand-in models (for tests whose subject is the app)."""
    from assistant.chat.app import ChatApp

    return ChatApp(settings, open_assistant=lambda s: assistant_over(s, embedder, llm))
