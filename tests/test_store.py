import json
import logging
import threading

import pytest

from assistant.chat.view import documents_html
from assistant.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from assistant.files import file_sha256
from assistant.indexing import build_index, corpus_changes, identity_for
from assistant.qa import Assistant
from assistant.store import load_index, read_manifest
from assistant.texts import TEXT
from tests.fakes import KEYWORD_THRESHOLDS, assistant_over


def test_round_trip_and_unchanged_corpus_is_not_reembedded(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy)
    first = build_index(settings, keyword_embedder)
    assert first.embedded == first.chunks > 50 and first.reused == 0
    index = load_index(settings.index_path, identity_for(settings, keyword_embedder))
    assert len(index.chunks) == len(index.vectors) == first.chunks
    assert {c.doc_id for c in index.chunks} == {
        "gijsberts-dagevos-interventies-recensie",
        "uitermark-duyvendak-menging",
    }
    authors = index.manifest.documents["uitermark-duyvendak-menging"].authors
    assert authors == ("Justus Uitermark", "Jan Willem Duyvendak")
    calls = keyword_embedder.embedded
    again = build_index(settings, keyword_embedder)
    assert again.unchanged and keyword_embedder.embedded == calls


def test_changed_document_reembeds_only_its_changed_passages(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy)
    first = build_index(settings, keyword_embedder)
    review = corpus_copy / "gijsberts-dagevos-interventies-recensie.txt"
    review.write_text(review.read_text(encoding="utf-8") + "\nEen nieuwe slotzin over de wijk.\n", encoding="utf-8")
    second = build_index(settings, keyword_embedder)
    assert 0 < second.embedded <= 3
    assert second.reused == second.chunks - second.embedded
    assert second.chunks >= first.chunks
    index = load_index(settings.index_path, identity_for(settings, keyword_embedder))
    assert any("nieuwe slotzin" in c.text for c in index.chunks)


def test_an_edited_metadata_file_reaches_the_index_without_reembedding(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy)
    first = build_index(settings, keyword_embedder)
    meta = corpus_copy / "uitermark-duyvendak-menging.meta.json"
    data = json.loads(meta.read_text(encoding="utf-8"))
    meta.write_text(json.dumps({**data, "title": "Een nieuwe titel", "year": 2006}), encoding="utf-8")
    assert corpus_changes(settings, read_manifest(settings.index_path)) == ["~ uitermark-duyvendak-menging"]
    calls = keyword_embedder.embedded
    second = build_index(settings, keyword_embedder)
    assert not second.unchanged and second.reused == second.chunks == first.chunks
    assert keyword_embedder.embedded == calls  # the passages are the same: nothing is embedded again
    document = read_manifest(settings.index_path).documents["uitermark-duyvendak-menging"]
    assert (document.title, document.year) == ("Een nieuwe titel", 2006)
    assert corpus_changes(settings, read_manifest(settings.index_path)) == []
    meta.unlink()  # removing it counts as a change too
    assert not build_index(settings, keyword_embedder).unchanged
    assert read_manifest(settings.index_path).documents["uitermark-duyvendak-menging"].title != "Een nieuwe titel"


def test_unchanged_documents_keep_their_passages_without_being_split_again(
    make_settings, keyword_embedder, corpus_copy, monkeypatch
):
    import assistant.indexing as indexing

    settings = make_settings(corpus_dir=corpus_copy)
    build_index(settings, keyword_embedder)
    (corpus_copy / "nieuw.txt").write_text("# Nieuw\n\nEen korte nieuwe tekst over de wijk. Nog een zin.\n", "utf-8")
    split = []
    real = indexing.chunk_document
    monkeypatch.setattr(indexing, "chunk_document", lambda d, *a: split.append(d.doc_id) or real(d, *a))
    build_index(settings, keyword_embedder)
    assert split == ["nieuw"]  # only the new file was split into sentences
    incremental = load_index(settings.index_path, identity_for(settings, keyword_embedder)).chunks
    build_index(settings, keyword_embedder, rebuild=True)  # a rebuild splits everything again ...
    assert sorted(split) == sorted(["nieuw", "nieuw", *{c.doc_id for c in incremental} - {"nieuw"}])
    rebuilt = load_index(settings.index_path, identity_for(settings, keyword_embedder)).chunks
    assert incremental == rebuilt  # ... and gets the very same passages


