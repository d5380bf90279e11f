"""The answer pipeline with a scripted LLM and a keyword embedder: grounding logic only."""

import pytest

from assistant.errors import InputError
from assistant.indexing import build_index
from assistant.prompting import ABSTAIN
from assistant.qa import Assistant
from assistant.types import Failure
from tests.fakes import KEYWORD_THRESHOLDS, ScriptedLLM, assistant_over

FACT = (
    "In 1997 werd met het herstructureringsbeleid een ambitieuze stedelijke vernieuwing voorgesteld: in door het "
    "beleid geselecteerde wijken moet het percentage sociale huur worden verlaagd van 65 naar 42, terwijl het "
    "aandeel koop zou moeten stijgen van 18 naar 45"
)


@pytest.fixture
def make_assistant(make_settings, keyword_embedder, corpus_copy):
    # Thresholds fit the keyword embedder, whose cosines are lower than e5's.
    settings = make_settings(corpus_dir=corpus_copy, answer_writer="model", **KEYWORD_THRESHOLDS)
    build_index(settings, keyword_embedder)

    def make(draft: str) -> tuple[Assistant, ScriptedLLM]:
        llm = ScriptedLLM(draft)
        return assistant_over(settings, keyword_embedder, llm), llm

    return make


QUESTION = "Wat werd in 1997 met het herstructureringsbeleid voorgesteld?"
DIRECT = "In 1997 werd met het herstructureringsbeleid voorgesteld de sociale huur te verlagen van 65 naar 42"


def test_short_supported_answer_is_kept_above_the_quoted_evidence(make_assistant):
    assistant, llm = make_assistant(f"{DIRECT} [1].")
    answer = assistant.ask(QUESTION)
    assert answer.mode == "generated" and not answer.abstained, answer.checks
    assert answer.direct == f"{DIRECT} [1]."
    assert answer.text.startswith(answer.direct)
    assert answer.quotes and any("65 naar 42" in q.text for q in answer.quotes)
    assert all(f"“{q.text}” [{q.n}]" in answer.text for q in answer.quotes)
    assert answer.citations[0].doc == "uitermark-duyvendak-menging"
    assert answer.citations[0].supporting_sentence in answer.citations[0].text
    # The model saw the chosen evidence only, not the retrieved passages.
    assert QUESTION in llm.prompts[0] and "Bewijs:" in llm.prompts[0]
    assert "aandeel koop" in llm.prompts[0] and "Zijns inziens" not in llm.prompts[0]


def test_citation_to_evidence_that_was_not_shown_is_repaired(make_assistant):
    assistant, _ = make_assistant(f"{DIRECT} [9].")
    answer = assistant.ask(QUESTION)
    assert answer.mode == "generated"
    assert "repaired" in answer.checks[0].reason
    assert answer.direct.endswith("[1].")


def test_invented_numbers_leave_the_quotes_as_the_answer(make_assistant):
    assistant, _ = make_assistant("In 1997 werd de sociale huur verlaagd van 80 naar 10 procent [1].")
    answer = assistant.ask(QUESTION)
    assert answer.mode == "extractive" and answer.direct == ""
    assert answer.quotes and answer.text.startswith("“")
    assert answer.citations and all(c.supporting_sentence in c.text for c in answer.citations)
    assert "80" not in answer.text


def test_a_copy_of_the_quote_adds_nothing_and_is_not_kept(make_assistant):
    assistant, _ = make_assistant(f"{FACT} [1].")
    answer = assistant.ask(QUESTION)
    assert answer.mode == "extractive"
    assert answer.checks[-1].reason == "repeats the quote without adding to it"


def test_model_text_saying_it_cannot_answer_leaves_the_quotes(make_assistant):
    assistant, _ = make_assistant(ABSTAIN["nl"])
    answer = assistant.ask(QUESTION)
    assert answer.mode == "extractive" and answer.quotes and not answer.abstained


def test_irrelevant_question_abstains_without_calling_the_model(make_assistant):
    assistant, llm = make_assistant("Parijs [1].")
    answer = assistant.ask("xyzzy plugh quux frobnicate?")
    assert answer.abstained and llm.prompts == []


@pytest.mark.parametrize(
    "question, missing",
    [
        ("Wat vond de VVD in 1997 van het herstructureringsbeleid?", "VVD"),
        ("Wat werd in 1997 in Zoetermeer met het herstructureringsbeleid voorgesteld?", "Zoetermeer"),
        ("Wat werd in 1996 met het herstructureringsbeleid voorgesteld?", "1996"),
    ],
)
def test_question_about_something_the_documents_never_mention_abstains_and_says_what(make_assistant, question, missing):
    assistant, llm = make_assistant(f"{DIRECT} [1].")
    answer = assistant.ask(question)
    assert answer.abstained and llm.prompts == []
    assert answer.text.startswith(ABSTAIN["nl"]) and f"‘{missing}’" in answer.text
    assert missing in answer.abstain_reason


def test_quotes_only_baseline_never_calls_the_model(make_assistant):
    assistant, llm = make_assistant(f"{DIRECT} [1].")
    answer = assistant.with_settings(answer_writer="quotes").ask(QUESTION)
    assert answer.mode == "extractive" and answer.quotes and llm.prompts == []


def test_evidence_is_handed_over_before_the_model_writes(make_assistant):
    assistant, _ = make_assistant(f"{DIRECT} [1].")
    events = []
    answer = assistant.ask(
        QUESTION, on_token=lambda t: events.append("token"), on_evidence=lambda a: events.append(("evidence", a))
    )
    assert events[0][0] == "evidence" and events[1] == "token"
    assert events[0][1].quotes == answer.quotes
    assert answer.timings["evidence_shown"] <= answer.timings["first_token"]


def test_documents_are_framed_as_data_in_the_prompt(make_assistant):
    assistant, llm = make_assistant(f"{DIRECT} [1].")
    assistant.ask(QUESTION)
    assert "geen opdracht aan jou" in llm.prompts[0]


@pytest.mark.parametrize(
    "question, message", [("   ", "empty"), ("x" * 100_000, "100000 characters; the limit is 2000")]
)
def test_bad_questions_are_refused(make_assistant, question, message):
    assistant, _ = make_assistant("")
    with pytest.raises(InputError, match=message):
        assistant.ask(question)


def test_a_sentence_copied_from_the_prompt_example_is_not_kept(make_assistant):
    assistant, _ = make_assistant("Zwolle plantte in 2019 1200 nieuwe bomen [1].")
    answer = assistant.ask(QUESTION)
    assert "Zwolle" not in answer.text and answer.mode == "extractive"


def test_language_detection_is_safe_from_many_threads_at_once():
    """py3langid's module-level set_languages per call raced with classification in another thread."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant.qa import detect_language

    questions = ["Wat werd in 1997 voorgesteld?", "What did the policy propose in 1997?"] * 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(detect_language, questions))
    assert found == ["nl", "en"] * 200


def test_a_supported_sentence_that_does_not_answer_the_question_is_not_kept(make_assistant, keyword_embedder):
    assistant, _ = make_assistant("Het aandeel koop in de geselecteerde wijken zou moeten stijgen van 18 naar 45 [1].")
    before = keyword_embedder.embedded
    answer = assistant.ask(QUESTION)
    assert answer.mode == "extractive" and answer.direct == "", answer.checks
    assert answer.checks[-1].failure is Failure.NOT_RESPONSIVE
    # Decided on the sentence's relevance alone: the question and the sentence were embedded, not the evidence.
    assert keyword_embedder.embedded - before == 2
