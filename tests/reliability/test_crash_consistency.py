"""A writer killed at any step leaves exactly the old build or exactly the new one, never none or a mix.

Each test runs the writer in a subprocess (``builds.py``) that dies with ``os._exit`` at one of
its file-system steps, or is sent SIGKILL at a random moment; then a reader loads the index
(every vector checked against its passage) and a clean write must succeed and leave nothing
behind. Before the generation lock, a writer restarted after a kill between the two renames
deleted the only complete build (``.old``) before it had a new one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.builds import CRASH_EXIT, leftovers, loaded_version, write_build

ROOT = Path(__file__).resolve().parents[2]


def _writer(path: Path, version: int, crash_at: int = 0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.builds", str(path), str(version), str(crash_at)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _steps(tmp_path: Path) -> tuple[int, int]:
    """How many steps a first write and a replacing write take."""
    path = tmp_path / "count" / "default"
    first = int(_writer(path, 1).stdout)
    replacing = int(_writer(path, 2).stdout)
    return first, replacing


def _check_after_crash(path: Path, allowed: set[int]) -> None:
    assert loaded_version(path) in allowed
    write_build(path, 9)  # the next 'bron index' succeeds ...
    assert loaded_version(path) == 9
    assert leftovers(path) == []  # ... and leaves no staging or old folders behind


def test_a_writer_killed_at_every_step_leaves_the_old_or_the_new_build(tmp_path):
    _, replacing = _steps(tmp_path)
    assert replacing >= 40
    outcomes = {}
    for at in range(1, replacing + 1):
        path = tmp_path / f"replace-{at}" / "default"
        write_build(path, 1)
        result = _writer(path, 2, crash_at=at)
        assert result.returncode == CRASH_EXIT, result.stderr
        outcomes[at] = loaded_version(path)
        _check_after_crash(path, {1, 2})
    assert set(outcomes.values()) == {1, 2}  # early kills keep the old build, late ones the new


@pytest.mark.long
def test_a_first_build_killed_at_every_step_leaves_no_index_or_the_whole_build(tmp_path):
    first, _ = _steps(tmp_path)
    for at in range(1, first + 1):
        path = tmp_path / f"first-{at}" / "default"
        assert _writer(path, 1, crash_at=at).returncode == CRASH_EXIT
        try:
            version = loaded_version(path)
        except Exception as exc:  # only "there is no index yet" is acceptable
            assert type(exc).__name__ == "IndexMissingError", exc
        else:
            assert version == 1
        write_build(path, 9)
        assert loaded_version(path) == 9 and leftovers(path) == []


def test_a_second_kill_during_the_recovery_write_still_leaves_an_index(tmp_path):
    """Killed between the renames, then the next writer killed too, at each of its steps."""
    _, replacing = _steps(tmp_path)
    between = _between_renames(tmp_path, replacing)
    for at in range(1, replacing + 1, 3):
        path = tmp_path / f"twice-{at}" / "default"
        write_build(path, 1)
        assert _writer(path, 2, crash_at=between).returncode == CRASH_EXIT
        assert not path.exists()  # the state the reader would repair: only .old is there
        assert _writer(path, 3, crash_at=at).returncode == CRASH_EXIT
        _check_after_crash(path, {1, 3})


def _between_renames(tmp_path: Path, replacing: int) -> int:
    """The crash step at which the current build is moved aside and the new one not yet in place."""
    for at in range(replacing, 0, -1):
        path = tmp_path / f"probe-{at}" / "default"
        write_build(path, 1)
        _writer(path, 2, crash_at=at)
        if not path.exists() and path.with_name(".default.old").exists():
            return at
    raise AssertionError("no step leaves the index between its two renames")


@pytest.mark.long
def test_sigkill_at_random_moments(tmp_path):
    """SIGKILL while writing, 40 times at random moments: always a loadable build afterwards."""
    rng = random.Random(12)
    path = tmp_path / "index" / "default"
    write_build(path, 1)
    version = current = 1
    for round_ in range(40):
        version += 1
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.builds", str(path), str(version)], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.2, 0.9))  # the import takes ~0.4 s, the write ~0.1 s
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        loaded = loaded_version(path)
        assert loaded in {current, version}, f"round {round_}: build {loaded}"
        current = loaded
    write_build(path, 99)
    assert loaded_version(path) == 99 and leftovers(path) == []
