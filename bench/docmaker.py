"""Realistic PDF, Word and HTML versions of the bundled texts, made in the tests.

The PDF is laid out as the journals the bundled texts come from: two columns, words hyphenated
at line ends, a running header, page numbers, a footnote in smaller type, headings in bold.
Its lines are drawn in an interleaved order (left and right column alternately, the footer before
the body), as some PDF writers do, so the reader must put the page in reading order itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.types import Document

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
MARGIN = 56.0
GUTTER = 22.0
BODY_SIZE, HEAD_SIZE, NOTE_SIZE = 9.5, 12.0, 7.0
LEADING = 12.0
FOOTNOTE = "Dit artikel is een bewerking van een lezing voor de Vereniging voor Stadsvernieuwing."


@dataclass
class PlacedLine:
    text: str
    size: float
    bold: bool
    page: int


def _wrap(text: str, width: float, size: float, font: str) -> list[str]:
    """Lines of at most ``width`` points; a long word that does not fit is hyphenated."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if stringWidth(candidate, font, size) <= width:
            current = candidate
            continue
        if len(word) >= 8 and "-" not in word and word.isalpha():
            for cut in range(len(word) - 3, 3, -1):
                head = f"{current} {word[:cut]}-".strip()
                if stringWidth(head, font, size) <= width:
                    lines.append(head)
                    current = word[cut:]
                    break
            else:
                lines.append(current)
                current = word
            continue
        if current:
            lines.append(current)
        current = word
    if current:
        lines.append(current)
    return lines


def make_pdf(document: Document, path: Path, *, columns: int = 2, header: str = "") -> list[PlacedLine]:
    """Write ``document`` as a journal-style PDF; returns every body line with its page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    header = header or f"{document.meta.title} — Tijdschrift voor de Volkshuisvesting"
    col_w = (PAGE_W - 2 * MARGIN - (columns - 1) * GUTTER) / columns
    top, bottom = PAGE_H - MARGIN - 24, MARGIN + 40
    rows_per_col = int((top - bottom) / LEADING)
    items: list[tuple[str, float, bool]] = []  # (text, size, bold); "" is a paragraph gap
    for section in document.sections:
        items.append(("", BODY_SIZE, False))
        items.extend((line, HEAD_SIZE, True) for line in _wrap(section.title, col_w, HEAD_SIZE, "Times-Bold"))
        for sentence_block in _paragraphs(section.text):
            items.extend((line, BODY_SIZE, False) for line in _wrap(sentence_block, col_w, BODY_SIZE, "Times-Roman"))
            items.append(("", BODY_SIZE, False))
    pages: list[list[list[tuple[str, float, bool]]]] = []  # page -> column -> lines
    for text, size, bold in items:
        if not pages or len(pages[-1][-1]) >= rows_per_col:
            if not pages or len(pages[-1]) == columns:
                pages.append([[]])
            else:
                pages[-1].append([])
        if text or pages[-1][-1]:
            pages[-1][-1].append((text, size, bold))
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle(document.meta.title)
    c.setAuthor("; ".join(document.meta.authors))
    c.setCreator("bron tests")
    placed: list[PlacedLine] = []
    for number, cols in enumerate(pages, start=1):
        c.setFont("Times-Roman", 8)
        c.drawCentredString(PAGE_W / 2, MARGIN, str(number))  # the page number, drawn first
        draws = []
        for ci, col in enumerate(cols):
            x = MARGIN + ci * (col_w + GUTTER)
            for ri, (text, size, bold) in enumerate(col):
                if text:
                    draws.append((ri, ci, x, top - ri * LEADING, text, size, bold))
        # Interleaved: row by row across the columns, not column by column.
        for _ri, _ci, x, y, text, size, bold in sorted(draws, key=lambda d: (d[0], d[1])):
            c.setFont("Times-Bold" if bold else "Times-Roman", size)
            c.drawString(x, y, text)
        for col in cols:
            placed.extend(PlacedLine(t, s, b, number) for t, s, b in col if t)
        if number == 1:
            c.setFont("Times-Roman", NOTE_SIZE)
            c.drawString(MARGIN, MARGIN + 18, f"1 {FOOTNOTE}")
            # the mark in the text: raised and small, after the first heading
            c.setFont("Times-Roman", 5.5)
            c.drawString(MARGIN + 2 + _width(cols[0][0][0], HEAD_SIZE, "Times-Bold"), top + 4, "1")
        c.setFont("Times-Italic", 8)
        c.drawString(MARGIN, PAGE_H - MARGIN, header)  # the running header, drawn last
        c.showPage()
    c.save()
    return placed


def _width(text: str, size: float, font: str) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, font, size)


def _paragraphs(text: str, sentences_per_paragraph: int = 5) -> list[str]:
    """The section's running text cut into paragraphs of a few sentences."""
    from assistant.chunking import split_sentences

    sentences = [s.text for s in split_sentences(text)]
    n = sentences_per_paragraph
    return [" ".join(sentences[i : i + n]) for i in range(0, len(sentences), n)]


def make_docx(document: Document, path: Path) -> None:
    """Write ``document`` as a Word file: section titles in the Heading 1 style, metadata in core properties."""
    import docx

    out = docx.Document()
    out.core_properties.title = document.meta.title
    out.core_properties.author = "; ".join(document.meta.authors)
    for section in document.sections:
        out.add_heading(section.title, level=1)
        for paragraph in _paragraphs(section.text):
            out.add_paragraph(paragraph)
    out.save(str(path))


def make_html(document: Document, path: Path) -> None:
    """Write ``document`` as a saved web page: navigation, a cookie banner and a footer around the article."""
    from html import escape

    body = []
    for section in document.sections:
        body.append(f"<h2>{escape(section.title)}</h2>")
        body.extend(f"<p>{escape(p)}</p>" for p in _paragraphs(section.text))
    authors = escape(", ".join(document.meta.authors))
    path.write_text(
        f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>{escape(document.meta.title)}</title>
<meta name="author" content="{authors}"></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/archief">Archief</a></li>
<li><a href="/abonneren">Abonneren</a></li></ul></nav>
<div class="cookie">Deze website gebruikt cookies. Akkoord?</div>
<main><article><h1>{escape(document.meta.title)}</h1>
{chr(10).join(body)}
</article></main>
<footer><p>© Tijdschrift voor de Volkshuisvesting. Alle rechten voorbehouden.</p></footer>
</body></html>
""",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.docmaker OUT [pdf|docx|html]``: the bundled corpus as files of one format in OUT."""
    import argparse
    import shutil

    from assistant.documents import load_corpus
    from assistant.settings import bundled

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("kind", nargs="?", default="pdf", choices=["pdf", "docx", "html"])
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = bundled("corpus")
    documents, _ = load_corpus(corpus)
    for document in documents:
        target = args.out / f"{document.doc_id}.{args.kind}"
        {"pdf": make_pdf, "docx": make_docx, "html": make_html}[args.kind](document, target)
        meta = corpus / f"{document.doc_id}.meta.json"
        if meta.exists():
            shutil.copy(meta, args.out / meta.name)
        print(target)


if __name__ == "__main__":
    main()
