"""The hand-written eval files: schema, coverage of the kinds of questions, evidence that really occurs."""

import json
from collections import Counter

import pytest

from assistant.documents import load_corpus
from assistant.errors import InputError
from assistant.evaluation.evalset import key_points_found, load_cases, load_pairs, load_points, normalise
from tests.fakes import CORPUS


@pytest.fixture(scope="module")
def document_text():
    documents, _ = load_corpus(CORPUS)
    return {d.doc_id: normalise(" ".join(s.text for s in d.sections)) for d in documents}


def test_eval_set_covers_what_the_issue_asks_for():
    cases = load_cases()
    styles = Counter(c.style for c in cases)
    unanswerable = [c for c in cases if not c.answerable]
    assert len(cases) >= 60
    assert len(unanswerable) / len(cases) >= 0.15
    assert styles["near-text"] >= 25 and styles["off-topic"] >= 3
    assert len(unanswerable) >= 40  # enough to choose abstention thresholds by cross-validation
    assert styles["paraphrase"] >= 5 and styles["multi"] >= 3
    assert sum(1 for c in cases if c.language == "en" and c.answerable) >= 5
    assert sum(1 for c in cases if c.language == "nl" and c.answerable) > len(cases) / 2


def test_every_gold_evidence_occurs_in_its_document(document_text):
    for case in load_cases():
        for evidence in case.evidence:
            assert evidence.doc in document_text, case.id
            assert normalise(evidence.text) in document_text[evidence.doc], f"{case.id}: {evidence.text[:60]}"


def test_multi_passage_cases_need_two_places():
    for case in load_cases():
        if case.style == "multi":
            texts = {normalise(e.text) for e in case.evidence}
            assert len(texts) >= 2, case.id


def test_support_pairs_are_balanced_and_quote_the_corpus(document_text):
    pairs = load_pairs()
    labels = Counter(p.supported for p in pairs)
    assert len(pairs) >= 40 and labels[True] >= 15 and labels[False] >= 15
    assert {"contradiction", "wrong-number", "wrong-entity", "paraphrase"} <= {p.kind for p in pairs}
    for pair in pairs:
        assert normalise(pair.passage) in document_text[pair.doc], pair.id


def test_summary_key_points_cover_the_sections_and_occur_in_them():
    documents, _ = load_corpus(CORPUS)
    sections = {(d.doc_id, s.title): normalise(s.text).lower() for d in documents for s in d.sections}
    points = load_points()
    assert len(points) >= 8
    for entry in points:
        text = sections[(entry.doc, entry.section)]
        assert len(entry.points) >= 3, entry.id
        # every point can be found in its own section, so a summary can carry it
        assert all(key_points_found(text, entry.points)), entry.id


def test_schema_errors_name_the_line(tmp_path):
    good = {
        "id": "x-1", "question": "Wat?", "language": "nl", "answerable": True, "style": "direct",
        "reference_answer": "Dit.", "key_facts": [["dit"]], "evidence": [{"doc": "d", "text": "Dit."}],
    }  # fmt: skip
    broken = {**good, "id": "x-2", "evidence": []}
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(broken) + "\n")
    with pytest.raises(InputError, match=r"cases.jsonl:2: .*needs reference_answer, key_facts and evidence"):
        load_cases(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(InputError, match="duplicate ids x-1"):
        load_cases(path)
    path.write_text("{niet json\n")
    with pytest.raises(InputError, match="cases.jsonl:1"):
        load_cases(path)
