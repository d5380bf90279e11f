"""The index in PostgreSQL with pgvector: a real throwaway server (pgserver) on a Unix socket.

The same retrieval and answering tests run against the folder index and PostgreSQL; a re-index killed in
the middle of its transaction leaves the previous index; two processes share one database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from assistant.errors import IndexBusyError, IndexMissingError, InputError
from assistant.indexing import build_index, evidence_units
from assistant.retrieval import retrieve_hybrid
from tests.fakes import KEYWORD_THRESHOLDS, ROOT, assistant_over

QUESTION = "Wat werd in 1997 met het herstructureringsbeleid voorgesteld?"


@pytest.fixture(params=["folder", "postgresql"])
def stored(request, make_settings, keyword_embedder, corpus_copy, pg_dsn):
    """Settings for an index over the corpus copy in each store, built."""
    store = pg_dsn if request.param == "postgresql" else None
    name = f"t{abs(hash(str(corpus_copy))) % 10**8}"
    settings = make_settings(corpus_dir=corpus_copy, store=store, index_name=name, **KEYWORD_THRESHOLDS)
    build_index(settings, keyword_embedder)
    return settings


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_retrieval_mode_finds_the_passage_in_both_stores(stored, keyword_embedder, mode):
    index = assistant_over(stored, keyword_embedder).index
    hits = retrieve_hybrid(
        index, keyword_embedder, "herstructureringsbeleid 1997 sociale huur verlaagd", 3, 20, mode=mode
    )
    assert len(hits) == 3 and "herstructureringsbeleid" in hits[0].chunk.text
    assert all(-1.0 <= h.dense_score <= 1.0 for h in hits)
    if mode == "dense":
        assert [h.dense_score for h in hits] == sorted((h.dense_score for h in hits), reverse=True)


def test_answers_cite_the_same_passage_in_both_stores(stored, keyword_embedder):
    answer = assistant_over(stored, keyword_embedder).ask(QUESTION)
    assert answer.mode == "extractive" and "65 naar 42" in answer.text
    assert answer.citations[0].doc == "uitermark-duyvendak-menging" and answer.citations[0].start_line > 0
    assert not assistant_over(stored, keyword_embedder).ask("Wat vond de VVD van de herstructurering?").citations


def test_the_postgresql_index_is_the_folder_index_in_other_tables(make_settings, keyword_embedder, pg_dsn):
    folder = make_settings(index_name="same")
    pg = make_settings(index_name="same", store=pg_dsn)
    build_index(folder, keyword_embedder)
    build_index(pg, keyword_embedder)
    a, b = assistant_over(folder, keyword_embedder).index, assistant_over(pg, keyword_embedder).index
    assert a.chunks == b.chunks and a.vocabulary == b.vocabulary
    assert a.manifest.documents == b.manifest.documents and b.manifest.vector_store == "pgvector-exact-cosine"
    query = keyword_embedder.embed_queries(["stedelijke vernieuwing sociale huur"])[0]
    # 4096 keyword dimensions are past pgvector's HNSW limit: an exact scan, so the same neighbours as FAISS.
    assert [r for r, _ in a.search_dense(query, 10)] == [r for r, _ in b.search_dense(query, 10)]
    from assistant.errors import IndexMismatchError
    from assistant.pg_store import PgIndex
    from assistant.store import expected_identity

    with pytest.raises(IndexMismatchError, match="was built with .*keyword-fake.* but the settings ask for"):
        PgIndex.open(pg_dsn, "same", expected_identity("multilingual-e5-small", "x", 384, 700, 1))
    unit = evidence_units(a.chunks)[5]
    assert np.allclose(a.unit_vector(unit), b.unit_vector(unit)) and b.unit_vector("geen eenheid") is None


def test_reindexing_embeds_only_changed_passages(make_settings, keyword_embedder, corpus_copy, pg_dsn):
    settings = make_settings(corpus_dir=corpus_copy, store=pg_dsn, index_name="incremental")
    first = build_index(settings, keyword_embedder)
    assert first.embedded == first.chunks > 50
    assert build_index(settings, keyword_embedder).unchanged
    doc = corpus_copy / "uitermark-duyvendak-menging.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + "\n\nEen nieuwe alinea over groen in de wijk.\n", encoding="utf-8")
    again = build_index(settings, keyword_embedder)
    assert not again.unchanged and 0 < again.embedded <= 3 and again.reused >= first.chunks - 3
    from assistant.pg_store import connect

    with connect(pg_dsn) as conn:  # as recorded before the splitting rules had a version
        conn.execute("UPDATE bron_index SET manifest = manifest - 'splitting' WHERE name = 'incremental'")
    resplit = build_index(settings, keyword_embedder)
    assert not resplit.unchanged and resplit.embedded == 0  # split again, every vector reused
    assert build_index(settings, keyword_embedder).unchanged


_KILLED_WRITER = """
import os, sys
sys.path.insert(0, {root!r})
from assistant import pg_store
from assistant.indexing import build_index, evidence_units
from assistant.settings import load_settings
from tests.fakes import KeywordEmbedder
settings = load_settings("test", store={dsn!r}, index_name="killed", corpus_dir={corpus!r},
                         cache_dir={cache!r}, index_dir={cache!r})
