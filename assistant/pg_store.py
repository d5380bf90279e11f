"""The index in PostgreSQL with pgvector: one index that several colleagues and processes share.

What the folder index keeps in files lives in tables here:

* ``bron_index``: one row per index name with the current ``generation``, the manifest (the same
  ``Manifest`` record as ``manifest.json``) and the corpus vocabulary evidence selection looks names up in;
* per generation, ``bron_p_<id>_<generation>``: the passages (``row``, the ``Chunk`` as JSON, the hash of the
  embedded text, the embedding as ``vector(dim)`` with an HNSW index for cosine distance, and a
  ``tsvector`` built with the ``dutch`` or ``english`` text-search configuration of its document);
* ``bron_u_<id>_<generation>``: the evidence units' embeddings by key.

Search runs in the database: dense with pgvector (HNSW, cosine), lexical with PostgreSQL full-text search
(the question's lexemes OR-ed, ranked by ``ts_rank``), fused with reciprocal rank fusion in
``retrieval.py`` as for the folder index; so answering loads no passage it does not show.

A write builds the next generation's tables and switches ``bron_index`` to it in one transaction, under
an advisory lock (one writer per index): a failed or killed run rolls back and leaves the previous index
as it was. Readers are bound to the generation they opened; the one before the current is kept, so a
reader that opened it before the switch finishes its question, and the next open finds the new one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from assistant.chunking import SPLITTING_VERSION
from assistant.errors import IndexBusyError, IndexCorruptError, IndexMissingError, InputError
from assistant.manifest import Identity, IndexedDocument, Manifest
from assistant.types import Chunk

HNSW_EF_SEARCH = 128  # as for FAISS HNSW: candidates kept while searching
HNSW_MAX_DIM = 2000  # pgvector indexes vector columns of at most this many dimensions
_CONFIG = {"nl": "dutch", "en": "english"}


def redact(dsn: str) -> str:
    """The connection string without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", re.sub(r"(password=)\S+", r"\1***", dsn))


def connect(dsn: str, create_extension: bool = False):
    """A connection to ``dsn`` with pgvector's types registered; a failure is one ``IndexMissingError`` line.

    Only a writer creates the extension (that needs a privilege a reader's role need not have).
    """
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IndexMissingError(f"cannot connect to PostgreSQL at {redact(dsn)}: {first}") from None
    try:
        if create_extension:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
    except psycopg.Error as exc:
        conn.close()
        raise IndexMissingError(
            f"PostgreSQL at {redact(dsn)} has no usable pgvector extension (run 'bron index' as a role that may "
            f"create it, or 'CREATE EXTENSION vector': "
            f"{str(exc).strip().splitlines()[0]})"
        ) from None
    return conn


def _tables(name: str, generation: int) -> tuple[str, str]:
    key = hashlib.sha256(name.encode()).hexdigest()[:12]  # index names may hold '.' and '-' and be 64 long
    return f"bron_p_{key}_{generation}", f"bron_u_{key}_{generation}"


def _registry(conn) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bron_index (name text PRIMARY KEY, generation bigint NOT NULL, "
        "manifest jsonb NOT NULL, vocabulary jsonb NOT NULL)"
    )


def _lock_id(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"bron-index:{name}".encode()).digest()[:8], "big", signed=True)


def current_generation(dsn: str, name: str) -> int | None:
    """The generation the index ``name`` is at (None when there is none): what the chat watches for changes."""
    conn = connect(dsn)
    try:
        row = (
            conn.execute("SELECT generation FROM bron_index WHERE name = %s", (name,)).fetchone()
            if _has_registry(conn)
            else None
        )
        return None if row is None else int(row[0])
    finally:
        conn.close()


def _has_registry(conn) -> bool:
    return conn.execute("SELECT to_regclass('bron_index') IS NOT NULL").fetchone()[0]


