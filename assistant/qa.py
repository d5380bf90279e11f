"""Question answering: the one place that wires retrieval, evidence, the LLM and the checks.

question -> retrieve_hybrid -> relevance gate (abstain)
         -> select_evidence: the sentences that answer -> abstain when a name the
            question asks about, or the asked-for year or number, is not in them
         -> quotes shown at once (``on_evidence``)
         -> the LLM writes one short sentence from the quotes alone -> kept only if
            supported by them and responsive (as relevant to the question as the
            evidence, carrying the asked-for kind of answer, not a mere copy)
         -> answer: the direct sentence (if kept) above the cited quotes.

The model's part is small on purpose: the grounding eval measured quoting the
right sentence beating the 270M model's own sentences on key facts, so the quote
is the answer and the model only adds a direct phrasing where it holds up.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from assistant.chunking import split_sentences
from assistant.citations import check_draft, load_common_words, numbered, parse_citations, strip_markers
from assistant.embedding import Embedder, load_embedder
from assistant.errors import InputError
from assistant.evidence import (
    Selection,
    has_answer_type,
    names_absent,
    names_all,
    pinning_names,
    question_names,
    select_evidence,
)
from assistant.indexing import identity_for
from assistant.instructions import instruction_in
from assistant.language import detect_language
from assistant.llm import LLM, load_llm
from assistant.manifest import IndexedDocument
from assistant.prompting import (
    ABSTAIN,
    NO_FIGURE,
    NOT_IN_PASSAGES,
    NOT_MENTIONED,
    NOT_NEAR,
    build_answer_prompt,
    copies_template_example,
)
from assistant.retrieval import retrieve_hybrid
from assistant.settings import Settings, make_settings
from assistant.store import SearchIndex, load_index
from assistant.types import Answer, Citation, Failure, Hit, Mode, Quote, SentenceCheck, SetAside

log = logging.getLogger(__name__)

STOP_SEQUENCES = ["\n"]
# The settings a loaded LLM depends on: changing any of them means another model object.
_LLM_SETTINGS = ("llm", "n_ctx", "n_threads", "seed", "prompt_format", "llm_url", "llm_model", "llm_api_key")


def open_index(settings: Settings, embedder: Embedder) -> SearchIndex:
    """The index ``settings`` name: in PostgreSQL with ``store``, else the folder under ``index_dir``."""
    if settings.store_dsn:
        from assistant.pg_store import PgIndex

        return PgIndex.open(settings.store_dsn, settings.index_name, identity_for(settings, embedder))
    return load_index(settings.index_path, identity_for(settings, embedder))


def validate_question(question: str | None, limit: int) -> str:
    question = " ".join((question or "").split())
    if not question:
        raise InputError("the question is empty")
    if len(question) > limit:
        raise InputError(f"the question is {len(question)} characters; the limit is {limit}")
    return question


class Assistant:
    """A loaded index, embedder and (lazily) LLM, answering questions."""

    def __init__(self, settings: Settings, embedder: Embedder, index: SearchIndex, llm: LLM | None = None):
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self._llm = llm

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None, llm: LLM | None = None) -> Assistant:
        """The one place the library is assembled: the index named by ``settings``, checked against the embedder.

        The embedder and the LLM named by ``settings`` are loaded unless given (tests and benchmarks
        pass stand-ins or already loaded models); the LLM loads on first use.
        """
        embedder = embedder or load_embedder(settings)
        index = open_index(settings, embedder)
        if index.manifest.split_by_older_rules:
            # It answers from its old sentences until rebuilt: say so rather than answer from them silently.
            log.warning(
                "index '%s' was split into sentences by older rules; 'bron index' updates it "
                "(unchanged passages keep their vectors)",
                settings.index_name,
            )
        return cls(settings, embedder, index, llm)

    def with_settings(self, **overrides) -> Assistant:
        """The same index and embedder under changed settings (top_k, llm, temperature, language, ...)."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if not overrides:
            return self
        settings = make_settings(**{**self.settings.model_dump(), **overrides})
        same_llm = all(getattr(settings, name) == getattr(self.settings, name) for name in _LLM_SETTINGS)
        return Assistant(settings, self.embedder, self.index, self._llm if same_llm else None)

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            # Every draft the model writes is checked for damaged words; their word lists load
            # beside the model instead of in the first answer's check.
            threading.Thread(target=load_common_words, name="bron-word-lists", daemon=True).start()
            self._llm = load_llm(self.settings)
        return self._llm

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        query_vector: np.ndarray | None = None,
        language: str | None = None,
    ) -> list[Hit]:
        """The passages for ``question`` (in ``language``, detected when None): dense search and BM25, fused."""
        s = self.settings
        lexical = self.lexical_query(question, language or detect_language(question))
        return retrieve_hybrid(
            self.index,
            self.embedder,
            question,
            top_k or s.top_k,
            s.candidates,
            s.rrf_k,
            query_vector=query_vector,
            lexical_query=lexical,
        )

    def lexical_query(self, question: str, language: str) -> str:
        """What BM25 searches for: the question, or, when no document is in its language, its names and numbers.

        BM25 matches Dutch-stemmed words, and an English question shares none of its ordinary words
        with a Dutch passage. What it matched there was noise ("social", "office") that pushed the
        passage dense search ranked first down to 2nd-9th in 5 of 10 English questions of the eval
        set. Names and figures are written the same in both languages.
        """
        languages = {d.language for d in self.index.manifest.documents.values()}
        if not languages or language in languages:
            return question
        return " ".join([*question_names(question, language), *re.findall(r"\d+", question)])

    def _across_languages(self, hit: Hit, language: str) -> bool:
        return self._document(hit.chunk.doc_id).language != language

    def ask(
        self,
        question: str,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        search_query: str | None = None,
        on_evidence: Callable[[Answer], None] | None = None,
    ) -> Answer:
        """Answer one question; ``on_token`` receives the model's sentence as it streams.

        ``on_evidence`` receives the evidence-only answer (quotes and citations) as soon
        as it is chosen, before the model writes. ``search_query`` replaces the question
        for retrieval and evidence selection (a follow-up rewritten into a standalone
        query); the question itself is what the model answers.
        """
        s = self.settings
        question = validate_question(question, s.max_question_chars)
        query = search_query or question
        asked_in = detect_language(query)
        language = (
            s.language if s.language in ABSTAIN else (asked_in if query == question else detect_language(question))
        )
        started = time.perf_counter()
        timings: dict[str, float] = {}

        q = self.embedder.embed_queries([query])[0]  # once: retrieval, evidence and the responsiveness check
        hits = self.retrieve(query, query_vector=q, language=asked_in)
        timings["retrieve"] = time.perf_counter() - started
        common: dict = {"hits": hits, "search_query": query}

        def finish(answer: Answer, **fields) -> Answer:
            timings["total"] = time.perf_counter() - started
            return replace(answer, timings=dict(timings), **fields)

        # A passage is relevant by its cosine, or when it names every person, place or body the question
        # names: "Wat laten Wittebrood en Van der Wouden zien?" is matched loosely, the names exactly.
        names = pinning_names(query, language, self.index.vocabulary)
        policy = s.grounding

        def gate(hit: Hit) -> float:
            across = self._across_languages(hit, asked_in)
            return policy.across_languages(policy.min_relevance) if across else policy.min_relevance

        relevant = [h for h in hits if (h.dense_score or 0.0) >= gate(h) or (names and names_all(names, h.chunk.text))]
        best_passage = max((h.dense_score or 0.0 for h in hits), default=0.0)
        relevant, set_aside = self._without_instructions(relevant)
        common["set_aside"] = set_aside
        if not relevant:
            reason = "only passages that read as instructions" if set_aside else "no passage reaches min_relevance"
            signals: dict[str, object] = {"best_passage": round(best_passage, 4)}
            return finish(self._abstain(question, language, reason, None, signals=signals, **common))

        t0 = time.perf_counter()
        selection = select_evidence(
            query,
            relevant,
            self.embedder,
            language,
            s.grounding,
            query_vector=q,
            vocabulary=self.index.vocabulary,
            stored=self.index.unit_vector,
            pinned=names,
        )
        selection = replace(selection, names_elsewhere=self._names_elsewhere(query, language, selection, relevant))
        timings["evidence"] = time.perf_counter() - t0
        across = bool(selection.units) and self._across_languages(relevant[selection.anchor], asked_in)
        signals = _signals(selection, best_passage, across)
        reason = self._abstain_reason(selection, across)
        if reason:
            return finish(self._abstain(question, language, reason, selection, signals=signals, **common))

        evidence = self._evidence_answer(question, language, selection, relevant, signals=signals, **common)
        timings["evidence_shown"] = time.perf_counter() - started
        if on_evidence:
            on_evidence(replace(evidence, timings=dict(timings)))
        if s.answer_writer == "quotes" or (cancel is not None and cancel.is_set()):
            return finish(evidence, stopped=bool(cancel and cancel.is_set()))
        sources = {self._document(relevant[u.hit].chunk.doc_id).language for u in selection.units}
        if sources != {language}:
            # The checks compare the sentence's words with the passages' words, which a translation does
            # not share: a sentence that cannot be checked is not asked for, and the quotes are the answer.
            note = "not asked: the evidence is in another language than the answer"
            return finish(evidence, signals={**signals, "model": note})

        units = [replace(relevant[u.hit], chunk=replace(relevant[u.hit].chunk, text=u.text)) for u in selection.units]
        llm = self.llm
        prompt, used = build_answer_prompt(question, units, language, llm.count_tokens, llm.n_ctx - s.max_answer_tokens)
        t1 = time.perf_counter()
        pieces: list[str] = []
        first_token = None
        for piece in llm.stream(prompt, s.max_answer_tokens, s.temperature, STOP_SEQUENCES, cancel):
            if first_token is None:
                first_token = time.perf_counter()
                timings["first_token"] = first_token - started
            pieces.append(piece)
            if on_token:
                on_token(piece)
        t2 = time.perf_counter()
        draft = "".join(pieces).strip()
        timings["prompt_eval"] = (first_token or t2) - t1
        timings["generate"] = t2 - (first_token or t2)
        t3 = time.perf_counter()
        direct, checks = self._check_direct(draft, used, selection, language, q, evidence.quotes)
        timings["check"] = time.perf_counter() - t3
        model = {
            "draft": draft,
            "checks": checks,
            "prompt": prompt,
            "tokens": {"prompt": llm.count_tokens(prompt), "completion": llm.count_tokens(draft) - 1 if draft else 0},
            "stopped": bool(cancel and cancel.is_set()),
        }
        if direct:
            text = f"{direct}\n{_quotes_text(evidence.quotes)}"
            return finish(evidence, direct=direct, mode=Mode.GENERATED, text=text, **model)
        return finish(evidence, **model)

    def _without_instructions(self, hits: list[Hit]) -> tuple[list[Hit], list[SetAside]]:
        """The passages that may be evidence, and those set aside because they read as instructions."""
        kept, aside = [], []
        for hit in hits:
            instruction = instruction_in(hit.chunk.text)
            if instruction is None:
                kept.append(hit)
                continue
            c = hit.chunk
            title = self._document(c.doc_id).title
            aside.append(
                SetAside(c.doc_id, title, c.section, c.start_line, c.end_line, instruction, c.start_page, c.end_page)
            )
        return kept, aside

    def _names_elsewhere(self, query: str, language: str, selection: Selection, relevant: list[Hit]) -> tuple[str, ...]:
        """The question's names that are nowhere near the evidence.

        Near is the passages quoted, the other relevant passages of their sections (a passage says "zij"
        for the SCP named a passage before) and their documents' titles and authors. "Wat vinden Wilson en
        Sampson van het Rotterdamse spreidingsbeleid?" finds a passage on Wilson and Sampson that says
        nothing of Rotterdam. Names the documents never mention are ``missing_names``.
        """
        names = [n for n in question_names(query, language) if n not in selection.missing_names]
        if not names or not selection.units:
            return ()
        places = {(relevant[u.hit].chunk.doc_id, relevant[u.hit].chunk.section) for u in selection.units}
        texts = [f"{h.chunk.section} {h.chunk.text}" for h in relevant if (h.chunk.doc_id, h.chunk.section) in places]
        for doc_id in {doc for doc, _ in places}:
            doc = self._document(doc_id)
            texts += [doc.title, *doc.authors]
        return tuple(names_absent(names, " ".join(texts)))

    def _abstain_reason(self, selection: Selection, across: bool = False) -> str:
        """Why the documents do not answer, judged from the evidence; "" when they may.

        ``across``: the best evidence is in another language than the question, and the relevance
        threshold is mapped to cross-language cosines (``GroundingPolicy.across_languages``).
        """
        s = self.settings.grounding
        min_evidence = s.across_languages(s.min_evidence_relevance) if across else s.min_evidence_relevance
        if not selection.units:
            return "no sentence in the relevant passages"
        if selection.missing_names:
            return "not mentioned: " + ", ".join(selection.missing_names)
        if selection.missing_focus:
            return f"no relevant passage mentions '{selection.missing_focus}'"
        if selection.names_elsewhere:
            return "not near the evidence: " + ", ".join(selection.names_elsewhere)
        if not selection.type_found:
            return f"no {selection.answer_type.value} in the evidence"
        if selection.names_in_best:
            # The best sentence names everyone and everything the question names ("Wat laten Wittebrood
            # en Van der Wouden zien?"): that is the evidence, however loosely worded the question is.
            return ""
        if selection.best_dense < min_evidence:
            return f"best evidence {selection.best_dense:.3f} < min_evidence_relevance {min_evidence:.3f}"
        if selection.best_lexical < s.min_evidence_overlap:
            return (
                f"evidence shares {selection.best_lexical:.0%} of the question's words < {s.min_evidence_overlap:.0%}"
            )
        return ""

    def _abstain(self, question: str, language: str, reason: str, selection: Selection | None, **fields) -> Answer:
        text = ABSTAIN[language]
        if selection is not None and selection.missing_names:
            names = ", ".join(f"‘{n}’" for n in selection.missing_names)
            text = f"{text} {NOT_MENTIONED[language].format(names=names)}"
        elif selection is not None and selection.missing_focus:
            text = f"{text} {NOT_IN_PASSAGES[language].format(focus=selection.missing_focus)}"
        elif selection is not None and selection.names_elsewhere:
            names = ", ".join(f"‘{n}’" for n in selection.names_elsewhere)
            text = f"{text} {NOT_NEAR[language].format(names=names)}"
        elif selection is not None and selection.units and not selection.type_found:
            text = f"{text} {NO_FIGURE[language][selection.answer_type.value]}"
        return Answer(question, text, [], True, Mode.ABSTAINED, language, abstain_reason=reason, **fields)

    def _evidence_answer(
        self, question: str, language: str, selection: Selection, relevant: list[Hit], **fields
    ) -> Answer:
        """The quotes-only answer: each chosen unit quoted and cited to its passage."""
        numbering: dict[int, int] = {}
        quotes, citations = [], []
        for unit in selection.units:
            if unit.hit not in numbering:
                numbering[unit.hit] = len(numbering) + 1
                citations.append(self._citation(numbering[unit.hit], relevant[unit.hit], unit.text))
            quotes.append(Quote(numbering[unit.hit], unit.text, round(unit.dense, 4)))
        text = _quotes_text(quotes)
        return Answer(question, text, citations, False, Mode.EXTRACTIVE, language, quotes=quotes, **fields)

    def _check_direct(
        self, draft: str, units: list[Hit], selection: Selection, language: str, q: np.ndarray, quotes: list[Quote]
    ) -> tuple[str, list[SentenceCheck]]:
        """The model's first sentence, with its citation, if it is supported, responsive and adds to the quotes."""
        policy = self.settings.grounding
        parsed = [p for p in parse_citations(draft) if not copies_template_example(p.text, language)]
        if not parsed:
            return "", [SentenceCheck(draft, (), False, 0.0, Failure.TEMPLATE.value, Failure.TEMPLATE)] if draft else []
        passages = numbered(units)
        first = parsed[0]

        def screen(text: str) -> tuple[Failure, str] | None:
            # Run by check_draft between its checks that embed nothing and its support check: this one
            # embeds one sentence, support embeds every evidence sentence too.
            if not has_answer_type(text, selection.answer_type, selection.references):
                return Failure.WRONG_TYPE, selection.answer_type.value
            if _repeats(text, [quoted for _, quoted in passages], policy.copy_overlap):
                return Failure.COPY, ""
            relevance = float(self.embedder.embed_passages([text])[0] @ q)
            if relevance < selection.best_dense - policy.responsive_margin:
                return Failure.NOT_RESPONSIVE, f"{relevance:.3f} against {selection.best_dense:.3f}"
            return None

        checks, _ = check_draft([first], passages, self.embedder, policy, screen=screen)
        check = checks[0]
        if not check.supported:
            return "", checks
        sentence = check.sentence
        # Renumber: the prompt numbered the units; the answer numbers the passages they come from.
        unit_to_citation = {i + 1: q.n for i, q in enumerate(quotes)}
        marks = "".join(f"[{n}]" for n in dict.fromkeys(unit_to_citation[c] for c in check.cited))
        body = sentence.rstrip()
        end = body[-1] if body[-1] in ".!?" else "."
        return f"{body.rstrip('.!?')} {marks}{end}", checks

    def _document(self, doc_id: str) -> IndexedDocument:
        return self.index.manifest.document(doc_id)

    def _citation(self, n: int, hit: Hit, supporting: str) -> Citation:
        chunk = hit.chunk
        doc = self._document(chunk.doc_id)
        return Citation(
            n=n,
            doc=chunk.doc_id,
            title=doc.title,
            section=chunk.section,
            start_line=chunk.start_line,
            end_line=chunk.end_line,
            text=chunk.text,
            authors=doc.authors,
            year=doc.year,
            supporting_sentence=supporting,
            start_page=chunk.start_page,
            end_page=chunk.end_page,
        )


