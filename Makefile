# artifactkit: `make demo` and `make test` work on a fresh machine with python3 and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
GEN    := src/artifactkit/_generated

.PHONY: setup generate check-generated lint format typecheck smoke docs test test-fast demo serve bench soak clean wheel install

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=25.1'
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[server,fsspec]' --group dev
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# Wipe and regenerate the typed client from schema/ + queries/.
generate: $(STAMP)
	rm -rf $(GEN)
	$(PY) -m ariadne_codegen --config codegen.toml > /dev/null

# Regenerate into a scratch copy and fail on any difference from the committed client.
check-generated: $(STAMP)
	@scratch=$$(mktemp -d) && \
	cp -r schema queries codegen codegen.toml $$scratch/ && mkdir -p $$scratch/src/artifactkit && \
	(cd $$scratch && $(CURDIR)/$(PY) -m ariadne_codegen --config codegen.toml > /dev/null) && \
	if diff -r -x __pycache__ $$scratch/$(GEN) $(GEN) > $$scratch/diff.txt; then \
		echo "check-generated: $(GEN) matches schema/ + queries/"; rm -rf $$scratch; \
	else cat $$scratch/diff.txt | head -50; \
		echo "check-generated: $(GEN) is stale or edited by hand; run 'make generate'"; rm -rf $$scratch; exit 1; fi

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests $(wildcard bench)
	$(VENV)/bin/ruff format --check src tests $(wildcard bench)
	$(VENV)/bin/lint-imports --no-cache --no-logo

format: $(STAMP)
	$(VENV)/bin/ruff format src tests $(wildcard bench)
	$(VENV)/bin/ruff check --fix src tests $(wildcard bench)

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict tests/typing/user_pipeline.py

# A wheel to install anywhere (pip install 'dist/artifactkit-<version>-py3-none-any.whl[fsspec]').
wheel:
	@rm -rf dist
	$(PYTHON) -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir dist .
	@ls dist/artifactkit-*.whl

# Into the Python environment in use (an activated virtualenv, or PYTHON=/path/to/python): the SDK, the
# `artifactkit` command, the emulator ([server]) and wandb:// for fsspec ([fsspec]). Not editable: for
# working on artifactkit itself, `make setup` and .venv.
install:
	$(PYTHON) -m pip install --disable-pip-version-check '.[server,fsspec]'

# The built wheel in a fresh venv without dev tools: import, --help, an emulator from the wheel, one listing.
smoke: $(STAMP)
	PYTHON=$(CURDIR)/$(PY) bash tests/packaging/smoke.sh

# The guides and the API reference from the docstrings; any warning fails (broken link, bad docstring).
docs: $(STAMP)
	@mkdir -p build && $(VENV)/bin/mkdocs build --strict > build/mkdocs.log 2>&1 \
		&& echo "docs: built into build/site" || { grep -v '^INFO' build/mkdocs.log; exit 1; }

test: check-generated lint typecheck smoke docs
	$(VENV)/bin/pytest -q

test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -m "not compat and not slow"

demo: $(STAMP)
	$(PY) -m artifactkit.demo

serve: $(STAMP)
	$(VENV)/bin/artifactkit serve --demo

bench: $(STAMP)
	$(PY) bench/run.py

soak: $(STAMP)
	ARTIFACTKIT_SOAK=1 $(VENV)/bin/pytest -q -s --timeout 0 tests/faults tests/server/test_concurrency.py tests/security/test_fuzz.py

clean:
	rm -rf $(VENV) .artifactkit-demo .pytest_cache .mypy_cache .ruff_cache dist
