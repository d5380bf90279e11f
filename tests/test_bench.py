"""The benchmark suite's own logic on tiny inputs (its timings are not tested: they belong to bench/)."""

import numpy as np
import pytest

from bench.report import render_markdown
from bench.scale import SyntheticCorpus, bench_vectors, recall_at_k
from bench.stats import summary


def test_summary_gives_median_percentile_and_range():
    s = summary([3.0, 1.0, 2.0, 10.0])
    assert s["n"] == 4 and s["p50"] == 2.5 and s["min"] == 1.0 and s["max"] == 10.0
    assert 2.5 < s["p95"] <= 10.0
    assert summary([]) == {"n": 0}


def test_recall_counts_shared_neighbours():
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert recall_at_k(truth, truth) == 1.0
    assert recall_at_k(np.array([[1, 2, 9, 9], [5, 6, 7, 8]]), truth) == pytest.approx(0.75)


def test_synthetic_vectors_are_normalised_and_searchable():
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((40, 32)).astype(np.float32) + 3.0
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    vectors, centres = SyntheticCorpus(reference).vectors(2000)
    assert vectors.shape == (2000, 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    rows = bench_vectors(reference, [2000], log=lambda _: None)
    assert [r["index"] for r in rows] == ["faiss-flat-ip", "faiss-hnsw-ip"]
    assert rows[0]["recall_at_10"] == 1.0 and 0.5 < rows[1]["recall_at_10"] <= 1.0
    markdown = render_markdown(
        {
            "machine": {"name": "t", "cpu": "cpu", "cores": 2, "memory_gb": 1},
            "started": "2026-11-22T00:00:00",
            "versions": {},
            "settings": {"llm": "gemma3-270m", "n_threads": "1", "n_ctx": "4096"},
            "scale": {"auto_choice": {"exact_search_limit": 200000, "bundled_index": "faiss-flat-ip"}, "vectors": rows},
        }
    )
    assert "| 2,000 | faiss-hnsw-ip |" in markdown


def test_the_postgresql_scale_run_measures_recall_against_exact(pg_dsn):
    from bench.pg_scale import bench_pg_vectors

    rng = np.random.default_rng(0)
    reference = rng.standard_normal((40, 32)).astype(np.float32) + 3.0
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    (row,) = bench_pg_vectors(reference, [3000], log=lambda _: None, dsn=pg_dsn)
    assert row["passages"] == 3000 and 0.8 < row["recall_at_10"] <= 1.0 and row["database_mb"] > 0
    assert row["search_ms"]["n"] == 200
    markdown = render_markdown(
        {"machine": {"name": "t", "cpu": "cpu", "cores": 2, "memory_gb": 1}, "started": "2026-12-01T00:00:00",
         "versions": {}, "settings": {"llm": "gemma3-270m", "n_threads": "1", "n_ctx": "4096"}, "pg": [row]}
    )  # fmt: skip
    assert "| 3,000 |" in markdown and "PostgreSQL store" in markdown
