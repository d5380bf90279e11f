"""Grounding evaluation: run the eval set through retrieval and the answer pipeline, score it.

Metrics (all over ``eval/grounding.jsonl`` unless a subset is asked for):

* retrieval, per mode (dense, bm25, hybrid): recall@k (share of a case's gold
  evidence found in the top k passages, averaged over answerable cases) and MRR
  (1 / rank of the first passage holding any gold evidence);
* answers: key-fact accuracy (all key facts of a case in the answer) and the
  share of key facts found; abstention precision and recall on the unanswerable
  cases; false-abstention rate on the answerable ones;
* citations, ALCE-style, judged by ``judge.SupportJudge``: citation recall (share
  of answer sentences supported by the passages they cite together) and citation
  precision (share of citations that support their sentence alone, or are needed
  for the support of the set);
* cost: seconds per question, prompt and completion tokens.
"""

from __future__ import annotations

import hashlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.chunking import split_sentences
from assistant.citations import parse_citations
from assistant.evaluation.evalset import CASES_FILE, EvalCase, Evidence, KeyPoint, key_points_found, normalise
from assistant.evaluation.judge import SupportJudge
from assistant.evaluation.metrics import AnswerMetrics
from assistant.files import file_sha256
from assistant.language import detect_language
from assistant.qa import Assistant
from assistant.retrieval import retrieve_hybrid
from assistant.settings import GroundingPolicy
from assistant.store import SearchIndex
from assistant.types import Answer, Mode

if TYPE_CHECKING:
    from assistant.summarise import SectionSummary

MODES = ("dense", "bm25", "hybrid")
KS = (1, 3, 5, 10)
Progress = Callable[[str], object]


def evidence_rows(index: SearchIndex, evidence: Evidence) -> set[int]:
    """Rows of the passages that hold this evidence (whole, or else its longest sentence)."""
    target = normalise(evidence.text)
    rows = {i for i, c in enumerate(index.chunks) if c.doc_id == evidence.doc and target in normalise(c.text)}
    if rows:
        return rows
    longest = normalise(max((s.text for s in split_sentences(evidence.text)), key=len, default=target))
    return {i for i, c in enumerate(index.chunks) if c.doc_id == evidence.doc and longest in normalise(c.text)}


def retrieval_ranks(assistant: Assistant, case: EvalCase, depth: int) -> dict[str, list[int | None]]:
    """Per mode, the 1-based rank of the first passage holding each piece of evidence (None: not in ``depth``)."""
    s = assistant.settings
    wanted = [evidence_rows(assistant.index, e) for e in case.evidence]
    row_of = {c.chunk_id: i for i, c in enumerate(assistant.index.chunks)}
    ranks: dict[str, list[int | None]] = {}
    lexical = assistant.lexical_query(case.question, detect_language(case.question))
    for mode in MODES:
        hits = retrieve_hybrid(
            assistant.index,
            assistant.embedder,
            case.question,
            depth,
            s.candidates,
            s.rrf_k,
            mode,
            lexical_query=lexical,
        )
        order = [row_of[h.chunk.chunk_id] for h in hits]
        ranks[mode] = [next((r + 1 for r, row in enumerate(order) if row in rows), None) for rows in wanted]
    return ranks


def retrieval_metrics(ranks: list[dict[str, list[int | None]]]) -> dict[str, dict[str, float]]:
    metrics: dict[str, dict[str, float]] = {}
    for mode in MODES:
        per_case = [r[mode] for r in ranks]
        m = {
            f"recall@{k}": statistics.fmean(sum(1 for x in c if x is not None and x <= k) / len(c) for c in per_case)
            for k in KS
        }
        firsts = [min((x for x in c if x is not None), default=None) for c in per_case]
        m["mrr"] = statistics.fmean(1 / f if f else 0.0 for f in firsts)
        metrics[mode] = m
    return metrics


def key_facts_found(answer_text: str, key_facts: list[list[str]]) -> list[bool]:
    """Per key fact: does any of its spellings occur in the answer (case-insensitive)?"""
    text = normalise(answer_text).lower()
    return [any(normalise(a).lower() in text for a in alternatives) for alternatives in key_facts]


def answer_sentences(answer: Answer) -> list[tuple[str, tuple[int, ...]]]:
    """The answer's claims with the citation numbers they carry: the direct answer, then each quote.

    An abstention makes no claim, so it has no sentences to cite.
    """
    if answer.abstained:
        return []
    claims = [(s.text, s.cited) for s in parse_citations(answer.direct)] if answer.direct else []
    return claims + [(q.text, (q.n,)) for q in answer.quotes]


