"""Readers load one consistent build while a writer keeps replacing it; two writers never collide.

Before the generation lock a reader hashed the files and then reopened them by path, so a swap
in between could pair the passages of one build with the vectors of the other, and a reader that
came between the writer's two renames found no index at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from tests.reliability.builds import leftovers, loaded_version, write_build


def test_readers_never_see_a_mix_of_two_builds_or_no_index(tmp_path):
    path = tmp_path / "index" / "default"
    write_build(path, 1)
    done = threading.Event()
    failures: list[str] = []
    seen: set[int] = set()
    writes = 0

    def writer():
        nonlocal writes
        try:
            for round_ in range(30):
                write_build(path, 1 + round_ % 2)
                writes += 1
        except Exception as exc:
            failures.append(f"writer: {type(exc).__name__}: {exc}")
        finally:
            done.set()

    def reader():
        while not done.is_set():
            try:
                seen.add(loaded_version(path))
            except Exception as exc:  # any error is a failure: the index is always there
                failures.append(f"reader: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=writer), *(threading.Thread(target=reader) for _ in range(2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[:3]
    assert writes == 30 and seen == {1, 2}  # the readers really did overlap with both builds
    assert leftovers(path) == []


@pytest.mark.slow
def test_two_bron_index_processes_at_once_both_succeed_or_one_says_locked(tmp_path, real_settings, real_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "wijken.txt").write_text(
        "# Menging\n\nDe gemeente bouwt sinds 1990 gemengd. Dat moet de segregatie in wijken verminderen.\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "BRON_INDEX_DIR": str(tmp_path / "index"),
        "BRON_CACHE_DIR": str(real_settings.cache_dir),  # prepared by real_embedder
        "BRON_CORPUS_DIR": str(corpus),
    }
    bron = [sys.executable, "-m", "assistant.cli", "--preset", "test", "index", "--rebuild"]
    processes = [
        subprocess.Popen(bron, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 4]), results
    if codes == [0, 4]:
        (message,) = [err for code, err in results if code == 4]
        assert message.strip() == message.strip().splitlines()[0]  # one line, no traceback
        assert message.startswith("bron: index") and "being written by another 'bron index'" in message
    assert leftovers(tmp_path / "index" / "default") == []
