"""Section summaries, every sentence cited and checked like an answer.

Per section of an indexed document:

1. map: the section's passages are grouped into parts that fit the model's
   context; the model summarises each part citing its passages ``[n]``; each
   sentence goes through the answer checks (``citations.check_draft``). A sentence
   that fails is replaced by the source sentence it paraphrased, when one is
   close enough, or dropped;
2. reduce: when the parts together give more sentences than asked for, the model
   combines them, citing the part sentences; its sentences are checked against
   those (which were checked against the passages), and inherit their sources;
3. fallback: when no model sentence survives, the summary is extractive: the
   section's main points, labelled as such.

The main points are chosen by maximal marginal relevance over sentence vectors:
each next sentence is the one most central to the section (closest to the mean
of its sentence vectors) after discounting its similarity to those already
chosen, so the summary covers the section rather than repeating its centre.
With ``summary_writer = "quotes"`` these quoted main points are the summary and
the model is not used at all.

A model sentence with a damaged word (one that is neither in its sources nor a
common word, such as "inging" for "menging") is rejected like an unsupported one.

Summaries are cached by section content, model, prompt and settings, so a
second run, or one after an interruption, redoes only what changed.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path

import numpy as np

from assistant.chunking import SPLITTING_VERSION, chunk_sentences
from assistant.citations import check_draft, numbered, parse_citations, support_matrix
from assistant.errors import BronError, Cancelled, InputError
from assistant.evidence import unit_vectors
from assistant.files import atomic_write_text
from assistant.prompting import format_passages, load_template
from assistant.qa import Assistant
from assistant.texts import TEXT, where
from assistant.types import Chunk, Failure, Hit, Mode

# In the cache key: raised when the same inputs give other sentences (3: per-stretch main points; 4: no headings).
SUMMARY_FORMAT = 4
LENGTHS = {"short": (2, 90), "medium": (4, 170), "long": (7, 280)}  # sentences, most tokens per model call
_STOP = ["\nFragmenten:", "\nFragments:", "\n\n"]
_MIN_QUOTE_WORDS = 6
# A short "sentence" without a full stop is a heading or list item the heading rule missed ("ad 2.
# Hervormen instituties, mobiliseren bewoners"), not a main point; a long one is a sentence ending in a list.
_HEADING_WORDS = 10
_ENDS_SENTENCE = re.compile(r"[.!?…][\"'’”)\]]*$")
Progress = Callable[[int, int, str, bool], None]


@dataclass(frozen=True)
class SourceRef:
    doc: str
    section: str
    start_line: int
    end_line: int
    start_page: int | None = None
    end_page: int | None = None

    def label(self, language: str) -> str:
        at = where(TEXT[language], self.start_line, self.end_line, self.start_page, self.end_page)
        return f"[{self.doc} §{self.section}, {at}]"


@dataclass
class SummarySentence:
    text: str
    sources: list[SourceRef]
    origin: str  # "model": written by the model and checked; "quoted": a source sentence


@dataclass
class SectionSummary:
    doc: str
    title: str
    section: str
    language: str
    length: str
    mode: Mode  # GENERATED (model sentences passed the checks), EXTRACTIVE (the model's failed: quoted main
    # points) or QUOTED (quoted main points by choice: summary_writer = "quotes")
    sentences: list[SummarySentence]
    parts: int = 1
    seconds: float = 0.0
    dropped: int = 0
    cached: bool = field(default=False, compare=False)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("cached")
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SectionSummary:
        sentences = [
            SummarySentence(s["text"], [SourceRef(**r) for r in s["sources"]], s["origin"]) for s in data["sentences"]
        ]
        return cls(**{**data, "mode": Mode(data["mode"]), "sentences": sentences})

    def text(self) -> str:
        return " ".join(f"{s.text} {' '.join(r.label(self.language) for r in s.sources)}" for s in self.sentences)


def _ref(chunk: Chunk) -> SourceRef:
    return SourceRef(chunk.doc_id, chunk.section, chunk.start_line, chunk.end_line, chunk.start_page, chunk.end_page)


def _hit(chunk: Chunk) -> Hit:
    return Hit(chunk=chunk, score=1.0, dense_score=1.0)


class Summariser:
    """Summarises sections of the index an ``Assistant`` holds, with its LLM and checks."""

    def __init__(self, assistant: Assistant, length: str = "medium"):
        if length not in LENGTHS:
            raise InputError(f"unknown summary length '{length}'; choose one of {', '.join(LENGTHS)}")
        self.assistant = assistant
        self.length = length
        self.n_sentences, self.max_tokens = LENGTHS[length]
        self.cache_dir = assistant.settings.cache_dir / "summaries"

    # -- what to summarise ------------------------------------------------------------------

    def sections(self, docs: list[str] | None = None, sections: list[str] | None = None) -> list[tuple[str, str]]:
        """(doc id, section title) in document order, narrowed by ``docs`` and ``sections`` if given."""
        index = self.assistant.index
        known = list(index.documents)
        for doc in docs or []:
            if doc not in known:
                raise InputError(f"no document '{doc}' in the index; it holds {', '.join(known)}")
        chosen = []
        for doc in docs or known:
            titles = list(dict.fromkeys(c.section for c in index.chunks if c.doc_id == doc))
            chosen += [(doc, t) for t in titles if not sections or t in sections]
        if sections and not chosen:
            raise InputError(f"no section named {', '.join(sections)} in the chosen documents")
        return chosen

    def _chunks(self, doc: str, section: str) -> list[Chunk]:
        chunks = [c for c in self.assistant.index.chunks if c.doc_id == doc and c.section == section]
        return sorted(chunks, key=lambda c: c.start_char)

    def _language(self, doc: str) -> str:
        return self.assistant.index.manifest.document(doc).language

    def cache_key(self, doc: str, section: str) -> str:
        s = self.assistant.settings
        # Quoted summaries involve no model: their key must not load one (or reach an LLM server).
        model = "none" if s.summary_writer == "quotes" else getattr(self.assistant.llm, "fingerprint", s.llm)
        parts = {
            "format": SUMMARY_FORMAT,
            "splitting": SPLITTING_VERSION,  # the same passage text can be cut into other sentences
            "doc": doc,
            "section": section,
            "text": [c.text_hash for c in self._chunks(doc, section)],
            "length": self.length,
            "llm": model,
            "embedder": self.assistant.embedder.fingerprint,
            "prompt": load_template(f"summarise.{self._language(doc)}.txt"),
            "settings": [s.n_ctx, s.temperature, s.seed, s.summary_writer],
            "grounding": s.grounding.fingerprint(),
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]

    # -- the work ---------------------------------------------------------------------------

    def run(
        self,
        targets: list[tuple[str, str]],
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> list[SectionSummary]:
        """Summaries of ``targets``, from the cache where possible; each new one is cached at once."""
        results = []
        for i, (doc, section) in enumerate(targets):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"stopped after {i} of {len(targets)} sections")
            path = self.cache_dir / f"{self.cache_key(doc, section)}.json"
            summary = self._cached(path)
            if summary is None:
                summary = self.summarise_section(doc, section, cancel)
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"stopped during section {i + 1} of {len(targets)}")  # not one to keep
                atomic_write_text(path, json.dumps(summary.to_dict(), ensure_ascii=False))
            results.append(summary)
            if progress:
                progress(i + 1, len(targets), f"{doc} §{section}", summary.cached)
        return results

    @staticmethod
    def _cached(path: Path) -> SectionSummary | None:
        try:
            summary = SectionSummary.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            return None  # missing or unreadable: summarise again
        summary.cached = True
        return summary

    def summarise_section(self, doc: str, section: str, cancel: threading.Event | None = None) -> SectionSummary:
        started = time.perf_counter()
        chunks = self._chunks(doc, section)
        if not chunks:
            raise InputError(f"section '{section}' of '{doc}' has no passages in the index")
        language = self._language(doc)
        title = self.assistant.index.manifest.document(doc).title
        if self.assistant.settings.summary_writer == "quotes":
            central = self._central_sentences(chunks)
            return SectionSummary(
                doc, title, section, language, self.length, Mode.QUOTED, central, 1, time.perf_counter() - started
            )
        parts = self._parts(chunks, language)
        kept: list[SummarySentence] = []
        dropped = 0
        for part in parts:
            sentences, lost = self._map(part, language, cancel)
            kept += [s for s in sentences if s.text not in {k.text for k in kept}]
            dropped += lost
        if len(kept) > self.n_sentences:
            kept = self._reduce(kept, language, cancel)
        mode = Mode.GENERATED if any(s.origin == "model" for s in kept) else Mode.EXTRACTIVE
        if mode == Mode.EXTRACTIVE:
            kept = self._central_sentences(chunks)
        return SectionSummary(
            doc, title, section, language, self.length, mode, kept, len(parts), time.perf_counter() - started, dropped
        )

    def _parts(self, chunks: list[Chunk], language: str) -> list[list[Chunk]]:
        """Consecutive passages grouped so that each part's prompt fits the context window."""
        llm = self.assistant.llm
        template = load_template(f"summarise.{language}.txt")
        overhead = llm.count_tokens(template.format(sentences=self.n_sentences, passages=""))
        budget = llm.n_ctx - self.max_tokens - overhead - 16
        parts: list[list[Chunk]] = [[]]
        used = 0
        for chunk in chunks:
            cost = llm.count_tokens(f"[{len(parts[-1]) + 1}] {' '.join(chunk.text.split())}\n")
            if cost > budget:
                raise BronError(f"a passage of {cost} tokens does not fit the context window; raise n_ctx")
            if parts[-1] and used + cost > budget:
                parts.append([])
                used = 0
            parts[-1].append(chunk)
            used += cost
        return parts

    def _generate(self, passages: str, language: str, cancel: threading.Event | None) -> str:
        template = load_template(f"summarise.{language}.txt")
        prompt = template.format(sentences=self.n_sentences, passages=passages)
        s = self.assistant.settings
        return "".join(self.assistant.llm.stream(prompt, self.max_tokens, s.temperature, _STOP, cancel)).strip()

    def _checked(
        self, draft: str, hits: list[Hit], language: str, sources_of: Callable[[int], list[SourceRef]]
    ) -> tuple[list[SummarySentence], int]:
        """The draft's sentences that pass the checks; failed ones replaced by their source sentence or dropped."""
        s = self.assistant.settings
        example = load_template(f"summarise.{language}.txt").split("{passages}")[0]
        everything = parse_citations(draft)
        parsed = [p for p in everything if p.text not in example]
        # a section is summarised in its document's language, so summary and sources share it
        checks, _ = check_draft(parsed, numbered(hits), self.assistant.embedder, s.grounding)
        kept: list[SummarySentence] = []
        dropped = len(everything) - len(parsed)
        for check in checks:
            if check.supported:
                refs = [r for n in check.cited for r in sources_of(n)]
                kept.append(SummarySentence(check.sentence, list(dict.fromkeys(refs)), "model"))
                continue
            dropped += 1
            if check.failure in (Failure.UNFINISHED, Failure.REPEATED, Failure.DAMAGED):
                continue
            support, best_text = support_matrix([check.sentence], numbered(hits), self.assistant.embedder)
            n = int(np.argmax(support[0])) + 1
            quote = best_text[0][n - 1]
            if support[0, n - 1] >= s.grounding.min_support and quote and len(quote.split()) >= _MIN_QUOTE_WORDS:
                if all(k.text != f"“{quote}”" for k in kept):
                    kept.append(SummarySentence(f"“{quote}”", sources_of(n), "quoted"))
        return kept, dropped

    def _map(self, part: list[Chunk], language: str, cancel) -> tuple[list[SummarySentence], int]:
        hits = [_hit(c) for c in part]
        draft = self._generate(format_passages(hits), language, cancel)
        return self._checked(draft, hits, language, lambda n: [_ref(part[n - 1])])

    def _reduce(self, sentences: list[SummarySentence], language: str, cancel) -> list[SummarySentence]:
        """Combine the parts' sentences with the model; fall back to the most central of them."""
        pseudo = [_hit(Chunk(f"part-{i}", "", "", s.text.strip("“”"), 0, 0, 0, 0, "")) for i, s in enumerate(sentences)]
        draft = self._generate(format_passages(pseudo), language, cancel)
        combined, _ = self._checked(draft, pseudo, language, lambda n: sentences[n - 1].sources)
        combined = [s for s in combined if s.origin == "model"][: self.n_sentences]
        if combined:
            return combined
        vectors = self.assistant.embedder.embed_passages([s.text for s in sentences])
        chosen = self._most_central(vectors, self.n_sentences)
        return [sentences[i] for i in chosen]

    @staticmethod
    def _most_central(vectors: np.ndarray, n: int) -> list[int]:
        return main_points(vectors, n)

    def _central_sentences(self, chunks: list[Chunk]) -> list[SummarySentence]:
        """The section's main points (``main_points``) quoted, in the order of the section."""
        seen: set[str] = set()
        candidates: list[tuple[str, Chunk]] = []
        for chunk in chunks:
            for sentence in chunk_sentences(chunk):
                text = " ".join(sentence.split())
                if _is_main_point_candidate(text) and text not in seen:
                    seen.add(text)
                    candidates.append((text, chunk))
        if not candidates:
            candidates = [(" ".join(chunks[0].text.split()), chunks[0])]
        texts = [t for t, _ in candidates]
        # Most sentences were embedded at index time as evidence units; only the others are embedded here.
        vectors = unit_vectors(texts, self.assistant.embedder, self.assistant.index.unit_vector)
        from assistant.retrieval import bm25_tokenize

        terms = self._key_terms(chunks[0].doc_id, chunks[0].section)
        prior = KEY_TERM_WEIGHT * np.array([_key_term_score(tokens, terms) for tokens in bm25_tokenize(texts)])
        chosen = main_points(vectors, self.n_sentences, prior=prior)
        return [SummarySentence(f"“{candidates[i][0]}”", [_ref(candidates[i][1])], "quoted") for i in chosen]

    @functools.cached_property
    def _section_terms(self) -> tuple[dict[tuple[str, str], Counter], Counter]:
        """Stemmed word counts of every section of the index, and in how many sections each word occurs.

        Computed once per summariser: bulk summarising asks for every section's key terms.
        """
        from assistant.retrieval import bm25_tokenize

        texts: dict[tuple[str, str], list[str]] = {}
        for chunk in self.assistant.index.chunks:
            texts.setdefault((chunk.doc_id, chunk.section), []).append(chunk.text)
        keys = list(texts)
        tokens = bm25_tokenize([" ".join(texts[k]) for k in keys])
        counts = {k: Counter(t) for k, t in zip(keys, tokens, strict=True)}
        df = Counter(t for c in counts.values() for t in c)
        return counts, df

    def _key_terms(self, doc: str, section: str) -> dict[str, float]:
        """The section's distinctive words (stemmed): tf-idf against the other sections of the index."""
        counts, df = self._section_terms
        n = len(counts)
        weights = {t: tf * np.log((1 + n) / (1 + df[t])) for t, tf in counts[(doc, section)].items()}
        top = max(weights.values(), default=1.0) or 1.0
        return {t: w / top for t, w in weights.items()}


