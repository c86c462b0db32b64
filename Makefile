# Two commands on a fresh machine: `make run` and `make test`. Both build .venv from the lock
# file for the running Python (requirements/py3.X.txt, compiled from pyproject.toml by
# `make lock`) when it is missing or older than the lock or pyproject.toml.
SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
PY_VERSION  := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
LOCK        := requirements/py$(PY_VERSION).txt
LOCKED_PYTHONS := 3.11 3.12
LOCK_FLAGS  ?=
# The inner loop leaves out what starts a browser, a Prefect server or a Dask cluster, and the
# tests that take more than a few seconds; `make test` runs everything.
FAST_TESTS  := not slow and not browser and not server and not dask
# This machine's pip configuration names package folders that do not all exist, and pip says
# so for every package it looks up ("Location '...' is ignored"): hundreds of lines. pip's
# other messages, its errors among them, still reach stderr.
PIP         := $(BIN)/python -m pip --quiet
PIP_NOISE   := grep -v -E "^(WARNING: )?Location '[^']*' is ignored" >&2 || true

.PHONY: run test test-fast lint lock chromium bench clean

$(STAMP): $(LOCK) pyproject.toml
	@echo "setting up $(VENV) from $(LOCK)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# --no-deps: the lock pins every dependency already (pip check below proves it), and
	@# pip's resolver would only add noise: Python 3.11's pip 23 warns three times that lxml
	@# "does not provide the extra 'html_clean'" (lxml spells it html-clean).
	@$(PIP) install --no-deps --requirement $(LOCK) 2> >($(PIP_NOISE))
	@$(PIP) install --no-deps --editable . 2> >($(PIP_NOISE))
	@# A dependency added to pyproject.toml but not to the lock shows up here: run `make lock`.
	@$(BIN)/python -m pip check >/dev/null \
	  || { $(BIN)/python -m pip check || true; echo "the lock file is out of date: run make lock" >&2; exit 1; }
	@touch $(STAMP)

requirements/%.txt:
	@echo "no lock file $@ for Python $(PY_VERSION): locked are $(LOCKED_PYTHONS)" >&2; exit 1

run: $(STAMP)
	$(BIN)/newsclean run seeds/ --output output/

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "$(FAST_TESTS)"

# The same checks as the pre-commit hooks (`.venv/bin/pre-commit install` to run them on commit).
lint: $(STAMP)
	$(BIN)/pre-commit run --all-files

# Recompile the lock files from pyproject.toml, for every supported Python, after a dependency
# changed there; the next `make` reinstalls from them. Pins already in the lock stay unless
# `make lock LOCK_FLAGS=--upgrade`. Needs only uv (at its locked version), so it works while
# the lock is out of date.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(PIP) install "$$(grep '^uv==' $(LOCK))" 2> >($(PIP_NOISE))
	for version in $(LOCKED_PYTHONS); do \
	  $(BIN)/uv pip compile pyproject.toml --quiet --extra dev --python-version $$version \
	    --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" $(LOCK_FLAGS) \
	    --output-file requirements/py$$version.txt; \
	done

# The report's browser test needs Debian's Chromium; as root, install it when it is missing.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the report's browser test"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt="apt-get -qq -o DPkg::Lock::Timeout=600"; \
	    $$apt install -y --no-install-recommends chromium >/dev/null \
	      || { $$apt update && $$apt install -y --no-install-recommends chromium >/dev/null; }; \
	  else \
	    echo "chromium is missing (tests marked browser will fail): apt-get install chromium" >&2; \
	  fi; \
	fi

bench: $(STAMP)
	$(BIN)/python -m benchmarks.throughput --sizes 1000

clean:
	rm -rf output .prefect
