# E-Mudra-Bajar developer commands. `make test` works from a fresh clone: it creates .venv and installs
# what is missing first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test lint unit bench clean

# The engine's hot modules are compiled with mypyc (setup.py): rebuild whenever one of them changes.
COMPILED := engine/balances.py engine/book.py engine/core.py engine/marketdata.py engine/order.py \
	engine/requests.py shared/commands.py shared/events.py shared/markets.py shared/messages.py \
	shared/money.py shared/views.py shared/wire.py

$(STAMP): pyproject.toml setup.py $(COMPILED)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Every test, then the engine and shared unit tests once more against the pure-Python source of the
# compiled modules (MUDRA_TEST_PURE=1). pytest's exit code 5 ("no tests collected") fails like any other.
test: lint compose-tool frontend chromium
	cd frontend && npm test
	$(PY) -m pytest -q
	MUDRA_TEST_PURE=1 $(PY) -m pytest -q tests/unit

# The whole exchange in one terminal (docs/operations.md): installs what is missing, builds the frontend
# when there is one, then runs the launcher. Flags through ARGS, e.g. `make run ARGS=--no-market-maker`.
.PHONY: run compose-tool
run: $(STAMP)
	@if [ ! -f frontend/package.json ]; then :; \
	elif command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory frontend; \
	else echo "npm not found: running without the browser UI (install Node.js >= 20 with npm to build it)"; fi
	exec $(PY) -m launcher $(ARGS)

# tests/integration/test_docker_compose.py validates docker-compose.yml with docker-compose v1 (Debian's
# package; no Docker engine needed). Installed here when missing: as root in CI, through sudo elsewhere.
# Without it the test fails under CI=true and is skipped otherwise.
compose-tool:
	@command -v docker-compose >/dev/null 2>&1 || { \
	  echo "installing docker-compose (apt) for the compose file test"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get install -y --no-install-recommends docker-compose \
	    || { $$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends docker-compose; } \
	    || { echo "could not install docker-compose"; [ -z "$$CI" ] || exit 1; }; }

bench: $(STAMP)
	$(PY) bench/engine_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

# The browser UI (docs/frontend.md): `npm ci` when the lock changes, `next build` (a static export in
# frontend/out, served by the API at /) when a source changes.
FRONTEND_MODULES := frontend/node_modules/.installed
FRONTEND_BUILT := frontend/out/.built
FRONTEND_SOURCES := $(shell find frontend/app frontend/components frontend/hooks frontend/lib frontend/public \
	-type f 2>/dev/null) frontend/next.config.mjs frontend/tsconfig.json

.PHONY: frontend chromium
frontend: $(FRONTEND_BUILT)

$(FRONTEND_MODULES): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

$(FRONTEND_BUILT): $(FRONTEND_MODULES) $(FRONTEND_SOURCES)
	cd frontend && NEXT_TELEMETRY_DISABLED=1 npm run build
	touch $@

# tests/e2e/test_browser.py drives Debian's Chromium (never `playwright install`): installed here when
# missing, as root in CI, through sudo elsewhere.
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing chromium (apt) for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get install -y chromium \
	    || { $$sudo apt-get update && $$sudo apt-get install -y chromium; }; }