pg_store._now = lambda: os._exit(9)  # dies inside the transaction: tables written, the switch not yet
build_index(settings, KeywordEmbedder(), rebuild=True)
"""


def test_a_reindex_killed_mid_transaction_leaves_the_previous_index(
    make_settings, keyword_embedder, corpus_copy, pg_dsn, tmp_path
):
    settings = make_settings(corpus_dir=corpus_copy, store=pg_dsn, index_name="killed", **KEYWORD_THRESHOLDS)
    build_index(settings, keyword_embedder)
    before = assistant_over(settings, keyword_embedder).index
    (corpus_copy / "extra.md").write_text("# Groen\n\nDe gemeente plant bomen in elke straat.\n", encoding="utf-8")
    script = _KILLED_WRITER.format(root=str(ROOT), dsn=pg_dsn, corpus=str(corpus_copy), cache=str(tmp_path / "c"))
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, timeout=300)
    assert result.returncode == 9, result.stderr.decode()[-2000:]
    after = assistant_over(settings, keyword_embedder).index
    assert after.generation == before.generation and "extra" not in after.documents  # the old build, whole
    assert "65 naar 42" in assistant_over(settings, keyword_embedder).ask(QUESTION).text
    report = build_index(settings, keyword_embedder)  # the next write goes through
    assert not report.unchanged and "extra" in assistant_over(settings, keyword_embedder).index.documents


_READER = """
import sys
sys.path.insert(0, {root!r})
from assistant.settings import load_settings
from tests.fakes import KEYWORD_THRESHOLDS, KeywordEmbedder, assistant_over
settings = load_settings("test", store={dsn!r}, index_name="shared", cache_dir={cache!r}, index_dir={cache!r},
                         **KEYWORD_THRESHOLDS)
