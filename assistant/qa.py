"""Question answering: the one place that wires retrieval, the LLM and the checks.

question -> retrieve_hybrid -> relevance gate (abstain) -> prompt -> LLM draft
         -> parse and check citations -> answer from the supported sentences,
            or, when none survive, an extractive answer quoting the sources.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from assistant.chunking import split_sentences
from assistant.citations import check_draft, parse_citations, strip_markers
from assistant.embedding import Embedder, load_embedder
from assistant.errors import InputError
from assistant.indexing import identity_for
from assistant.llm import LLM, load_llm
from assistant.prompting import ABSTAIN, FALLBACK_INTRO, build_answer_prompt, copies_template_example
from assistant.retrieval import retrieve_hybrid
from assistant.settings import Settings, make_settings
from assistant.store import IndexData, load_index
from assistant.types import Answer, Citation, Hit, SentenceCheck

STOP_SEQUENCES = ["\nVraag:", "\nQuestion:", "\nBronnen:", "\nSources:", "\n\n"]
_EXTRACTIVE_SENTENCES = 3
_EXTRACTIVE_MARGIN = 0.03


def detect_language(text: str) -> str:
    """'nl' or 'en', whichever the text is more likely to be."""
    import py3langid

    py3langid.set_languages(["nl", "en"])
    return py3langid.classify(text)[0]


def validate_question(question: str, limit: int) -> str:
    question = " ".join((question or "").split())
    if not question:
        raise InputError("the question is empty")
    if len(question) > limit:
        raise InputError(f"the question is {len(question)} characters; the limit is {limit}")
    return question


class Assistant:
    """A loaded index, embedder and (lazily) LLM, answering questions."""

    def __init__(self, settings: Settings, embedder: Embedder, index: IndexData, llm: LLM | None = None):
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self._llm = llm

    @classmethod
    def open(cls, settings: Settings, llm: LLM | None = None) -> Assistant:
        """Load the embedder and the index named by ``settings``; the LLM loads on first use."""
        embedder = load_embedder(settings)
        index = load_index(settings.index_path, identity_for(settings, embedder))
        return cls(settings, embedder, index, llm)

    def with_settings(self, **overrides) -> Assistant:
        """The same index and embedder under changed settings (top_k, llm, temperature, language, ...)."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if not overrides:
            return self
        settings = make_settings(**{**self.settings.model_dump(), **overrides})
        same_llm = (settings.llm, settings.n_ctx, settings.n_threads) == (
            self.settings.llm,
            self.settings.n_ctx,
            self.settings.n_threads,
        )
        return Assistant(settings, self.embedder, self.index, self._llm if same_llm else None)

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = load_llm(self.settings)
        return self._llm

    def retrieve(self, question: str, top_k: int | None = None) -> list[Hit]:
        s = self.settings
        return retrieve_hybrid(self.index, self.embedder, question, top_k or s.top_k, s.candidates, s.rrf_k)

    def ask(
        self,
        question: str,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        search_query: str | None = None,
    ) -> Answer:
        """Answer one question; ``on_token`` receives the draft as it streams.

        ``search_query`` replaces the question for retrieval (a follow-up rewritten
        into a standalone query); the question itself is what the model answers.
        """
        s = self.settings
        question = validate_question(question, s.max_question_chars)
        language = s.language if s.language in ABSTAIN else detect_language(question)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        hits = self.retrieve(search_query or question)
        timings["retrieve"] = time.perf_counter() - started
        relevant = [h for h in hits if (h.dense_score or 0.0) >= s.min_relevance]
        if not relevant:
            timings["total"] = time.perf_counter() - started
            return Answer(
                question,
                ABSTAIN[language],
                [],
                True,
                "abstained",
                language,
                hits=hits,
                timings=timings,
                search_query=search_query or question,
            )

        llm = self.llm
        budget = llm.n_ctx - s.max_answer_tokens
        prompt, used = build_answer_prompt(question, relevant, language, llm.count_tokens, budget)
        t0 = time.perf_counter()
        pieces: list[str] = []
        first_token = None
        for piece in llm.stream(prompt, s.max_answer_tokens, s.temperature, STOP_SEQUENCES, cancel):
            if first_token is None:
                first_token = time.perf_counter()
            pieces.append(piece)
            if on_token:
                on_token(piece)
        t1 = time.perf_counter()
        draft = "".join(pieces).strip()
        timings["prompt_eval"] = (first_token or t1) - t0
        timings["generate"] = t1 - (first_token or t1)
        tokens = {"prompt": llm.count_tokens(prompt), "completion": llm.count_tokens(draft) - 1 if draft else 0}

        t2 = time.perf_counter()
        answer = self._verify(question, draft, used, language, search_query or question)
        timings["check"] = time.perf_counter() - t2
        timings["total"] = time.perf_counter() - started
        answer.timings, answer.tokens, answer.hits = timings, tokens, hits
        answer.search_query = search_query or question
        answer.prompt = prompt
        answer.stopped = bool(cancel and cancel.is_set())
        return answer

    def _verify(self, question: str, draft: str, hits: list[Hit], language: str, search_query: str) -> Answer:
        """Turn an untrusted draft into an answer whose every sentence is supported."""
        if ABSTAIN[language].lower().rstrip(".") in strip_markers(draft).lower():
            return Answer(question, ABSTAIN[language], [], True, "abstained", language, draft=draft)
        parsed = parse_citations(draft)
        copied = [s for s in parsed if copies_template_example(s.text, language)]
        sentences = [s for s in parsed if s not in copied]
        source_languages = {self.index.documents.get(h.chunk.doc_id, {}).get("language", "nl") for h in hits}
        checks, best_text = check_draft(
            sentences,
            hits,
            self.embedder,
            self.settings.min_support,
            same_language=source_languages == {language},
            min_coverage=self.settings.min_word_coverage,
        )
        checks += [SentenceCheck(s.text, s.cited, False, 0.0, "copied from the prompt's example") for s in copied]
        passed = [(i, c) for i, c in enumerate(checks) if c.supported]
        if not passed:
            answer = self._extractive(question, hits, language, search_query)
            answer.draft, answer.checks = draft, checks
            return answer
        numbering: dict[int, int] = {}
        parts = []
        for _, check in passed:
            for n in check.cited:
                numbering.setdefault(n, len(numbering) + 1)
            marks = "".join(f"[{numbering[n]}]" for n in check.cited)
            body = check.sentence.rstrip()
            end = body[-1] if body[-1] in ".!?" else "."
            parts.append(f"{body.rstrip('.!?')} {marks}{end}")
        support_for = {}
        for i, check in passed:
            for n in check.cited:
                support_for.setdefault(n, best_text[i][n - 1])
        citations = [self._citation(new, hits[old - 1], support_for[old]) for old, new in numbering.items()]
        return Answer(question, " ".join(parts), citations, False, "generated", language, draft=draft, checks=checks)

    def _extractive(self, question: str, hits: list[Hit], language: str, search_query: str) -> Answer:
        """Quote the source sentences closest to the (standalone) question, each cited."""
        candidates = [
            (n, s.text) for n, h in enumerate(hits) for s in split_sentences(h.chunk.text) if len(s.text.split()) >= 3
        ]
        q = self.embedder.embed_queries([search_query])[0]
        vectors = self.embedder.embed_passages([text for _, text in candidates])
        scores = vectors @ q
        order = sorted(range(len(candidates)), key=lambda j: -scores[j])
        best = scores[order[0]] if order else 0.0
        if best < self.settings.min_quote_relevance:
            return Answer(question, ABSTAIN[language], [], True, "abstained", language)
        chosen = [j for j in order[:_EXTRACTIVE_SENTENCES] if scores[j] >= best - _EXTRACTIVE_MARGIN]
        numbering: dict[int, int] = {}
        lines = [FALLBACK_INTRO[language]]
        support_for: dict[int, str] = {}
        for j in chosen:
            hit_index, text = candidates[j]
            numbering.setdefault(hit_index, len(numbering) + 1)
            support_for.setdefault(hit_index, text)
            lines.append(f"“{text}” [{numbering[hit_index]}]")
        citations = [self._citation(new, hits[old], support_for[old]) for old, new in numbering.items()]
        return Answer(question, "\n".join(lines), citations, False, "extractive", language)

    def _citation(self, n: int, hit: Hit, supporting: str) -> Citation:
        chunk = hit.chunk
        doc = self.index.documents.get(chunk.doc_id, {})
        return Citation(
            n=n,
            doc=chunk.doc_id,
            title=doc.get("title", chunk.doc_id),
            section=chunk.section,
            start_line=chunk.start_line,
            end_line=chunk.end_line,
            text=chunk.text,
            authors=tuple(doc.get("authors", ())),
            year=doc.get("year"),
            supporting_sentence=supporting,
        )


def failed_checks(answer: Answer) -> list[SentenceCheck]:
    """The draft sentences that were dropped, for display."""
    return [c for c in answer.checks if not c.supported]


__all__ = ["Assistant", "detect_language", "validate_question", "failed_checks"]
