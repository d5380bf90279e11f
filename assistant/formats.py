"""Read PDF, Word and HTML files into the plain text that cleaning works on.

Every reader returns an ``Extracted``: text in lines (headings it can recognise written as
``# Heading``, paragraphs separated by blank lines), the page each line is on for paged formats,
and the file's own metadata. ``documents.clean_sections`` then does what it does for ``.txt``:
joins lines, repairs hyphenation, drops page numbers, and maps every character to its line, so a
citation can name the page.

PDF text comes from PDFium (pypdfium2) without any model: per character its box and font size,
from which the reader rebuilds lines, puts columns in reading order, drops running headers and
footers, and sets footnotes (smaller type below the body) apart in their own section.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import DocumentError

PDF_SUFFIXES = (".pdf",)
DOCX_SUFFIXES = (".docx",)
HTML_SUFFIXES = (".html", ".htm")
TEXT_SUFFIXES = (".txt", ".md")
MAX_PDF_PAGES = 2000
NOTES_SECTION = "Noten"


@dataclass(frozen=True)
class FileMeta:
    """What a file says about itself (PDF info, DOCX core properties, HTML meta); empty when it says nothing."""

    title: str = ""
    authors: tuple[str, ...] = ()
    year: int | None = None


@dataclass(frozen=True)
class Extracted:
    """A file's text in lines; ``line_pages[i]`` is the (1-based) page of line i+1, empty for unpaged formats."""

    text: str
    line_pages: tuple[int, ...] = ()
    meta: FileMeta = field(default_factory=FileMeta)
    pages: int = 0
    empty_pages: tuple[int, ...] = ()  # pages without a text layer


