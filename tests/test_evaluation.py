"""The eval's arithmetic and report files, on made-up results: no models needed."""

import json
from dataclasses import replace

from assistant.evaluation.evalset import KeyPoint
from assistant.evaluation.judge import Verdict, agreement
from assistant.evaluation.report import compare_markdown, gate_failures, headline, write_report
from assistant.evaluation.run import (
    _would_abstain,
    answer_metrics,
    answer_sentences,
    calibrate_abstention,
    judge_citations,
    key_facts_found,
    retrieval_metrics,
    summary_points_found,
)
from assistant.settings import GroundingPolicy
from assistant.summarise import SectionSummary, SourceRef, SummarySentence
from assistant.types import Answer, Citation, Mode, Quote


def test_retrieval_recall_and_mrr():
    ranks = [
        {"dense": [1], "bm25": [None], "hybrid": [2]},
        {"dense": [4, None], "bm25": [2, 3], "hybrid": [1, 6]},
    ]
    m = retrieval_metrics(ranks)
    assert m["dense"]["recall@1"] == 0.5 and m["dense"]["recall@5"] == 0.75
    assert m["bm25"]["recall@3"] == 0.5  # 0 for the first case, 1 for the second
    assert m["hybrid"]["recall@5"] == 0.75 and m["hybrid"]["recall@10"] == 1.0
    assert m["dense"]["mrr"] == (1 + 1 / 4) / 2 and m["bm25"]["mrr"] == (0 + 1 / 2) / 2


def test_key_facts_accept_any_spelling_and_ignore_case():
    assert key_facts_found("Van 65 naar 42 procent, aldus het Beleid.", [["65"], ["42"], ["beleid"]]) == [True] * 3
    assert key_facts_found("Urban restructuring.", [["herstructurering", "restructuring"], ["niets"]]) == [True, False]


def test_a_summary_carries_a_key_point_only_in_its_sentences_not_in_their_source_labels():
    source = SourceRef("doc", "Leefbaarheid en bestuurbaarheid", 1, 4)
    sentence = SummarySentence("“Corporaties uiten hun zorgen over de balans in een buurt.”", [source], "quoted")
    summary = SectionSummary("doc", "T", source.section, "nl", "medium", Mode.QUOTED, [sentence])
    points = [KeyPoint(point="bestuurbaarheid", any=["bestuurbaar"]), KeyPoint(point="balans", any=["balans"])]
    assert "bestuurbaar" in summary.text()  # the label names the section
    assert summary_points_found(summary, points) == [False, True]


def _citation(n, text):
    return Citation(n, "d", "T", "S", 1, 2, text)


def test_answer_sentences_are_the_direct_answer_and_each_quote():
    quotes = [Quote(1, "Zin een."), Quote(2, "Zin twee.")]
    answer = Answer("q", "“Zin een.” [1]\n“Zin twee.” [2]", [], False, "extractive", "nl", quotes=quotes)
    assert answer_sentences(answer) == [("Zin een.", (1,)), ("Zin twee.", (2,))]
    answer = replace(answer, direct="Eén en twee [1][2].", mode="generated")
    assert answer_sentences(answer)[0] == ("Eén en twee.", (1, 2))
    assert answer_sentences(Answer("q", "Dit staat niet in de documenten.", [], True, "abstained", "nl")) == []


def test_abstention_calibration_fits_on_folds_and_scores_held_out():
    def row(answerable, evidence, missing=()):
        signals = {"best_passage": 0.85, "best_evidence": evidence, "evidence_overlap": 0.5, "type_found": True,
                   "missing_names": list(missing)}  # fmt: skip
        return {"answerable": answerable, "answer": {"signals": signals}}

    rows = [row(True, 0.86 + 0.001 * i) for i in range(20)] + [row(False, 0.81 + 0.001 * i) for i in range(10)]
    rows.append(row(False, 0.95, missing=["VVD"]))  # a fixed rule, whatever the thresholds
    result = calibrate_abstention(rows)
    assert 0.82 <= result["chosen"]["min_evidence_relevance"] <= 0.86
    assert result["in_sample"]["abstention_recall"] == 1.0 and result["in_sample"]["false_abstention_rate"] == 0.0
    assert result["cross_validated"]["abstention_recall"] > 0.8


def test_abstention_calibration_maps_its_thresholds_for_questions_in_another_language():
    # An English question's cosines to Dutch text run lower; the product lowers its thresholds for it
    # (GroundingPolicy.across_languages), and the calibration must judge such a row the same way.
    signals = {"best_passage": 0.80, "best_evidence": 0.80, "evidence_overlap": 0.0, "type_found": True,
               "missing_names": []}  # fmt: skip
    assert _would_abstain(signals, 0.80, 0.825, 0.0)
    assert not _would_abstain({**signals, "across_languages": True}, 0.80, 0.825, 0.0)
    same = GroundingPolicy.defaults().model_copy(update={"cross_lingual_slope": 1.0, "cross_lingual_intercept": 0.0})
    assert _would_abstain({**signals, "across_languages": True}, 0.80, 0.825, 0.0, same)


class WordJudge:
    """Supported when every word of the sentence occurs in the passage."""

    def judge(self, sentence, passage, same_language=True):
        ok = set(sentence.lower().strip(".").split()) <= set(passage.lower().replace(".", "").split())
        return Verdict(ok, 1.0 if ok else 0.0, None, ())


