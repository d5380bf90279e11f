"""Sentence-aware chunking.

Sentences come from pysbd's Dutch rules, patched for the abbreviations and
initials of Dutch academic prose that it splits on (``Prof. dr.``, ``J.W.``).
Chunks are runs of whole sentences up to a target length, neighbours sharing
``overlap`` sentences so a fact that straddles a boundary is still retrievable.
"""

from __future__ import annotations

import hashlib
import re
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


def split_sentences(text: str) -> list[Sentence]:
    """Split Dutch text into sentences with character offsets into ``text``."""
    if not text.strip():
        return []
    spans = [(s.start, s.end) for s in _segmenter().segment(text)]
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


def chunk_section(doc_id: str, section: Section, index: int, target_chars: int, overlap: int) -> list[Chunk]:
    """Group a section's sentences into chunks of about ``target_chars``."""
    sentences = split_sentences(section.text)
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
        chunks.append(
            Chunk(
                chunk_id=f"{doc_id}#{index}.{len(chunks)}",
                doc_id=doc_id,
                section=section.title,
                text=text,
                start_line=section.line_at(start),
                end_line=section.line_at(max(start, end - 1)),
                start_char=start,
                end_char=end,
                text_hash=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
            )
        )
        if j >= len(sentences):
            break
        i = max(j - overlap, i + 1)
    return chunks


def chunk_document(document: Document, target_chars: int, overlap: int) -> list[Chunk]:
    """All chunks of a document, section by section (chunks never cross sections)."""
    chunks: list[Chunk] = []
    for index, section in enumerate(document.sections):
        chunks.extend(chunk_section(document.doc_id, section, index, target_chars, overlap))
    return chunks
