"""The types that flow through the pipeline: Document -> Chunk -> Hit -> Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Literal, get_args

# The languages bron answers and reads documents in: the one list everything else takes them from.
Language = Literal["nl", "en"]
LANGUAGES: tuple[str, ...] = get_args(Language)


@dataclass(frozen=True)
class DocumentMeta:
    """Bibliographic data shown in citations."""

    title: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    kind: str = ""
    language: Language = "nl"


@dataclass(frozen=True)
class Section:
    """A headed part of a cleaned document.

    ``line_starts`` maps the cleaned ``text`` back to the original file: entry i
    is ``(offset in text, original line number)`` for the i-th source line.
    ``breaks`` are offsets where a sentence ends although no punctuation says so
    (after a heading, list item or quote that ends a short line without a full stop).
    """

    title: str
    text: str
    line_starts: tuple[tuple[int, int], ...]
    breaks: tuple[int, ...] = ()

    def line_at(self, offset: int) -> int:
        """Original (1-based) line number of the character at ``offset``."""
        line = self.line_starts[0][1]
        for start, number in self.line_starts:
            if start > offset:
                break
            line = number
        return line


@dataclass(frozen=True)
class Document:
    """A cleaned document split into sections."""

    doc_id: str
    path: str
    meta: DocumentMeta
    sections: tuple[Section, ...]
    content_hash: str
    # The page of each line of the extracted text (line n is line_pages[n - 1]); empty for unpaged formats.
    line_pages: tuple[int, ...] = ()
    source_format: str = "text"  # 'text', 'pdf', 'docx' or 'html'
    meta_hash: str = ""  # sha256 of the <name>.meta.json beside the file, "" when there is none

    @property
    def version(self) -> tuple[str, str]:
        """What tells this document's index entry is current: its file's bytes and its metadata file's."""
        return self.content_hash, self.meta_hash

    def page_of_line(self, line: int) -> int | None:
        """The (1-based) page a line of the extracted text is on, None for unpaged formats."""
        if not self.line_pages:
            return None
        return self.line_pages[min(max(line, 1), len(self.line_pages)) - 1]


@dataclass(frozen=True)
class Chunk:
    """A passage of consecutive sentences from one section."""

    chunk_id: str
    doc_id: str
    section: str
    text: str
    start_line: int
    end_line: int
    start_char: int
    end_char: int
    text_hash: str
    start_page: int | None = None  # for paged formats (PDF): the pages the passage is on
    end_page: int | None = None
    # (start, end) in ``text`` of each of its sentences, split once when the passage is made: answering
    # reads passages sentence by sentence, and splitting them again costs ~9 ms each per question.
    # Empty for passages from indexes built before they were stored.
    sentences: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.sentences and not isinstance(self.sentences[0], tuple):  # read back from JSON as lists
            object.__setattr__(self, "sentences", tuple((int(s), int(e)) for s, e in self.sentences))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its scores; ``dense_score`` is a cosine similarity."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered source passage as shown to the user."""

    n: int
    doc: str
    title: str
    section: str
    start_line: int
    end_line: int
    text: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    supporting_sentence: str = ""
    start_page: int | None = None  # paged formats (PDF) only
    end_page: int | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["authors"] = list(self.authors)
        return data


class Mode(StrEnum):
    """How an answer or a summary was made. A str: JSON, reports and comparisons with text still work."""

    GENERATED = "generated"  # the model's checked sentence(s), with the quotes
    EXTRACTIVE = "extractive"  # the quotes alone (for a summary: the model's sentences failed the checks)
    QUOTED = "quoted"  # a summary of quoted main sentences by choice (summary_writer = "quotes")
    ABSTAINED = "abstained"  # the documents do not answer the question


class Failure(StrEnum):
    """Why a sentence of the model's was not kept: what answers and summaries branch on."""

    UNFINISHED = "unfinished sentence"
    REPEATED = "too short or repeated"
    UNSUPPORTED = "cited passages do not support it"
    GARBLED = "garbled copy of source words"
    LOW_COVERAGE = "too few of its words are in the cited passages"
    NOT_IN_SOURCE = "numbers or names not in the cited passages"
    DAMAGED = "damaged word"
    TEMPLATE = "empty or copied from the prompt's example"
    WRONG_TYPE = "does not give the asked-for kind of answer"
    NOT_RESPONSIVE = "less relevant to the question than the evidence"
    COPY = "repeats the quote without adding to it"


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict on one sentence of the model's draft.

    ``failure`` says why it was not kept (None when it was); ``reason`` is the same for people,
    with the particulars ("not in the cited passages: 1998"), or notes a repaired citation.
    """

    sentence: str
    cited: tuple[int, ...]
    supported: bool
    support: float
    reason: str = ""
    failure: Failure | None = None


@dataclass(frozen=True)
class Quote:
    """A piece of evidence shown with the answer: a source sentence (and its continuation), cited as ``[n]``."""

    n: int
    text: str
    relevance: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SetAside:
    """A retrieved passage not used as evidence: it reads as instructions to the assistant."""

    doc: str
    title: str
    section: str
    start_line: int
    end_line: int
    instruction: str  # the words that read as an instruction
    start_page: int | None = None
    end_page: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """The product's answer to one question, evidence first.

    ``quotes`` are the source sentences that answer the question, always shown.
    ``mode`` is ``generated`` (the model's one-sentence ``direct`` answer passed the
    checks and is shown above the quotes), ``extractive`` (the quotes alone are the
    answer) or ``abstained`` (the documents do not answer it; ``abstain_reason`` says why).
    """

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    mode: Mode
    language: str
    hits: list[Hit] = field(default_factory=list)
    checks: list[SentenceCheck] = field(default_factory=list)
    draft: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    search_query: str = ""
    stopped: bool = False  # the user stopped the generation; the partial draft was checked like any other
    prompt: str = ""  # exactly what the LLM was given (empty when it was not called)
    direct: str = ""  # the model's checked direct answer, with its [n] marks ("" when the quotes stand alone)
    quotes: list[Quote] = field(default_factory=list)
    abstain_reason: str = ""
    signals: dict[str, object] = field(default_factory=dict)  # what the evidence selection measured
    set_aside: list[SetAside] = field(default_factory=list)  # passages that read as instructions, not used

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "language": self.language,
            "citations": [c.to_dict() for c in self.citations],
            "draft": self.draft,
            "checks": [asdict(c) for c in self.checks],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "tokens": self.tokens,
            "search_query": self.search_query,
            "stopped": self.stopped,
            "direct": self.direct,
            "quotes": [q.to_dict() for q in self.quotes],
            "abstain_reason": self.abstain_reason,
            "signals": self.signals,
            "set_aside": [a.to_dict() for a in self.set_aside],
        }
