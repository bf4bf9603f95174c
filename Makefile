# One entry point for people and CI: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
JS_STAMP := tests/js/node_modules/.stamp
WEB_STAMP := src/crdtpad/webapp/.stamp
WEB_SOURCES := $(wildcard web/*.html web/*.json web/*.ts web/src/* web/public/*)
EXAMPLES_STAMP := examples/dist/.stamp
EXAMPLES_SOURCES := $(wildcard examples/*.html examples/*.json examples/*.js examples/src/*)
CHROMIUM := /usr/bin/chromium
NGINX := /usr/sbin/nginx
CADDY := /usr/bin/caddy
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test lint bench setup clean

setup: $(STAMP) $(JS_STAMP) $(WEB_STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The web app (web/, TypeScript + Vite) builds into the Python package, which serves it.
$(WEB_STAMP): $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch $@

# examples/: two embedding pages (y-websocket, Hocuspocus), built for the browser tests.
$(EXAMPLES_STAMP): $(EXAMPLES_SOURCES)
	cd examples && npm ci --no-audit --no-fund --loglevel=error && npm run build -- --logLevel warn
	touch $@

# Browser tests drive Debian's Chromium (never a browser Playwright downloads); the proxy tests
# run the app behind Debian's nginx and Caddy.
$(CHROMIUM):
	$(SUDO) apt-get install -y chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

$(NGINX):
	$(SUDO) apt-get install -y nginx || ($(SUDO) apt-get update && $(SUDO) apt-get install -y nginx)

$(CADDY):
	$(SUDO) apt-get install -y caddy || ($(SUDO) apt-get update && $(SUDO) apt-get install -y caddy)

run: $(STAMP) $(WEB_STAMP)
	$(VENV)/bin/crdtpad serve

test: $(STAMP) $(JS_STAMP) $(WEB_STAMP) $(EXAMPLES_STAMP) $(CHROMIUM) $(NGINX) $(CADDY)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src
	$(VENV)/bin/mypy src
	cd web && npx tsc --noEmit

# benchmarks/run.sh installs its own pinned Node packages (npm ci in benchmarks/).
bench: $(STAMP)
	CRDTPAD_PYTHON=$(PY) bash benchmarks/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(VENV) tests/js/node_modules benchmarks/node_modules web/node_modules src/crdtpad/webapp \
		examples/node_modules examples/dist