# Measured on eval/summary_points.jsonl (sentences only): 0 -> 0.44 key-point recall, 0.05-0.3 -> 0.59-0.62
# (2026-12-07, contact lines split off: 0 -> 0.44, 0.05-0.5 -> 0.56-0.59).
KEY_TERM_WEIGHT = 0.2


def _is_main_point_candidate(text: str) -> bool:
    words = len(text.split())
    return words >= _MIN_QUOTE_WORDS and (words >= _HEADING_WORDS or bool(_ENDS_SENTENCE.search(text)))


def _key_term_score(tokens: list[str], terms: dict[str, float]) -> float:
    return float(sum(terms.get(t, 0.0) for t in set(tokens)) / np.sqrt(len(tokens) or 1))


def main_points(vectors: np.ndarray, n: int, prior: np.ndarray | None = None) -> list[int]:
    """Indices of ``n`` sentences that together cover a section, in their original order.

    A section argues in order, so it is cut into ``n`` consecutive stretches of about equal
    length and from each the sentence most central to that stretch is taken (cosine to the
    stretch's mean vector, plus ``prior``: its key-term score). Against maximal marginal
    relevance over the whole section, which kept returning to the section's dominant theme,
    this carried 0.62 of the key points instead of 0.53 (0.59 with the weight chosen leave-one-section-out;
    docs/evaluation.md). Since contact lines are split off their next sentence, 0.59 (0.56).
    """
    if len(vectors) == 0:
        return []
    relevance_bonus = prior if prior is not None else np.zeros(len(vectors))
    bounds = np.linspace(0, len(vectors), min(n, len(vectors)) + 1).astype(int)
    chosen = []
    for start, end in itertools.pairwise(bounds):
        stretch = vectors[start:end]
        centre = stretch.mean(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        chosen.append(int(start) + int(np.argmax(stretch @ centre + relevance_bonus[start:end])))
    return chosen


# -- output ----------------------------------------------------------------------------------

_MODE_LABEL = {Mode.EXTRACTIVE: "summary_extractive", Mode.QUOTED: "summary_quoted_mode"}


_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]<>|~&])")


