"""The PostgreSQL store at 100k and 1M synthetic passages: pgvector HNSW against exact search.

The same synthetic vectors as the FAISS rows (``bench.scale.SyntheticCorpus``), loaded with COPY into a
table shaped like the store's and indexed as the store indexes them (HNSW, cosine, pgvector's defaults
m=16 and ef_construction=64, searched with ef_search=128). Recall@10 is against the exact top 10
computed in NumPy. The server is a throwaway pgserver PostgreSQL on a Unix socket, deleted afterwards;
``--pg-dsn`` points the section at another one instead.
"""

from __future__ import annotations

import gc
import tempfile

import numpy as np

from assistant.pg_store import HNSW_EF_SEARCH, connect
from bench.scale import QUERIES, K, SyntheticCorpus, recall_at_k
from bench.stats import Timer, summary


def _exact(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    truth = np.empty((len(queries), K), dtype=np.int64)
    for start in range(0, len(queries), 20):
        scores = queries[start : start + 20] @ vectors.T
        truth[start : start + 20] = np.argsort(-scores, axis=1)[:, :K]
    return truth


def bench_pg_vectors(reference: np.ndarray, sizes: list[int], log=print, dsn: str | None = None) -> list[dict]:
    """Per size: COPY and HNSW build time, database size, search p50/p95 and recall@10 against exact."""
    server = None
    if dsn is None:
        import pgserver

        server = pgserver.get_server(tempfile.mkdtemp(prefix="bron-bench-pg-"), cleanup_mode="delete")
        dsn = server.get_uri()
    corpus = SyntheticCorpus(reference)
    rows = []
    conn = connect(dsn, create_extension=True)  # a fresh database: the bench writes, like 'bron index'
    try:
        conn.execute("SET maintenance_work_mem = '3GB'")  # the graph fits in memory: a build of minutes, not hours
        conn.execute(f"SET hnsw.ef_search = {HNSW_EF_SEARCH}")
        for n in sizes:
            vectors, centres = corpus.vectors(n)
            queries = corpus.queries(centres, QUERIES)
            table = f"bench_vectors_{n}"
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} (row integer PRIMARY KEY, embedding vector({vectors.shape[1]}))")
            with Timer() as load:
                with conn.cursor().copy(f"COPY {table} (row, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                    copy.set_types(["int4", "vector"])
                    for i, vector in enumerate(vectors):
                        copy.write_row((i, vector))
            with Timer() as build:
                conn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_cosine_ops)")
            size = conn.execute(f"SELECT pg_total_relation_size('{table}')").fetchone()[0]
            seconds, found = [], np.full((len(queries), K), -1, dtype=np.int64)
            for i, q in enumerate(queries):
                with Timer() as t:
                    ids = conn.execute(
                        f"SELECT row FROM {table} ORDER BY embedding <=> %s LIMIT {K}", (q.astype(np.float32),)
                    ).fetchall()
                seconds.append(t.seconds)
                found[i, : len(ids)] = [r for (r,) in ids]
            row = {
                "passages": n,
                "index": "pgvector-hnsw-cosine",
                "copy_s": load.seconds,
                "build_s": build.seconds,
                "search_ms": {k: v * 1000 if k != "n" else v for k, v in summary(seconds).items()},
                "recall_at_10": recall_at_k(found, _exact(vectors, queries)),
                "database_mb": size / 2**20,
            }
            log(
                f"  {n:>9,} pgvector HNSW  copy {load.seconds:6.1f} s  build {build.seconds:7.1f} s  "
                f"p50 {row['search_ms']['p50']:6.2f} ms  p95 {row['search_ms']['p95']:6.2f} ms  "
                f"recall@10 {row['recall_at_10']:.3f}  {row['database_mb']:7.0f} MB"
            )
            rows.append(row)
            conn.execute(f"DROP TABLE {table}")
            del vectors
            gc.collect()
    finally:
        conn.close()
        if server is not None:
            server.cleanup()
    return rows
