"""Index names cannot reach outside the index folder, and nothing that is not an index is replaced.

Before this was fixed, ``--index-name ../corpus`` replaced the corpus with an index,
``""`` or ``.`` made the index root the target (every other index deleted), and an
absolute path replaced that folder.
"""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.errors import InputError
from assistant.settings import load_settings
from assistant.store import expected_identity, save_index

BAD_NAMES = ["../corpus", "", ".", "..", "/tmp/elsewhere", "a/b", ".hidden", "x" * 65, "naam met spaties"]


@pytest.fixture
def workspace(tmp_path):
    """An index root with another index in it, a corpus beside it, and a sentinel file in each."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "doc.txt").write_text("Een zin over menging in wijken.\n", encoding="utf-8")
    other = tmp_path / "index" / "other"
    other.mkdir(parents=True)
    (other / "keep.txt").write_text("sentinel", encoding="utf-8")
    return tmp_path


def _untouched(root: Path) -> None:
    assert (root / "corpus" / "doc.txt").read_text(encoding="utf-8").startswith("Een zin")
    assert (root / "index" / "other" / "keep.txt").read_text(encoding="utf-8") == "sentinel"


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_index_name_as_option_exits_2_and_touches_nothing(workspace, name):
    env = {"BRON_INDEX_DIR": str(workspace / "index"), "BRON_CORPUS_DIR": str(workspace / "corpus")}
    result = CliRunner().invoke(main, ["--index-name", name, "index"], env=env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bron: invalid setting index_name="), result.output
    _untouched(workspace)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_index_name_in_the_environment_exits_2_and_touches_nothing(workspace, name):
    env = {
        "BRON_INDEX_DIR": str(workspace / "index"),
        "BRON_CORPUS_DIR": str(workspace / "corpus"),
        "BRON_INDEX_NAME": name,
    }
    result = CliRunner().invoke(main, ["index"], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("bron: invalid setting index_name="), result.output
    _untouched(workspace)


@pytest.mark.parametrize("name", ["default", "team-2026", "v1.2_nl"])
def test_plain_names_are_accepted(name):
    assert load_settings(index_name=name).index_name == name


def _save(path: Path) -> None:
    class NoBM25:
        def save(self, folder, show_progress=False):
            Path(folder).mkdir()

    identity = expected_identity("x", "y", 2, 800, 1)
    save_index(path, identity, {}, [], np.zeros((0, 2), dtype=np.float32), NoBM25())


def test_save_index_refuses_to_replace_a_folder_that_is_not_an_index(tmp_path):
    target = tmp_path / "notes"
    target.mkdir()
    (target / "thesis.txt").write_text("years of work", encoding="utf-8")
    with pytest.raises(InputError, match="not a bron index|without a readable bron manifest"):
        _save(target)
    assert (target / "thesis.txt").read_text(encoding="utf-8") == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]  # no staging folder left behind


def test_save_index_refuses_a_file_in_its_place(tmp_path):
    target = tmp_path / "notes"
    target.write_text("a file", encoding="utf-8")
    with pytest.raises(InputError):
        _save(target)
    assert target.read_text(encoding="utf-8") == "a file"


def test_save_index_replaces_an_index_and_fills_an_empty_folder(tmp_path):
    target = tmp_path / "idx"
    target.mkdir()
    _save(target)  # empty folder: fine
    assert (target / "manifest.json").exists()
    _save(target)  # an index: replaced
    assert (target / "manifest.json").exists()
