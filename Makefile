# One entry point for people and CI: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
JS_STAMP := tests/js/node_modules/.stamp

.PHONY: run test lint bench setup clean

setup: $(STAMP) $(JS_STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(STAMP)
	$(VENV)/bin/crdtpad serve

test: $(STAMP) $(JS_STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src
	$(VENV)/bin/mypy src

# benchmarks/run.sh installs its own pinned Node packages (npm ci in benchmarks/).
bench: $(STAMP)
	CRDTPAD_PYTHON=$(PY) bash benchmarks/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(VENV) tests/js/node_modules benchmarks/node_modules
