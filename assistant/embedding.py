"""Text embedders behind one small interface.

The Q&A code only sees ``Embedder``; a server backend (an embeddings endpoint)
can be added as another class without touching it.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

import numpy as np

from assistant.errors import ModelError
from assistant.settings import Settings


class Embedder(Protocol):
    """Turns text into L2-normalised vectors; queries and passages are embedded differently."""

    name: str
    fingerprint: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """multilingual-e5-small (or any sentence-transformers folder) on the CPU."""

    def __init__(self, folder: str, name: str, fingerprint: str, batch_size: int = 16):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError("sentence-transformers is not installed; run 'make setup'") from exc
        transformers.logging.disable_progress_bar()
        transformers.logging.set_verbosity_error()
        self._model = SentenceTransformer(folder, device="cpu", local_files_only=True)
        self.name = name
        self.fingerprint = fingerprint
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ModelError(f"the embedder in {folder} does not say its vector size")
        self.dim = int(dim)
        self.batch_size = batch_size
        # torch modules are not documented as safe for concurrent calls.
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prompt_name: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                prompt_name=prompt_name,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")


class LazyEmbedder:
    """An embedder whose name, fingerprint and size are known at once and whose model loads on first use.

    Loading sentence-transformers takes seconds (imports, tokenizer); ``bron index``
    over an unchanged corpus only needs the identity to see that nothing is to do.
    """

    def __init__(self, settings: Settings):
        from assistant.model_files import E5_NAME, e5_dimension, e5_fingerprint, rebuild_e5

        _check_name(settings)
        self._settings = settings
        self.name = E5_NAME
        self.fingerprint = e5_fingerprint()
        self.dim = e5_dimension(rebuild_e5(settings.cache_dir))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return load_embedder(self._settings).embed_passages(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return load_embedder(self._settings).embed_queries(texts)


_CACHE: dict[tuple, Embedder] = {}
_CACHE_LOCK = threading.Lock()


def _check_name(settings: Settings) -> None:
    from assistant.model_files import E5_NAME

    if settings.embedder != E5_NAME:
        raise ModelError(f"unknown embedder '{settings.embedder}'; available: {E5_NAME}")


def load_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process."""
    from assistant.model_files import E5_NAME, e5_fingerprint, rebuild_e5

    _check_name(settings)
    key = (settings.embedder, str(settings.cache_dir), settings.embed_batch_size)
    with _CACHE_LOCK:
        if key not in _CACHE:
            folder = rebuild_e5(settings.cache_dir)
            _CACHE[key] = SentenceTransformerEmbedder(str(folder), E5_NAME, e5_fingerprint(), settings.embed_batch_size)
        return _CACHE[key]
