"""Indexing throughput against sentence-transformers ``encode``, and re-indexing an unchanged corpus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from assistant.chunking import chunk_document
from assistant.documents import load_corpus
from assistant.embedding import load_embedder
from assistant.indexing import build_index, embedding_text, evidence_units
from assistant.settings import Settings
from bench.stats import Timer, summary


def bench_indexing(settings: Settings, repeats: int, log=print) -> dict:
    """Texts per second of a full ``build_index`` and of ``encode`` on the same texts, interleaved.

    The same texts are what bron embeds: every passage and every evidence unit (sentence) of them.
    """
    embedder = load_embedder(settings)
    model = embedder._model  # the same loaded model, called directly
    documents, _ = load_corpus(settings.corpus_dir)
    chunks = [c for d in documents for c in chunk_document(d, settings.chunk_chars, settings.chunk_overlap_sentences)]
    texts = [embedding_text(c) for c in chunks] + evidence_units(chunks)
    encode_args = {
        "prompt_name": "passage",
        "batch_size": settings.embed_batch_size,
        "normalize_embeddings": True,
        "convert_to_numpy": True,
        "show_progress_bar": False,
    }
    model.encode(texts[: settings.embed_batch_size], **encode_args)  # warm-up, not timed
    product, embed_only, direct, chunking = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bron-bench-") as tmp:
        scratch = settings.model_copy(update={"index_dir": Path(tmp)})
        for r in range(repeats):
            with Timer() as encode:
                model.encode(texts, **encode_args)
            direct.append(len(texts) / encode.seconds)
            embedding = []
            with Timer() as build:
                build_index(scratch, _Timed(embedder, embedding), rebuild=True)
            product.append(len(texts) / build.seconds)
            with Timer() as split:
                for d in load_corpus(settings.corpus_dir)[0]:
                    chunk_document(d, settings.chunk_chars, settings.chunk_overlap_sentences)
            chunking.append(split.seconds)
            embed_only.append(len(texts) / sum(embedding))
            log(
                f"  run {r + 1}/{repeats}: encode {direct[-1]:5.1f} texts/s, bron index {product[-1]:5.1f} "
                f"(its embedding step {embed_only[-1]:5.1f}; reading and splitting {split.seconds:.2f} s)"
            )
    return {
        "passages": len(chunks),
        "texts": len(texts),
        "encode_texts_s": summary(direct),
        "index_texts_s": summary(product),
        "index_embedding_step_texts_s": summary(embed_only),
        "index_seconds": summary(len(texts) / p for p in product),
        "embedding_step_seconds": summary(len(texts) / e for e in embed_only),
        "read_and_chunk_seconds": summary(chunking),
        "ratio_p50": summary(p / d for p, d in zip(product, direct, strict=True))["p50"],
        "embedding_step_ratio_p50": summary(e / d for e, d in zip(embed_only, direct, strict=True))["p50"],
    }


def bench_add_file(settings: Settings, repeats: int, log=print) -> dict:
    """Seconds to update the index after one short file is added to the corpus, as an upload or
    ``--watch`` does: unchanged documents keep their passages, and, for comparison, split again."""
    import assistant.indexing as indexing

    lend = indexing._previous

    def vectors_only(s: Settings, identity):  # the build as it was: vectors reused, every document split
        lent = lend(s, identity)
        return indexing._Previous(lent.vectors, lent.unit_vectors)

    embedder = load_embedder(settings)
    keep, split = [], []
    with tempfile.TemporaryDirectory(prefix="bron-bench-add-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(settings.corpus_dir, corpus)
        scratch = settings.model_copy(update={"index_dir": Path(tmp) / "index", "corpus_dir": corpus})
        build_index(scratch, embedder)
        for r in range(repeats):
            for seconds, lend_passages in ((keep, True), (split, False)):
                added = corpus / f"toegevoegd-{r}-{lend_passages}.txt"
                added.write_text("# Nieuw\n\nEen korte toegevoegde tekst over de wijk. Nog een zin.\n", "utf-8")
                if not lend_passages:
                    indexing._previous = vectors_only
                try:
                    with Timer() as t:
                        build_index(scratch, embedder)
                finally:
                    indexing._previous = lend
                seconds.append(t.seconds)
                added.unlink()
                build_index(scratch, embedder)
            log(f"  run {r + 1}/{repeats}: passages kept {keep[-1]:.2f} s, all split again {split[-1]:.2f} s")
    return {"kept_seconds": summary(keep), "split_again_seconds": summary(split)}


class _Timed:
    """An embedder that records how long its passage embedding calls take."""

    def __init__(self, inner, seconds: list[float]):
        self._inner, self._seconds = inner, seconds
        self.name, self.fingerprint, self.dim = inner.name, inner.fingerprint, inner.dim

    def embed_passages(self, texts):
        with Timer() as t:
            vectors = self._inner.embed_passages(texts)
        self._seconds.append(t.seconds)
        return vectors

    def embed_queries(self, texts):
        return self._inner.embed_queries(texts)


def bench_reindex(settings: Settings, repeats: int, log=print) -> dict:
    """Wall time of ``bron index`` (a new process) when nothing changed, on a copy of the index."""
    with tempfile.TemporaryDirectory(prefix="bron-bench-") as tmp:
        shutil.copytree(settings.index_path, Path(tmp) / settings.index_name)
        env = {
            "BRON_INDEX_DIR": tmp,
            "BRON_CORPUS_DIR": str(settings.corpus_dir),
            "BRON_CACHE_DIR": str(settings.cache_dir),
        }
        seconds = []
        for r in range(repeats):
            with Timer() as t:
                done = subprocess.run(
                    [sys.executable, "-m", "assistant.cli", "index"],
                    env={**_base_env(), **env},
                    capture_output=True,
                    text=True,
                    check=True,
                )
            seconds.append(t.seconds)
            log(f"  run {r + 1}/{repeats}: {t.seconds:.2f} s: {done.stdout.strip()}")
    return {"command": "bron index (unchanged corpus)", "seconds": summary(seconds)}


def _base_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("BRON_")}


def bench_pdf(settings: Settings, repeats: int, log=print) -> dict:
    """Pages per second reading PDFs: the bundled texts as journal PDFs (bench.docmaker) and a long report.

    Two figures per run: PDFium's text layer put in reading order (``read_pdf``), and the whole
    ``load_document`` (that plus cleaning: hyphenation, headings, the line and page maps).
    """
    from dataclasses import replace

    from assistant.documents import load_document
    from assistant.formats import read_pdf
    from bench.docmaker import make_pdf

    documents, _ = load_corpus(settings.corpus_dir)
    article = max(documents, key=lambda d: sum(len(s.text) for s in d.sections))
    report = replace(article, sections=article.sections * 8)  # a long report: the article eight times over
    results = {}
    with tempfile.TemporaryDirectory(prefix="bron-bench-pdf-") as tmp:
        files = {"corpus": [], "report": []}
        for d in documents:
            path = Path(tmp) / f"{d.doc_id}.pdf"
            make_pdf(d, path)
            files["corpus"].append(path)
        long_pdf = Path(tmp) / "report.pdf"
        make_pdf(report, long_pdf)
        files["report"].append(long_pdf)
        for name, paths in files.items():
            pages = sum(read_pdf(p).pages for p in paths)  # warm-up and the page count
            extract, whole = [], []
            for _ in range(repeats):
                with Timer() as t:
                    for p in paths:
                        read_pdf(p)
                extract.append(pages / t.seconds)
                with Timer() as t:
                    for p in paths:
                        load_document(p)
                whole.append(pages / t.seconds)
            results[name] = {"pages": pages, "extract_pages_s": summary(extract), "load_pages_s": summary(whole)}
            log(f"  {name}: {pages} pages, text layer {results[name]['extract_pages_s']['p50']:.1f} pages/s, "
                f"read and cleaned {results[name]['load_pages_s']['p50']:.1f} pages/s")  # fmt: skip
    return results
