"""A folder with every kind of bad file indexes the good ones and lists each bad one, without a traceback.

The fast test runs the indexer in-process with a stand-in embedder (the subject is the reading,
cleaning and chunking); the long one runs the real ``bron index`` with the real embedder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.indexing import build_index, identity_for
from assistant.store import load_index

ROOT = Path(__file__).resolve().parents[2]
GOOD = "# Menging\n\nDe gemeente bouwt sinds 1990 gemengd. Dat moet de segregatie in wijken verminderen.\n"


def hostile_corpus(tmp_path: Path) -> tuple[Path, dict[str, str], list[Path]]:
    """The folder, the reason expected for each skipped file, and the deep folders (for clean-up)."""
    corpus, outside = tmp_path / "corpus", tmp_path / "elders"
    corpus.mkdir()
    outside.mkdir()
    (corpus / "goed.md").write_text(GOOD, encoding="utf-8")
    with (corpus / "enorm.txt").open("w", encoding="utf-8") as handle:  # 50 MB on one line
        for _ in range(50):
            handle.write("woord " * 174_763)
    (corpus / "herhaling.txt").write_text("a" * 200_000, encoding="utf-8")
    (corpus / "cjk.txt").write_text("中文文本" * 25_000, encoding="utf-8")
    (corpus / "utf16.txt").write_bytes("De wijk wordt gemengd.".encode("utf-16"))  # with a byte-order mark: read
    (corpus / "utf16-zonder-bom.txt").write_bytes("De wijk wordt gemengd.".encode("utf-16-le"))
    (corpus / "latin1.txt").write_bytes("Caf\xe9 in de wijk.".encode("latin-1"))
    (corpus / "leeg.txt").write_bytes(b"")
    (corpus / "spaties.txt").write_text(" \n\t\n   \n", encoding="utf-8")
    (outside / "geheim.txt").write_text("Geheime tekst.\n", encoding="utf-8")
    (corpus / "naar-buiten.txt").symlink_to(outside / "geheim.txt")
    (corpus / "lus").symlink_to(corpus, target_is_directory=True)
    (corpus / ".git").mkdir()
    (corpus / ".git" / "config.txt").write_text("Interne notitie.\n", encoding="utf-8")
    for name, meta in {"m1": "[]", "m2": '"x"', "m3": '{"authors": 5}', "m4": "{kapot"}.items():
        (corpus / f"{name}.txt").write_text(GOOD, encoding="utf-8")
        (corpus / f"{name}.meta.json").write_text(meta, encoding="utf-8")
    levels = [corpus]
    for _ in range(1100):
        levels.append(levels[-1] / "d")
        levels[-1].mkdir()
    (levels[-1] / "diep.txt").write_text(GOOD, encoding="utf-8")
    expected = {
        "enorm.txt": "over the limit",
        "utf16-zonder-bom.txt": "binary",
        "latin1.txt": "not UTF-8",
        "leeg.txt": "no text",
        "spaties.txt": "no text",
        "naar-buiten.txt": "outside the folder",
        "lus": "outside the folder",
        **{f"m{i}.txt": "meta.json" for i in range(1, 5)},
    }
    return corpus, expected, levels


def _remove_deep(levels: list[Path]) -> None:
    """pytest's clean-up (shutil.rmtree) recurses, and would fail on 1100 levels."""
    (levels[-1] / "diep.txt").unlink()
    for level in reversed(levels[1:]):
        level.rmdir()


def _reasons(lines) -> dict[str, str]:
    return {Path(path).name: reason for path, reason in lines}


def test_a_hostile_folder_indexes_the_good_files_and_lists_the_bad(tmp_path, make_settings, keyword_embedder):
    corpus, expected, levels = hostile_corpus(tmp_path)
    try:
        settings = make_settings(corpus_dir=corpus)
        report = build_index(settings, keyword_embedder)
        index = load_index(settings.index_path, identity_for(settings, keyword_embedder))
    finally:
        _remove_deep(levels)
    reasons = _reasons((s.path, s.reason) for s in report.skipped)
    for name, reason in expected.items():
        assert reason in reasons.get(name, ""), (name, reasons.get(name))
    assert sorted(index.documents) == ["cjk", "diep", "goed", "herhaling", "utf16"]
    assert max(len(c.text) for c in index.chunks) <= 2 * settings.chunk_chars
    assert not any("Geheime" in c.text or "Interne" in c.text for c in index.chunks)


@pytest.mark.long
@pytest.mark.slow
def test_bron_index_on_a_hostile_folder_with_the_real_embedder(tmp_path, real_settings, real_embedder):
    corpus, expected, levels = hostile_corpus(tmp_path)
    env = {
        **os.environ,
        "BRON_INDEX_DIR": str(tmp_path / "index"),
        "BRON_CACHE_DIR": str(real_settings.cache_dir),
        "BRON_CORPUS_DIR": str(corpus),
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "--preset", "test", "index"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        _remove_deep(levels)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    skipped = [line.removeprefix("skipped ").split(": ", 1) for line in result.stderr.splitlines()]
    reasons = _reasons(pair for pair in skipped if len(pair) == 2)
    for name, reason in expected.items():
        assert reason in reasons.get(name, ""), (name, reasons.get(name))
    chunks = [json.loads(line) for line in (tmp_path / "index" / "default" / "chunks.jsonl").open(encoding="utf-8")]
    assert max(len(c["text"]) for c in chunks) <= 2 * real_settings.chunk_chars
