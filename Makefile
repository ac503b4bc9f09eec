# Thin wrappers: each target is one or two commands you could type yourself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast test-containers lint bench info lock clean chromium audit wrk axe translations catalogs

# The virtual environment is rebuilt when a requirements file changes.
$(BIN)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt -c constraints.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt -c constraints.txt
	touch $@

run: $(BIN)/.installed translations  ## start the whole app (embedded Redis and mail server unless configured)
	$(BIN)/python -m deploy.local.stack

test: $(BIN)/.installed-dev chromium axe lint translations  ## the import contracts, then the whole test suite (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The inner loop spreads the tests over the cores (pytest-xdist): each test process starts its own
# redis-server and SMTP server on free ports, gives each test its own SQLite file and, with
# TEST_DATABASE_URL, creates a PostgreSQL database of its own. Four processes, not one per core: the tests
# wait on Redis, SMTP, workers and timers more than they compute (on 2 busy cores: 4m25s with 4, 6m30s with
# 2, 17m in one). TEST_PROCESSES=auto is one per core, TEST_PROCESSES=1 runs them in one process.
TEST_PROCESSES ?= 4
test-fast: $(BIN)/.installed-dev lint translations  ## the inner loop: the import contracts and every test not marked slow, on every core
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_PROCESSES) $(PYTEST_ARGS)

# Language catalogs (app/translations/): the .po files are the source (committed); the .mo files are
# compiled from them (not committed). `make catalogs` extracts the marked strings and merges them into
# every .po; translate the new entries (app/translations/ko/LC_MESSAGES/messages.po), then `make translations`.
PO_FILES := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
translations: $(MO_FILES)  ## compile the language catalogs (.po -> .mo) that pages, mail and SMS read

app/translations/%/LC_MESSAGES/messages.mo: app/translations/%/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -d app/translations -l $* -f

catalogs: $(BIN)/.installed  ## extract marked strings into messages.pot and merge them into every language's .po
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k Phrase -k _l -k lazy_gettext --no-location --sort-output \
	  --project "film club" --copyright-holder "film club" -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete

lint: $(BIN)/.installed-dev  ## the import contracts in .importlinter (which way imports go; see the README's map)
	$(BIN)/lint-imports

