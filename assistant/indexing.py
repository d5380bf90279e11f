"""Build or update the index over a folder of documents.

Updating re-embeds only passages whose text is new: vectors of unchanged
passages are taken from the previous index, looked up by the hash of the text
that was embedded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.chunking import chunk_document
from assistant.documents import DocumentCache, Reading, SkippedFile, corpus_versions, load_corpus
from assistant.embedding import Embedder
from assistant.errors import BronError, DocumentError
from assistant.manifest import Identity, IndexedDocument, Manifest, SectionSpan
from assistant.retrieval import build_bm25
from assistant.settings import Settings
from assistant.store import (
    choose_vector_store,
    expected_identity,
    load_index,
    read_manifest,
    refuse_foreign_folder,
    save_index,
    unit_key,
    writer_lock,
)
from assistant.types import Chunk, Document, Hit

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_BATCHES_PER_CALL = 16


@dataclass
class IndexReport:
    """What an index run did."""

    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    unchanged: bool = False
    skipped: list[SkippedFile] = field(default_factory=list)


def embedding_text(chunk: Chunk) -> str:
    """The text that is embedded for a passage: its section heading gives context."""
    return f"{chunk.section}: {chunk.text}"


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def identity_for(settings: Settings, embedder: Embedder) -> Identity:
    return expected_identity(
        embedder.name, embedder.fingerprint, embedder.dim, settings.chunk_chars, settings.chunk_overlap_sentences
    )


def indexed_document(document: Document) -> IndexedDocument:
    """What the manifest records of a document: its source, content hash, metadata and sections."""
    meta = document.meta
    return IndexedDocument(
        path=document.path,
        content_hash=document.content_hash,
        title=meta.title,
        authors=meta.authors,
        year=meta.year,
        kind=meta.kind,
        language=meta.language,
        meta_hash=document.meta_hash,
        sections=tuple(
            SectionSpan(title=s.title, start_line=s.line_starts[0][1], end_line=s.line_starts[-1][1])
            for s in document.sections
        ),
    )


@dataclass
class _Previous:
    """What a compatible existing index lends a new build: vectors by text, and passages by document."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # by embedded-text hash
    unit_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # by unit key
    chunks: dict[tuple[str, str], list[Chunk]] = field(default_factory=dict)  # by (doc id, content hash)


def _previous(settings: Settings, identity: Identity) -> _Previous:
    """What the existing index can lend, if it was built with the same embedder and chunking."""
    try:
        old = load_index(settings.index_path, identity)
    except BronError:
        return _Previous()
    passages = {_key(embedding_text(c)): old.vectors[i] for i, c in enumerate(old.chunks)}
    units = {key: old.unit_vectors[row] for key, row in old.units.items()} if old.unit_vectors is not None else {}
    chunks: dict[tuple[str, str], list[Chunk]] = {}
    if old.manifest.split_by_older_rules:
        return _Previous(passages, units, chunks)  # its passages were cut by other rules: split again
    hashes = old.manifest.content_hashes()
    for chunk in old.chunks:
        if chunk.doc_id in hashes:
            chunks.setdefault((chunk.doc_id, hashes[chunk.doc_id]), []).append(chunk)
    return _Previous(passages, units, chunks)


def evidence_units(chunks: list[Chunk]) -> list[str]:
    """Every evidence unit of every passage, once: what answering would otherwise embed per question."""
    from assistant.evidence import candidate_units

    texts: dict[str, None] = {}
    for chunk in chunks:
        for _, text, _ in candidate_units([Hit(chunk=chunk, score=0.0)]):
            texts.setdefault(text)
    return list(texts)


def index_is_current(settings: Settings, identity: Identity, versions: dict[str, tuple[str, str]]) -> bool:
    try:
        manifest = read_manifest(settings.index_path)
        manifest.check(identity, settings.index_path)
    except BronError:
        return False
    if settings.vector_store != "auto" and manifest.vector_store != settings.vector_store:
        return False
    return manifest.holds(versions)