def _md(text: str) -> str:
    """Document text for a Markdown file: every character Markdown would read as syntax escaped, so a
    document's ``![](http://…)``, links or HTML are shown as written and never loaded or linked."""
    escaped = _MARKDOWN_SYNTAX.sub(r"\\\1", text)
    return "\\" + escaped if escaped[:1] in "#+-=" and escaped else escaped


def to_markdown(summaries: list[SectionSummary], language: str = "nl") -> str:
    head = TEXT[language]
    lines = [f"# {head['summary_title']}", ""]
    current = None
    for s in summaries:
        if s.doc != current:
            current = s.doc
            lines += [f"## {_md(s.title)}", f"`{s.doc.replace('`', '')}`", ""]
        lines.append(f"### {_md(s.section)}")
        if s.mode in _MODE_LABEL:
            lines.append(f"*{TEXT[s.language][_MODE_LABEL[s.mode]]}*")
        lines.append("")
        for sentence in s.sentences:
            refs = " ".join(r.label(s.language) for r in sentence.sources)
            lines.append(f"- {_md(sentence.text)} {_md(refs)}")
        lines.append("")
    return "\n".join(lines)


def to_json(summaries: list[SectionSummary]) -> str:
    return json.dumps([s.to_dict() for s in summaries], ensure_ascii=False, indent=1)


