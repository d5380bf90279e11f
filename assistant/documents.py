"""Load documents and undo the damage of PDF extraction.

The bundled texts have hard line breaks, words hyphenated across lines, page
numbers on their own lines and headings on short lines. Cleaning joins the lines
of each section into running text while remembering, for every character, the
line of the original file it came from, so citations can name line ranges.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant import formats
from assistant.errors import DocumentError
from assistant.language import detect_language
from assistant.types import Document, DocumentMeta, Language, Section

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = formats.TEXT_SUFFIXES + formats.PDF_SUFFIXES + formats.DOCX_SUFFIXES + formats.HTML_SUFFIXES
META_SUFFIX = ".meta.json"
# Documents already read, by path, content hash and metadata hash (``bron index --watch`` keeps one).
DocumentCache = dict[tuple[str, str, str], Document]
UNTITLED_SECTION = "Hoofdtekst"

_PAGE_NUMBER = re.compile(r"^\s*\d{1,4}\s*$")
_HYPHEN_AT_END = re.compile(r"(\w+)-$")
_LONGEST_WORD = 100  # a "word" longer than this before a line-end hyphen is not one to rejoin
MAX_FILE_BYTES = 20_000_000  # of text; a PDF or Word file may be larger (its text is what counts)
MAX_BINARY_BYTES = 200_000_000
_WORD = re.compile(r"\w+(?:-\w+)*")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
# A line that ends a sentence without saying so: it ends in a word, a closing bracket or quote (not
# in a comma or hyphen), it is short for the file, and the next line starts with a capital. The items
# of a numbered list stay together, with the sentence that introduces them.
_OPEN_END = re.compile(r"[\w)\]’”\"']$")
_SENTENCE_START = re.compile(r"^[\"'‘“(]?[A-ZÀ-Þ]")
_SHORT_LINE = 0.75  # of the file's median line length


Reading = Callable[[int, int, int], None]  # files done, files, pages read


@dataclass(frozen=True)
class SkippedFile:
    """A file that was not indexed, and why."""

    path: Path
    reason: str


def is_heading(line: str, previous_blank: bool, next_line: str) -> bool:
    """Whether a line of a PDF extraction is a section heading.

    Headings stand alone: they follow a blank line (or open the file), are short,
    start with a capital, carry no sentence punctuation and are followed by text.
    """
    text = line.strip()
    if not text or not previous_blank or _PAGE_NUMBER.match(text):
        return False
    if len(text) > 60 or len(text.split()) > 7:
        return False
    if not text[0].isupper() or text[-1] in ".,;:?!)\"'’”-":
        return False
    following = next_line.strip()
    return bool(following) and (following[0].isupper() or following[0] in "*‘“\"'(")


def _vocabulary(lines: list[str]) -> set[str]:
    """Lower-cased words (hyphenated compounds included) written on one line."""
    words: set[str] = set()
    for line in lines:
        words.update(w.lower() for w in _WORD.findall(line))
    return words


def join_hyphenated(head: str, tail: str, vocabulary: set[str]) -> str:
    """Join a word split across a line break: ``ingre-`` + ``pen``.

    Returns the joined word, keeping the hyphen when it is a real one: the
    document writes the first part with a hyphen elsewhere (``sociaal-economische``,
    ``sociaal-cultureel``) and never the joined form, or the second part is
    capitalised (``Noord-Holland``).
    """
    hyphenated, joined = f"{head}-{tail}", f"{head}{tail}"
    if tail[:1].isupper():
        return hyphenated
    prefix = head.lower() + "-"
    if joined.lower() not in vocabulary and any(word.startswith(prefix) for word in vocabulary):
        return hyphenated
    return joined


def clean_sections(raw: str) -> list[Section]:
    """Split raw extracted text into cleaned sections with line mappings."""
    lines = raw.splitlines()
    vocabulary = _vocabulary(lines)
    short = _SHORT_LINE * _median_length(lines)
    sections: list[Section] = []
    title = UNTITLED_SECTION
    parts: list[str] = []
    line_starts: list[tuple[int, int]] = []
    breaks: list[int] = []
    length = 0
    carry = ""  # first half of a word hyphenated at the end of the previous line
    previous_line = ""  # the last text line of this section, as in the file

    def flush() -> None:
        nonlocal parts, line_starts, breaks, length, carry, previous_line
        if carry:
            parts.append(carry + "-")
            carry = ""
        text = "".join(parts).strip()  # parts start with a stripped line: only the end can change
        if text:
            inside = tuple(b for b in breaks if 0 < b < len(text))
            sections.append(Section(title=title, text=text, line_starts=tuple(line_starts), breaks=inside))
        parts, line_starts, breaks, length, previous_line = [], [], [], 0, ""

    previous_blank = True
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or _PAGE_NUMBER.match(stripped):
            # Page breaks cut sentences in two, so a blank line does not end the text flow.
            previous_blank = previous_blank or not stripped
            continue
        md = _MD_HEADING.match(stripped)
        next_line = lines[number] if number < len(lines) else ""
        if md or is_heading(stripped, previous_blank, next_line):
            flush()
            title = md.group(1) if md else stripped
            previous_blank = False
            continue
        previous_blank = False
        if carry:
            # The rejoined word stays with the line it started on; the rest of this line starts after it.
            first, _, rest = stripped.partition(" ")
            word_tail = re.match(r"\w+", first)
            if word_tail and first[0].islower():
                word = join_hyphenated(carry, word_tail.group(0), vocabulary) + first[word_tail.end() :]
            else:
                word, rest = f"{carry}-", stripped
            carry = ""
            parts.append(word)
            length += len(word)
            stripped = rest
        if stripped:
            if parts:
                parts.append(" ")
                length += 1
                if _ends_unmarked(previous_line, stripped, short):
                    breaks.append(length)
            line_starts.append((length, number))
            parts.append(stripped)
            length += len(stripped)
        previous_line = line.strip()
        # Only the line's last characters are searched: "(\w+)-$" over a whole line retries from every
        # position, which takes minutes on a 100k-character line of word characters.
        tail_start = max(0, len(parts[-1]) - _LONGEST_WORD - 1)
        hyphen = _HYPHEN_AT_END.search(parts[-1], tail_start) if parts[-1].endswith("-") else None
        # A match at the cut-off may be the end of a longer run of word characters: not a word.
        cut = tail_start > 0 and hyphen is not None and hyphen.start() == tail_start
        if hyphen and not cut and not parts[-1].endswith("--"):
            carry = hyphen.group(1)
            parts[-1] = parts[-1][: hyphen.start()]
            length -= len(hyphen.group(0))
    flush()
    return [_normalise_spaces(s) for s in sections]


def _median_length(lines: list[str]) -> float:
    lengths = sorted(len(line.strip()) for line in lines if line.strip())
    return float(lengths[len(lengths) // 2]) if lengths else 0.0


def _ends_unmarked(line: str, next_line: str, short: float) -> bool:
    """Whether a sentence ends after ``line`` although it has no full stop: a short line (a heading the
    heading rule missed, a list item, the end of an indented quote) before a line that starts a sentence.
    A sentence running on over a page break ends a full-length line, so it is not cut."""
    return len(line) < short and bool(_OPEN_END.search(line)) and bool(_SENTENCE_START.match(next_line))


def _normalise_spaces(section: Section) -> Section:
    """Collapse runs of spaces, shifting the line map to match."""
    text, starts = section.text, list(section.line_starts)
    out: list[str] = []
    removed_before: list[int] = []  # removed[i] = characters removed before offset i
    removed = 0
    previous_space = False
    for ch in text:
        removed_before.append(removed)
        if ch.isspace():
            if previous_space:
                removed += 1
                continue
            out.append(" ")
            previous_space = True
        else:
            out.append(ch)
            previous_space = False
    removed_before.append(removed)
    shifted = tuple((max(0, off - removed_before[min(off, len(text))]), n) for off, n in starts)
    breaks = tuple(off - removed_before[min(off, len(text))] for off in section.breaks)
    return Section(title=section.title, text="".join(out), line_starts=shifted, breaks=breaks)


def meta_hash(path: Path) -> str:
    """sha256 of the ``<name>.meta.json`` beside ``path``, "" when there is none (or it cannot be read)."""
    try:
        return hashlib.sha256(path.with_name(path.stem + META_SUFFIX).read_bytes()).hexdigest()
    except OSError:
        return ""


def read_meta(path: Path, own: formats.FileMeta | None = None, text: str = "") -> DocumentMeta:
    """Metadata from the ``<name>.meta.json`` file beside a document, over what the file says of
    itself (``own``: PDF info, DOCX core properties, HTML meta), over defaults. The language, when
    the metadata file does not give it, is told from the document's ``text`` (Dutch if there is none)."""
    own = own or formats.FileMeta()
    meta_path = path.with_name(path.stem + META_SUFFIX)
    fallback_title = own.title or path.stem.replace("-", " ").replace("_", " ")
    detected = detect_language(text) if text.strip() else "nl"
    if not meta_path.exists():
        return DocumentMeta(title=fallback_title, authors=own.authors, year=own.year, language=detected)
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DocumentError(f"{meta_path}: unreadable metadata ({exc})") from exc
    try:
        meta = _MetaFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "the file"
        raise DocumentError(f"{meta_path}: malformed metadata, {where}: {error['msg']}") from exc
    return DocumentMeta(
        title=meta.title or fallback_title,
        authors=tuple(meta.authors) or own.authors,
        year=meta.year if meta.year is not None else own.year,
        kind=meta.kind,
        language=meta.language or detected,
    )


