"""PDF, Word and HTML files read into the same text as the bundled ``.txt`` versions.

The files are made here from the bundled texts (``bench.docmaker``): a two-column journal PDF
with hyphenated line ends, running header, page numbers and a footnote; a Word file with heading
styles; a saved web page with navigation, cookie banner and footer around the article.
"""

from __future__ import annotations

import re
import shutil

import pytest

from assistant.chunking import chunk_document
from assistant.documents import load_corpus, load_document
from assistant.errors import DocumentError
from assistant.formats import NOTES_SECTION, read_pdf
from bench.docmaker import FOOTNOTE, make_docx, make_html, make_pdf
from tests.fakes import CORPUS

ARTICLE = "uitermark-duyvendak-menging"
REVIEW = "gijsberts-dagevos-interventies-recensie"


def body_text(document) -> str:
    """The running text of a document's sections, notes left out, spaces normalised."""
    return " ".join(s.text for s in document.sections if s.title not in ("Noot", NOTES_SECTION))


def similarity(a: str, b: str) -> float:
    """Character-level: 1 - (Levenshtein edits / length of both), as difflib's ratio but in C."""
    from rapidfuzz.distance import Indel

    return Indel.normalized_similarity(a, b)


def alnum(text: str) -> str:
    return re.sub(r"[^0-9a-zà-ÿ]", "", text.lower())


@pytest.fixture(scope="module")
def reference():
    return {name: load_document(CORPUS / f"{name}.txt") for name in (ARTICLE, REVIEW)}


@pytest.fixture(scope="module")
def pdf_article(reference, tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / f"{ARTICLE}.pdf"
    placed = make_pdf(reference[ARTICLE], path)
    return path, placed


@pytest.mark.parametrize("name", [ARTICLE, REVIEW])
@pytest.mark.parametrize("kind", ["pdf", "docx", "html"])
def test_extracted_text_matches_the_bundled_text(reference, tmp_path, name, kind):
    path = tmp_path / f"{name}.{kind}"
    {"pdf": make_pdf, "docx": make_docx, "html": make_html}[kind](reference[name], path)
    document = load_document(path)
    ratio = similarity(body_text(reference[name]), body_text(document))
    print(f"{kind} {name}: character similarity {ratio:.4f}")
    assert ratio >= 0.995
    titles = [s.title for s in document.sections if s.title != NOTES_SECTION]
    if kind != "pdf" or name == ARTICLE:  # the review has no headings: one untitled section in every format
        assert titles == [s.title for s in reference[name].sections]
    assert document.source_format == kind
    # the file's own metadata, with no meta.json beside it
    assert document.meta.title == reference[name].meta.title
    if kind != "html":  # trafilatura capitalises author names
        assert document.meta.authors == reference[name].meta.authors


def test_pdf_running_header_page_numbers_and_footnote_do_not_enter_the_text(pdf_article):
    path, placed = pdf_article
    document = load_document(path)
    body = body_text(document)
    assert "Tijdschrift voor de Volkshuisvesting" not in body
    assert FOOTNOTE not in body
    notes = [s for s in document.sections if s.title == NOTES_SECTION]
    assert notes and FOOTNOTE in notes[0].text
    # no page number stuck between two words, no footnote mark glued to the first heading
    assert not re.search(r"[a-z] \d [a-z]", body)
    assert document.sections[0].title == "Inleiding"
    assert max(p.page for p in placed) >= 5  # the test is about a real multi-page PDF


def test_punctuation_stays_where_it_was_written(pdf_article, reference):
    """PDFium boxes a full stop after a quote mark wholly below it, and narrow glyphs leave gaps:
    neither may move the stop to another line or put a space before it."""
    text = body_text(load_document(pdf_article[0]))
    assert "‘verkleurd’. Terecht" in text
    space_before = re.compile(r"\s[,.;:!?]")
    assert len(space_before.findall(text)) == len(space_before.findall(body_text(reference[ARTICLE])))


def test_two_columns_read_in_order_although_drawn_interleaved(pdf_article, reference):
    path, _ = pdf_article
    text = body_text(load_document(path))
    sentences = ["Dit beleid van gemengd bouwen wordt al sinds 1990 gevoerd", "Wie hebben er nu gelijk?"]
    positions = [text.find(s) for s in sentences]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)


