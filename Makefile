# Two commands for a fresh clone:
#   make run    make a virtual environment, install evoengine and its plugins, run the default job
#   make test   the same, plus the test dependencies, then the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# Each plugin is its own distribution, installed the way a third-party plugin would be.
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
# Plugins installed with an optional extra (minimax: OpenSpiel games, so their tests run in CI).
PLUGINS := $(patsubst plugins/minimax/,'plugins/minimax[openspiel]',$(PLUGINS))
# The CPU build of torch (on this machine's disk); an unpinned torch pulls a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: run test install benchmark docs fuzz mutation clean

$(VENV)/.installed: pyproject.toml $(wildcard plugins/*/pyproject.toml) Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) $(TORCH)
	$(PIP) -e '.[test]' $(addprefix -e ,$(PLUGINS))
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/evoengine run equation

test: install
	$(PY) -m pytest -q

# The fuzzing suite's large profile (1000 examples a reader; `make test` runs a small one).
fuzz: install
	EVOENGINE_FUZZ=large $(PY) -m pytest -q tests/test_fuzz.py

benchmark: install
	$(PIP) -e '.[bench]'
	$(PY) -m pytest benchmarks --benchmark-enable -s

# The API reference from the docstrings into site/ (warnings are errors).
docs: install
	$(PIP) -e '.[docs]'
	$(VENV)/bin/mkdocs build --strict

# Mutation testing, one module at a time (minutes each; not part of test or CI):
# make mutation, or make mutation MODULES="elo config"
mutation: install
	$(PIP) -e '.[mutation]'
	$(PY) benchmarks/mutation.py $(MODULES)

clean:
	rm -rf $(VENV) runs site .pytest_cache .benchmarks .hypothesis build/mutation
