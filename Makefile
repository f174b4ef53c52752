# `make demo` and `make test` work from a fresh clone with only Python 3.11+ and make: they fetch
# a pinned uv into .venv-uv, and uv installs .venv from uv.lock (every package at its locked
# version, checked against the lock's hashes).
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
UV := .venv-uv/bin/uv
# uv uses the machine's Python and never downloads one; .venv is always the project environment
UV_ENV := UV_PYTHON=$(PYTHON) UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=$(VENV)
SYNC := $(UV_ENV) $(UV) sync --locked --quiet --compile-bytecode
# the project's own modules' bytecode, as uv compiles the installed packages' (only what changed
# since the last run): where Python may not write it (PYTHONDONTWRITEBYTECODE), every command
# would compile them again, ~0.15 s of CPU a command
COMPILE_SOURCE := $(BIN)/python -m compileall -q src

.PHONY: demo test lint bench lock check-lock clean

$(UV):
	$(PYTHON) -m venv .venv-uv
	.venv-uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Fails in one line when pyproject.toml asks for something uv.lock does not hold.
check-lock: | $(UV)
	@$(UV_ENV) $(UV) lock --check --offline --quiet 2>/dev/null \
		|| { echo "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock" >&2; exit 1; }

# --inexact: a developer's dev extras stay installed
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	@$(MAKE) --no-print-directory check-lock
	$(SYNC) --inexact
	touch $@

$(VENV)/.installed-dev: pyproject.toml uv.lock | $(UV)
	@$(MAKE) --no-print-directory check-lock
	$(SYNC) --extra dev
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	@$(COMPILE_SOURCE)
	$(BIN)/valuecast demo

lint: check-lock $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# worksteal: a worker that runs out of tests takes some of the other's, so the two end together
test: lint
	@$(COMPILE_SOURCE)
	$(BIN)/python -m pytest -n 2 --dist worksteal -q

bench: | $(UV)
	@$(MAKE) --no-print-directory check-lock
	$(SYNC) --extra dev --extra bench
	@$(COMPILE_SOURCE)
	$(BIN)/python benchmarks/models.py

# Refreshes uv.lock to the newest versions pyproject.toml allows.
lock: | $(UV)
	$(UV_ENV) $(UV) lock --upgrade

clean:
	rm -rf $(VENV) .venv-uv .pytest_cache .ruff_cache .hypothesis