def test_passages_carry_the_pages_they_are_on(pdf_article):
    path, placed = pdf_article
    document = load_document(path)
    pages_text = {}
    for line in placed:
        pages_text[line.page] = pages_text.get(line.page, "") + alnum(line.text)
    chunks = chunk_document(document, target_chars=800, overlap=1)
    assert all(c.start_page is not None and c.start_page <= c.end_page for c in chunks)
    assert {c.start_page for c in chunks} == set(pages_text)
    note = next(c for c in chunks if c.section == NOTES_SECTION)
    assert FOOTNOTE in note.text and note.start_page == 1  # the footnote is on the first page
    for chunk in (c for c in chunks if c.section != NOTES_SECTION):
        head, tail = alnum(chunk.text)[:40], alnum(chunk.text)[-40:]
        assert head in pages_text[chunk.start_page] or head in pages_text[chunk.start_page] + pages_text.get(
            chunk.start_page + 1, ""
        ), chunk.chunk_id
        assert (
            tail in pages_text[chunk.end_page]
            or tail in pages_text.get(chunk.end_page - 1, "") + pages_text[chunk.end_page]
        ), chunk.chunk_id
    assert any(c.start_page != c.end_page for c in chunks)  # some passages run over a page break


def test_text_files_have_no_pages(reference):
    chunks = chunk_document(reference[REVIEW], target_chars=800, overlap=1)
    assert all(c.start_page is None and c.end_page is None for c in chunks)


def test_meta_json_overrides_the_files_own_metadata(reference, tmp_path):
    make_docx(reference[REVIEW], tmp_path / "recensie.docx")
    (tmp_path / "recensie.meta.json").write_text('{"title": "Eigen titel", "year": 2005}', encoding="utf-8")
    meta = load_document(tmp_path / "recensie.docx").meta
    assert (meta.title, meta.year, meta.authors) == ("Eigen titel", 2005, ("onbekende recensent",))


def test_html_keeps_the_article_not_the_page_around_it(reference, tmp_path):
    make_html(reference[REVIEW], tmp_path / "recensie.html")
    text = body_text(load_document(tmp_path / "recensie.html"))
    for chrome in ("cookies", "Abonneren", "Alle rechten voorbehouden"):
        assert chrome not in text


def _scanned_pdf(path):
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.rect(50, 50, 400, 600, fill=1)  # an image of a page, no text layer
    c.showPage()
    c.save()


def _encrypted_pdf(path):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt=StandardEncryption("geheim", canPrint=0))
    c.drawString(72, 720, "Vertrouwelijk rapport over wijken.")
    c.showPage()
    c.save()