class _MetaFile(BaseModel):
    """What a ``<name>.meta.json`` may hold: an object with these keys (others are ignored)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    title: str = ""
    authors: list[str] = []
    year: int | None = Field(None, ge=0, le=3000)
    kind: str = ""
    language: Language | None = None


def load_document(path: Path) -> Document:
    """Read and clean one document: ``.txt``/``.md``, PDF, Word (``.docx``) or HTML, told by content."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    kind = formats.format_of(path, head)
    limit = MAX_FILE_BYTES if kind in ("text", "html") else MAX_BINARY_BYTES
    if size > limit:
        raise DocumentError(f"{path}: {size:,} bytes, over the limit of {limit:,}, skipped")
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if kind == "pdf":
        extracted = formats.read_pdf(path)
    elif kind == "docx":
        extracted = formats.read_docx(path)
    elif kind == "html":
        extracted = formats.read_html(path, raw_bytes)
    else:
        extracted = formats.Extracted(_decode(path, raw_bytes))
    sections = clean_sections(extracted.text)
    if not sections:
        raise DocumentError(f"{path}: contains no text, skipped")
    for page in extracted.empty_pages:
        log.warning("%s: page %d has no text layer (scanned?); it is not indexed", path, page)
    return Document(
        doc_id=path.stem,
        path=str(path),
        meta=read_meta(path, extracted.meta, "\n".join(s.text for s in sections)),
        sections=tuple(sections),
        content_hash=hashlib.sha256(raw_bytes).hexdigest(),
        line_pages=extracted.line_pages,
        source_format=kind,
        meta_hash=meta_hash(path),
    )


