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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from assistant.chunking import split_sentences
from assistant.citations import parse_citations
from assistant.evalset import CASES_FILE, EvalCase, Evidence, normalise
from assistant.judge import SupportJudge
from assistant.qa import Assistant
from assistant.retrieval import retrieve_hybrid
from assistant.store import IndexData
from assistant.types import Answer

MODES = ("dense", "bm25", "hybrid")
KS = (1, 3, 5, 10)
Progress = Callable[[str], None]


def evidence_rows(index: IndexData, evidence: Evidence) -> set[int]:
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
    for mode in MODES:
        hits = retrieve_hybrid(assistant.index, assistant.embedder, case.question, depth, s.candidates, s.rrf_k, mode)
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
    """The answer's sentences with the citation numbers they carry (the fallback's intro line left out).

    An abstention makes no claim, so it has no sentences to cite.
    """
    if answer.abstained:
        return []
    text = answer.text
    if answer.mode == "extractive":
        text = "\n".join(text.splitlines()[1:])
    return [(s.text, s.cited) for s in parse_citations(text)]


def judge_citations(judge: SupportJudge, answer: Answer, document_language: dict[str, str]) -> list[dict]:
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


def answer_metrics(results: list[dict]) -> dict:
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    abstained = [r for r in results if r["answer"]["abstained"]]
    facts = [f for r in answerable for f in r["key_facts_found"]]
    modes = {m: sum(1 for r in results if r["answer"]["mode"] == m) for m in ("generated", "extractive", "abstained")}
    metrics = {
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
    for label, chosen in (("all", results), ("generated", None), ("extractive", None)):
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
    return metrics


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def fingerprints(assistant: Assistant, cases_file: Path, with_llm: bool) -> dict:
    from assistant.models import locate_llm

    manifest = assistant.index.manifest
    stamp = {
        "embedder": f"{assistant.embedder.name} {assistant.embedder.fingerprint}",
        "index": hashlib.sha256(
            "".join(sorted(m["content_hash"] for m in manifest["documents"].values())).encode()
        ).hexdigest()[:16],
        "eval_set": f"{cases_file.name} {file_digest(cases_file)}",
        "machine": " ".join(
            x for x in (platform.node(), platform.machine(), f"{os.cpu_count()} cpus", platform.python_version()) if x
        ),
    }
    if with_llm:
        path = locate_llm(assistant.settings.llm, assistant.settings.cache_dir)
        stamp["llm"] = f"{path.name} {file_digest(path)}"
    return stamp


def run_eval(
    assistant: Assistant,
    cases: list[EvalCase],
    judge: SupportJudge,
    with_answers: bool = True,
    progress: Progress | None = None,
    cases_file: Path = CASES_FILE,
    answer_ids: set[str] | None = None,
) -> dict:
    """Evaluate ``cases``; returns the report (settings, fingerprints, per-case results, metrics).

    Retrieval is scored on every case (it is cheap); the LLM answers every case, or
    only those in ``answer_ids`` (the CI gate's subset), or none (``with_answers=False``).
    """
    started = time.perf_counter()
    document_language = {d: m.get("language", "nl") for d, m in assistant.index.documents.items()}
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
        results.append(result)
        if progress:
            progress(case.id)
    answerable = [r for r in results if r["answerable"]]
    metrics: dict = {"retrieval": retrieval_metrics([r["retrieval_ranks"] for r in answerable]) if answerable else {}}
    answered = [r for r in results if "answer" in r]
    if answered:
        metrics["answers"] = answer_metrics(answered)
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
