# The README's two commands: `make demo` and `make test`. Both set up .venv first.
# The newest interpreter in 3.11–3.13 that really runs (pyenv shims can exist and fail), 3.13 first:
# it is Lambda's runtime. Override with `make test PYTHON=python3.11 VENV=.venv311`.
PYTHON ?= $(shell for p in python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3) python3.12 \
  $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3) python3.11 python3; do \
  $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null && { echo $$p; break; }; done)
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

.PHONY: demo test bench local-cloud browser
demo: $(VENV)/.runtime
	$(BIN)/autoposter run examples/sample.mp4 --out posters --template streaming,cjk \
	  --title "Pioneers of Computing" --tagline "A documentary · 计算机先驱" \
	  --link https://example.com/watch/pioneers --debug

# The gallery test drives a real headless Chromium: Debian's chromium and chromium-driver,
# installed here when missing and apt-get can (as root); otherwise that test says why it skips.
browser:
	@command -v chromedriver >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || true; }

test: $(VENV)/.dev browser
	$(BIN)/python -m pytest

bench: $(VENV)/.dev
	$(BIN)/python -m bench

local-cloud: $(VENV)/.dev
	$(BIN)/autoposter local-cloud examples/sample.mp4 --out posters-cloud \
	  --title "Pioneers of Computing" --link https://example.com/watch/pioneers