def save_pg_index(
    dsn: str,
    name: str,
    identity: Identity,
    documents: dict[str, IndexedDocument],
    chunks: list[Chunk],
    vectors: np.ndarray,
    embedded_hashes: list[str],
    units: tuple[list[str], np.ndarray],
    vocabulary: tuple[frozenset[str], frozenset[str]],
) -> int:
    """Write the next generation of index ``name`` in one transaction; returns its number."""
    import psycopg
    from psycopg import sql

    conn = connect(dsn, create_extension=True)
    try:
        with conn.transaction():
            if not conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_lock_id(name),)).fetchone()[0]:
                raise IndexBusyError(f"index {name} in PostgreSQL is being written by another 'bron index'")
            _registry(conn)
            row = conn.execute("SELECT generation FROM bron_index WHERE name = %s FOR UPDATE", (name,)).fetchone()
            generation = 1 if row is None else int(row[0]) + 1
            passages, unit_table = _tables(name, generation)
            dim = int(vectors.shape[1]) if vectors.ndim == 2 else identity.embedder.dim
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {} (row integer PRIMARY KEY, chunk jsonb NOT NULL, embedded_hash text NOT NULL, "
                    "cfg regconfig NOT NULL, embedding vector({}) NOT NULL, tsv tsvector NOT NULL)"
                ).format(sql.Identifier(passages), sql.Literal(dim))
            )
            conn.execute(
                sql.SQL("CREATE TABLE {} (key text PRIMARY KEY, embedding vector({}) NOT NULL)").format(
                    sql.Identifier(unit_table), sql.Literal(dim)
                )
            )
            languages = {doc_id: d.language for doc_id, d in documents.items()}
            with conn.cursor().copy(
                sql.SQL("COPY {} (row, chunk, embedded_hash, cfg, embedding, tsv) FROM STDIN").format(
                    sql.Identifier(passages)
                )
            ) as copy:
                for i, (chunk, vector, embedded) in enumerate(zip(chunks, vectors, embedded_hashes, strict=True)):
                    cfg = _CONFIG.get(languages.get(chunk.doc_id, "nl"), "dutch")
                    copy.write_row((i, json.dumps(chunk.to_dict()), embedded, cfg, vector, ""))
            conn.execute(
                sql.SQL("UPDATE {} SET tsv = to_tsvector(cfg, (chunk->>'section') || ' ' || (chunk->>'text'))").format(
                    sql.Identifier(passages)
                )
            )
            with conn.cursor().copy(
                sql.SQL("COPY {} (key, embedding) FROM STDIN").format(sql.Identifier(unit_table))
            ) as copy:
                for key, vector in zip(units[0], units[1], strict=True):
                    copy.write_row((key, vector))
            if dim <= HNSW_MAX_DIM:  # beyond it pgvector has no HNSW for vector: an exact scan
                conn.execute(
                    sql.SQL("CREATE INDEX ON {} USING hnsw (embedding vector_cosine_ops)").format(
                        sql.Identifier(passages)
                    )
                )
            conn.execute(sql.SQL("CREATE INDEX ON {} USING gin (tsv)").format(sql.Identifier(passages)))
            manifest = Manifest(
                **identity.model_dump(),
                documents=documents,
                vector_store="pgvector-hnsw-cosine" if dim <= HNSW_MAX_DIM else "pgvector-exact-cosine",
                vector_store_reason=f"PostgreSQL store; HNSW up to {HNSW_MAX_DIM} dimensions, here {dim}",
                n_chunks=len(chunks),
                splitting=SPLITTING_VERSION,
                built_at=_now(),
                files={},
            )
            words, numbers = vocabulary
            conn.execute(
                "INSERT INTO bron_index (name, generation, manifest, vocabulary) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET generation = EXCLUDED.generation, manifest = EXCLUDED.manifest, "
                "vocabulary = EXCLUDED.vocabulary",
                (name, generation, manifest.model_dump_json(), json.dumps([sorted(words), sorted(numbers)])),
            )
            for old in range(max(1, generation - 3), generation - 1):  # keep the one before for open readers
                for table in _tables(name, old):
                    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        return generation
    except psycopg.Error as exc:
        raise IndexCorruptError(
            f"writing index {name} to PostgreSQL failed: {str(exc).strip().splitlines()[0]}"
        ) from None
    finally:
        conn.close()