def sniff(head: bytes) -> str:
    """The format of a file by its first bytes: 'pdf', 'docx', 'html', 'text' or 'binary'."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "text"  # UTF-16 with a byte-order mark
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"  # a DOCX is a zip; which kind is told by its members (is_docx)
    lowered = head[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
        return "html"
    if b"\x00" in head[:4096]:
        return "binary"
    return "text"


def is_docx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def format_of(path: Path, head: bytes) -> str:
    """'pdf', 'docx', 'html' or 'text' by content; a file whose content is not what its name says is refused."""
    kind = sniff(head)
    if kind == "zip":
        kind = "docx" if is_docx(path) else "binary"
    suffix = path.suffix.lower()
    expected = (
        "pdf"
        if suffix in PDF_SUFFIXES
        else "docx"
        if suffix in DOCX_SUFFIXES
        else "html"
        if suffix in HTML_SUFFIXES
        else "text"
        if suffix in TEXT_SUFFIXES
        else ""
    )
    if expected == "text" and kind in ("text", "html"):
        return "text"  # a .md or .txt that quotes HTML is still text
    if expected == "html" and kind == "text":
        return "html"  # an HTML fragment without <html>
    if kind != expected:
        said = {"binary": "binary data", "text": "plain text"}.get(kind, f"a {kind.upper()} file")
        raise DocumentError(f"{path}: named {suffix} but its content is {said}, skipped")
    return kind


def _year(value: str) -> int | None:
    match = re.search(r"(1[5-9]\d\d|2\d\d\d)", value or "")
    return int(match.group(1)) if match else None


def _authors(value: str) -> tuple[str, ...]:
    value = (value or "").strip()
    if not value:
        return ()
    parts = re.split(r"\s*;\s*|\s+(?:&|en|and)\s+", value)
    return tuple(p.strip() for p in parts if p.strip())


# ---------------------------------------------------------------- PDF


@dataclass
class _Line:
    text: str
    left: float
    right: float
    bottom: float
    top: float
    size: float  # the font size most of its characters have
    page: int


def pdf_lines(textpage, page_number: int) -> list[_Line]:
    """The page's text as line fragments in PDFium's order, with boxes and font sizes.

    A fragment ends where PDFium ends a line (a generated line break) or where the next character
    is not on the same baseline. Raised small characters (footnote marks) are dropped: they would
    glue a digit to the word they follow.
    """
    import pypdfium2.raw as pdfium_c

    count = textpage.count_chars()
    if count <= 0:
        return []
    # PDFium writes a hyphen it takes for a line-end break as U+FFFE; it is a hyphen for cleaning to judge.
    text = textpage.get_text_range(0, count).replace("\ufffe", "-")
    lines: list[_Line] = []
    chars: list[tuple[str, float, float, float, float, float]] = []

    extent = [0.0, 0.0]  # bottom and top of the line being built
    sizes: Counter[float] = Counter()  # its characters' font sizes
    last: tuple[str, float, float, float, float, float] | None = None  # its last non-space character

    def flush() -> None:
        nonlocal last
        sizes.clear()
        last = None
        if not chars:
            return
        body = "".join(c[0] for c in chars)
        if body.strip():
            counted = Counter(round(c[5], 1) for c in chars if not c[0].isspace())
            size = counted.most_common(1)[0][0] if counted else chars[0][5]
            boxes = [c for c in chars if not c[0].isspace()] or chars
            lines.append(
                _Line(
                    body.strip(),
                    min(c[1] for c in boxes),
                    max(c[3] for c in boxes),
                    min(c[2] for c in boxes),
                    max(c[4] for c in boxes),
                    float(size),
                    page_number,
                )
            )
        chars.clear()

    for i in range(min(count, len(text))):
        ch = text[i]
        if ch in "\r\n":
            flush()
            continue
        left, right, bottom, top = _charbox(textpage, i)
        size = pdfium_c.FPDFText_GetFontSize(textpage.raw, i)
        if ch.isspace():
            if chars:
                chars.append((" ", left, bottom, right, top, size))
            continue
        if chars and last is not None:
            # the line's extent so far, not the last character's: a full stop after a quote mark
            # lies wholly below the quote mark, yet on the same line (kept running: a line is ~80 characters)
            line_size = sizes.most_common(1)[0][0]
            same_line = bottom < extent[1] and top > extent[0]
            raised_small = size < 0.8 * line_size and bottom > extent[0] + 0.25 * line_size
            if raised_small and ch.isdigit():
                continue  # a footnote mark
            if not same_line or left < last[1] - 1 or left - last[3] > 1.2 * line_size:
                flush()  # another line, or the same baseline in the next column
            elif left - last[3] > 0.25 * line_size and chars[-1][0] != " " and ch not in _NO_SPACE_BEFORE:
                chars.append((" ", last[3], last[2], left, last[4], line_size))
        if not chars:
            extent[0], extent[1] = bottom, top
        extent[0], extent[1] = min(extent[0], bottom), max(extent[1], top)
        sizes[size] += 1
        last = (ch, left, bottom, right, top, size)
        chars.append(last)
    flush()
    return lines


_NO_SPACE_BEFORE = set(",.;:!?)]’”»%")


def _charbox(textpage, index: int) -> tuple[float, float, float, float]:
    left, bottom, right, top = textpage.get_charbox(index)
    return left, right, bottom, top


def _merge_rows(lines: list[_Line]) -> list[_Line]:
    """Fragments on one baseline and adjacent (one text line drawn in pieces) made one line."""
    merged: list[_Line] = []
    for line in sorted(lines, key=lambda ln: (-round(ln.bottom), ln.left)):
        if merged:
            last = merged[-1]
            same_row = abs(line.bottom - last.bottom) < 0.3 * max(line.size, last.size)
            gap = line.left - last.right
            if same_row and -1 < gap < 1.0 * last.size and abs(line.size - last.size) < 0.5:
                merged[-1] = _Line(
                    last.text + (" " if gap > 0.15 * last.size else "") + line.text,
                    last.left, line.right, min(last.bottom, line.bottom), max(last.top, line.top), last.size, last.page,
                )  # fmt: skip
                continue
        merged.append(line)
    return merged


def _gutter(lines: list[_Line], width: float) -> float | None:
    """The x of an empty vertical strip between two columns of body text, if the page has two."""
    narrow = [ln for ln in lines if ln.right - ln.left < 0.6 * width]
    if len(narrow) < 6:
        return None
    for x in sorted({width * f / 100 for f in range(35, 66)}, key=lambda v: abs(v - width / 2)):
        left = sum(1 for ln in narrow if ln.right < x)
        right = sum(1 for ln in narrow if ln.left > x)
        crossing = sum(1 for ln in lines if ln.left < x < ln.right)
        if left >= 3 and right >= 3 and crossing <= 0.1 * len(lines):
            return x
    return None


def reading_order(lines: list[_Line], width: float) -> list[_Line]:
    """Lines top to bottom; on a two-column page, each band between full-width lines column by column."""
    rows = _merge_rows(lines)
    gutter = _gutter(rows, width)
    if gutter is None:
        return rows
    ordered: list[_Line] = []
    band: list[_Line] = []

    def flush_band() -> None:
        ordered.extend(ln for ln in band if ln.right < gutter)
        ordered.extend(ln for ln in band if ln.right >= gutter)
        band.clear()

    for line in rows:  # top to bottom
        if line.left < gutter < line.right:
            flush_band()
            ordered.append(line)
        else:
            band.append(line)
    flush_band()
    return ordered


def _running_keys(pages: list[list[_Line]]) -> set[str]:
    """Lines that recur at the top or bottom of many pages (digits ignored): running headers and footers."""
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = lines[:2] + lines[-2:]
        counts.update({_edge_key(ln.text) for ln in edge})
    needed = max(2, (len(pages) + 1) // 2)
    return {key for key, n in counts.items() if n >= needed and key}


def _edge_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.strip().lower())


def read_pdf(path: Path) -> Extracted:
    """A PDF's text layer in reading order, with the page of every line."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        message = str(exc).lower()
        if "password" in message:
            raise DocumentError(f"{path}: an encrypted PDF (it needs a password), skipped") from exc
        raise DocumentError(f"{path}: not a readable PDF ({exc}), skipped") from exc
    try:
        if len(pdf) > MAX_PDF_PAGES:
            raise DocumentError(f"{path}: {len(pdf):,} pages, over the limit of {MAX_PDF_PAGES:,}, skipped")
        pages: list[list[_Line]] = []
        for number in range(1, len(pdf) + 1):
            page = pdf[number - 1]
            textpage = page.get_textpage()
            try:
                pages.append(reading_order(pdf_lines(textpage, number), page.get_width()))
            finally:
                textpage.close()
                page.close()
        meta = pdf.get_metadata_dict(skip_empty=True)
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"{path}: damaged PDF ({exc}), skipped") from exc
    finally:
        pdf.close()
    empty = tuple(i for i, lines in enumerate(pages, start=1) if not lines)
    if len(empty) == len(pages):
        raise DocumentError(f"{path}: no text layer (a scanned PDF?); OCR is not supported, skipped")
    text, line_pages = _pdf_text(pages)
    file_meta = FileMeta(
        title=meta.get("Title", "").strip(),
        authors=_authors(meta.get("Author", "")),
        year=_year(meta.get("CreationDate", "")),
    )
    return Extracted(text, line_pages, file_meta, pages=len(pages), empty_pages=empty)


