"""``python -m bench``: run the benchmark suite and write bench/results/<machine>-<date>.{json,md}."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import click

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SECTIONS = ("answers", "server", "indexing", "scale", "pg", "bm25", "memory")
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import psutil

    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())
    return {
        "name": f"{platform.node()}-{os.cpu_count()}cpu",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def versions() -> dict:
    from importlib.metadata import version

    packages = ("llama-cpp-python", "faiss-cpu", "sentence-transformers", "torch", "bm25s")
    return {p: version(p) for p in packages}


def questions(n: int) -> list[str]:
    from assistant.evaluation.evalset import load_cases

    return [c.question for c in load_cases() if c.answerable][:n]


@click.command()
@click.option("--only", multiple=True, type=click.Choice(SECTIONS), help="Run only these sections (repeatable).")
@click.option("--questions", "n_questions", default=24, show_default=True, help="Questions for the latency run.")
@click.option("--repeats", default=5, show_default=True, help="Repeats for thread, indexing and re-index runs.")
@click.option(
    "--sizes", default="10000,100000,1000000", show_default=True, help="Corpus sizes (passages) for the scale run."
)
@click.option("--bm25-sizes", default="10000,100000,1000000", show_default=True, help="Corpus sizes for BM25.")
@click.option("--pg-sizes", default="100000,1000000", show_default=True, help="Corpus sizes for the PostgreSQL store.")
@click.option("--pg-dsn", default=None, help="PostgreSQL with pgvector for the pg section (default: a throwaway one).")
@click.option("--out", type=click.Path(path_type=Path), default=RESULTS, show_default=True)
def main(only, n_questions, repeats, sizes, bm25_sizes, pg_sizes, pg_dsn, out):
    """Measure bron on this machine: latency against raw llama.cpp, prompt cost, threads, indexing, scale, memory."""
    from assistant.settings import load_settings
    from assistant.store import load_index, read_manifest
    from bench import answers, indexing, memory, scale, server
    from bench.report import render_markdown

    settings = load_settings()
    sections = only or SECTIONS
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    info = machine()
    results: dict = {
        "machine": info,
        "started": started,
        "versions": versions(),
        "settings": {k: str(v) for k, v in settings.model_dump().items()},
    }
    log = lambda text: click.echo(text, err=True)  # noqa: E731
    if "answers" in sections:
        log(f"answers: {n_questions} questions, product against raw llama-cpp-python")
        results["answers"], prompts = answers.bench_answers(settings, questions(n_questions + 1), log)
        log("prompt cost: cold against warm KV cache")
        results["prompt_cache"] = answers.bench_prompt_cache(settings, prompts[:10], log)
        log(f"threads: 1 against 2, {repeats} interleaved runs")
        longest = max(prompts, key=len)
        results["threads"] = answers.bench_threads(settings, longest, repeats, log)
    if "server" in sections:
        log(f"server: {n_questions} answers through llama_cpp.server on 127.0.0.1 against in-process")
        results["server"] = server.bench_server(settings, questions(n_questions + 1), log)
    if "indexing" in sections:
        log("indexing: bron index against sentence-transformers encode")
        results["indexing"] = indexing.bench_indexing(settings, repeats, log)
        log("re-index, nothing changed")
        results["reindex"] = indexing.bench_reindex(settings, repeats, log)
        log("update after one file is added")
        results["add_file"] = indexing.bench_add_file(settings, repeats, log)
        log("reading PDFs: pages per second")
        results["pdf"] = indexing.bench_pdf(settings, repeats, log)
    if "scale" in sections or "bm25" in sections or "pg" in sections:
        import numpy as np

        from assistant.embedding import LazyEmbedder
        from assistant.indexing import identity_for

        index = load_index(settings.index_path, identity_for(settings, LazyEmbedder(settings)))
    if "scale" in sections:
        log("scale: synthetic corpora, exact FAISS against HNSW")
        results["scale"] = {
            "auto_choice": {
                "exact_search_limit": settings.exact_search_limit,
                "bundled_index": read_manifest(settings.index_path).vector_store,
            },
            "vectors": scale.bench_vectors(np.asarray(index.vectors), [int(s) for s in sizes.split(",") if s], log),
        }
    if "pg" in sections:
        from bench.pg_scale import bench_pg_vectors

        log("scale: the PostgreSQL store (pgvector HNSW) on synthetic vectors")
        results["pg"] = bench_pg_vectors(
            np.asarray(index.vectors), [int(s) for s in pg_sizes.split(",") if s], log, pg_dsn
        )
    if "bm25" in sections:
        words = [w for c in index.chunks for w in c.text.split()]
        log("scale: BM25 on synthetic texts")
        results["bm25"] = scale.bench_bm25(words, [int(s) for s in bm25_sizes.split(",") if s], questions(50), log)
    if "memory" in sections:
        log("memory: peak RSS")
        results["memory"] = memory.bench_memory(log)
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{info['name']}-{time.strftime('%Y-%m-%d')}"
    if only and stem.with_suffix(".json").exists():
        # A partial run updates the sections it ran in today's results and keeps the others.
        earlier = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        results = {**earlier, **results}
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    stem.with_suffix(".md").write_text(render_markdown(results), encoding="utf-8")
    click.echo(render_markdown(results))
    click.echo(f"wrote {stem}.json and {stem}.md", err=True)


if __name__ == "__main__":
    main()
