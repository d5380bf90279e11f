"""The CI gate: the test model on the gate's subset must not fall below the floors in eval/gate.json.

Retrieval is scored on every case of the eval set; the LLM answers the subset.
The floors are measured figures minus a margin, kept in the repo, not here.
"""

import pytest

from assistant.evaluation.evalset import load_cases, load_pairs
from assistant.evaluation.judge import SupportJudge, validate
from assistant.evaluation.report import gate_failures, load_gate, load_report, write_report
from assistant.evaluation.run import run_eval

pytestmark = pytest.mark.slow


def test_gate_subset_stays_above_its_floors(real_assistant, tmp_path):
    gate = load_gate()
    judge = SupportJudge(real_assistant.embedder)
    report = run_eval(real_assistant, load_cases(), judge, answer_ids=set(gate["answer_subset"]))
    report["judge"]["agreement"] = validate(judge, load_pairs()).to_dict()
    folder = write_report(report, tmp_path)
    assert load_report(folder)["answered_ids"] == sorted(gate["answer_subset"], key=report["case_ids"].index)
    assert gate_failures(report, gate) == []
    # the stamp says what was measured
    assert report["fingerprints"]["llm"].startswith("gemma-3-270m") and report["settings"]["llm"] == "gemma3-270m"