def test_an_index_split_by_older_rules_is_split_again_and_its_vectors_reused(
    make_settings, keyword_embedder, corpus_copy, monkeypatch, caplog
):
    import assistant.indexing as indexing
    from assistant.chunking import SPLITTING_VERSION

    settings = make_settings(corpus_dir=corpus_copy)
    first = build_index(settings, keyword_embedder)
    path = settings.index_path / "manifest.json"
    old = json.loads(path.read_text())
    assert old["splitting"] == SPLITTING_VERSION
    del old["splitting"]  # as written before the version was recorded
    path.write_text(json.dumps(old))
    stale = load_index(settings.index_path, identity_for(settings, keyword_embedder)).manifest
    assert stale.splitting == 1 and stale.split_by_older_rules
    # Until it is rebuilt it answers from the old sentences, and says so: on stderr and in the chat.
    with caplog.at_level(logging.WARNING, logger="assistant.qa"):
        Assistant.open(settings, keyword_embedder)
    assert "split into sentences by older rules; 'bron index' updates it" in caplog.text
    assert "bron index" in documents_html(stale, {}, settings.index_name, TEXT["nl"])
    split = []
    real = indexing.chunk_document
    monkeypatch.setattr(indexing, "chunk_document", lambda d, *a: split.append(d.doc_id) or real(d, *a))
    again = build_index(settings, keyword_embedder)
    assert not again.unchanged and sorted(split) == sorted(old["documents"])  # every document split again
    assert again.embedded == 0 and again.reused == first.chunks  # the same passages: no vector embedded
    assert json.loads(path.read_text())["splitting"] == SPLITTING_VERSION
    assert build_index(settings, keyword_embedder).unchanged
    fresh = load_index(settings.index_path, identity_for(settings, keyword_embedder)).manifest
    assert "bron index" not in documents_html(fresh, {}, settings.index_name, TEXT["nl"])


def test_other_embedder_or_chunking_is_refused_naming_both(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy)
    build_index(settings, keyword_embedder)
    other = make_settings(corpus_dir=corpus_copy, chunk_chars=300)
    with pytest.raises(IndexMismatchError) as info:
        load_index(settings.index_path, identity_for(other, keyword_embedder))
    message = str(info.value)
    assert "chunks of 700 chars" in message and "chunks of 300 chars" in message


def test_damaged_or_missing_index_is_a_clear_error(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy)
    identity = identity_for(settings, keyword_embedder)
    with pytest.raises(IndexMissingError):
        load_index(settings.index_path, identity)
    build_index(settings, keyword_embedder)
    vectors = settings.index_path / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:-16])
    with pytest.raises(IndexCorruptError, match="vectors.npy"):
        load_index(settings.index_path, identity)
    (settings.index_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="manifest"):
        load_index(settings.index_path, identity)


def test_a_manifest_of_the_wrong_shape_or_version_is_one_clear_error(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy)
    build_index(settings, keyword_embedder)
    identity = identity_for(settings, keyword_embedder)
    path = settings.index_path / "manifest.json"
    good = json.loads(path.read_text())
    path.write_text(json.dumps({**good, "n_chunks": "many"}))
    with pytest.raises(IndexCorruptError, match="manifest .* invalid .*n_chunks"):
        load_index(settings.index_path, identity)
    broken = {**good, "documents": {**good["documents"]}}
    broken["documents"]["uitermark-duyvendak-menging"] = {"title": "no hash"}
    path.write_text(json.dumps(broken))
    with pytest.raises(IndexCorruptError, match="documents.uitermark-duyvendak-menging.path"):
        load_index(settings.index_path, identity)
    path.write_text(json.dumps(["a", "list"]))
    with pytest.raises(IndexMismatchError, match="format version None"):
        load_index(settings.index_path, identity)
    path.write_text(json.dumps({**good, "format_version": 0}))
    with pytest.raises(IndexMismatchError, match="format version 0"):
        load_index(settings.index_path, identity)
    build_index(settings, keyword_embedder)  # an index of another version is rebuilt, not refused
    index = load_index(settings.index_path, identity)
    assert index.manifest.n_chunks == len(index.chunks) == good["n_chunks"]


