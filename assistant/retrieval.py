"""Find the passages that answer a question: dense, BM25, and their fusion.

Dense search (multilingual e5) lets an English question find Dutch passages;
BM25 over Dutch-stemmed words catches exact names and rare terms. Reciprocal
rank fusion merges the two rankings without having to calibrate their scores.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from assistant.embedding import Embedder
from assistant.store import SearchIndex
from assistant.types import Chunk, Hit


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("dutch")


def bm25_tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, Dutch-stemmed tokens without Dutch stop words."""
    import bm25s
    from bm25s.stopwords import STOPWORDS_DUTCH

    return bm25s.tokenize(
        texts, stopwords=list(STOPWORDS_DUTCH), stemmer=_stemmer(), return_ids=False, show_progress=False
    )


def build_bm25(chunks: list[Chunk]):
    """A BM25 index over passage text plus its section title."""
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25_tokenize([f"{c.section}. {c.text}" for c in chunks]), show_progress=False)
    return retriever


def search_dense(index: SearchIndex, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """(row, cosine) of the ``k`` passages nearest to the query vector."""
    return index.search_dense(query_vector, k)


def search_bm25(index: SearchIndex, question: str, k: int) -> list[tuple[int, float]]:
    """(row, score) of the best lexical matches (BM25 in a folder index); passages sharing no term are left out."""
    return index.search_lexical(question, k)


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids: score(id) = sum over lists of 1 / (k + rank), rank from 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def retrieve_hybrid(
    index: SearchIndex,
    embedder: Embedder,
    question: str,
    top_k: int,
    candidates: int,
    rrf_k: int = 60,
    mode: str = "hybrid",
    query_vector: np.ndarray | None = None,
    lexical_query: str | None = None,
) -> list[Hit]:
    """The ``top_k`` passages for a question by ``mode``: hybrid, dense or bm25.

    ``query_vector`` is the question's embedding when the caller already has it. ``lexical_query``
    is what BM25 searches for, by default the question; an empty one leaves BM25 out.
    """
    if query_vector is None:
        query_vector = embedder.embed_queries([question])[0]
    lexical = question if lexical_query is None else lexical_query
    dense = search_dense(index, query_vector, candidates) if mode in ("hybrid", "dense") else []
    sparse = search_bm25(index, lexical, candidates) if mode in ("hybrid", "bm25") and lexical.strip() else []
    fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in sparse]], k=rrf_k)
    dense_rank = {i: r for r, (i, _) in enumerate(dense, start=1)}
    sparse_score = dict(sparse)
    sparse_rank = {i: r for r, (i, _) in enumerate(sparse, start=1)}
    hits = []
    for row, score in fused[:top_k]:
        # Cosine for every hit (BM25-only ones too): the relevance gate and the UI need it.
        cosine = index.cosine(row, query_vector)
        hits.append(
            Hit(
                chunk=index.chunk(row),
                score=score,
                dense_score=cosine,
                bm25_score=sparse_score.get(row),
                dense_rank=dense_rank.get(row),
                bm25_rank=sparse_rank.get(row),
            )
        )
    return hits
