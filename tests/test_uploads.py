"""Documents added from the chat: told by content, stored under generated names inside the corpus folder."""

from __future__ import annotations

import pytest

from assistant import uploads
from assistant.documents import load_document
from assistant.errors import DocumentError, InputError
from assistant.uploads import add_upload, add_uploads, remove_upload, uploaded
from bench.docmaker import make_docx, make_pdf
from tests.fakes import CORPUS, KEYWORD_THRESHOLDS, chat_over

REVIEW = "gijsberts-dagevos-interventies-recensie"


@pytest.fixture(scope="module")
def review():
    return load_document(CORPUS / f"{REVIEW}.txt")


def test_an_upload_is_stored_by_its_content_under_a_generated_name(review, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sent = tmp_path / "sent"
    sent.mkdir()
    disguised = sent / "notities.txt"
    make_pdf(review, disguised)  # a PDF sent as .txt
    doc_id, new = add_upload(corpus, disguised, "../../etc/notities.txt")
    assert new and doc_id.startswith("upload-")
    stored = sorted(p.name for p in (corpus / "uploads").iterdir())
    assert stored == [f"{doc_id}.pdf"]  # the PDF's own title is used: no meta.json needed
    assert load_document(corpus / "uploads" / f"{doc_id}.pdf").meta.title == review.meta.title
    assert not list(tmp_path.glob("etc*")) and not (tmp_path.parent / "etc").exists()
    assert add_upload(corpus, disguised, "again.pdf") == (doc_id, False)  # the same content once


def test_a_file_without_a_title_gets_the_name_it_was_sent_under(tmp_path):
    corpus = tmp_path / "corpus"
    source = tmp_path / "x"
    source.write_text("# Wijkbeleid\n\nDe gemeente Zandstad bouwt speeltuinen in elke wijk.\n", encoding="utf-8")
    doc_id, _ = add_upload(corpus, source, "Wijkplan_Zandstad.md")
    assert (corpus / "uploads" / f"{doc_id}.md").exists()
    assert load_document(corpus / "uploads" / f"{doc_id}.md").meta.title == "Wijkplan Zandstad"


def test_unusable_uploads_are_refused_and_leave_nothing(review, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    binary = tmp_path / "plaatje.pdf"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    broken = tmp_path / "kapot.pdf"
    broken.write_bytes(b"%PDF-1.4 niets meer")
    word = tmp_path / "recensie.docx"
    make_docx(review, word)
    added, refused = add_uploads(corpus, [(binary, "plaatje.pdf"), (broken, "kapot.pdf"), (word, "recensie.docx")])
    assert len(added) == 1 and len(refused) == 2
    assert "plaatje.pdf: not a PDF, Word, HTML or text file" in refused[0]
    assert refused[1].startswith("kapot.pdf: ") and "PDF" in refused[1]
    assert [p.name for p in (corpus / "uploads").iterdir()] == [f"{added[0]}.docx"]  # no staging left
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(DocumentError, match="over the upload limit"):
        add_upload(corpus, word, "groot.docx")
    with pytest.raises(InputError, match="at most"):
        add_uploads(corpus, [(word, "r.docx")] * (uploads.MAX_UPLOAD_FILES + 1))


def test_only_uploads_can_be_removed(review, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "eigen.txt").write_text("Mijn eigen tekst over wijken.\n", encoding="utf-8")
    source = tmp_path / "r.docx"
    make_docx(review, source)
    doc_id, _ = add_upload(corpus, source, "r.docx")
    for name in ("eigen", "../eigen", "upload-../../eigen"):
        with pytest.raises(InputError):
            remove_upload(corpus, name)
    remove_upload(corpus, doc_id)
    assert uploaded(corpus) == [] and (corpus / "eigen.txt").exists()


def test_the_chat_adds_and_removes_a_document(review, make_settings, keyword_embedder, corpus_copy, tmp_path):
    settings = make_settings(corpus_dir=corpus_copy, **KEYWORD_THRESHOLDS)
    from assistant.indexing import build_index

    build_index(settings, keyword_embedder)
    chat = chat_over(settings, keyword_embedder)
    source = tmp_path / "Recensie als PDF.pdf"
    make_pdf(review, source)
    steps = list(chat.add_documents([str(source)]))
    assert steps[-1][0].startswith("Klaar: 3 documenten")
    (doc_id,) = uploaded(corpus_copy)
    assert doc_id in chat.assistant().index.manifest.documents  # the chat answers from the new index
    assert [value for _, value in chat.upload_choices()] == [doc_id]
    steps = list(chat.remove_document(doc_id))
    assert steps[-1][0].startswith("Verwijderd; de index telt nu 2 documenten")
    assert doc_id not in chat.assistant().index.manifest.documents
    assert "only documents added from the chat can be removed" in list(chat.remove_document(REVIEW))[-1][0]