def test_rebuild_after_damage_restores_a_loadable_index(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy)
    build_index(settings, keyword_embedder)
    (settings.index_path / "chunks.jsonl").write_text("garbage\n", encoding="utf-8")
    build_index(settings, keyword_embedder, rebuild=True)
    index = load_index(settings.index_path, identity_for(settings, keyword_embedder))
    assert index.manifest.n_chunks == len(index.chunks)
    assert sorted(p.name for p in settings.index_dir.glob(".*")) == [".default.lock", ".default.swap"]  # no staging


def test_interrupted_swap_recovers_the_previous_index(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy)
    build_index(settings, keyword_embedder)
    old = settings.index_path.with_name(f".{settings.index_path.name}.old")
    settings.index_path.rename(old)  # as if a save died between its two renames
    index = load_index(settings.index_path, identity_for(settings, keyword_embedder))
    assert len(index.chunks) == json.loads((settings.index_path / "manifest.json").read_text())["n_chunks"]


def test_vector_store_is_chosen_by_corpus_size_and_recorded(make_settings, keyword_embedder, corpus_copy):
    from assistant.store import FLAT, HNSW, choose_vector_store

    assert choose_vector_store(94, "auto", 200_000)[0] == FLAT
    assert choose_vector_store(200_001, "auto", 200_000)[0] == HNSW
    assert choose_vector_store(10, HNSW, 200_000) == (HNSW, "set in the settings")

    small = make_settings(corpus_dir=corpus_copy)
    build_index(small, keyword_embedder)
    assert load_index(small.index_path, identity_for(small, keyword_embedder)).dense.kind == FLAT

    # The same corpus over a lowered limit gets HNSW, says why, and finds what exact search finds.
    large = make_settings(corpus_dir=corpus_copy, index_name="large", exact_search_limit=10)
    build_index(large, keyword_embedder)
    exact = load_index(small.index_path, identity_for(small, keyword_embedder))
    approx = load_index(large.index_path, identity_for(large, keyword_embedder))
    assert approx.manifest.vector_store == HNSW
    assert "> 10" in approx.manifest.vector_store_reason
    query = keyword_embedder.embed_queries(["Welke drie strategieën noemen de auteurs voor bestuurders?"])[0]
    assert list(approx.dense.search(query, 5)[0]) == list(exact.dense.search(query, 5)[0])


def test_forcing_another_vector_store_rebuilds_without_reembedding(make_settings, keyword_embedder, corpus_copy):
    from assistant.store import HNSW

    settings = make_settings(corpus_dir=corpus_copy)
    first = build_index(settings, keyword_embedder)
    forced = make_settings(corpus_dir=corpus_copy, vector_store=HNSW)
    report = build_index(forced, keyword_embedder)
    assert not report.unchanged and report.embedded == 0 and report.reused == first.chunks
    assert load_index(forced.index_path, identity_for(forced, keyword_embedder)).dense.kind == HNSW
    assert build_index(forced, keyword_embedder).unchanged


def test_evidence_units_are_embedded_at_index_time_and_not_again_per_question(
    make_settings, keyword_embedder, corpus_copy
):
    from assistant.indexing import evidence_units

    settings = make_settings(corpus_dir=corpus_copy, **KEYWORD_THRESHOLDS)
    build_index(settings, keyword_embedder)
    index = load_index(settings.index_path, identity_for(settings, keyword_embedder))
    units = evidence_units(index.chunks)
    assert len(units) > 100 and all(index.unit_vector(u) is not None for u in units)
    unit = units[0]
    assert index.unit_vector(unit) == pytest.approx(keyword_embedder.embed_passages([unit])[0])
    # Answering embeds the question and nothing else: the retrieved passages' units come from the index.
    before = keyword_embedder.embedded
    answer = assistant_over(settings, keyword_embedder).ask(
        "Wat werd in 1997 met het herstructureringsbeleid voorgesteld?"
    )
    assert answer.quotes and keyword_embedder.embedded - before == 1


