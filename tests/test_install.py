"""bron installed the normal way: a wheel in a fresh virtual environment, run outside the checkout.

Before the prompts, corpus and eval sets shipped as package data, an installed ``bron`` looked for
them beside site-packages and could not answer with the model; its index went there too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, (args, result.stdout[-1500:], result.stderr[-1500:])
    return result


def test_the_wheel_installed_elsewhere_indexes_and_answers_with_its_own_prompts(tmp_path, real_settings, real_embedder):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)])
    wheel = next(dist.glob("bron-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    # The new environment gets bron from the wheel and its (large) dependencies from this one: a path
    # entry, so this environment's editable hook for the checkout (a .pth file) is not run there.
    site = next(venv.glob("lib/python3*/site-packages"))
    (site / "bron-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel)])

    elsewhere = tmp_path / "elders"
    (elsewhere / "teksten").mkdir(parents=True)
    (elsewhere / "teksten" / "wijken.md").write_text(
        "# Menging\n\nDe gemeente Zandstad bouwt sinds 1990 gemengd in alle wijken. "
        "Gemengd bouwen moet de segregatie in de wijken van Zandstad verminderen.\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRON_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"), HF_HUB_OFFLINE="1")
    env["BRON_CACHE_DIR"] = str(real_settings.cache_dir)  # the models prepared once for the test session
    bron = str(venv / "bin" / "bron")

    where = _run([str(venv / "bin" / "python"), "-c", "import assistant; print(assistant.__file__)"], cwd=elsewhere)
    assert where.stdout.strip().startswith(str(venv))  # the installed copy, not the checkout
    _run([bron, "--preset", "test", "--corpus", "teksten", "index"], cwd=elsewhere, env=env)
    assert (home / ".local" / "share" / "bron" / "index" / "default" / "manifest.json").is_file()
    result = _run(
        [bron, "--preset", "test", "--corpus", "teksten", "--writer", "model", "ask", "--json",
         "Sinds wanneer bouwt de gemeente Zandstad gemengd?"],
        cwd=elsewhere, env=env,
    )  # fmt: skip
    answer = json.loads(result.stdout)
    assert answer["mode"] in ("extractive", "generated") and "1990" in answer["answer"]
    assert answer["tokens"].get("prompt", 0) > 100  # the model ran on a prompt from the installed template