def test_alce_precision_counts_irrelevant_and_needed_citations():
    citations = [_citation(1, "de huur daalt sterk"), _citation(2, "het weer is mooi"), _citation(3, "in de stad")]
    answer = Answer("q", "", citations, False, "generated", "nl",
                    direct="De huur daalt [1][2]. Huur daalt in de stad [1][3]. Zonder bron.")  # fmt: skip
    verdicts = judge_citations(WordJudge(), answer, {"d": "nl"})
    assert [v["supported"] for v in verdicts] == [True, True, False]
    assert verdicts[0]["precise"] == [True, False]  # [2] neither supports alone nor is needed
    assert verdicts[1]["precise"] == [True, True]  # neither alone, but each is needed for the support
    assert verdicts[2]["cited"] == [] and verdicts[2]["precise"] == []


def _result(answerable, abstained, facts=(), verdicts=(), mode=None):
    mode = mode or ("abstained" if abstained else "generated")
    return {
        "answerable": answerable,
        "key_facts_found": list(facts),
        "key_facts_in_direct": list(facts),
        "gold": {"hit": True, "precise": [True], "quote_hit": True},
        "citation_verdicts": list(verdicts),
        "answer": {
            "abstained": abstained, "mode": mode, "timings": {"total": 2.0}, "tokens": {"prompt": 9, "completion": 3},
        },
    }  # fmt: skip


def test_abstention_and_key_fact_metrics():
    results = [
        _result(True, False, [True, True], [{"supported": True, "precise": [True]}]),
        _result(True, False, [True, False], [{"supported": False, "precise": [False, True]}]),
        _result(True, True, [False]),
        _result(False, True),
        _result(False, False, verdicts=[{"supported": True, "precise": [True]}], mode="extractive"),
    ]
    m = answer_metrics(results)
    assert m.key_fact_accuracy == 1 / 3 and m.key_facts_found == 3 / 5
    assert m.abstention_precision == 1 / 2 and m.abstention_recall == 1 / 2
    assert m.false_abstention_rate == 1 / 3
    assert m.citation_recall_all == 2 / 3 and m.citation_precision_all == 3 / 4
    assert m.citation_recall_generated == 1 / 2 and m.citation_recall_extractive == 1.0


def test_every_headline_metric_reaches_the_report_table():
    from assistant.evaluation.metrics import HEADLINE

    report = _report(0.9, True)
    flat = headline(report)
    assert [name for name in flat if name in HEADLINE] == list(HEADLINE)
    assert "key_fact_accuracy" in HEADLINE and "modes" not in HEADLINE and "cases" not in HEADLINE
    report["metrics"]["beside"] = answer_metrics([_result(True, False, [False])], writer="model").model_dump()
    flat = headline(report)
    assert flat["key_fact_accuracy"] == 1.0 and flat["beside: model writer key_fact_accuracy"] == 0.0
    assert "beside: model writer key_fact_accuracy_direct_only" in flat


def test_judge_agreement_and_kappa():
    a = agreement([True, True, False, False], [True, False, False, True], ["a", "b", "c", "d"])
    assert a.accuracy == 0.5 and a.precision == 0.5 and a.recall == 0.5 and a.cohen_kappa == 0.0
    assert a.errors == ("b", "d")


def _report(recall, precision, created="2026-11-22T10:00:00+00:00"):
    return {
        "created": created,
        "settings": {"llm": "gemma3-270m", "top_k": 5, "min_relevance": 0.8, "min_support": 0.84, "temperature": 0.0,
                     "n_threads": 1},
        "fingerprints": {"embedder": "e5 x", "index": "i", "eval_set": "g", "machine": "m", "llm": "gguf y"},
        "judge": {"name": "j", "agreement": {"accuracy": 0.8}},
        "case_ids": ["a"], "answered_ids": ["a"], "wall_seconds": 1.0,
        "metrics": {
            "retrieval": {"hybrid": {"recall@5": recall, "mrr": 0.5}},
            "answers": answer_metrics(
                [_result(True, False, [True], [{"supported": True, "precise": [precision]}])]
            ).model_dump(),
        },
        "cases": [],
    }  # fmt: skip


def test_report_folder_is_written_whole(tmp_path):
    folder = write_report(_report(0.9, True), tmp_path)
    assert {p.name for p in folder.iterdir()} == {"report.json", "summary.md", "chart.png"}
    assert json.loads((folder / "report.json").read_text())["metrics"]["retrieval"]["hybrid"]["recall@5"] == 0.9
    assert "| retrieval recall@5 (hybrid) | 90.0% |" in (folder / "summary.md").read_text()
    assert (folder / "chart.png").read_bytes()[:4] == b"\x89PNG"
    assert write_report(_report(0.9, True), tmp_path) != folder  # same second: a second folder, nothing overwritten
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_compare_and_gate():
    old, new = _report(0.9, True), _report(0.8, False)
    table = compare_markdown(old, new, "old", "new")
    assert "| retrieval recall@5 (hybrid) | 90.0% | 80.0% | -10.0 pt |" in table
    gate = {"floors": {"retrieval recall@5 (hybrid)": {"measured": 0.9, "margin": 0.05},
                       "citation_precision_all": {"measured": 1.0, "margin": 0.1}}}  # fmt: skip
    assert gate_failures(old, gate) == []
    failures = gate_failures(new, gate)
    assert len(failures) == 2 and failures[0].startswith("retrieval recall@5 (hybrid): 80.0%")
    assert headline(new)["citation_precision_all"] == 0.0


def test_a_gated_rate_that_should_stay_low_fails_above_its_ceiling():
    report = _report(0.9, True)
    rate = headline(report)["false_abstention_rate"]
    rule = {"false_abstention_rate": {"measured": 0.0, "margin": 0.15, "ceiling": True}}
    assert (gate_failures(report, {"floors": rule}) == []) == (rate <= 0.15)
    report["metrics"]["answers"]["false_abstention_rate"] = 0.5
    assert gate_failures(report, {"floors": rule}) == ["false_abstention_rate: 50.0% is above the ceiling 15.0%"]