def test_an_index_without_stored_units_is_brought_up_to_date(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy)
    build_index(settings, keyword_embedder)
    manifest_path = settings.index_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for name in ("units.json", "units.npy"):  # as an index built before units were stored
        (settings.index_path / name).unlink()
        del manifest["files"][name]
    manifest_path.write_text(json.dumps(manifest))
    assert load_index(settings.index_path, identity_for(settings, keyword_embedder)).unit_vectors is None
    before = keyword_embedder.embedded
    report = build_index(settings, keyword_embedder)
    assert not report.unchanged and report.embedded == 0  # passages reused, only the units embedded
    assert keyword_embedder.embedded > before
    assert load_index(settings.index_path, identity_for(settings, keyword_embedder)).unit_vectors is not None


def test_passages_keep_their_sentences_and_an_index_without_them_is_brought_up_to_date(
    make_settings, keyword_embedder, corpus_copy
):
    from assistant.chunking import chunk_document, chunk_sentences
    from assistant.documents import load_corpus

    settings = make_settings(corpus_dir=corpus_copy)
    build_index(settings, keyword_embedder)
    chunks_path = settings.index_path / "chunks.jsonl"
    stored = load_index(settings.index_path, identity_for(settings, keyword_embedder)).chunks
    # Read back from disk, a passage's stored sentences are the ones chunking found.
    documents, _ = load_corpus(corpus_copy)
    fresh = [c for d in documents for c in chunk_document(d, settings.chunk_chars, settings.chunk_overlap_sentences)]
    assert all(c.sentences for c in stored)
    assert [chunk_sentences(c) for c in stored] == [chunk_sentences(c) for c in fresh]
    rows = [json.loads(line) for line in chunks_path.read_text().splitlines()]
    for row in rows:  # as an index built before sentences were stored
        del row["sentences"]
    chunks_path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    manifest_path = settings.index_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["chunks.jsonl"] = file_sha256(chunks_path)
    manifest_path.write_text(json.dumps(manifest))
    old = load_index(settings.index_path, identity_for(settings, keyword_embedder)).chunks
    assert not any(c.sentences for c in old)
    before = keyword_embedder.embedded
    report = build_index(settings, keyword_embedder)
    assert not report.unchanged and keyword_embedder.embedded == before  # split again, nothing embedded
    assert load_index(settings.index_path, identity_for(settings, keyword_embedder)).chunks == stored


def test_one_writer_at_a_time_and_a_live_writer_is_not_interrupted(make_settings, keyword_embedder, corpus_copy):
    from assistant.errors import IndexBusyError
    from assistant.store import generation_lock, writer_lock

    settings = make_settings(corpus_dir=corpus_copy)
    build_index(settings, keyword_embedder)
    stale = settings.index_path.with_name(f".{settings.index_path.name}.new-killed")
    stale.mkdir()  # staging left by a writer that was killed
    with writer_lock(settings.index_path):  # another 'bron index' is running
        with pytest.raises(IndexBusyError, match="being written by another 'bron index'"):
            build_index(settings, keyword_embedder, rebuild=True)
        # A reader never sees the writer between its two renames: it waits for the swap to finish.
        old = settings.index_path.with_name(f".{settings.index_path.name}.old")
        loaded = []
        with generation_lock(settings.index_path, exclusive=True):
            settings.index_path.rename(old)
            reader = threading.Thread(
                target=lambda: loaded.append(load_index(settings.index_path, identity_for(settings, keyword_embedder)))
            )
            reader.start()
            reader.join(timeout=0.5)
            assert reader.is_alive() and old.exists()  # waiting, and the writer's old build left alone
            old.rename(settings.index_path)
        reader.join(timeout=30)
        assert loaded and loaded[0].manifest.n_chunks > 50
    assert not stale.exists()  # cleaned up by the writer that took the lock
    assert build_index(settings, keyword_embedder, rebuild=True).chunks > 50  # free again