def _signals(selection: Selection, best_passage: float, across: bool = False) -> dict[str, object]:
    return {
        "best_passage": round(best_passage, 4),
        "across_languages": across,
        "best_evidence": round(selection.best_dense, 4),
        "evidence_overlap": round(selection.best_lexical, 4),
        "answer_type": selection.answer_type.value,
        "type_found": selection.type_found,
        "missing_names": list(selection.missing_names),
        "missing_focus": selection.missing_focus,
        "names_elsewhere": list(selection.names_elsewhere),
        "names_in_best": selection.names_in_best,
    }


def _quotes_text(quotes: list[Quote]) -> str:
    return "\n".join(f"“{q.text}” [{q.n}]" for q in quotes)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", strip_markers(text).lower())


def _repeats(sentence: str, quotes: list[str], overlap: float) -> bool:
    """Whether ``sentence`` is a near-copy of a quote or of one of its sentences: nearly all its words
    in it, at nearly its length."""
    words = _words(sentence)
    pieces = [p for quote in quotes for p in [quote, *(s.text for s in split_sentences(quote))]]
    for piece in pieces:
        source = _words(piece)
        if not words or not source:
            continue
        vocabulary = set(source)
        shared = sum(1 for w in words if w in vocabulary) / len(words)
        if shared >= overlap and len(words) >= 0.8 * len(source):
            return True
    return False


def failed_checks(answer: Answer) -> list[SentenceCheck]:
    """The draft sentences that were dropped, for display."""
    return [c for c in answer.checks if not c.supported]


__all__ = ["Assistant", "detect_language", "validate_question", "failed_checks"]
