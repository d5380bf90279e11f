"""The index on disk: a folder with vectors, passages, BM25 and a manifest.

``index/<name>/`` holds

* ``manifest.json``: format version, embedder name and fingerprint, vector size,
  chunking settings, the documents with their content hashes, build time, and a
  sha256 of every other file (so a damaged file is caught at load time);
* ``chunks.jsonl``: one passage per line, row i matching vector i;
* ``vectors.npy`` and ``dense.faiss``: the passage embeddings and their FAISS index
* ``units.json`` and ``units.npy``: every evidence unit of every passage (a sentence, or a
  sentence with its continuation) by text hash, and its embedding, so that answering a
  question does not embed the retrieved passages' sentences again
  (exact for small corpora, HNSW for large ones: the kind and why are in the manifest);
* ``bm25/``: the BM25 index over Dutch-stemmed passage text.

A save builds the complete folder beside the old one, fsyncs every file, then
swaps the two with renames: a reader sees the old index or the new, never a mix.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from assistant.chunking import SPLITTING_VERSION
from assistant.errors import IndexBusyError, IndexCorruptError, IndexMissingError, InputError
from assistant.files import file_sha256, fsync_dir, fsync_tree
from assistant.manifest import ChunkingIdentity, EmbedderIdentity, Identity, IndexedDocument, Manifest
from assistant.types import Chunk

if TYPE_CHECKING:
    import bm25s

MANIFEST = "manifest.json"


class VectorStore(Protocol):
    """Nearest-neighbour search over normalised vectors (inner product = cosine)."""

    kind: str

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, path: Path) -> None: ...


FLAT = "faiss-flat-ip"
HNSW = "faiss-hnsw-ip"
VECTOR_STORES = (FLAT, HNSW)
HNSW_NEIGHBOURS = 32  # M: links per vector; more is better recall, more memory and build time
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128  # candidates kept while searching; bench/ measures its recall@10 against exact


def choose_vector_store(n_vectors: int, requested: str, exact_limit: int) -> tuple[str, str]:
    """The FAISS index kind for a corpus and why: exact up to ``exact_limit`` passages, HNSW above.

    Exact search is linear in the corpus; bench/ measured where it stops being
    negligible next to an LLM answer on a laptop CPU. ``requested`` may force a kind.
    """
    if requested in VECTOR_STORES:
        return requested, "set in the settings"
    if n_vectors <= exact_limit:
        return FLAT, f"auto: {n_vectors} passages <= {exact_limit}, exact search"
    return HNSW, f"auto: {n_vectors} passages > {exact_limit}, approximate search"


class FaissStore:
    """Nearest-neighbour search with FAISS: exact (flat) or approximate (HNSW), inner product."""

    def __init__(self, index, kind: str):
        self._index = index
        self.kind = kind
        if kind == HNSW:
            index.hnsw.efSearch = HNSW_EF_SEARCH

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = FLAT) -> FaissStore:
        import faiss

        dim = vectors.shape[1]
        index: faiss.Index
        if kind == HNSW:
            index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        elif kind == FLAT:
            index = faiss.IndexFlatIP(dim)
        else:
            raise ValueError(f"unknown vector store kind {kind!r}")
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, kind)

    @classmethod
    def load(cls, path: Path, kind: str = FLAT) -> FaissStore:
        import faiss

        return cls(faiss.read_index(str(path)), kind)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and cosine scores of the ``k`` nearest passages, best first."""
        k = min(k, self.size)
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))


