"""Sentence-aware chunking.

Sentences come from pysbd's Dutch rules, patched for the abbreviations and
initials of Dutch academic prose that it splits on (``Prof. dr.``, ``J.W.``).
Chunks are runs of whole sentences up to a target length, neighbours sharing
``overlap`` sentences so a fact that straddles a boundary is still retrievable.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from assistant.types import Chunk, Document, Section

# Abbreviations after which pysbd's Dutch rules may end a sentence by mistake.
_ABBREVIATIONS = {
    "dr",
    "drs",
    "prof",
    "mr",
    "ir",
    "ing",
    "ds",
    "mw",
    "mevr",
    "dhr",
    "st",
    "nr",
    "blz",
    "p",
    "pp",
    "vgl",
    "zie",
    "bijv",
    "bv",
    "o.a",
    "e.a",
    "e.g",
    "i.e",
    "m.b.t",
    "t.a.v",
    "z.g",
    "ca",
    "jl",
    "resp",
    "evt",
    "incl",
    "excl",
    "vs",
    "etc",
    "cf",
    "ibid",
    "al",
}
_TRAILING_ABBREVIATION = re.compile(r"(?:^|[\s(])([A-Za-z](?:\.[A-Za-z])*|[a-z]{1,5})\.\s*$")
# A contact line ends at its e-mail address or web address, without a full stop: "Correspondentie:
# E-mail: j.l.uitermark@uva.nl; Prof. dr. Jan Willem Duyvendak is ..." is two sentences, and the
# second is what a question about Duyvendak needs, without the address glued to it.
_ADDRESS_END = re.compile(r"(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b(?:https?://|www\.)\S+?)[;,]?\s+(?=[\"'(\[]*[A-ZÀ-Þ])")

# How the text of an unchanged file becomes passages and sentences. An index records it, and a
# build re-splits documents it recorded under another version (their vectors are reused by text).
SPLITTING_VERSION = 3  # 3: a sentence also ends after a short line without a full stop (Section.breaks)


@dataclass(frozen=True)
class Sentence:
    """A sentence and its character span in the section text."""

    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="nl", clean=False, char_span=True)


def _ends_in_abbreviation(text: str) -> bool:
    match = _TRAILING_ABBREVIATION.search(text)
    if not match:
        return False
    token = match.group(1)
    is_initial = len(token.replace(".", "")) <= 2 and token[:1].isupper()
    return is_initial or token.lower() in _ABBREVIATIONS


# pysbd's time grows with the square of its input (40k characters: 3 s; 100k: 20 s), so long text
# is given to it in blocks cut where a sentence very likely ends; a long run without any is cut at a space.
_BLOCK_CHARS = 12_000  # above the longest section of the bundled corpus (11k): its sentences are unchanged
_LIKELY_END = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]*[A-Z0-9À-Þ])")


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` of at most about ``_BLOCK_CHARS``, cut after a likely sentence end if there is one."""
    spans, start = [], 0
    while len(text) - start > _BLOCK_CHARS:
        window = text[start : start + _BLOCK_CHARS]
        ends = [m.end() for m in _LIKELY_END.finditer(window, _BLOCK_CHARS // 2)]
        cut = ends[-1] if ends else (window.rfind(" ", _BLOCK_CHARS // 2) + 1 or _BLOCK_CHARS)
        spans.append((start, start + cut))
        start += cut
    spans.append((start, len(text)))
    return spans


def split_sentences(text: str, breaks: tuple[int, ...] = ()) -> list[Sentence]:
    """Split Dutch text into sentences with character offsets into ``text``.

    ``breaks`` are offsets where a sentence ends though no punctuation says so (``Section.breaks``).
    """
    if not text.strip():
        return []
    spans = [
        (offset + s.start, offset + s.end)
        for offset, end in _blocks(text)
        for s in _segmenter().segment(text[offset:end])
    ]
    spans = [piece for span in spans for piece in _cut_after_addresses(text, *span)]
    spans = [piece for span in spans for piece in _cut_at(breaks, *span)]
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and _ends_in_abbreviation(text[merged[-1][0] : merged[-1][1]]):
            merged[-1][1] = end
        else:
            merged.append([start, end])
    sentences = []
    for start, end in merged:
        raw = text[start:end]
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if body:
            sentences.append(Sentence(body, start + lead, start + lead + len(body)))
    return sentences


def _cut_at(breaks: tuple[int, ...], start: int, end: int) -> list[tuple[int, int]]:
    bounds = [start, *(b for b in breaks if start < b < end), end]
    return list(itertools.pairwise(bounds))


def _cut_after_addresses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span cut after every address that ends a line of contact details (``_ADDRESS_END``)."""
    cuts = [m.end() for m in _ADDRESS_END.finditer(text, start, end) if m.end() < end]
    bounds = [start, *cuts, end]
    return list(itertools.pairwise(bounds))


def _bounded(sentences: list[Sentence], limit: int) -> list[Sentence]:
    """The sentences, each one longer than ``limit`` cut into pieces that are not.

    A passage is whole sentences up to its target size, so one sentence longer than that (a
    table flattened into a line, a run-on list) would be a passage too long for the prompt.
    It is cut after a clause (';' or ',') where there is one in its second half, else at a space,
    else (no spaces at all) at the limit.
    """
    pieces: list[Sentence] = []
    for sentence in sentences:
        text, start = sentence.text, sentence.start
        while len(text) > limit:
            window = text[: limit + 1]
            cut = max(window.rfind("; ", limit // 2), window.rfind(", ", limit // 2))
            cut = cut + 1 if cut > 0 else window.rfind(" ", limit // 2)
            cut = cut if cut > 0 else limit
            head = text[:cut].rstrip()
            pieces.append(Sentence(head, start, start + len(head)))
            rest = text[cut:]
            skipped = len(rest) - len(rest.lstrip())
            text, start = rest.lstrip(), start + cut + skipped
        if text:
            pieces.append(Sentence(text, start, start + len(text)))
    return pieces


def chunk_section(
    doc_id: str,
    section: Section,
    index: int,
    target_chars: int,
    overlap: int,
    page_of_line: Callable[[int], int | None] = lambda _line: None,
) -> list[Chunk]:
    """Group a section's sentences into chunks of about ``target_chars`` (never more, bar one sentence's cut).

    ``page_of_line`` gives the page of a line of the file for paged formats (PDF)."""
    sentences = _bounded(split_sentences(section.text, section.breaks), target_chars)
    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j = i
        size = 0
        while j < len(sentences) and (j == i or size + len(sentences[j].text) <= target_chars):
            size += len(sentences[j].text) + 1
            j += 1
        start, end = sentences[i].start, sentences[j - 1].end
        text = section.text[start:end]
        start_line, end_line = section.line_at(start), section.line_at(max(start, end - 1))
        chunks.append(
            Chunk(
                chunk_id=f"{doc_id}#{index}.{len(chunks)}",
                doc_id=doc_id,
                section=section.title,
                text=text,
                start_line=start_line,
                end_line=end_line,
                start_char=start,
                end_char=end,
                text_hash=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
                start_page=page_of_line(start_line),
                end_page=page_of_line(end_line),
                sentences=_spans(text, tuple(b - start for b in section.breaks if start < b < end)),
            )
        )
        if j >= len(sentences):
            break
        i = max(j - overlap, i + 1)
    return chunks


def _spans(text: str, breaks: tuple[int, ...] = ()) -> tuple[tuple[int, int], ...]:
    # The passage split on its own, as answering has always read it (not the section's split, whose
    # long sentences are cut to fit a passage): the evidence units stay the same sentences.
    return tuple((s.start, s.end) for s in split_sentences(text, breaks))


def chunk_sentences(chunk: Chunk) -> list[str]:
    """The sentences of a passage: stored with it, or split now for passages of older indexes."""
    if chunk.sentences:
        return [chunk.text[start:end] for start, end in chunk.sentences]
    return [s.text for s in split_sentences(chunk.text)]


def chunk_document(document: Document, target_chars: int, overlap: int) -> list[Chunk]:
    """All chunks of a document, section by section (chunks never cross sections)."""
    chunks: list[Chunk] = []
    for index, section in enumerate(document.sections):
        chunks.extend(chunk_section(document.doc_id, section, index, target_chars, overlap, document.page_of_line))
    return chunks