def _has_units(settings: Settings) -> bool:
    """Whether the index stores its evidence units and its passages' sentences (older indexes do not).

    An older index is built again on the next ``bron index``, its vectors reused: only the splitting is redone.
    """
    try:
        if "units.json" not in read_manifest(settings.index_path).files:
            return False
        with (settings.index_path / "chunks.jsonl").open(encoding="utf-8") as handle:
            return bool(json.loads(handle.readline() or "{}").get("sentences"))
    except (BronError, OSError, ValueError):
        return False


def corpus_changes(settings: Settings, manifest: Manifest) -> list[str]:
    """What differs between the corpus folder and an index manifest: '+ new', '- gone', '~ changed' doc ids."""
    indexed = manifest.versions()
    try:
        current = corpus_versions(settings.corpus_dir, indexed)
    except DocumentError:
        return []  # an index opened without its corpus folder is still usable as it is
    changes = [f"+ {d}" for d in current if d not in indexed]
    changes += [f"- {d}" for d in indexed if d not in current]
    changes += [f"~ {d}" for d in current if d in indexed and current[d] != indexed[d]]
    return sorted(changes, key=lambda c: c[2:])


def build_index(
    settings: Settings,
    embedder: Embedder,
    rebuild: bool = False,
    progress: Progress | None = None,
    documents_cache: DocumentCache | None = None,
    reading: Reading | None = None,
) -> IndexReport:
    """Index ``settings.corpus_dir`` into ``settings.index_path`` (or PostgreSQL with ``store``); skip work
    that is done. ``documents_cache`` keeps parsed files between builds of one process (``--watch``);
    ``reading`` follows the reading of the files, ``progress`` the embedding.

    One writer at a time: a second ``bron index`` on the same index gets ``IndexBusyError``.
    """
    if settings.store_dsn:
        return _build_pg_index(settings, embedder, rebuild, progress, documents_cache, reading)
    refuse_foreign_folder(settings.index_path)  # before creating a lock file beside it
    with writer_lock(settings.index_path):
        return _build_index(settings, embedder, rebuild, progress, documents_cache, reading)


@dataclass
class _Embedded:
    """A build's passages and evidence units with their vectors, reused ones copied, new ones embedded."""

    chunks: list[Chunk]
    texts: list[str]  # what was embedded for each passage
    vectors: np.ndarray
    unit_keys: list[str]
    unit_vectors: np.ndarray
    embedded: int
    units_embedded: int


def _kept_or_cut(document: Document, lent: _Previous, settings: Settings) -> list[Chunk]:
    kept = lent.chunks.get((document.doc_id, document.content_hash))
    if kept and all(c.sentences for c in kept):
        return kept
    return chunk_document(document, settings.chunk_chars, settings.chunk_overlap_sentences)


def _embed(
    settings: Settings,
    embedder: Embedder,
    documents: list[Document],
    lent: _Previous,
    progress: Progress | None,
) -> _Embedded:
    # A document whose bytes are unchanged keeps its passages: sentence splitting costs about a
    # fifth of a first build, and adding one file to a large folder should not split all the others again.
    # Passages stored without their sentences (older indexes) are cut again: their sentences depend on
    # the section around them (Section.breaks), which the passage alone does not show.
    chunks = [c for d in documents for c in _kept_or_cut(d, lent, settings)]
    previous, previous_units = lent.vectors, lent.unit_vectors
    texts = [embedding_text(c) for c in chunks]
    todo = [i for i, t in enumerate(texts) if _key(t) not in previous]
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    for i, text in enumerate(texts):
        if _key(text) in previous:
            vectors[i] = previous[_key(text)]
    units = evidence_units(chunks)
    unit_keys = [unit_key(u) for u in units]
    unit_todo = [i for i, k in enumerate(unit_keys) if k not in previous_units]
    unit_vectors = np.zeros((len(units), embedder.dim), dtype=np.float32)
    for i, key in enumerate(unit_keys):
        if key in previous_units:
            unit_vectors[i] = previous_units[key]
    # Passages, then evidence units, in large slices: sentence-transformers sorts each call's
    # texts by length, so batches of similar length need little padding; slices of one batch would not.
    work = [(vectors, texts, i) for i in todo] + [(unit_vectors, units, i) for i in unit_todo]
    batch = settings.embed_batch_size * _BATCHES_PER_CALL
    for start in range(0, len(work), batch):
        piece = work[start : start + batch]
        embedded = embedder.embed_passages([source[i] for _, source, i in piece])
        for (target, _, i), vector in zip(piece, embedded, strict=True):
            target[i] = vector
        if progress:
            progress(min(start + batch, len(work)), len(work))
    log.info(
        "%d passages (%d embedded, %d reused) and %d evidence units (%d embedded)",
        len(chunks), len(todo), len(chunks) - len(todo), len(units), len(unit_todo),
    )  # fmt: skip
    return _Embedded(chunks, texts, vectors, unit_keys, unit_vectors, len(todo), len(unit_todo))


