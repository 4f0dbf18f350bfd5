# mobilecourse: `make lab` to learn, `make test` to check everything.
# Works on a fresh machine with only python3 (and its venv module).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-from-pyproject
PYTEST_NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help setup lab test lint bench clean distclean

help:
	@echo "make lab        set up .venv and open the course in JupyterLab (127.0.0.1)"
	@echo "make test       set up .venv and run every test, notebooks included"
	@echo "make bench      run every lesson headless and report its wall time"
	@echo "make clean      remove caches and build output (keeps .venv)"
	@echo "make distclean  clean, and remove .venv too"

# Re-install only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  $(PYTHON) -m venv $(VENV) || { \
	    echo "error: '$(PYTHON) -m venv' failed. On Debian/Ubuntu: sudo apt-get install python3-venv" >&2; \
	    rm -rf $(VENV); exit 1; }; \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

# Loopback only, token on (the default); root (containers) needs --allow-root.
LAB_ARGS := --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks \
            --LabApp.extension_manager=readonly $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab $(LAB_ARGS)

lint: setup
	$(BIN)/ruff check mobilecourse tests

test: setup lint
	$(BIN)/python -m pytest $(PYTEST_NBVAL) tests notebooks

bench: setup
	$(BIN)/python -m mobilecourse bench

clean:
	rm -rf build .pytest_cache .hypothesis .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 \
	  | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)
