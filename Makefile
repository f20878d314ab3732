# Set-up, the main job on the embedded default corpus, and the tests.
#   make demo        set up, build the stand-in corpus, train the grid (cpu preset, 1 seed), write Tables 1-3
#   make demo-full   the same with the cpu-full preset (trained until validation levels off), 3 seeds
#   make test        set up and run the test suite
#   make test-quick  the tests that train no runs (a few minutes)
#   make lint        ruff (lint and format check) on everything, mypy on models/
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
CORPUS ?= data/corpus
CLIPS_PER_FOLD ?= 100
SEEDS  ?= 1
JOBS   ?= 2
WORKERS ?= 2
RESULTS ?= results

.PHONY: setup demo demo-full test test-quick lint bench clean

setup: $(VENV)/.installed

# torch goes in first and alone: a torch that is already importable is kept;
# otherwise the pinned release is installed, so that no newer (CUDA) build is
# pulled in by the project's `torch>=` requirement.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q -e ".[dev]"  # no editable-install notice from setuptools
	touch $@

demo: setup
	$(BIN)/remix build --snr 0 10 20 --clips-per-fold $(CLIPS_PER_FOLD) --workers $(WORKERS) --out $(CORPUS)
	$(BIN)/bench run --all --preset cpu --seeds $(SEEDS) --jobs $(JOBS) --corpus $(CORPUS) --results $(RESULTS)
	$(BIN)/bench report --latex --markdown --preset cpu --results $(RESULTS)

demo-full: setup
	$(BIN)/remix build --snr 0 10 20 --clips-per-fold $(CLIPS_PER_FOLD) --workers $(WORKERS) --out $(CORPUS)
	$(BIN)/bench run --all --preset cpu-full --seeds 3 --jobs $(JOBS) --corpus $(CORPUS) --results $(RESULTS)
	$(BIN)/bench report --latex --markdown --preset cpu-full --results $(RESULTS)
	$(BIN)/bench plot --curves --preset cpu-full --results $(RESULTS)

test: setup
	$(BIN)/python -m pytest -q

test-quick: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/remix_speed.py
	$(BIN)/python benchmarks/model_speed.py
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/grid_speed.py --corpus $(CORPUS)

clean:
	rm -rf $(VENV) data .cache results/runs results/tables results/plots