def _now() -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class PgIndex:
    """An index in PostgreSQL, bound to the generation that was current when it was opened.

    Offers what answering, summaries and the chat use of ``IndexData``: dense and lexical search,
    cosines and passages by row, stored unit vectors, the manifest and the vocabulary.
    """

    def __init__(self, dsn: str, name: str, conn, generation: int, manifest: Manifest, vocabulary: Any):
        self.dsn, self.name, self._conn = dsn, name, conn
        self.generation = generation
        self.manifest = manifest
        self.path = Path(name)  # shown as the index's name
        self._passages, self._units = _tables(name, generation)
        words, numbers = vocabulary
        self.vocabulary = (frozenset(words), frozenset(numbers))
        self._lock = threading.Lock()
        self._chunk_cache: dict[int, Chunk] = {}

    @classmethod
    def open(cls, dsn: str, name: str, expected: Identity) -> PgIndex:
        conn = connect(dsn)
        row = (
            conn.execute("SELECT generation, manifest, vocabulary FROM bron_index WHERE name = %s", (name,)).fetchone()
            if _has_registry(conn)
            else None
        )
        if row is None:
            conn.close()
            raise IndexMissingError(f"no index '{name}' in PostgreSQL at {redact(dsn)}; build it with 'bron index'")
        generation, raw, vocabulary = row
        manifest = Manifest.parse(raw, Path(f"postgresql:{name}"))
        manifest.check(expected, Path(f"postgresql:{name}"))
        conn.execute(f"SET hnsw.ef_search = {int(HNSW_EF_SEARCH)}")
        return cls(dsn, name, conn, int(generation), manifest, vocabulary)

    def _query(self, query, params: tuple) -> list[tuple]:
        import psycopg

        with self._lock:  # one connection, used by the chat's threads in turn
            try:
                return self._conn.execute(query, params).fetchall()
            except psycopg.errors.UndefinedTable:
                raise IndexMissingError(
                    f"index '{self.name}' in PostgreSQL was replaced twice since it was opened; open it again"
                ) from None

    def _sql(self, template: str, table: str):
        from psycopg import sql

        return sql.SQL(template).format(sql.Identifier(table))

    @property
    def documents(self) -> dict[str, IndexedDocument]:
        return self.manifest.documents

    @functools.cached_property
    def chunks(self) -> list[Chunk]:
        """Every passage, in row order (summaries, the documents view and the eval read them)."""
        rows = self._query(self._sql("SELECT chunk FROM {} ORDER BY row", self._passages), ())
        return [Chunk(**data) for (data,) in rows]

    def chunk(self, row: int) -> Chunk:
        if row not in self._chunk_cache:
            found = self._query(self._sql("SELECT chunk FROM {} WHERE row = %s", self._passages), (row,))
            if not found:
                raise IndexCorruptError(f"index '{self.name}' has no passage {row}")
            self._chunk_cache[row] = Chunk(**found[0][0])
        return self._chunk_cache[row]

    def current_stamp(self) -> tuple[int, ...] | None:
        """The generation now current in the database (this index may be bound to an older one), asked
        over the open connection; None when there is none."""
        found = self._query("SELECT generation FROM bron_index WHERE name = %s", (self.name,))
        return (int(found[0][0]),) if found else None

    def passage_counts(self) -> dict[str, int]:
        """Passages per document id, counted in the database (the documents view needs no passage)."""
        rows = self._query(self._sql("SELECT chunk->>'doc_id', count(*) FROM {} GROUP BY 1", self._passages), ())
        return {doc: int(n) for doc, n in rows}

    def search_dense(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        rows = self._query(
            self._sql("SELECT row, 1 - (embedding <=> %s) FROM {} ORDER BY embedding <=> %s LIMIT %s", self._passages),
            (np.asarray(query, dtype=np.float32), np.asarray(query, dtype=np.float32), k),
        )
        return [(int(r), float(s)) for r, s in rows]

    def search_lexical(self, question: str, k: int) -> list[tuple[int, float]]:
        """Passages sharing a lexeme with the question (OR), ranked by ``ts_rank`` with normalisation 1.

        Term frequency divided by 1 + log(passage length), the closest of PostgreSQL's rankings to BM25 on
        the eval set (MRR 0.768 alone against BM25's 0.789; cover density, ``ts_rank_cd``, 0.712: it
        rewards terms standing together, which an OR-ed question does not ask for).
        """
        template = (
            "WITH q AS (SELECT replace(plainto_tsquery('dutch', %s)::text, '&', '|')::tsquery AS nl, "
            "replace(plainto_tsquery('english', %s)::text, '&', '|')::tsquery AS en) "
            "SELECT row, ts_rank(tsv, CASE WHEN cfg = 'english'::regconfig THEN q.en ELSE q.nl END, 1) AS rank "
            "FROM {}, q WHERE tsv @@ (CASE WHEN cfg = 'english'::regconfig THEN q.en ELSE q.nl END) "
            "ORDER BY rank DESC, row LIMIT %s"
        )
        rows = self._query(self._sql(template, self._passages), (question, question, k))
        return [(int(r), float(s)) for r, s in rows]

    def cosine(self, row: int, query: np.ndarray) -> float:
        found = self._query(
            self._sql("SELECT 1 - (embedding <=> %s) FROM {} WHERE row = %s", self._passages),
            (np.asarray(query, dtype=np.float32), row),
        )
        return float(found[0][0]) if found else 0.0

    def unit_vector(self, text: str) -> np.ndarray | None:
        from assistant.store import unit_key

        found = self._query(self._sql("SELECT embedding FROM {} WHERE key = %s", self._units), (unit_key(text),))
        return _array(found[0][0]) if found else None

    def embeddings(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Passage vectors by embedded-text hash and unit vectors by key: what a re-index reuses."""
        passages = self._query(self._sql("SELECT embedded_hash, embedding FROM {}", self._passages), ())
        units = self._query(self._sql("SELECT key, embedding FROM {}", self._units), ())
        return {h: _array(v) for h, v in passages}, {k: _array(v) for k, v in units}

    def close(self) -> None:
        self._conn.close()


def _array(value: Any) -> np.ndarray:
    """A pgvector value (a ``Vector`` or an array, by pgvector-python version) as float32."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def check_dsn(dsn: str) -> str:
    if not re.match(r"^postgres(ql)?://", dsn):
        raise InputError(f"--store must be a postgresql:// connection string, not {redact(dsn)[:80]!r}")
    return dsn