def _read_corpus(
    settings: Settings, cache: DocumentCache | None, reading: Reading | None
) -> tuple[list[Document], IndexReport, dict[str, tuple[str, str]]]:
    """The corpus's documents, the report begun, and each document's version (bytes and metadata)."""
    documents, skipped = load_corpus(settings.corpus_dir, cache, reading)
    if not documents:
        raise DocumentError(f"no readable documents (PDF, DOCX, HTML, TXT, MD) in {settings.corpus_dir}")
    report = IndexReport(documents=len(documents), skipped=skipped)
    return documents, report, {d.doc_id: d.version for d in documents}


def _build_index(
    settings: Settings,
    embedder: Embedder,
    rebuild: bool,
    progress: Progress | None,
    cache: DocumentCache | None,
    reading: Reading | None = None,
) -> IndexReport:
    documents, report, versions = _read_corpus(settings, cache, reading)
    identity = identity_for(settings, embedder)
    if not rebuild and index_is_current(settings, identity, versions) and _has_units(settings):
        report.unchanged = True
        report.chunks = read_manifest(settings.index_path).n_chunks
        return report

    lent = _Previous() if rebuild else _previous(settings, identity)
    e = _embed(settings, embedder, documents, lent, progress)
    report.chunks, report.embedded, report.reused = len(e.chunks), e.embedded, len(e.chunks) - e.embedded
    indexed = {d.doc_id: indexed_document(d) for d in documents}
    store = choose_vector_store(len(e.chunks), settings.vector_store, settings.exact_search_limit)
    units = (e.unit_keys, e.unit_vectors)
    save_index(settings.index_path, identity, indexed, e.chunks, e.vectors, build_bm25(e.chunks), store, units)
    return report


def _build_pg_index(
    settings: Settings,
    embedder: Embedder,
    rebuild: bool,
    progress: Progress | None,
    cache: DocumentCache | None,
    reading: Reading | None = None,
) -> IndexReport:
    """The same build into PostgreSQL: vectors reused by text hash from the current generation."""
    from assistant.evidence import corpus_vocabulary
    from assistant.pg_store import PgIndex, save_pg_index

    dsn = settings.store_dsn
    assert dsn
    documents, report, versions = _read_corpus(settings, cache, reading)
    identity = identity_for(settings, embedder)
    try:
        old: PgIndex | None = PgIndex.open(dsn, settings.index_name, identity)
    except BronError:
        old = None
    try:
        if old is not None and not rebuild and old.manifest.holds(versions):
            report.unchanged, report.chunks = True, old.manifest.n_chunks
            return report
        lent = _Previous(*old.embeddings()) if old is not None and not rebuild else _Previous()
    finally:
        if old is not None:
            old.close()
    e = _embed(settings, embedder, documents, lent, progress)
    report.chunks, report.embedded, report.reused = len(e.chunks), e.embedded, len(e.chunks) - e.embedded
    indexed = {d.doc_id: indexed_document(d) for d in documents}
    vocabulary = corpus_vocabulary([f"{c.section} {c.text}" for c in e.chunks])
    save_pg_index(
        dsn, settings.index_name, identity, indexed, e.chunks, e.vectors, [_key(t) for t in e.texts],
        (e.unit_keys, e.unit_vectors), vocabulary,
    )  # fmt: skip
    return report
