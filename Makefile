# The two commands of the README: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8080
BASE_URL ?=
API_KEY ?=

.PHONY: run test lint install contract bench docker-build docker-run docker-contract docker-down lint-ci clean
.PHONY: test-image lock dist mutation

$(STAMP): pyproject.toml
	@echo "make: installing dumpling-mock and its dependencies into $(VENV) (the first time takes about 30 s)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -e '.[test]'
	@echo "make: installed into $(VENV)"
	touch $(STAMP)

install: $(STAMP)

## Start the mock on 127.0.0.1:8080 with the demo key.
run: $(STAMP)
	$(BIN)/dumpling-mock serve --host $(HOST) --port $(PORT)

## Run the whole test suite, after the static checks.
test: lint
	$(BIN)/python -m pytest

## Static checks (pyproject.toml): ruff's linter and formatter, mypy --strict, and import-linter's
## layers (docs/architecture.md). `ruff format .` fixes the formatting.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) reports .pytest_cache

## Check a target against the contract (default: the in-process mock).
##   make contract BASE_URL=https://staging.example API_KEY=sk_... [MAX_REQUESTS=60]
MAX_REQUESTS ?=
RATE_LIMIT ?=
contract: $(STAMP)
	$(BIN)/dumpling-contract $(if $(BASE_URL),--base-url $(BASE_URL)) $(if $(API_KEY),--api-key $(API_KEY)) $(if $(MAX_REQUESTS),--max-requests $(MAX_REQUESTS)) $(if $(RATE_LIMIT),--rate-limit $(RATE_LIMIT))

## Benchmarks: throughput, latency, cold start, memory (needs wrk: apt-get install -y wrk).
##   make bench BENCH_ARGS=--quick
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## Mutation testing (mutmut 3) of the core modules listed in pyproject.toml [tool.mutmut]: not
## part of `make test`, CPU heavy (minutes per module). Prints each module's score.
##   make mutation MODULE=mock_server.server.secrets MUTATION_JOBS=2
MODULE ?=
MUTATION_JOBS ?= 2
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[test,mutation]'
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(if $(MODULE),'$(MODULE).*')
	$(BIN)/python tests/mutation_scores.py

IMAGE   ?= dumpling-mock:local
COMPOSE := docker compose -f docker/compose.yaml

## Build the image (build context = repo root).
docker-build:
	docker build -f docker/Dockerfile -t $(IMAGE) .

## Run the image on 127.0.0.1:$(PORT) with the demo key.
docker-run:
	docker run --rm -p 127.0.0.1:$(PORT):8080 $(IMAGE)

## Mock + contract suite in containers; reports land in ./reports.
docker-contract:
	mkdir -p reports
	DUMPLING_UID=$$(id -u) DUMPLING_GID=$$(id -g) $(COMPOSE) run --rm contract

## Stop the compose stack and drop its state volume.
docker-down:
	$(COMPOSE) down -v

## Lint the Dockerfile, compose file, CI recipes and release workflow (no Docker engine needed).
lint-ci: $(STAMP)
	$(BIN)/python -m pytest tests/release/test_docker.py tests/release/test_ci_recipes.py tests/release/test_release.py -q -m 'not slow'

# --- release and image (issue 18; README "Releases") ---------------------------------------------
## Build the image for real with buildah and run it: the page's curl, the HEALTHCHECK, SIGTERM
## (tests/release/test_image.py; skipped, saying why, where buildah is missing).
test-image: $(STAMP)
	DUMPLING_TEST_IMAGE=1 $(BIN)/python -m pytest tests/release/test_image.py -v -s -rs

## Regenerate the hash-locked requirements (requirements/*.txt) from pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m release.lock

## sdist + wheel into dist/, checked with twine (what the release workflow publishes).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build
	$(BIN)/twine check --strict dist/*