def summary_html(summaries: list[SectionSummary], language: str = "nl") -> str:
    """The summaries as an HTML fragment, every piece of document text escaped (the chat shows this)."""
    body = []
    current = None
    for s in summaries:
        if s.doc != current:
            current = s.doc
            body.append(f"<h2>{escape(s.title)}</h2><p><code>{escape(s.doc)}</code></p>")
        body.append(f"<h3>{escape(s.section)}</h3>")
        if s.mode in _MODE_LABEL:
            body.append(f"<p><em>{escape(TEXT[s.language][_MODE_LABEL[s.mode]])}</em></p>")
        items = "".join(
            f"<li>{escape(x.text)} <span class='ref'>{escape(' '.join(r.label(s.language) for r in x.sources))}"
            f"</span></li>"
            for x in s.sentences
        )
        body.append(f"<ul>{items}</ul>")
    return "".join(body)


def to_html(summaries: list[SectionSummary], language: str = "nl") -> str:
    head = TEXT[language]
    style = "body{font-family:system-ui,sans-serif;max-width:52em;margin:2em auto;line-height:1.5}.ref{color:#666}"
    return (
        f"<!doctype html><html lang='{language}'><meta charset='utf-8'><title>{escape(head['summary_title'])}</title>"
        f"<style>{style}</style><body><h1>{escape(head['summary_title'])}</h1>{summary_html(summaries, language)}"
        "</body></html>"
    )


def write_outputs(summaries: list[SectionSummary], out: Path, language: str = "nl") -> list[Path]:
    """Markdown at ``out``, JSON and HTML beside it; each file appears whole or not at all."""
    if out.suffix.lower() not in (".md", ".markdown"):
        raise InputError(f"--out should name a Markdown file (.md), not {out.name}")
    files = [(out, to_markdown(summaries, language)), (out.with_suffix(".json"), to_json(summaries))]
    files.append((out.with_suffix(".html"), to_html(summaries, language)))
    for path, text in files:
        atomic_write_text(path, text)
    return [path for path, _ in files]


__all__ = [
    "Summariser",
    "SectionSummary",
    "SummarySentence",
    "SourceRef",
    "LENGTHS",
    "write_outputs",
    "to_markdown",
    "summary_html",
]
