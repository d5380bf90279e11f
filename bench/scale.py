"""Retrieval at 10k, 100k and 1M passages: exact FAISS against HNSW, and BM25.

The vectors are synthetic: clusters drawn from a Gaussian with the mean and
covariance of the bundled corpus's real passage embeddings (plus a little
isotropic noise for the directions 94 passages do not span), normalised like the
real ones. Queries are fresh draws from the same clusters, searched one at a time
as a question is. Texts for BM25 are random sequences of the corpus's own words
with their real frequencies.
"""

from __future__ import annotations

import gc

import numpy as np
import psutil

from assistant.store import FLAT, HNSW, FaissStore
from bench.stats import Timer, summary

QUERIES = 200
K = 10
WORDS_PER_TEXT = 90  # about a 700-character passage


class SyntheticCorpus:
    """Clustered vectors shaped like real passage embeddings."""

    def __init__(self, reference: np.ndarray, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.mean = reference.mean(axis=0)
        centred = reference - self.mean
        # Draws mix the real residuals, so they vary the way real passages do.
        self.basis = centred / np.sqrt(len(reference))
        self.dim = reference.shape[1]

    def _draw(self, n: int, scale: float) -> np.ndarray:
        mixed = self.rng.standard_normal((n, len(self.basis)), dtype=np.float32) @ self.basis
        noise = self.rng.standard_normal((n, self.dim), dtype=np.float32) * 0.01
        return (scale * mixed + noise).astype(np.float32)

    def vectors(self, n: int, per_cluster: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """``n`` passage vectors and the cluster centres they were drawn around."""
        centres = self.mean + self._draw(max(1, n // per_cluster), 0.6)
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, 100_000):
            stop = min(n, start + 100_000)
            which = self.rng.integers(0, len(centres), stop - start)
            block = centres[which] + self._draw(stop - start, 1.0)
            out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out, centres

    def queries(self, centres: np.ndarray, n: int) -> np.ndarray:
        block = centres[self.rng.integers(0, len(centres), n)] + self._draw(n, 1.0)
        return block / np.linalg.norm(block, axis=1, keepdims=True)


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _search_all(store: FaissStore, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    seconds, found = [], np.full((len(queries), K), -1, dtype=np.int64)
    for i, q in enumerate(queries):
        with Timer() as t:
            ids, _ = store.search(q, K)
        seconds.append(t.seconds)
        found[i, : len(ids)] = ids
    return seconds, found


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the exact top-k that the approximate top-k contains, averaged over queries."""
    hits = [len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits))


def bench_vectors(reference: np.ndarray, sizes: list[int], log=print) -> list[dict]:
    """Build, search and size exact and HNSW indexes for each corpus size."""
    corpus = SyntheticCorpus(reference)
    rows = []
    for n in sizes:
        vectors, centres = corpus.vectors(n)
        queries = corpus.queries(centres, QUERIES)
        truth = None
        for kind in (FLAT, HNSW):
            gc.collect()
            before = _rss()
            with Timer() as build:
                store = FaissStore.build(vectors, kind)
            grown = _rss() - before
            seconds, found = _search_all(store, queries)
            if kind == FLAT:
                truth = found
            import faiss

            row = {
                "passages": n,
                "index": kind,
                "build_s": build.seconds,
                "search_ms": {k: v * 1000 if k != "n" else v for k, v in summary(seconds).items()},
                "recall_at_10": recall_at_k(found, truth),
                "index_mb": len(faiss.serialize_index(store._index)) / 2**20,
                "rss_growth_mb": grown / 2**20,
            }
            log(
                f"  {n:>9,} {kind:<14} build {build.seconds:7.1f} s  p50 {row['search_ms']['p50']:7.2f} ms  "
                f"p95 {row['search_ms']['p95']:7.2f} ms  recall@10 {row['recall_at_10']:.3f}  "
                f"{row['index_mb']:7.0f} MB"
            )
            rows.append(row)
            del store
        del vectors
        gc.collect()
    return rows


def bench_bm25(words: list[str], sizes: list[int], questions: list[str], log=print) -> list[dict]:
    """Build and query BM25 over synthetic texts made of the corpus's words."""
    from assistant.retrieval import bm25_tokenize

    rng = np.random.default_rng(1)
    vocabulary, counts = np.unique(np.asarray(words), return_counts=True)
    p = counts / counts.sum()
    rows = []
    for n in sizes:
        import bm25s

        texts = []
        for start in range(0, n, 100_000):
            drawn = rng.choice(len(vocabulary), size=(min(100_000, n - start), WORDS_PER_TEXT), p=p)
            texts += [" ".join(vocabulary[row]) for row in drawn]
        gc.collect()
        before = _rss()
        with Timer() as build:
            retriever = bm25s.BM25()
            retriever.index(bm25_tokenize(texts), show_progress=False)
        grown = _rss() - before
        del texts
        seconds = []
        for q in questions:
            with Timer() as t:
                retriever.retrieve(bm25_tokenize([q]), k=20, show_progress=False)
            seconds.append(t.seconds)
        arrays = [v for v in retriever.scores.values() if hasattr(v, "nbytes")]
        row = {
            "passages": n,
            "index": "bm25s",
            "build_s": build.seconds,
            "index_mb": sum(a.nbytes for a in arrays) / 2**20,
            "search_ms": {k: v * 1000 if k != "n" else v for k, v in summary(seconds).items()},
            "rss_growth_mb": grown / 2**20,
        }
        log(
            f"  {n:>9,} bm25s          build {build.seconds:7.1f} s  p50 {row['search_ms']['p50']:7.2f} ms  "
            f"p95 {row['search_ms']['p95']:7.2f} ms"
        )
        rows.append(row)
        del retriever
        gc.collect()
    return rows
