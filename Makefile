# mobilecourse: `make lab` to learn, `make test` to check everything.
# Works on a fresh machine with only python3 (and its venv module).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-from-pyproject
PYTEST_NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help setup lab test test-colab-like test-binder test-released lint bench slides app release release-nbgrader lock \
        clean distclean

help:
	@echo "make lab        set up .venv and open the course in JupyterLab (127.0.0.1)"
	@echo "make test       set up .venv and run every test, notebooks included"
	@echo "make test-colab-like  the unit tests and lessons again, with Colab's versions on Python 3.13"
	@echo "make test-binder      install the hub image's configuration (.binder/) in a fresh venv, run lesson 00"
	@echo "make test-released    the student release of all ten lessons (make test runs a third)"
	@echo "make bench      run every lesson headless and write build/bench.md and build/bench.json"
	@echo "make slides     build the offline lecture decks slides/NN_name.slides.html and their PDFs (needs npm, chromium)"
	@echo "make app        serve the cost calculators as a web app (Voila, 127.0.0.1:8866)"
	@echo "make release    write the student copy of the lessons to build/student (OUT=dir)"
	@echo "make release-nbgrader  write nbgrader source notebooks to build/nbgrader (NBGRADER_OUT=dir)"
	@echo "make lock       rewrite .ci/constraints.txt (the tested versions) from .venv"
	@echo "make clean      remove caches, build output and built decks (keeps .venv)"
	@echo "make distclean  clean, and remove .venv and slides/node_modules too"

# Re-install only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml .ci/constraints.txt
	@if [ ! -x $(BIN)/python ]; then \
	  $(PYTHON) -m venv $(VENV) || { \
	    echo "error: '$(PYTHON) -m venv' failed. On Debian/Ubuntu: sudo apt-get install python3-venv" >&2; \
	    rm -rf $(VENV); exit 1; }; \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c .ci/constraints.txt -e ".[lab,dev,grading]"
	@touch $(STAMP)

setup: $(STAMP)

# Loopback only, token on (the default); root (containers) needs --allow-root.
LAB_ARGS := --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks \
            --LabApp.extension_manager=readonly $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab $(LAB_ARGS)

# reveal.js, MathJax, require.js and jQuery for the decks, from npm (pinned by the lock file).
SLIDES_VENDOR := slides/node_modules/.package-lock.json
$(SLIDES_VENDOR): slides/package.json slides/package-lock.json
	@command -v npm >/dev/null || { \
	  echo "error: the slides need Node.js's npm to install reveal.js and MathJax locally." >&2; \
	  echo "       Debian/Ubuntu: sudo apt-get install npm; other systems: https://nodejs.org" >&2; \
	  exit 1; }
	npm ci --prefix slides --no-audit --no-fund --loglevel=error
	@touch $@

slides: setup $(SLIDES_VENDOR)
	$(BIN)/python -m mobilecourse slides

app: setup
	$(BIN)/python -m mobilecourse app

OUT ?= build/student
release: setup
	$(BIN)/python -m mobilecourse release $(OUT)

# nbgrader source notebooks and nbgrader_config.py for a graded class (OUT=dir).
NBGRADER_OUT ?= build/nbgrader
release-nbgrader: setup
	$(BIN)/python -m mobilecourse release --format nbgrader $(NBGRADER_OUT)

lint: setup
	$(BIN)/ruff check mobilecourse tests

# Then the student release with MOBILECOURSE_SEED=1 on one CPU: it runs top to bottom, and
# what the lessons store and assert does not depend on the seed or the thread count (README,
# "What nbval compares"). make test runs it on a third of the lessons, a different third each
# day (00,03,06,09 / 01,04,07 / 02,05,08); CI (CI=true), `make test RELEASED=all` and
# `make test-released` run all ten.
RELEASED ?= $(if $(filter true,$(CI)),all,$(shell $(PYTHON) -c "import datetime; \
  d = datetime.date.today().toordinal() % 3; print(','.join('%02d' % n for n in range(d, 10, 3)))"))
RELEASED_LESSONS = $(if $(filter all,$(RELEASED)),,--lessons $(RELEASED))
test: setup lint $(SLIDES_VENDOR)
	$(BIN)/python -m pytest --durations=20 $(PYTEST_NBVAL) --ignore=tests/environments tests notebooks
	$(BIN)/python -m mobilecourse perturb --released $(RELEASED_LESSONS) --seed 1 --cpus 1 -- $(PYTEST_NBVAL)

test-released: setup
	$(BIN)/python -m mobilecourse perturb --released --seed 1 --cpus 1 -- $(PYTEST_NBVAL)

# The hub image: repo2docker's install steps from .binder/ in a fresh venv, then lesson 00.
test-binder: setup
	$(BIN)/python -m pytest tests/environments/test_binder.py

# Colab's preinstalled versions on Python 3.13 (.ci/colab-like.txt), the course installed
# on top without the lock: nothing preinstalled may change, and the tests must pass.
test-colab-like:
	.ci/colab-like

bench: setup
	$(BIN)/python -m mobilecourse bench

# After a deliberate upgrade in .venv (and a passing make test): record the exact set.
lock: setup
	{ sed -n '1,3p' .ci/constraints.txt; $(BIN)/python -m pip freeze --all --exclude-editable \
	  | grep -v '^pip=='; } > .ci/constraints.txt.new && mv .ci/constraints.txt.new .ci/constraints.txt

clean:
	rm -rf build .pytest_cache .hypothesis .ruff_cache *.egg-info slides/*.slides.html slides/*.pdf
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 \
	  | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) slides/node_modules