class SearchIndex(Protocol):
    """What retrieval and answering use of an index: the folder's ``IndexData`` or PostgreSQL's ``PgIndex``."""

    path: Path
    manifest: Manifest

    @property
    def chunks(self) -> list[Chunk]: ...

    @property
    def vocabulary(self) -> tuple[frozenset[str], frozenset[str]]: ...

    @property
    def documents(self) -> dict[str, IndexedDocument]: ...

    def chunk(self, row: int) -> Chunk: ...

    def passage_counts(self) -> dict[str, int]: ...

    def current_stamp(self) -> tuple[int, ...] | None: ...

    def search_dense(self, query: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def search_lexical(self, question: str, k: int) -> list[tuple[int, float]]: ...

    def cosine(self, row: int, query: np.ndarray) -> float: ...

    def unit_vector(self, text: str) -> np.ndarray | None: ...


@dataclass
class IndexData:
    """A loaded index: manifest, passages, vectors, dense store and BM25."""

    path: Path
    manifest: Manifest
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: FaissStore
    bm25: bm25s.BM25
    units: dict[str, int] = field(default_factory=dict)  # evidence unit key -> row of unit_vectors
    unit_vectors: np.ndarray | None = None

    def unit_vector(self, text: str) -> np.ndarray | None:
        """The stored passage-mode vector of an evidence unit, embedded at index time; None if absent."""
        row = self.units.get(unit_key(text))
        return None if row is None or self.unit_vectors is None else self.unit_vectors[row]

    @property
    def documents(self) -> dict[str, IndexedDocument]:
        return self.manifest.documents

    def chunk(self, row: int) -> Chunk:
        return self.chunks[row]

    def current_stamp(self) -> tuple[int, ...] | None:
        """Which build is on disk now (a swap gives the manifest a new inode); None when there is none."""
        try:
            st = (self.path / MANIFEST).stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def passage_counts(self) -> dict[str, int]:
        """Passages per document id."""
        counts: dict[str, int] = {}
        for chunk in self.chunks:
            counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
        return counts

    def search_dense(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(row, cosine) of the ``k`` passages nearest to ``query``."""
        ids, scores = self.dense.search(query, k)
        return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True)]

    def search_lexical(self, question: str, k: int) -> list[tuple[int, float]]:
        """(row, BM25 score) of the best matches over Dutch-stemmed words; passages sharing no term are left out."""
        from assistant.retrieval import bm25_tokenize

        tokens = bm25_tokenize([question])
        if not tokens[0] or not self.chunks:
            return []
        ids, scores = self.bm25.retrieve(tokens, k=min(k, len(self.chunks)), show_progress=False)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]

    def cosine(self, row: int, query: np.ndarray) -> float:
        return float(self.vectors[row] @ query)

    @functools.cached_property
    def vocabulary(self) -> tuple[frozenset[str], frozenset[str]]:
        """The words and stated numbers of all passages and headings (computed on first use)."""
        from assistant.evidence import corpus_vocabulary

        return corpus_vocabulary([f"{c.section} {c.text}" for c in self.chunks])


def expected_identity(
    embedder_name: str, embedder_fingerprint: str, dim: int, chunk_chars: int, overlap: int
) -> Identity:
    """What an index must have been built with to be usable with these settings."""
    return Identity(
        embedder=EmbedderIdentity(name=embedder_name, fingerprint=embedder_fingerprint, dim=dim),
        chunking=ChunkingIdentity(chunk_chars=chunk_chars, overlap_sentences=overlap),
    )


def is_bron_index(path: Path) -> bool:
    """Whether ``path`` holds a bron manifest (a JSON object with a format version and an embedder)."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "format_version" in manifest and "embedder" in manifest


def refuse_foreign_folder(path: Path) -> None:
    """Raise unless ``path`` is absent, an empty folder, or a bron index: only those may be replaced."""
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        raise InputError(f"{path} exists and is not an index folder; refusing to replace it")
    if any(path.iterdir()) and not is_bron_index(path):
        raise InputError(
            f"{path} is a non-empty folder without a readable bron manifest; refusing to replace it "
            "(choose another --index-name, or delete the folder yourself if it is a damaged index)"
        )


def unit_key(text: str) -> str:
    """How an evidence unit's vector is found: a hash of its exact text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def save_index(
    path: Path,
    identity: Identity,
    documents: dict[str, IndexedDocument],
    chunks: list[Chunk],
    vectors: np.ndarray,
    bm25,
    store: tuple[str, str] = (FLAT, ""),
    units: tuple[list[str], np.ndarray] | None = None,
) -> None:
    """Write a complete index folder atomically (build aside, fsync, rename).

    ``units`` are the evidence units' keys and vectors (``units.json``, ``units.npy``), so that
    answering need not embed the retrieved passages' sentences again.

    ``identity`` and ``documents`` go into the manifest with the file checksums; so do ``store``,
    the FAISS index kind, and the reason it was chosen.
    Refuses to replace anything at ``path`` that is not a bron index (the swap deletes what it replaces).
    """
    refuse_foreign_folder(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.new-", dir=path.parent))
    try:
        with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
        np.save(staging / "vectors.npy", vectors.astype(np.float32))
        FaissStore.build(vectors, store[0]).save(staging / "dense.faiss")
        bm25.save(str(staging / "bm25"), show_progress=False)
        if units is not None:
            (staging / "units.json").write_text(json.dumps(units[0]), encoding="utf-8")
            np.save(staging / "units.npy", units[1].astype(np.float32))
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        manifest = Manifest(
            **identity.model_dump(),
            documents=documents,
            vector_store=store[0],
            vector_store_reason=store[1],
            n_chunks=len(chunks),
            splitting=SPLITTING_VERSION,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            files={str(p.relative_to(staging)): file_sha256(p) for p in files},
        )
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        fsync_tree(staging)
        old = path.with_name(f".{path.name}.old")
        with generation_lock(path, exclusive=True):  # waits for readers still reading the current build
            if not path.exists() and old.exists():
                # A writer was killed between its renames: put its old build back before anything else,
                # so that a kill now cannot leave no index at all.
                os.replace(old, path)
            elif old.exists():
                shutil.rmtree(old)
            if path.exists():
                os.replace(path, old)
            os.replace(staging, path)
            fsync_dir(path.parent)
        shutil.rmtree(old, ignore_errors=True)  # no reader can be reading it: they read under the lock
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def generation_lock(path: Path, exclusive: bool) -> Iterator[None]:
    """The lock between readers and the swap: shared while a reader reads one build, exclusive for the renames.

    A reader holding it sees the whole old build or the whole new one, never files of both, and never
    the moment between the writer's two renames. ``fcntl.flock`` locks belong to the open file, so two
    threads of one process exclude each other as two processes do. Where the lock file cannot be
    created (a read-only index folder), nobody can swap either, and reading goes ahead unlocked.
    """
    lock_file = path.with_name(f".{path.name}.swap")
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if exclusive:
            raise
        try:
            fd = os.open(lock_file, os.O_RDONLY)
        except OSError:
            yield
            return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


@contextlib.contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """Held by a writer of the index at ``path`` for its whole run (build and swap).

    Raises ``IndexBusyError`` at once when another process holds it.
    """
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path.with_name(f".{path.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexBusyError(
            f"index {path} is being written by another 'bron index'; try again when it has finished"
        ) from None
    try:
        # Staging folders of a writer that was killed: nobody else can be using them now.
        for stale in path.parent.glob(f".{path.name}.new-*"):
            shutil.rmtree(stale, ignore_errors=True)
        yield
    finally:
        lock.release()


def read_manifest(path: Path) -> Manifest:
    """The manifest of the index at ``path``, recovering from an interrupted swap.

    Hold ``generation_lock(path, exclusive=False)`` around it and the reading of the build's files,
    so that both come from the same build.
    """
    old = path.with_name(f".{path.name}.old")
    manifest_path = path / MANIFEST
    with generation_lock(path, exclusive=False):  # shared locks nest: the caller's is not released
        if not path.exists() and old.exists():
            # Under the lock a live writer is never between its renames: a save died there,
            # and the old index it moved aside is intact.
            with contextlib.suppress(FileNotFoundError):  # another reader restored it first
                os.replace(old, path)
        if not manifest_path.exists():
            raise IndexMissingError(f"no index at {path}; build it with 'bron index'")
        try:
            raw = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(
                f"index manifest {manifest_path} is unreadable ({exc}); rebuild with 'bron index --rebuild'"
            ) from exc
    return Manifest.parse(raw, path)


def load_index(path: Path, expected: Identity) -> IndexData:
    """Load and verify one build of an index; raise a ``BronError`` naming what is wrong."""
    if not path.parent.is_dir():
        raise IndexMissingError(f"no index at {path}; build it with 'bron index'")
    with generation_lock(path, exclusive=False):
        return _load_build(path, expected)


def _load_build(path: Path, expected: Identity) -> IndexData:
    manifest = read_manifest(path)
    manifest.check(expected, path)
    for name, digest in manifest.files.items():
        file = path / name
        if not file.exists() or file_sha256(file) != digest:
            raise IndexCorruptError(
                f"index file {file} is missing or damaged (checksum mismatch); rebuild with 'bron index --rebuild'"
            )
    try:
        import bm25s

        chunks = [
            Chunk(**json.loads(line)) for line in (path / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        # Memory-mapped: the FAISS index holds the vectors for search; these rows are
        # only read for the cosine of a few hits and for reuse when re-indexing.
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        kind = manifest.vector_store
        if kind not in VECTOR_STORES:
            raise ValueError(f"unknown vector store kind {kind!r}")
        dense = FaissStore.load(path / "dense.faiss", kind)
        bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        unit_keys, unit_vectors = [], None
        if (path / "units.json").exists():  # indexes built before units were stored embed them per question
            unit_keys = json.loads((path / "units.json").read_text(encoding="utf-8"))
            unit_vectors = np.load(path / "units.npy", mmap_mode="r")
            if len(unit_keys) != len(unit_vectors):
                raise ValueError(f"{len(unit_keys)} unit keys for {len(unit_vectors)} unit vectors")
    except Exception as exc:  # any parse failure of a checksummed file means a broken writer
        raise IndexCorruptError(
            f"index {path} could not be read ({type(exc).__name__}: {exc}); rebuild with 'bron index --rebuild'"
        ) from exc
    if not (len(chunks) == len(vectors) == dense.size == manifest.n_chunks):
        raise IndexCorruptError(
            f"index {path} is inconsistent: {len(chunks)} passages, {len(vectors)} vectors, "
            f"{dense.size} in FAISS; rebuild with 'bron index --rebuild'"
        )
    units = {key: row for row, key in enumerate(unit_keys)}
    return IndexData(path, manifest, chunks, vectors, dense, bm25, units, unit_vectors)