answer = assistant_over(settings, KeywordEmbedder()).ask({question!r})
print(answer.citations[0].doc, "extra" in assistant_over(settings, KeywordEmbedder()).index.documents)
"""


def test_two_processes_share_one_database_and_one_writer_at_a_time(
    make_settings, keyword_embedder, corpus_copy, pg_dsn, tmp_path
):
    from assistant.pg_store import _lock_id, connect

    settings = make_settings(corpus_dir=corpus_copy, store=pg_dsn, index_name="shared", **KEYWORD_THRESHOLDS)
    build_index(settings, keyword_embedder)
    script = _READER.format(root=str(ROOT), dsn=pg_dsn, cache=str(tmp_path / "c"), question=QUESTION)

    def reader() -> str:
        run = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, timeout=300)
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        return run.stdout.decode().strip()

    assert reader() == "uitermark-duyvendak-menging False"
    (corpus_copy / "extra.md").write_text("# Groen\n\nDe gemeente plant bomen in elke straat.\n", encoding="utf-8")
    build_index(settings, keyword_embedder)
    assert reader() == "uitermark-duyvendak-menging True"  # the other process sees the new build
    holder = connect(pg_dsn)
    try:
        with holder.transaction():
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id("shared"),))
            with pytest.raises(IndexBusyError, match="being written by another"):
                build_index(settings, keyword_embedder, rebuild=True)
    finally:
        holder.close()


def test_bad_connections_and_names_are_one_line_without_the_password(make_settings, keyword_embedder, pg_dsn):
    from assistant.qa import Assistant

    with pytest.raises(IndexMissingError, match="no index 'nergens' in PostgreSQL") as missing:
        Assistant.open(make_settings(store=pg_dsn, index_name="nergens"), embedder=keyword_embedder)
    assert "\n" not in str(missing.value)
    bad = "postgresql://bron:geheim@127.0.0.1:9/bron"
    with pytest.raises(IndexMissingError, match="cannot connect to PostgreSQL") as refused:
        Assistant.open(make_settings(store=bad), embedder=keyword_embedder)
    assert "geheim" not in str(refused.value) and "bron:***@" in str(refused.value)
    with pytest.raises(InputError, match=r"invalid setting store='\*\*\*'"):
        make_settings(store="mysql://bron:geheim@db/x")


def test_the_chat_sees_a_new_postgresql_build(make_settings, keyword_embedder, corpus_copy, pg_dsn):
    from tests.fakes import chat_over

    settings = make_settings(corpus_dir=corpus_copy, store=pg_dsn, index_name="chat", **KEYWORD_THRESHOLDS)
    build_index(settings, keyword_embedder)
    chat = chat_over(settings, keyword_embedder)
    assert "extra" not in chat.assistant().index.documents
    (corpus_copy / "extra.md").write_text("# Groen\n\nDe gemeente plant bomen in elke straat.\n", encoding="utf-8")
    build_index(settings, keyword_embedder)
    assert "extra" in chat.assistant().index.documents  # reopened at the new generation, no restart
    index = chat.assistant().index
    assert "chunks" not in vars(index)  # the documents view counts in the database, loading no passage
    assert "1 passages" in chat.documents() and index.passage_counts()["uitermark-duyvendak-menging"] > 40
    assert "chunks" not in vars(index)


def test_no_server_is_left_listening_on_a_network(pg_dsn):
    assert "host=/" in pg_dsn and "@/" in pg_dsn and os.path.isabs(pg_dsn.split("host=")[1])  # a Unix socket only


@pytest.mark.slow
def test_bron_index_and_ask_on_postgresql_from_the_command_line(real_settings, pg_dsn):
    import json

    from click.testing import CliRunner

    from assistant.cli import main

    env = {"BRON_CACHE_DIR": str(real_settings.cache_dir), "BRON_INDEX_DIR": str(real_settings.index_dir)}
    args = ["--store", pg_dsn, "--index-name", "cli"]
    built = CliRunner().invoke(main, [*args, "index"], env=env)
    assert built.exit_code == 0, built.output
    from assistant.chunking import chunk_document
    from assistant.documents import load_corpus

    documents, _ = load_corpus(real_settings.corpus_dir)
    passages = sum(
        len(chunk_document(d, real_settings.chunk_chars, real_settings.chunk_overlap_sentences)) for d in documents
    )
    assert "'cli' in PostgreSQL" in built.output and f"{passages} passages" in built.output
    asked = CliRunner().invoke(main, [*args, "ask", "--json", QUESTION], env=env)
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.output)
    assert "65 naar 42" in answer["answer"] and answer["citations"][0]["doc"] == "uitermark-duyvendak-menging"
    again = CliRunner().invoke(main, [*args, "index"], env=env)
    assert "is up to date" in again.output