def gold_citations(index: SearchIndex, answer: Answer, case: EvalCase) -> dict:
    """Citations judged against the gold evidence, independent of any judge.

    ``hit``: some cited passage holds a piece of the gold evidence; ``precise``: per
    citation, whether its passage holds gold evidence; ``quote_hit``: a quoted sentence
    overlaps the gold evidence (one contains the other).
    """
    gold_rows = set().union(*(evidence_rows(index, e) for e in case.evidence)) if case.evidence else set()
    cited_rows = [
        {i for i, chunk in enumerate(index.chunks) if chunk.doc_id == c.doc and chunk.text == c.text}
        for c in answer.citations
    ]
    precise = [bool(rows & gold_rows) for rows in cited_rows]
    gold_texts = [normalise(e.text) for e in case.evidence]
    quote_hit = any(
        normalise(q.text) in g or g in normalise(q.text) or _longest_sentence(g) in normalise(q.text)
        for q in answer.quotes
        for g in gold_texts
    )
    return {"hit": any(precise), "precise": precise, "quote_hit": quote_hit}


def _longest_sentence(text: str) -> str:
    return max((s.text for s in split_sentences(text)), key=len, default=text)


def judge_citations(judge: SupportJudge, answer: Answer, document_language: Mapping[str, str]) -> list[dict]:
    """ALCE-style verdicts for every sentence of an answer."""
    passages = {c.n: c for c in answer.citations}
    verdicts = []
    for sentence, cited in answer_sentences(answer):
        cited = tuple(n for n in cited if n in passages)
        if not cited:
            verdicts.append({"sentence": sentence, "cited": [], "supported": False, "precise": []})
            continue

        def supports(ns: tuple[int, ...], sentence=sentence) -> bool:
            text = " ".join(passages[n].text for n in ns)
            same = all(document_language.get(passages[n].doc, "nl") == answer.language for n in ns)
            return judge.judge(sentence, text, same_language=same).supported

        together = supports(cited)
        precise = []
        for n in cited:
            alone = supports((n,))
            rest = tuple(m for m in cited if m != n)
            needed = together and bool(rest) and not supports(rest)
            precise.append(alone or needed)
        verdicts.append({"sentence": sentence, "cited": list(cited), "supported": together, "precise": precise})
    return verdicts


def _share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def answer_metrics(results: list[dict], writer: str | None = None) -> AnswerMetrics:
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    abstained = [r for r in results if r["answer"]["abstained"]]
    facts = [f for r in answerable for f in r["key_facts_found"]]
    modes = {
        m: sum(1 for r in results if r["answer"]["mode"] == m)
        for m in (Mode.GENERATED, Mode.EXTRACTIVE, Mode.ABSTAINED)
    }
    metrics: dict = {
        "writer": writer,
        "cases": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "modes": modes,
        "key_fact_accuracy": _share(sum(1 for r in answerable if all(r["key_facts_found"])), len(answerable)),
        "key_facts_found": _share(sum(facts), len(facts)),
        "abstention_precision": _share(sum(1 for r in abstained if not r["answerable"]), len(abstained)),
        "abstention_recall": _share(sum(1 for r in unanswerable if r["answer"]["abstained"]), len(unanswerable)),
        "false_abstention_rate": _share(sum(1 for r in answerable if r["answer"]["abstained"]), len(answerable)),
    }
    answered = [r for r in answerable if not r["answer"]["abstained"]]
    gold = [r["gold"] for r in answered]
    precise = [p for g in gold for p in g["precise"]]
    metrics["gold_citation_hit"] = _share(sum(g["hit"] for g in gold), len(gold))
    metrics["gold_citation_precision"] = _share(sum(precise), len(precise))
    metrics["gold_quote_hit"] = _share(sum(g["quote_hit"] for g in gold), len(gold))
    for mode in (Mode.GENERATED, Mode.EXTRACTIVE):
        subset = [r for r in answerable if r["answer"]["mode"] == mode]
        metrics[f"key_fact_accuracy_{mode}"] = _share(sum(1 for r in subset if all(r["key_facts_found"])), len(subset))
        metrics[f"answerable_{mode}"] = len(subset)
    direct = [r for r in answerable if r["answer"]["mode"] == Mode.GENERATED]
    metrics["key_fact_accuracy_direct_only"] = _share(
        sum(1 for r in direct if all(r["key_facts_in_direct"])), len(direct)
    )
    for label, chosen in (("all", results), (Mode.GENERATED, None), (Mode.EXTRACTIVE, None)):
        subset = chosen if chosen is not None else [r for r in results if r["answer"]["mode"] == label]
        sentences = [v for r in subset for v in r["citation_verdicts"]]
        citations = [p for v in sentences for p in v["precise"]]
        metrics[f"citation_recall_{label}"] = _share(sum(v["supported"] for v in sentences), len(sentences))
        metrics[f"citation_precision_{label}"] = _share(sum(citations), len(citations))
        metrics[f"answer_sentences_{label}"] = len(sentences)
    seconds = [r["answer"]["timings"].get("total", 0.0) for r in results]
    prompt = [r["answer"]["tokens"].get("prompt", 0) for r in results if r["answer"]["tokens"]]
    completion = [r["answer"]["tokens"].get("completion", 0) for r in results if r["answer"]["tokens"]]
    metrics["seconds_per_question"] = {
        "median": statistics.median(seconds),
        "p90": sorted(seconds)[int(0.9 * (len(seconds) - 1))],
        "max": max(seconds),
        "total": sum(seconds),
    }
    metrics["tokens"] = {
        "prompt_median": statistics.median(prompt) if prompt else 0,
        "completion_median": statistics.median(completion) if completion else 0,
        "prompt_total": sum(prompt),
        "completion_total": sum(completion),
    }
    return AnswerMetrics(**metrics)