def test_each_broken_file_gets_its_own_reason_and_the_rest_is_indexed(pdf_article, reference, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(pdf_article[0], folder / "artikel.pdf")
    _scanned_pdf(folder / "scan.pdf")
    _encrypted_pdf(folder / "geheim.pdf")
    (folder / "kapot.pdf").write_bytes(pdf_article[0].read_bytes()[:3000])
    (folder / "vermomd.pdf").write_text("Dit is gewone tekst met een verkeerde naam.\n", encoding="utf-8")
    (folder / "leeg.docx").write_bytes(b"PK\x03\x04 niet echt een zip")
    make_docx(reference[REVIEW], folder / "recensie.docx")
    calls = []
    documents, skipped = load_corpus(folder, reading=lambda *a: calls.append(a))
    assert sorted(d.doc_id for d in documents) == ["artikel", "recensie"]
    assert calls[-1] == (7, 7, read_pdf(pdf_article[0]).pages)  # every file, and the article's pages
    reasons = {s.path.name: s.reason for s in skipped}
    assert "no text layer" in reasons["scan.pdf"] and "OCR" in reasons["scan.pdf"]
    assert "encrypted" in reasons["geheim.pdf"]
    assert "not a readable PDF" in reasons["kapot.pdf"] or "damaged" in reasons["kapot.pdf"]
    assert "content is plain text" in reasons["vermomd.pdf"]
    assert "content is binary data" in reasons["leeg.docx"]
    assert len(reasons) == 5


def test_a_docx_without_text_is_reported(tmp_path):
    import docx

    docx.Document().save(str(tmp_path / "leeg.docx"))
    with pytest.raises(DocumentError, match="contains no text"):
        load_document(tmp_path / "leeg.docx")


def test_a_long_pdf_is_read_page_by_page(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "lang.pdf"
    c = canvas.Canvas(str(path))
    sentences = [s.strip() + "." for s in body_text(load_document(CORPUS / f"{REVIEW}.txt")).split(".") if s.strip()]
    for page in range(1, 501):
        c.setFont("Times-Roman", 10)
        name = "".join(chr(ord("a") + int(d)) for d in f"{page:03d}")  # a word of its own per page
        lines = [sentences[(page + i) % len(sentences)][:90] for i in range(4)]
        lines.insert(2, f"Het dossier van deze bladzijde heet {name}.")
        for i, line in enumerate(lines):
            c.drawString(72, 720 - 14 * i, line)
        c.drawString(300, 40, str(page))
        c.showPage()
    c.save()
    document = load_document(path)
    chunks = chunk_document(document, target_chars=800, overlap=0)
    found = [c for c in chunks if "heet dfh." in c.text]
    assert len(found) == 1 and found[0].start_page <= 357 <= found[0].end_page
    section = document.sections[0]
    assert document.page_of_line(section.line_at(section.text.index("heet dfh."))) == 357
    assert max(document.line_pages) == 500


def _page_finder(placed):
    """The page a piece of text starts on, from where the PDF maker drew its lines (ground truth)."""
    flat, pages = "", []
    for line in placed:
        piece = alnum(line.text)
        flat += piece
        pages += [line.page] * len(piece)

    def page_of(text: str) -> int | None:
        at = flat.find(alnum(text)[:60])
        return pages[at] if at >= 0 else None

    return page_of


def test_questions_over_the_pdf_version_cite_the_right_page(reference, tmp_path, make_settings, real_embedder):
    """The eval set's questions over the PDF corpus: every citation of gold evidence names its page."""
    from assistant.evaluation.evalset import load_cases, normalise
    from assistant.indexing import build_index
    from assistant.qa import Assistant

    folder = tmp_path / "pdf-corpus"
    folder.mkdir()
    finders = {}
    for name, document in reference.items():
        finders[name] = _page_finder(make_pdf(document, folder / f"{name}.pdf"))
        shutil.copy(CORPUS / f"{name}.meta.json", folder / f"{name}.meta.json")
    settings = make_settings(corpus_dir=folder)
    build_index(settings, real_embedder)
    assistant = Assistant.open(settings, embedder=real_embedder)
    checked = wrong = 0
    for case in load_cases():
        if not case.answerable or not case.evidence:
            continue
        answer = assistant.ask(case.question)
        for citation in answer.to_dict()["citations"]:
            for evidence in case.evidence:
                if evidence.doc != citation["doc"] or normalise(evidence.text) not in normalise(citation["text"]):
                    continue
                page = finders[evidence.doc](evidence.text)
                assert page is not None and citation["start_page"] is not None
                checked += 1
                wrong += not citation["start_page"] <= page <= citation["end_page"]
    print(f"{checked} citations of gold evidence over the PDF corpus, {wrong} with the wrong page")
    assert checked >= 30 and wrong == 0
