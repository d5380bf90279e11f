"""Shared fixtures: fast fakes (from ``tests.fakes``) for unit tests, the real models for integration tests.

Nothing here writes to the user's cache or to index/: every path is a temp dir.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.fakes import CORPUS, KeywordEmbedder

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"


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
    return Assistant.open(real_settings, embedder=real_embedder)


@pytest.fixture
def corpus_copy(tmp_path):
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def pg_dsn(tmp_path_factory):
    """A PostgreSQL 16 with pgvector from the pgserver package on a Unix socket, deleted at the end (as root
    it runs as the unprivileged user pgserver, which it creates)."""
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()