# Candidate thresholds for the abstention rules; the evidence signals are recorded per answer.
_GATE_GRID = [round(0.80 + 0.005 * i, 3) for i in range(9)]
_EVIDENCE_GRID = [round(0.80 + 0.005 * i, 3) for i in range(17)]
_OVERLAP_GRID = [0.0, 0.1, 0.2, 0.3]


def _would_abstain(
    signals: dict, gate: float, evidence: float, overlap: float, policy: GroundingPolicy | None = None
) -> bool:
    if "best_evidence" not in signals:  # nothing passed the relevance gate the eval ran with
        return True
    if signals["missing_names"] or signals.get("missing_focus") or not signals["type_found"]:
        return True
    if signals.get("names_in_best"):  # the product answers these whatever the thresholds (qa._abstain_reason)
        return False
    if signals.get("across_languages"):  # the product maps its thresholds to cross-language cosines
        policy = policy or GroundingPolicy.defaults()
        gate, evidence = policy.across_languages(gate), policy.across_languages(evidence)
    return (
        signals["best_passage"] < gate or signals["best_evidence"] < evidence or signals["evidence_overlap"] < overlap
    )


def _abstention_rates(
    rows: list[dict], params: tuple[float, float, float], policy: GroundingPolicy | None = None
) -> tuple[float, float]:
    unanswerable = [r for r in rows if not r["answerable"]]
    answerable = [r for r in rows if r["answerable"]]
    recall = sum(_would_abstain(r["answer"]["signals"], *params, policy) for r in unanswerable) / max(
        1, len(unanswerable)
    )
    false = sum(_would_abstain(r["answer"]["signals"], *params, policy) for r in answerable) / max(1, len(answerable))
    return recall, false


def _best_params(
    rows: list[dict], max_false: float, policy: GroundingPolicy | None = None
) -> tuple[float, float, float]:
    """The thresholds with the highest abstention recall whose false-abstention rate stays within ``max_false``."""
    best, best_key = (_GATE_GRID[0], _EVIDENCE_GRID[0], 0.0), (-1.0, 0.0, 0.0)
    for gate in _GATE_GRID:
        for evidence in _EVIDENCE_GRID:
            for overlap in _OVERLAP_GRID:
                recall, false = _abstention_rates(rows, (gate, evidence, overlap), policy)
                key = (recall if false <= max_false else -1.0, -false, -(gate + evidence + overlap))
                if key > best_key:
                    best, best_key = (gate, evidence, overlap), key
    return best


