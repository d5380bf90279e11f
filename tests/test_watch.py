"""``bron index --watch``: added, changed and deleted files reach the index, and an open chat sees them."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from assistant.documents import load_document
from assistant.store import read_manifest
from assistant.watch import watch_index
from bench.docmaker import make_docx, make_pdf
from tests.fakes import CORPUS, KEYWORD_THRESHOLDS, chat_over

REVIEW = "gijsberts-dagevos-interventies-recensie"


@pytest.fixture
def watching(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy, **KEYWORD_THRESHOLDS)
    updates: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(
        target=watch_index,
        args=(settings, keyword_embedder, lambda report, error: updates.put((report, error)), stop, 200),
        daemon=True,
    )
    thread.start()

    def next_update(timeout: float = 60):
        return updates.get(timeout=timeout)

    first, error = next_update()
    assert error is None and first.documents == 2
    time.sleep(0.5)  # the watcher is set up after the first build
    yield settings, corpus_copy, next_update
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


def indexed(settings) -> dict[str, str]:
    return read_manifest(settings.index_path).content_hashes()


def wait_for(next_update, condition, settings):
    """Updates until ``condition(manifest hashes)`` holds (each update is a finished build)."""
    for _ in range(5):
        report, error = next_update()
        if error is None and condition(indexed(settings)):
            return report
    raise AssertionError(f"the index never reached the expected state: {indexed(settings)}")


def test_added_changed_and_deleted_files_update_the_index(watching, keyword_embedder):
    settings, folder, next_update = watching
    chat = chat_over(settings, keyword_embedder)
    assert "nieuw" not in {d for d in chat.assistant().index.manifest.documents}
    review = load_document(CORPUS / f"{REVIEW}.txt")

    make_docx(review, folder / "nieuw.docx")
    report = wait_for(next_update, lambda h: "nieuw" in h, settings)
    assert report.reused > 0  # the unchanged documents' passages were not embedded again
    assert "nieuw" in chat.assistant().index.manifest.documents  # the open chat picked it up
    first_hash = indexed(settings)["nieuw"]

    (folder / "nieuw.docx").unlink()
    make_pdf(review, folder / "nieuw.pdf")  # the same document, now as a PDF
    wait_for(next_update, lambda h: h.get("nieuw") not in (None, first_hash), settings)
    pages = {c.start_page for c in chat.assistant().index.chunks if c.doc_id == "nieuw"}
    assert pages == {1}

    (folder / "nieuw.pdf").unlink()
    wait_for(next_update, lambda h: "nieuw" not in h, settings)
    assert "nieuw" not in chat.assistant().index.manifest.documents


def test_an_edited_metadata_file_updates_the_title_the_chat_cites(watching, keyword_embedder):
    settings, folder, next_update = watching
    chat = chat_over(settings, keyword_embedder)
    meta = folder / f"{REVIEW}.meta.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"title": "', '"title": "Herzien: '), encoding="utf-8")
    for _ in range(5):
        report, error = next_update()
        if error is None and read_manifest(settings.index_path).documents[REVIEW].title.startswith("Herzien: "):
            break
    else:
        raise AssertionError("the edited title never reached the index")
    assert report.embedded == 0  # the passages are the same
    assert chat.assistant().index.manifest.documents[REVIEW].title.startswith("Herzien: ")


def test_a_failed_update_keeps_the_last_index(watching):
    settings, folder, next_update = watching
    before = indexed(settings)
    for path in folder.iterdir():
        path.unlink()  # nothing readable left
    for _ in range(5):
        report, error = next_update()
        if error is not None:
            break
    assert error is not None and "no readable documents" in str(error)
    assert indexed(settings) == before