def _decode(path: Path, raw_bytes: bytes) -> str:
    """A text file's characters: UTF-8, or UTF-16 with a byte-order mark."""
    # UTF-16 with a byte-order mark (what Windows' Notepad writes as "Unicode") is read as such;
    # without one, zero bytes mean a binary file.
    encoding = "utf-16" if raw_bytes[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    if encoding != "utf-16" and b"\x00" in raw_bytes[:4096]:
        raise DocumentError(f"{path}: looks binary, skipped")
    try:
        return raw_bytes.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise DocumentError(f"{path}: not {name} text (byte {exc.start}), skipped") from exc


def iter_document_paths(folder: Path, skipped: list[SkippedFile] | None = None) -> Iterator[Path]:
    """Every file under ``folder`` except metadata files, in a stable order.

    Hidden files and folders (``.git/``) are left out. Symbolic links are not followed into
    folders (no loops); a linked file counts only if it resolves inside ``folder``, so a link
    cannot serve a file from elsewhere on the machine. The walk keeps its own stack, so
    folders nested thousands deep do not exhaust Python's recursion limit.
    """
    root = folder.resolve()
    stack = [folder]
    found: list[Path] = []
    while stack:
        current = stack.pop()
        try:
            entries = sorted(current.iterdir())
        except OSError as exc:
            if skipped is not None:
                skipped.append(SkippedFile(current, f"cannot list folder ({exc.strerror or exc})"))
            continue
        for path in entries:
            if path.name.startswith("."):
                continue
            if path.is_symlink():
                target = path.resolve()
                if not target.is_file() or not target.is_relative_to(root):
                    if skipped is not None:
                        skipped.append(SkippedFile(path, "a link to something outside the folder, skipped"))
                    continue
            if path.is_dir():
                stack.append(path)
            elif path.is_file() and not path.name.endswith(META_SUFFIX):
                found.append(path)
    yield from sorted(found)


def load_corpus(
    folder: Path, cache: DocumentCache | None = None, reading: Reading | None = None
) -> tuple[list[Document], list[SkippedFile]]:
    """Load every supported document in a folder; unusable files are reported, not fatal.

    ``cache`` (path and content hash to document) spares a long-running caller (``bron index
    --watch``) parsing unchanged files again; it is updated with what is read. ``reading(files done,
    files, pages read)`` is told after each file (pages count paged formats only).
    """
    if not folder.is_dir():
        raise DocumentError(f"{folder}: no such folder of documents")
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    seen: dict[str, Path] = {}
    paths = list(iter_document_paths(folder, skipped))
    pages = 0
    for done, path in enumerate(paths, start=1):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(SkippedFile(path, f"unsupported file type '{path.suffix or path.name}'"))
            continue
        try:
            document = _load_cached(path, cache) if cache is not None else load_document(path)
        except DocumentError as exc:
            skipped.append(SkippedFile(path, str(exc)))
            continue
        finally:
            if reading is not None:
                reading(done, len(paths), pages)
        if document.line_pages:
            pages += max(document.line_pages)
            if reading is not None:
                reading(done, len(paths), pages)
        if document.doc_id in seen:
            skipped.append(SkippedFile(path, f"same name as {seen[document.doc_id]}"))
            continue
        seen[document.doc_id] = path
        documents.append(document)
    for item in skipped:
        log.warning("skipped %s: %s", item.path, item.reason)
    return documents, skipped


def _load_cached(path: Path, cache: DocumentCache) -> Document:
    try:
        key = (str(path), hashlib.sha256(path.read_bytes()).hexdigest(), meta_hash(path))
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if key not in cache:
        for old in [k for k in cache if k[0] == key[0]]:
            del cache[old]  # the file's previous content
        cache[key] = load_document(path)
    return cache[key]


def corpus_versions(folder: Path, known: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """``Document.version`` by doc id of every usable document in ``folder``, as ``load_corpus`` would give.

    A file whose bytes and metadata file hash to what ``known`` has for its doc id is not parsed again
    (reading a long PDF takes seconds); only new or changed files are loaded, to leave out those that
    are not usable.
    """
    if not folder.is_dir():
        raise DocumentError(f"{folder}: no such folder of documents")
    versions: dict[str, tuple[str, str]] = {}
    for path in iter_document_paths(folder):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or path.stem in versions:
            continue
        try:
            version = (hashlib.sha256(path.read_bytes()).hexdigest(), meta_hash(path))
            if known.get(path.stem) != version:
                load_document(path)  # raises for a file that would be skipped
        except (OSError, DocumentError):
            continue
        versions[path.stem] = version
    return versions