def calibrate_abstention(
    rows: list[dict], folds: int = 5, max_false: float = 0.05, seed: int = 0, policy: GroundingPolicy | None = None
) -> dict:
    """Choose min_relevance, min_evidence_relevance and min_evidence_overlap, and say how well that generalises.

    The thresholds are fitted on all cases (what the settings should use) and, to
    estimate how they do on questions not seen, fitted on k-1 folds and scored on the
    held-out fold (stratified by answerability). Fixed rules (names the documents never
    mention, what a Dutch question asks about absent from the passages, an asked-for year or
    number absent) apply in both.
    """
    import random

    rows = [r for r in rows if r["answer"].get("signals")]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda i: rows[i]["answerable"])  # stratify: deal both groups round the folds
    held: list[tuple[bool, bool]] = []  # (answerable, abstained)
    for f in range(folds):
        test = order[f::folds]
        train = [rows[i] for i in order if i not in set(test)]
        params = _best_params(train, max_false, policy)
        held += [(rows[i]["answerable"], _would_abstain(rows[i]["answer"]["signals"], *params, policy)) for i in test]
    fitted = _best_params(rows, max_false, policy)
    recall, false = _abstention_rates(rows, fitted, policy)
    unanswerable = [a for ok, a in held if not ok]
    answerable = [a for ok, a in held if ok]
    return {
        "chosen": {"min_relevance": fitted[0], "min_evidence_relevance": fitted[1], "min_evidence_overlap": fitted[2]},
        "in_sample": {"abstention_recall": recall, "false_abstention_rate": false},
        "cross_validated": {
            "abstention_recall": _share(sum(unanswerable), len(unanswerable)),
            "false_abstention_rate": _share(sum(answerable), len(answerable)),
            "folds": folds,
            "max_false_abstention": max_false,
        },
    }


def cross_lingual_line(assistant: Assistant, parallel_file: Path | None = None) -> dict:
    """The line English cosines follow against Dutch ones, fitted on translated questions.

    Each Dutch question of ``eval/parallel_questions.jsonl`` and its English translation are
    compared with every passage of the index; a least-squares line through the pairs of cosines
    (Dutch on x, English on y) is what ``GroundingPolicy.across_languages`` maps a threshold through.
    No answer or label goes into it: only the questions and the passages.
    """
    import numpy as np

    from assistant.evaluation.evalset import PARALLEL_FILE, load_parallel

    pairs = load_parallel(parallel_file or PARALLEL_FILE)
    n = len(assistant.index.chunks)
    if not pairs or not n:
        return {}
    vectors = assistant.embedder.embed_queries([p.nl for p in pairs] + [p.en for p in pairs])
    dutch, english = [], []
    for q_nl, q_en in zip(vectors[: len(pairs)], vectors[len(pairs) :], strict=True):
        by_nl, by_en = dict(assistant.index.search_dense(q_nl, n)), dict(assistant.index.search_dense(q_en, n))
        rows = sorted(by_nl.keys() & by_en.keys())
        dutch += [by_nl[r] for r in rows]
        english += [by_en[r] for r in rows]
    slope, intercept = np.polyfit(np.array(dutch), np.array(english), 1)
    policy = assistant.settings.grounding
    return {
        "pairs": len(pairs),
        "points": len(dutch),
        "slope": round(float(slope), 3),
        "intercept": round(float(intercept), 3),
        "settings": {"slope": policy.cross_lingual_slope, "intercept": policy.cross_lingual_intercept},
        "min_relevance_across": round(float(slope * policy.min_relevance + intercept), 3),
        "min_evidence_relevance_across": round(float(slope * policy.min_evidence_relevance + intercept), 3),
    }


def summary_points_found(summary: SectionSummary, points: list[KeyPoint]) -> list[bool]:
    """Per key point: do the summary's sentences carry it?

    The sentences only, not their source labels: a label names the section, and a key
    point's phrase found in the section's name ("bestuurbaar" in "Leefbaarheid en
    bestuurbaarheid") says nothing about the summary.
    """
    return key_points_found(" ".join(s.text for s in summary.sentences), points)


def summary_metrics(assistant: Assistant, points_file: Path | None = None) -> dict:
    """Key-point recall of fresh summaries of every section in ``eval/summary_points.jsonl``."""
    from assistant.evaluation.evalset import POINTS_FILE, load_points
    from assistant.summarise import Summariser

    summariser = Summariser(assistant)
    sections, found = [], []
    for entry in load_points(points_file or POINTS_FILE):
        summary = summariser.summarise_section(entry.doc, entry.section)
        hits = summary_points_found(summary, entry.points)
        found += hits
        sections.append(
            {"id": entry.id, "mode": summary.mode, "found": hits, "seconds": round(summary.seconds, 2),
             "sentences": [s.text for s in summary.sentences]}
        )  # fmt: skip
    return {
        "writer": assistant.settings.summary_writer,
        "length": summariser.length,
        "key_point_recall": _share(sum(found), len(found)),
        "key_points": len(found),
        "sections": sections,
    }


