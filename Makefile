# The two commands a newcomer needs: `make run` and `make test`.
# Everything else here is what they are built from.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py

# The port `make run` serves on: make run PORT=8001.
PORT ?= 8000

# pytest-xdist runs the suite in this many processes (`auto`: one per core), each with its own
# test database; every server a test starts takes a port the kernel says is free and its own
# temporary directory. PYTEST_WORKERS=0 runs it in this one process (`make test PYTEST_WORKERS=0`).
PYTEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(PYTEST_WORKERS)

# Find a Python >= 3.12 (Django 6.1 needs it): $(PYTHON) if given, else python3.13,
# python3.12, python3 on PATH, else pyenv's installed interpreters. pyenv shims refuse to
# run unless a version is selected, so each candidate is asked for its version, not trusted.
define find_python
for c in $${PYTHON:-} python3.13 python3.12 python3 \
         $$(ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
  [ -n "$$c" ] || continue; \
  if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
    command -v "$$c" 2>/dev/null || echo "$$c"; exit 0; \
  fi; \
done; exit 1
endef

.PHONY: help
help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# uv.lock pins every package, direct or not, with its hashes; `uv sync --locked` installs exactly
# that set (and removes anything else), and refuses when pyproject.toml and uv.lock disagree.
# uv is itself in the lock (the dev group), so the sync keeps it: the first time, pip installs
# that uv from the lock's hashes (ops/uv_requirement.py). uv never downloads a Python here, and is
# given the interpreter's real path (not a pyenv shim), else it remakes .venv on every sync.
UV := $(VENV)/bin/uv

$(VENV)/.installed: pyproject.toml uv.lock
	@py=$$($(find_python)) || { \
	  echo "No Python 3.12 or newer found (tried \$$PYTHON, python3.13, python3.12, python3, pyenv versions)."; \
	  echo "Install Python 3.12+ or run: make PYTHON=/path/to/python3.12 ..."; exit 1; }; \
	py=$$("$$py" -c 'import sys; print(sys.executable)'); \
	echo "Using $$py ($$($$py --version))"; \
	if [ ! -x $(UV) ]; then \
	  { [ -x $(PY) ] || $$py -m venv $(VENV); } && \
	  { [ -x $(VENV)/bin/pip ] || $(PY) -m ensurepip --default-pip >/dev/null; } && \
	  $$py ops/uv_requirement.py > $(VENV)/uv-requirement.txt && \
	  $(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
	    -r $(VENV)/uv-requirement.txt || { \
	    echo "Could not install uv ($$(cat $(VENV)/uv-requirement.txt 2>/dev/null | cut -d' ' -f1)) into $(VENV): is PyPI reachable?"; exit 1; }; \
	fi; \
	UV_PYTHON_DOWNLOADS=never $(UV) sync --locked --python "$$py" || { \
	  echo "uv sync --locked failed. If uv.lock needs updating, pyproject.toml was changed without it:"; \
	  echo "run $(UV) lock and commit uv.lock (README, Dependencies). Otherwise see uv's message above."; \
	  exit 1; }
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed  ## Create the virtualenv and install exactly what uv.lock pins.

.PHONY: setup
setup: venv  ## Migrate the database and load the seed catalogue (safe to repeat).
	$(MANAGE) migrate --no-input
	$(MANAGE) seed_catalogue

.PHONY: run
run: setup  ## Serve the catalogue on http://127.0.0.1:8000/ (PORT=8001 for another; SQLite unless DATABASE_URL is set).
	$(MANAGE) runserver 127.0.0.1:$(PORT)

.PHONY: serve
serve: venv  ## Serve as production does: gunicorn (gunicorn.conf.py), needs the production settings.
	$(MANAGE) check --deploy --fail-level WARNING
	$(MANAGE) migrate --no-input
	$(MANAGE) collectstatic --no-input --verbosity 0
	$(VENV)/bin/gunicorn --config gunicorn.conf.py catalogue.wsgi

.PHONY: test
test: venv  ## Run every check and test (PostgreSQL too when TEST_DATABASE_URL is set).
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	@# axe-core and the Nu HTML Checker for the browser tests (required on CI).
	@if [ -n "$$CI" ] || [ ! -d node_modules ] && command -v npm >/dev/null; then \
	  npm ci --no-audit --no-fund --loglevel=error; fi
	$(PYTEST)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL run against $${TEST_DATABASE_URL%%@*}@... (browser, outage and replica tests ran above)"; \
	  DATABASE_URL="$$TEST_DATABASE_URL" $(PYTEST) --require-postgres -m "not browser and not faults and not replicas"; \
	elif [ -n "$$CI" ]; then \
	  echo "CI is set but TEST_DATABASE_URL is not: the PostgreSQL run is required on CI."; exit 1; \
	else \
	  echo "== PostgreSQL run skipped: set TEST_DATABASE_URL=postgres://... to include it (CI does)."; \
	fi

.PHONY: css
css:  ## Rebuild static/css/main.css from static/scss (needs Node; the output is committed).
	npm ci --no-audit --no-fund
	npm run build:css

.PHONY: lint
lint: venv  ## Fix lint and formatting.
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

.PHONY: clean
clean:  ## Remove the virtualenv and the local SQLite database.
	rm -rf $(VENV) db.sqlite3 staticfiles

.PHONY: bench
bench: venv  ## Load-test on PostgreSQL with gunicorn and wrk (10-15 min; see bench/README.md).
	bash bench/run

.PHONY: soak
soak: venv  ## Mixed load for 60 s with editors publishing, then hostile clients behind nginx; fails on errors, growing memory or a slowed case study (6 min).
	bash bench/soak
