"""A cited passage shown in its original: the rendered PDF page with the sentence marked, or the lines."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil

import pytest

from assistant.documents import load_document
from assistant.original import show
from bench.docmaker import make_docx, make_pdf
from tests.fakes import CORPUS

ARTICLE = "uitermark-duyvendak-menging"
SENTENCE = (
    "Dit beleid van gemengd bouwen wordt al sinds 1990 gevoerd en is in de loop der jaren steeds verder geïntensiveerd."
)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    path = folder / f"{ARTICLE}.pdf"
    placed = make_pdf(load_document(CORPUS / f"{ARTICLE}.txt"), path)
    return folder, path, placed


def marked_rows(html: str) -> list[int]:
    """Pixel rows of the page image with yellow in them."""
    from PIL import Image

    data = base64.b64decode(html.split("base64,", 1)[1].split("'", 1)[0])
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    pixels = image.load()
    return [
        y
        for y in range(0, height, 2)
        if any(pixels[x, y][2] < 150 and pixels[x, y][0] > 200 for x in range(0, width, 3))
    ]


def test_the_pdf_page_is_rendered_with_the_sentence_marked(pdf):
    folder, path, placed = pdf
    page = next(p.page for p in placed if "gemengd bouwen wordt al sinds 1990" in p.text.replace("\n", " ")
                or "al sinds 1990" in p.text)  # fmt: skip
    shown = show(path, folder, digest(path), page, 0, 0, SENTENCE)
    assert shown.note == "" and shown.html.startswith("<img") and "data:image/png;base64," in shown.html
    rows = marked_rows(shown.html)
    assert rows, "no mark on the page"
    # the mark covers the sentence's three lines, no more: one band about three text lines high
    assert max(rows) - min(rows) < 5 * 12 * 1.4
    other = show(
        path, folder, digest(path), page, 0, 0, "Deze zin staat nergens in het artikel, ook niet op deze pagina."
    )
    assert other.html.startswith("<img") and not marked_rows(other.html)


def test_a_changed_file_or_one_outside_the_corpus_is_not_shown(pdf, tmp_path):
    folder, path, _ = pdf
    assert "changed since it was indexed" in show(path, folder, "0" * 64, 1, 0, 0, SENTENCE).note
    elsewhere = tmp_path / "elders.pdf"
    shutil.copy(path, elsewhere)
    assert "not in the corpus folder" in show(elsewhere, folder, digest(elsewhere), 1, 0, 0, SENTENCE).note
    assert "no page 99" in show(path, folder, digest(path), 99, 0, 0, SENTENCE).note


def test_a_text_file_shows_its_lines_with_the_sentence_marked():
    path = CORPUS / f"{ARTICLE}.txt"
    shown = show(path, CORPUS, digest(path), None, 21, 22, SENTENCE)
    assert "<td class='bron-ln'>19</td>" in shown.html  # a little context around the passage
    marked = " ".join(part.split("</mark>")[0] for part in shown.html.split("<mark>")[1:])
    assert " ".join(marked.split()) == SENTENCE


def test_a_word_file_shows_the_lines_of_its_extracted_text(tmp_path):
    document = load_document(CORPUS / f"{ARTICLE}.txt")
    path = tmp_path / "artikel.docx"
    make_docx(document, path)
    indexed = load_document(path)
    section = indexed.sections[0]
    offset = section.text.index(SENTENCE)
    line = section.line_at(offset)
    shown = show(path, tmp_path, digest(path), None, line, line, SENTENCE)
    assert "<mark>" in shown.html and "1990" in shown.html.split("<mark>")[1]
    assert "<script" not in shown.html
