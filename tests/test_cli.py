"""The command line: one-line errors with non-zero exits, JSON output per question."""

import json
import re

import pytest
from click.testing import CliRunner

from assistant.cli import main
from tests.fakes import ROOT


@pytest.fixture
def env(real_settings, real_assistant):
    # real_assistant has built the index these settings point at
    return {
        "BRON_CACHE_DIR": str(real_settings.cache_dir),
        "BRON_INDEX_DIR": str(real_settings.index_dir),
        "BRON_LLM": real_settings.llm,
    }


def _run(args, env):
    return CliRunner().invoke(main, args, env=env)


@pytest.mark.parametrize(
    "args, message, code",
    [
        (["ask", ""], "bron: the question is empty", 2),
        (["ask", "x" * 102_400], "bron: the question is 102400 characters; the limit is 2000", 2),
        (["--index-name", "bestaat-niet", "ask", "Wat is menging?"], "bron: no index at", 4),
        (
            ["--model", "/nergens/model.gguf", "--writer", "model", "ask", "Wat is herstructurering van wijken?"],
            "bron: model file not found",
            3,
        ),
        (["ask"], "bron: give a question", 2),
        (["eval", "--ids", "nl-01,bestaat-niet"], "bron: no such case ids in", 2),
        (["summarise", "--doc", "nergens", "--out", "s.md"], "bron: no document 'nergens' in the index", 2),
        (["--index-name", "bestaat-niet", "chat", "--ui-language", "en"], "bron: no index at", 4),
        (["--config", "nergens.toml", "ask", "Wat is menging?"], "bron: cannot read settings file", 2),
        (
            ["--llm-url", "http://127.0.0.1:9/v1", "--writer", "model", "ask", "Wat is herstructurering van wijken?"],
            "bron: cannot reach the LLM server at http://127.0.0.1:9/v1",
            3,
        ),
        (["--llm-url", "ftp://x", "ask", "Wat is menging?"], "bron: invalid setting llm_url='ftp://x'", 2),
    ],
)
def test_bad_input_gets_one_line_and_an_exit_code(env, args, message, code):
    result = _run(args, env)
    assert result.exit_code == code
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message)
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_json_file_mode_answers_each_question_on_its_own_line(env, tmp_path):
    questions = tmp_path / "vragen.txt"
    questions.write_text(
        "Wat is de hoofdstad van Frankrijk?\n\nWat is verreweg het belangrijkste instrument om de mix van "
        "bevolkingsgroepen te bevorderen?\n",
        encoding="utf-8",
    )
    result = _run(["ask", "--json", "--file", str(questions)], env)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [r["abstained"] for r in records] == [True, False]
    for record in records:
        assert {"question", "answer", "abstained", "citations", "timings"} <= set(record)
    citation = records[1]["citations"][0]
    assert {"n", "doc", "title", "section", "start_line", "end_line", "text"} <= set(citation)
    assert any("stedelijke herstructurering" in c["text"] for c in records[1]["citations"])
    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    table = usage[usage.index("| key | what |") :].split("\n\n")[0]
    rows = [line.split("|")[1] for line in table.splitlines()[2:]]  # the first column names the keys
    documented = {key for row in rows for key in re.findall(r"`(\w+)`", row)}
    assert documented == set(records[1]), "docs/usage.md's --json table and Answer.to_dict() differ"


def test_index_command_reports_an_up_to_date_index(env):
    result = _run(["index"], env)
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_eval_compare_prints_both_reports_side_by_side(env, tmp_path):
    from assistant.evaluation.report import write_report
    from tests.test_evaluation import _report

    a = write_report(_report(0.9, True), tmp_path / "a")
    b = write_report(_report(0.8, False, created="2026-11-22T11:00:00+00:00"), tmp_path / "b")
    result = _run(["eval", "--compare", str(a), str(b)], env)
    assert result.exit_code == 0, result.output
    assert "| retrieval recall@5 (hybrid) | 90.0% | 80.0% | -10.0 pt |" in result.output
    missing = _run(["eval", "--compare", str(a), str(tmp_path / "nergens")], env)
    assert missing.exit_code == 2 and "cannot read the eval report" in missing.output


def test_a_question_file_that_is_not_utf8_is_one_line(env, tmp_path):
    questions = tmp_path / "vragen.txt"
    questions.write_bytes("Wat is menging in Zoetermeer?\n".encode("utf-16"))
    result = _run(["ask", "--file", str(questions)], env)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [f"bron: {questions} is not UTF-8 text (byte 0); save it as UTF-8"]


def test_terminal_output_holds_no_control_characters():
    from assistant.cli import terminal_safe

    hostile = "Titel\x1b]0;gehackt\x07 met \x1b[31mrood\x1b[0m en \u202eomgekeerd\u202c.\nTweede regel\tmet tab."
    safe = terminal_safe(hostile)
    assert "\x1b" not in safe and "\x07" not in safe and "\u202e" not in safe
    assert "\nTweede regel\tmet tab." in safe and "rood" in safe  # lines, tabs and text stay
