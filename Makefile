PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COMPILED := $(CURDIR)/.build/compiled

.PHONY: demo test test-pure test-compiled compiled bench clean

# The version lives in seawall/_version.py, so a new version reinstalls the metadata too.
$(STAMP): pyproject.toml seawall/_version.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m examples.demo $(APP)

test: $(STAMP)
	$(BIN)/ruff check seawall tests examples benchmarks
	$(BIN)/mypy
	$(MAKE) test-pure
	$(MAKE) test-compiled

# The coverage gate (fail_under in pyproject.toml) applies to this pass only: compiled modules
# cannot be traced. The servers of the end-to-end tests run unmeasured; they reach no line the
# in-process tests miss.
test-pure: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider --cov

# The wheel with the hot path compiled by mypyc, unpacked where tests and benchmarks import it.
compiled: $(STAMP)
	rm -rf .build
	HATCH_BUILD_HOOK_ENABLE_MYPYC=1 HATCH_BUILD_CLEAN_HOOKS_AFTER=1 $(BIN)/pip wheel --quiet --no-deps -w .build/wheel .
	$(BIN)/python -m zipfile -e .build/wheel/seawall-*.whl $(COMPILED)

test-compiled: compiled
	SEAWALL_EXPECT_COMPILED=1 PYTHONPATH=$(COMPILED) $(BIN)/pytest -q -p no:cacheprovider \
		--import-mode=importlib -o "pythonpath=$(COMPILED) ."

bench: compiled
	PYTHONPATH=$(COMPILED) PYTHON=$(BIN)/python benchmarks/run.sh

clean:
	rm -rf $(VENV) .build .coverage
