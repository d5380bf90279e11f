"""The index manifest as typed records, validated once when an index is read.

``manifest.json`` says what an index was built with (its ``Identity``: format version, embedder,
chunking), which documents it holds (``IndexedDocument``, keyed by document id), how its vectors
are searched, and a sha256 of every other file of the build. ``Manifest.parse`` turns the JSON
into these records or raises one ``BronError`` naming what is wrong; nothing downstream reads
the manifest as a dict.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.chunking import SPLITTING_VERSION
from assistant.errors import IndexCorruptError, IndexMismatchError
from assistant.types import DocumentMeta, Language

# Version 1: the layout store.py writes (chunks.jsonl, vectors.npy, dense.faiss, bm25/, units.*).
FORMAT_VERSION = 1


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class EmbedderIdentity(_Record):
    name: str
    fingerprint: str
    dim: int


class ChunkingIdentity(_Record):
    chunk_chars: int
    overlap_sentences: int


class Identity(_Record):
    """What an index must have been built with to be usable with given settings."""

    format_version: int = FORMAT_VERSION
    embedder: EmbedderIdentity
    chunking: ChunkingIdentity

    def describe(self) -> str:
        e, c = self.embedder, self.chunking
        return (
            f"format {self.format_version}, embedder {e.name} ({e.fingerprint}, {e.dim} dims), "
            f"chunks of {c.chunk_chars} chars with {c.overlap_sentences} sentence overlap"
        )


class SectionSpan(_Record):
    """A section of an indexed document and the lines of the original file it covers."""

    title: str
    start_line: int
    end_line: int


class IndexedDocument(_Record):
    """A document of the index: where it came from, its content hash and what citations show of it."""

    path: str
    content_hash: str
    title: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    kind: str = ""
    language: Language = "nl"
    sections: tuple[SectionSpan, ...] = ()
    # sha256 of the document's .meta.json ("" for none; manifests from before it was recorded say "" too).
    meta_hash: str = ""

    @property
    def meta(self) -> DocumentMeta:
        return DocumentMeta(self.title, self.authors, self.year, self.kind, self.language)


class Manifest(Identity):
    """``manifest.json`` of one build of an index."""

    documents: dict[str, IndexedDocument] = Field(default_factory=dict)
    vector_store: str
    vector_store_reason: str = ""
    n_chunks: int
    built_at: str
    files: dict[str, str] = Field(default_factory=dict)  # file name inside the build -> sha256
    # ``SPLITTING_VERSION`` the passages were cut with; manifests from before it was recorded say 1.
    splitting: int = 1

    @property
    def identity(self) -> Identity:
        return Identity(format_version=self.format_version, embedder=self.embedder, chunking=self.chunking)

    @classmethod
    def parse(cls, raw: object, path: Path) -> Manifest:
        """Validate the JSON of ``path``'s manifest; an index of another format version is a mismatch."""
        version = raw.get("format_version") if isinstance(raw, dict) else None
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {path} has format version {version}, this bron reads version {FORMAT_VERSION}; "
                "rebuild it with 'bron index --rebuild'"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise IndexCorruptError(
                f"index manifest of {path} is invalid ({where}: {error['msg']}); rebuild with 'bron index --rebuild'"
            ) from exc

    def check(self, expected: Identity, path: Path) -> None:
        """Refuse an index built with another embedder, format or chunking."""
        if self.identity != expected:
            raise IndexMismatchError(
                f"index {path} was built with {self.identity.describe()}, but the settings ask for "
                f"{expected.describe()}; rebuild it with 'bron index --rebuild'"
            )

    def document(self, doc_id: str) -> IndexedDocument:
        """The indexed document ``doc_id``; one that is not in the manifest is shown by its id."""
        return self.documents.get(doc_id) or IndexedDocument(path="", content_hash="", title=doc_id)

    def content_hashes(self) -> dict[str, str]:
        return {doc_id: d.content_hash for doc_id, d in self.documents.items()}

    @property
    def split_by_older_rules(self) -> bool:
        """Whether the passages were cut into sentences by older rules than this bron's (until the next build)."""
        return self.splitting != SPLITTING_VERSION

    def versions(self) -> dict[str, tuple[str, str]]:
        """(content hash, metadata file hash) by doc id: what ``Document.version`` was when it was indexed."""
        return {doc_id: (d.content_hash, d.meta_hash) for doc_id, d in self.documents.items()}

    def holds(self, versions: dict[str, tuple[str, str]]) -> bool:
        """Whether this build is of exactly these documents (bytes and metadata), split by the current rules."""
        return not self.split_by_older_rules and self.versions() == versions


__all__ = [
    "FORMAT_VERSION",
    "EmbedderIdentity",
    "ChunkingIdentity",
    "Identity",
    "SectionSpan",
    "IndexedDocument",
    "Manifest",
]
