# E-Mudra-Bajar developer commands. `make test` works from a fresh clone: it creates .venv and installs
# what is missing first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test lint unit bench clean

# The engine's hot modules are compiled with mypyc (setup.py): rebuild whenever one of them changes.
COMPILED := engine/balances.py engine/book.py engine/core.py engine/order.py \
	shared/commands.py shared/events.py shared/messages.py

$(STAMP): pyproject.toml setup.py $(COMPILED)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Every test; pytest's exit code 5 ("no tests collected") fails like any other failure.
test: lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/engine_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