def _pdf_text(pages: list[list[_Line]]) -> tuple[str, tuple[int, ...]]:
    """Body lines page after page (paragraph gaps as blank lines, large type as headings), notes last."""
    running = _running_keys(pages)
    sizes = Counter(round(ln.size, 1) for lines in pages for ln in lines for _ in ln.text)
    body_size = sizes.most_common(1)[0][0] if sizes else 10.0
    out: list[tuple[str, int]] = []
    notes: list[tuple[str, int]] = []
    for lines in pages:
        edges = lines[:2] + lines[-2:]
        kept = [ln for ln in lines if _edge_key(ln.text) not in running or ln not in edges] or lines
        body = [ln for ln in kept if ln.size >= 0.85 * body_size and len(ln.text) > 3]
        lowest_body = min((ln.bottom for ln in body), default=0.0)
        highest_body = max((ln.top for ln in body), default=0.0)
        previous: _Line | None = None
        for line in kept:
            if line.size < 0.85 * body_size and line.bottom >= highest_body - 1:
                continue  # a running header: smaller type above the body text (on a one-page file too)
            if line.size < 0.85 * body_size and line.top <= lowest_body + 1:
                notes.append((line.text, line.page))  # a footnote: smaller type below the body text
                continue
            if line.size > 1.15 * body_size and len(line.text) < 120:
                continued = previous is not None and out and out[-1][0].startswith("# ") and previous.size == line.size
                if continued:  # a heading over two lines
                    out[-1] = (f"{out[-1][0]} {line.text}", out[-1][1])
                else:
                    out += [("", line.page), (f"# {line.text}", line.page)]
            else:
                if previous is not None and previous.bottom - line.top > 0.8 * body_size:
                    out.append(("", line.page))  # a paragraph gap
                out.append((line.text, line.page))
            previous = line
        out.append(("", lines[0].page if lines else (out[-1][1] if out else 1)))
    if notes:
        out.append((f"# {NOTES_SECTION}", notes[0][1]))
        out.extend(notes)
    return "\n".join(t for t, _ in out), tuple(p for _, p in out)


# ---------------------------------------------------------------- DOCX

_HEADING_STYLE = re.compile(r"^(heading|kop)\s*\d|^title$|^titel$", re.IGNORECASE)


def read_docx(path: Path) -> Extracted:
    """A Word document's paragraphs and tables; heading styles become sections."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"{path}: not a readable Word document ({exc}), skipped") from exc
    lines: list[str] = []
    body = document.element.body
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            text = paragraph.text.strip()
            if not text:
                continue
            style = paragraph.style.name if paragraph.style is not None else ""
            lines += ["", f"# {text}" if _HEADING_STYLE.match(style or "") else text]
        elif tag == "tbl":
            for row in Table(child, document).rows:
                cells = [c.text.strip() for c in row.cells if c.text.strip()]
                if cells:
                    lines += ["", " | ".join(dict.fromkeys(cells)) + "."]
    core = document.core_properties
    meta = FileMeta(
        title=(core.title or "").strip(),
        authors=_authors(core.author or ""),
        year=core.created.year if core.created else None,
    )
    return Extracted("\n".join(lines), meta=meta)


# ---------------------------------------------------------------- HTML


def read_html(path: Path, raw: bytes) -> Extracted:
    """A web page's main content (trafilatura: no menus, footers or ads), headings as sections."""
    import trafilatura

    text = trafilatura.extract(
        raw, output_format="markdown", include_comments=False, include_tables=True, favor_recall=True
    )
    if not text:
        # trafilatura finds no main content in a page that is all content (a bare fragment); take it whole.
        text = trafilatura.html2txt(raw) or ""
    meta = trafilatura.extract_metadata(raw)
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        heading = re.match(r"^#{1,6}\s+(.*)", stripped)
        if heading:
            lines += ["", f"# {heading.group(1).strip('*_ ')}"]
        else:
            # markdown emphasis and list marks are not the text
            lines.append(re.sub(r"^[-*+]\s+|\*\*|__", "", stripped))
    file_meta = FileMeta(
        title=(meta.title or "").strip() if meta else "",
        authors=_authors(meta.author or "") if meta else (),
        year=_year(meta.date or "") if meta else None,
    )
    return Extracted("\n".join(lines), meta=file_meta)
