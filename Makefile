# The two commands of the README: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8080
BASE_URL ?=
API_KEY ?=

.PHONY: run test install contract bench docker-build docker-run clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start the mock on 127.0.0.1:8080 with the demo key.
run: $(STAMP)
	$(BIN)/dumpling-mock serve --host $(HOST) --port $(PORT)

## Run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) reports .pytest_cache