def fingerprints(assistant: Assistant, cases_file: Path, with_llm: bool) -> dict:
    from assistant.model_files import locate_llm

    hashes = assistant.index.manifest.content_hashes()
    stamp = {
        "embedder": f"{assistant.embedder.name} {assistant.embedder.fingerprint}",
        "index": hashlib.sha256("".join(sorted(hashes.values())).encode()).hexdigest()[:16],
        "eval_set": f"{cases_file.name} {file_sha256(cases_file)[:16]}",
        "machine": " ".join(
            x for x in (platform.node(), platform.machine(), f"{os.cpu_count()} cpus", platform.python_version()) if x
        ),
    }
    if with_llm and assistant.settings.llm_url:  # the server's model: its name is all bron can know
        stamp["llm"] = f"server {assistant.llm.fingerprint}"
    elif with_llm:
        path = locate_llm(assistant.settings.llm, assistant.settings.cache_dir)
        stamp["llm"] = f"{path.name} {file_sha256(path)[:16]}"
    return stamp


def run_eval(
    assistant: Assistant,
    cases: list[EvalCase],
    judge: SupportJudge,
    with_answers: bool = True,
    progress: Progress | None = None,
    cases_file: Path = CASES_FILE,
    answer_ids: set[str] | None = None,
    beside: bool = True,
    summaries: bool = True,
) -> dict:
    """Evaluate ``cases``; returns the report (settings, fingerprints, per-case results, metrics).

    Retrieval is scored on every case (it is cheap); the LLM answers every case, or
    only those in ``answer_ids`` (the CI gate's subset), or none (``with_answers=False``).
    With ``beside``, every answered case is also answered by the other answer writer: the quotes
    alone when the product uses the model, the model when it uses the quotes, so the model's part
    is always measured against the plain deterministic answer. With ``summaries``,
    every section with hand-written key points is summarised (by the configured summary writer,
    not from the cache) and key-point recall reported.
    """
    started = time.perf_counter()
    other = "quotes" if assistant.settings.answer_writer == "model" else "model"
    challenger = assistant.with_settings(answer_writer=other)
    document_language = {d: m.language for d, m in assistant.index.documents.items()}
    results = []
    for case in cases:
        result: dict = {
            "id": case.id,
            "question": case.question,
            "language": case.language,
            "style": case.style,
            "answerable": case.answerable,
            "reference_answer": case.reference_answer,
        }
        if case.answerable:
            result["retrieval_ranks"] = retrieval_ranks(assistant, case, depth=max(KS))
        if with_answers and (answer_ids is None or case.id in answer_ids):
            answer = assistant.ask(case.question)
            result["answer"] = answer.to_dict()
            result["key_facts_found"] = (
                key_facts_found(answer.text, case.key_facts) if not answer.abstained else [False] * len(case.key_facts)
            )
            result["citation_verdicts"] = judge_citations(judge, answer, document_language)
            result["key_facts_in_direct"] = key_facts_found(answer.direct, case.key_facts)
            result["gold"] = gold_citations(assistant.index, answer, case) if case.answerable else None
            if beside:
                other_answer = challenger.ask(case.question)
                result["beside"] = {
                    "answer": other_answer.to_dict(),
                    "key_facts_found": key_facts_found(other_answer.text, case.key_facts)
                    if not other_answer.abstained
                    else [False] * len(case.key_facts),
                    "citation_verdicts": judge_citations(judge, other_answer, document_language),
                    "key_facts_in_direct": key_facts_found(other_answer.direct, case.key_facts),
                    "gold": gold_citations(assistant.index, other_answer, case) if case.answerable else None,
                    "answerable": case.answerable,
                }
        results.append(result)
        if progress:
            progress(case.id)
    answerable = [r for r in results if r["answerable"]]
    metrics: dict = {"retrieval": retrieval_metrics([r["retrieval_ranks"] for r in answerable]) if answerable else {}}
    answered = [r for r in results if "answer" in r]
    if answered:
        metrics["answers"] = answer_metrics(answered).model_dump()
        # abstention is decided from the evidence, before any writer: the product's signals serve
        metrics["abstention_calibration"] = calibrate_abstention(answered, policy=assistant.settings.grounding)
        metrics["cross_lingual"] = cross_lingual_line(assistant)
        if beside:
            metrics["beside"] = answer_metrics([r["beside"] for r in answered], writer=other).model_dump()
    if with_answers and summaries:
        metrics["summaries"] = summary_metrics(assistant)
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": assistant.settings.model_dump(mode="json"),
        "fingerprints": fingerprints(assistant, cases_file, with_answers),
        "judge": {"name": judge.name},
        "case_ids": [c.id for c in cases],
        "answered_ids": [r["id"] for r in answered],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "metrics": metrics,
        "cases": results,
    }


__all__ = [
    "MODES",
    "KS",
    "run_eval",
    "retrieval_metrics",
    "answer_metrics",
    "key_facts_found",
    "answer_sentences",
    "judge_citations",
    "evidence_rows",
]
