# make test                    lint, types, the suite on the pure-Python build (coverage gate), then compiled
# make test-python PY=3.12     the suite on both builds with pyenv's Python 3.12, in .venv-3.12
# make test-lowest             the pure-Python suite against the lowest versions pyproject.toml claims
# The passes differ only in these: which Python, venv, compiled build, extras and constraints;
# COVERAGE and ARGS go to pytest (make test-pure ARGS='-k breaker').
PYTHON ?= python3
VENV := .venv
BUILD := .build
EXTRAS := dev,bench
CONSTRAINTS :=
COVERAGE := --cov
ARGS :=
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed
COMPILED = $(CURDIR)/$(BUILD)/compiled
PYTEST = $(BIN)/pytest -q -p no:cacheprovider

.PHONY: demo test test-pure test-compiled test-python test-lowest compiled bench clean

# The version lives in seawall/_version.py, so a new version reinstalls the metadata too.
$(STAMP): pyproject.toml seawall/_version.py $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]' $(if $(CONSTRAINTS),--constraint $(CONSTRAINTS))
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m examples.demo $(APP)

# Lint and types first, once for all passes: the format check and mypy over the tests go here
# too. Then the suite on each build.
test: $(STAMP)
	$(BIN)/ruff check seawall tests examples benchmarks
	$(BIN)/ruff format --check seawall tests examples benchmarks
	$(BIN)/mypy
	$(MAKE) test-pure
	$(MAKE) test-compiled

# The coverage gate (fail_under in pyproject.toml) applies to this pass only: compiled modules
# cannot be traced. The servers of the end-to-end tests run unmeasured; they reach no line the
# in-process tests miss.
test-pure: $(STAMP)
	$(PYTEST) $(COVERAGE) $(ARGS)

# The wheel with the hot path compiled by mypyc, unpacked where tests and benchmarks import it.
compiled: $(STAMP)
	rm -rf $(BUILD)
	HATCH_BUILD_HOOK_ENABLE_MYPYC=1 HATCH_BUILD_CLEAN_HOOKS_AFTER=1 $(BIN)/pip wheel --quiet --no-deps -w $(BUILD)/wheel .
	$(BIN)/python -m zipfile -e $(BUILD)/wheel/seawall-*.whl $(COMPILED)

# From Python 3.12 on, mypyc's compiled coroutines warn when a cancellation passes through them
# (they throw with the deprecated (type, value, traceback) form): mypyc's part, not seawall's.
# The end-to-end tests (marker e2e) run in the pure pass only: the servers they start import
# the source in both passes, so a second run would test the same code again.
test-compiled: compiled
	SEAWALL_EXPECT_COMPILED=1 PYTHONPATH=$(COMPILED) $(PYTEST) -m "not e2e" \
		--import-mode=importlib -o "pythonpath=$(COMPILED) ." \
		-W 'ignore:the (type, exc, tb) signature of throw:DeprecationWarning'

# Another supported Python, found through pyenv: its own venv and compiled build, no gate.
test-python:
	@test -n "$(PY)" || { echo "make test-python: say which Python, e.g. PY=3.12" >&2; exit 2; }
	python=$$(.ci/pyenv-python $(PY)) && $(MAKE) test-pure test-compiled \
		PYTHON=$$python VENV=.venv-$(PY) BUILD=.build-$(PY) EXTRAS=dev COVERAGE=

# The lowest claimed versions, on the lowest supported Python.
test-lowest:
	python=$$(.ci/pyenv-python 3.11) && $(MAKE) test-pure \
		PYTHON=$$python VENV=.venv-lowest EXTRAS=dev CONSTRAINTS=.ci/constraints-lowest.txt COVERAGE=

bench: compiled
	PYTHONPATH=$(COMPILED) PYTHON=$(BIN)/python benchmarks/run.sh

clean:
	rm -rf .venv .venv-* .build .build-* .coverage
