"""A bad setting, from an option or the environment, is one ``bron:`` line and exit 2, never a traceback."""

import pytest
from click.testing import CliRunner

from assistant.cli import main


@pytest.mark.parametrize(
    "args, env, setting",
    [
        (["ask", "--top-k", "0", "Wat is menging?"], {}, "top_k"),
        (["--threads", "0", "index"], {}, "n_threads"),
        (["index"], {"BRON_TOP_K": "abc"}, "top_k"),
        (["index"], {"BRON_CHAT_MODELS": "notjson"}, "chat_models"),
        (["index"], {"BRON_LANGUAGE": "de"}, "language"),
        (["index"], {"BRON_MIN_RELEVANCE": "nan"}, "min_relevance"),
        (["index"], {"BRON_MIN_SUPPORT": "1.5"}, "min_support"),
        (["index"], {"BRON_TEMPERATURE": "inf"}, "temperature"),
        (["index"], {"BRON_CHAT_PASSWORD": "kort7"}, "chat_password"),
    ],
)
def test_bad_setting_is_one_line_and_exit_2(tmp_path, args, env, setting):
    env = {"BRON_INDEX_DIR": str(tmp_path / "index"), "BRON_CORPUS_DIR": str(tmp_path), **env}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("bron: invalid setting"), lines[0]
    assert setting in lines[0] or "environment" in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert "kort7" not in result.output  # a password is never printed, not even a wrong one
