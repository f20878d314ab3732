# Set-up, the main job on the embedded default corpus, and the tests.
#   make demo   set up, build the stand-in corpus, train the grid (CPU preset), write Tables 1-3
#   make test   set up and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
CORPUS ?= data/corpus
CLIPS_PER_FOLD ?= 100
SEEDS  ?= 1

.PHONY: setup demo test bench clean

setup: $(VENV)/.installed

# torch goes in first and alone: a torch that is already importable is kept;
# otherwise the pinned release is installed, so that no newer (CUDA) build is
# pulled in by the project's `torch>=` requirement.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

demo: setup
	$(BIN)/remix build --snr 0 10 20 --clips-per-fold $(CLIPS_PER_FOLD) --out $(CORPUS)
	$(BIN)/bench run --all --preset cpu --seeds $(SEEDS) --corpus $(CORPUS)
	$(BIN)/bench report --latex --markdown

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/remix_speed.py
	$(BIN)/python benchmarks/model_speed.py
	$(BIN)/python benchmarks/train_speed.py

clean:
	rm -rf $(VENV) data .cache results/runs results/tables results/plots