# The browser journeys (tests/browser) drive Debian's Chromium, never a downloaded browser. As root on Debian a
# missing one is installed here; otherwise this says what to install (the browser tests then fail saying the same).
# BROWSER_TESTS=0 skips the browser tests and this step.
CHROMIUM := /usr/bin/chromium
# Hangul in the screenshots needs a CJK font (Debian's fonts-noto-cjk); without one Korean pages show boxes.
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
chromium:  ## install Debian's chromium (and fonts-noto-cjk) for the browser tests when missing (as root), or say what to install
	@if [ "$(BROWSER_TESTS)" = 0 ] || [ -f $(CJK_FONT) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then \
	  echo "make: $(CJK_FONT) is missing: installing Debian's fonts-noto-cjk for Korean in the screenshots"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q -o DPkg::Lock::Timeout=600 fonts-noto-cjk || \
	  { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=600 fonts-noto-cjk; } || \
	  echo "make: could not install fonts-noto-cjk (see apt-get above); Korean screenshots will show boxes" >&2; \
	else \
	  echo "make: $(CJK_FONT) is missing: install Debian's fonts-noto-cjk (sudo apt-get install fonts-noto-cjk)" \
	       "so Korean pages render in the browser journeys' screenshots" >&2; \
	fi
	@if [ "$(BROWSER_TESTS)" = 0 ] || [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then \
	  echo "make: $(CHROMIUM) is missing: installing Debian's chromium package for the browser tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q -o DPkg::Lock::Timeout=600 chromium || \
	  { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=600 chromium; } || \
	  echo "make: could not install chromium (see apt-get above); the browser tests will fail" >&2; \
	else \
	  echo "make: $(CHROMIUM) is missing: install Debian's chromium package (sudo apt-get install chromium)" \
	       "for the browser tests, or skip them with BROWSER_TESTS=0" >&2; \
	fi

# axe-core (the npm package) checks every page the browser journeys visit for accessibility (tests/helpers/
# visitor.py). npm fetches the pinned version's tarball once into var/vendor/ (the registry's integrity check,
# then ours: its SHA-256 below); the tests read it from there and never fetch anything while they run. As root on
# Debian a missing npm is installed; otherwise this says loudly what to install (the browser tests then fail
# saying the same, like a missing chromium). BROWSER_TESTS=0 skips it.
AXE_VERSION := 4.10.3
AXE_SHA256 := 0f2b4d7dcdf7d1219df8d1959ad68e565f51d14c3f0d88bb71cd59abeb956292
AXE_DIR := var/vendor/axe-core-$(AXE_VERSION)
axe:  ## vendor axe-core $(AXE_VERSION) from npm into var/vendor/ for the browser tests' accessibility checks
	@if [ "$(BROWSER_TESTS)" = 0 ] || [ -f $(AXE_DIR)/axe.min.js ]; then exit 0; fi; \
	if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then \
	    echo "make: npm is missing: installing Debian's npm package to fetch axe-core for the browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q -o DPkg::Lock::Timeout=600 npm || \
	    { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=600 npm; }; \
	  fi; \
	  command -v npm >/dev/null || { echo "make: WARNING: npm is missing: install Debian's npm package" \
	    "(sudo apt-get install npm) so that axe-core can be vendored; until then the browser tests fail" \
	    "saying so (or skip them with BROWSER_TESTS=0)" >&2; exit 0; }; \
	fi; \
	mkdir -p var/vendor && cd var/vendor && rm -rf package axe-core-$(AXE_VERSION).tgz && \
	npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && \
	echo "$(AXE_SHA256)  axe-core-$(AXE_VERSION).tgz" | sha256sum -c --quiet && \
	tar xzf axe-core-$(AXE_VERSION).tgz && rm -rf axe-core-$(AXE_VERSION) && mv package axe-core-$(AXE_VERSION) && \
	rm axe-core-$(AXE_VERSION).tgz && echo "make: axe-core $(AXE_VERSION) vendored in $(AXE_DIR)"

$(BIN)/.installed-containers: $(BIN)/.installed-dev requirements-containers.txt
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-containers.txt -c constraints.txt
	touch $@

# The compose topology as real containers (podman): tests/containers/. As root on Debian, what is missing
# (podman, runc, debootstrap, the base images) is installed or made first; every container, network,
# volume and image the run makes is removed at its end, whatever happens. CONTAINER_TESTS=0 skips it.
test-containers:  ## build the image, run the compose topology, smoke test and drills (podman; as root)
	@if [ "$(CONTAINER_TESTS)" = 0 ]; then echo "make: CONTAINER_TESTS=0: container tests skipped"; exit 0; fi; \
	$(MAKE) --no-print-directory $(BIN)/.installed-containers && \
	started=$$(date +%s) && bash tests/containers/prepare_host.sh && \
	{ FILMCLUB_CONTAINER_TESTS=1 $(BIN)/python -m pytest tests/containers $(PYTEST_ARGS); status=$$?; \
	  $(BIN)/python -c 'from tests.containers.topology import remove_everything; remove_everything()'; \
	  echo "make: test-containers took $$(( $$(date +%s) - started )) s"; exit $$status; }

# Bench-only packages (Celery for the side-by-side run, matplotlib for the chart): never installed by run or test.
$(BIN)/.installed-bench: $(BIN)/.installed-dev requirements-bench.txt
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-bench.txt -c constraints.txt
	touch $@

# The load generator must never be the limit: `make bench` loads the server with Debian's wrk (one C thread,
# keep-alive or not, a fraction of the CPU of any Python client). As root on Debian a missing wrk is installed
# here; otherwise this says, loudly, that the benchmark falls back to its Python generator (bench/loadgen.py),
# and every figure then carries the generator's CPU share so the reader can see what it took from the server.
WRK := /usr/bin/wrk
wrk:  ## install Debian's wrk for the benchmarks when it is missing (as root), or say loudly that it is missing
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then \
	  echo "make: wrk is missing: installing Debian's wrk package for the benchmarks"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q -o DPkg::Lock::Timeout=600 wrk || \
	  { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=600 wrk; } || \
	  echo "make: WARNING: could not install wrk (see apt-get above): the benchmark falls back to its" \
	       "Python load generator, which shares the cores with the server" >&2; \
	else \
	  echo "make: WARNING: wrk is missing: install Debian's wrk package (sudo apt-get install wrk); until" \
	       "then the benchmark falls back to its Python load generator, which shares the cores with the server" >&2; \
	fi

# BENCH_QUICK=1: small sizes and one round, for the inner loop (its figures are not the ones to quote).
bench: $(BIN)/.installed-bench wrk  ## benchmarks: ratios side by side in one run -> var/bench/results.json, ratios.png
	$(BIN)/python -m bench

info: $(BIN)/.installed  ## `rq info` against the project's queue Redis
	$(BIN)/python -m jobs.info

# Every pinned version (constraints.txt pins the whole tree, runtime and test) against the PyPI/OSV advisory
# databases; needs the network. Exit 1 when one has a known vulnerability: update it (the fixed version is
# printed), `make lock`, and run the tests.
audit: $(BIN)/.installed-dev  ## pip-audit over every pinned requirement
	$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r constraints.txt

lock:  ## re-pin every transitive dependency after changing requirements*.txt
	$(BIN)/pip freeze --exclude-editable | grep -v '^pkg_resources' > constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache
