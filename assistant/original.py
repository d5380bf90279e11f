"""A cited passage shown in its original: the PDF page with the sentence marked, or the file's lines.

The server renders what it shows (a PNG of the page, drawn by PDFium; escaped lines of text) and
sends it inline, so no document is ever served by path. Only files inside the corpus folder, with
the content the index was built from, are shown: a file changed since indexing would put the mark
in the wrong place.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

from assistant import formats
from assistant.errors import DocumentError

_SCALE = 1.4  # 72 dpi × 1.4: a readable A4 page of about 830 × 1180 pixels
_CONTEXT_LINES = 2


@dataclass(frozen=True)
class Original:
    """What to show: ``html`` (an image or lines), or ``note`` saying why there is nothing to show."""

    html: str = ""
    note: str = ""


def _alnum_map(text: str) -> tuple[str, list[int]]:
    """``text`` lower-cased with everything but letters and digits removed, and each kept character's index."""
    kept, where = [], []
    for i, ch in enumerate(text):
        if ch.isalnum():
            kept.append(ch.lower())
            where.append(i)
    return "".join(kept), where


def _check_file(path: Path, corpus: Path, content_hash: str) -> bytes:
    try:
        resolved = path.resolve()
        if not resolved.is_relative_to(corpus.resolve()):
            raise DocumentError(f"{path} is not in the corpus folder")
        data = resolved.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if hashlib.sha256(data).hexdigest() != content_hash:
        raise DocumentError(f"{path.name} changed since it was indexed")
    return data


def show(
    path: Path, corpus: Path, content_hash: str, page: int | None, start_line: int, end_line: int, sentence: str
) -> Original:
    """The original of a cited passage: for a PDF its (first) page with ``sentence`` marked, else its lines."""
    try:
        data = _check_file(path, corpus, content_hash)
        kind = formats.format_of(path, data[:4096])
        if kind == "pdf":
            if page is None:
                raise DocumentError(f"{path.name}: the index has no page for this passage; run 'bron index --rebuild'")
            png = render_page(str(path.resolve()), content_hash, page, sentence)
            encoded = base64.b64encode(png).decode("ascii")
            return Original(html=f"<img class='bron-page' alt='p. {page}' src='data:image/png;base64,{encoded}'>")
        text = _text_lines(str(path.resolve()), content_hash, kind)
        return Original(html=_lines_html(text, start_line, end_line, sentence))
    except DocumentError as exc:
        return Original(note=str(exc))


@lru_cache(maxsize=16)
def _text_lines(path: str, content_hash: str, kind: str) -> str:
    """The text whose lines citations count: the file's for text, the extracted text's for Word and HTML.

    Cached by content: an answer citing five passages of one web page extracts it once, not five times.
    """
    if kind == "docx":
        return formats.read_docx(Path(path)).text
    data = Path(path).read_bytes()
    if kind == "html":
        return formats.read_html(Path(path), data).text
    return data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig", errors="replace")


@lru_cache(maxsize=32)
def render_page(path: str, content_hash: str, page: int, sentence: str) -> bytes:
    """A PNG of page ``page`` (from 1) with the characters of ``sentence`` on it marked in yellow.

    ``content_hash`` is only part of the cache key: a changed file is rendered anew.
    """
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(path)
    try:
        if not 1 <= page <= len(pdf):
            raise DocumentError(f"{Path(path).name} has no page {page}")
        pdf_page = pdf[page - 1]
        bitmap = pdf_page.render(scale=_SCALE)
        image = bitmap.to_pil().convert("RGB")
        height = pdf_page.get_height()
        boxes = _sentence_boxes(pdf_page, sentence)
    finally:
        pdf.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, bottom, right, top in boxes:
        draw.rectangle(
            [left * _SCALE - 1, (height - top) * _SCALE - 1, right * _SCALE + 1, (height - bottom) * _SCALE + 1],
            fill=(255, 220, 0, 110),
        )
    marked = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    out = io.BytesIO()
    # a page is black text on white with one yellow: a 16-colour palette keeps it sharp at a fifth of the size
    marked.quantize(colors=32, method=Image.Quantize.FASTOCTREE).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _sentence_boxes(pdf_page, sentence: str) -> list[tuple[float, float, float, float]]:
    """Boxes of the sentence's lines on the page, in the reading order the index was built in.

    Matched on letters and digits only, so hyphenation and line breaks do not matter; a line only
    partly in the sentence is marked in proportion. The part on this page when the sentence runs
    over a page break.
    """
    textpage = pdf_page.get_textpage()
    try:
        lines = formats.reading_order(formats.pdf_lines(textpage, 0), pdf_page.get_width())
    finally:
        textpage.close()
    flat, owner = "", []  # owner[k]: (line index, position of the character in the line's alnum text)
    for i, line in enumerate(lines):
        piece = _alnum_map(line.text)[0]
        flat += piece
        owner += [(i, j) for j in range(len(piece))]
    target = _alnum_map(sentence)[0]
    if not target:
        return []
    start, length = flat.find(target), len(target)
    while start < 0 and length > 30:  # continued on the next page: mark the head that is on this one
        length = int(length * 0.8)
        start = flat.rfind(target[:length])  # 30 letters and digits in a row: this sentence, not a look-alike
    if start < 0:
        return []
    spans: dict[int, list[int]] = {}
    for i, j in owner[start : start + length]:
        spans.setdefault(i, [j, j])[1] = j
    boxes = []
    for i, (first, last) in spans.items():
        line = lines[i]
        n = max(1, len(_alnum_map(line.text)[0]))
        width = line.right - line.left
        boxes.append((line.left + width * first / n, line.bottom, line.left + width * (last + 1) / n, line.top))
    return boxes


def _lines_html(text: str, start_line: int, end_line: int, sentence: str) -> str:
    """The passage's lines (a few around them), numbered, with the sentence marked where it is written."""
    lines = text.splitlines()
    first, last = max(1, start_line - _CONTEXT_LINES), min(len(lines), end_line + _CONTEXT_LINES)
    marks = _sentence_spans(lines, start_line, end_line, sentence)
    rows = []
    for number in range(first, last + 1):
        line = lines[number - 1]
        if number in marks:
            a, b = marks[number]
            body = f"{escape(line[:a])}<mark>{escape(line[a:b])}</mark>{escape(line[b:])}"
        else:
            body = escape(line)
        rows.append(f"<tr><td class='bron-ln'>{number}</td><td>{body}</td></tr>")
    return f"<table class='bron-lines'>{''.join(rows)}</table>"


def _sentence_spans(lines: list[str], start_line: int, end_line: int, sentence: str) -> dict[int, tuple[int, int]]:
    """Per line number, the character range of the sentence on it (found on letters and digits)."""
    flat, owner = "", []  # owner[k]: (line number, index in the line)
    for number in range(max(1, start_line), min(len(lines), end_line) + 1):
        piece, where = _alnum_map(lines[number - 1])
        flat += piece
        owner += [(number, i) for i in where]
    target = _alnum_map(sentence)[0]
    at = flat.find(target) if target else -1
    if at < 0:
        return {}
    spans: dict[int, tuple[int, int]] = {}
    for number, i in owner[at : at + len(target)]:
        a, _ = spans.get(number, (i, i))
        spans[number] = (a, i + 1)
    if owner[at + len(target) - 1 : at + len(target)]:
        number, i = owner[at + len(target) - 1]
        line = lines[number - 1]
        end = i + 1
        while end < len(line) and not line[end].isalnum() and not line[end].isspace():
            end += 1  # the full stop and closing quote belong to the sentence
        spans[number] = (spans[number][0], end)
    return spans
