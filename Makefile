# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.runtime

.PHONY: demo test bench local-cloud
demo: $(VENV)/.runtime
	$(BIN)/autoposter run examples/sample.mp4 --out posters --template streaming,cjk \
	  --title "Pioneers of Computing" --tagline "A documentary · 计算机先驱" \
	  --link https://example.com/watch/pioneers --debug

test: $(VENV)/.dev
	$(BIN)/python -m pytest

bench: $(VENV)/.dev
	$(BIN)/python -m bench

local-cloud: $(VENV)/.dev
	$(BIN)/autoposter local-cloud examples/sample.mp4 --out posters-cloud \
	  --title "Pioneers of Computing" --link https://example.com/watch/pioneers
