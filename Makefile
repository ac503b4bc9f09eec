# Thin wrappers: each target is one or two commands you could type yourself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench info lock clean

# The virtual environment is rebuilt when a requirements file changes.
$(BIN)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt -c constraints.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt -c constraints.txt
	touch $@

run: $(BIN)/.installed  ## start the whole app (embedded Redis and mail server unless configured)
	$(BIN)/python -m deploy.local.stack

test: $(BIN)/.installed-dev  ## run the whole test suite (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed-dev  ## benchmarks: ratios measured side by side in one run
	$(BIN)/python -m bench

info: $(BIN)/.installed  ## `rq info` against the project's queue Redis
	$(BIN)/python -m jobs.info

lock:  ## re-pin every transitive dependency after changing requirements*.txt
	$(BIN)/pip freeze --exclude-editable | grep -v '^pkg_resources' > constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache
