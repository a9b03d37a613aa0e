# The front door. On a machine with only Python 3.11 and pip, `make report` and `make test`
# each create .venv if missing, install gapkit with its dependencies, and do their job.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# the optional extras installed with gapkit: lab (JupyterLab) and test; CI runs test,spark (.ci/run):
# spark needs a Java runtime, and CI proves that `gapkit run` needs no JupyterLab
EXTRAS ?= lab,test
comma  := ,
STAMP  := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
AS_OF  ?= 2025-06-30
DATA   ?= data/sample

.PHONY: install report test test-fast notebooks bench sample clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	$(BIN)/gapkit run --config gapkit.yml --data $(DATA) --as-of $(AS_OF)

test: $(STAMP)
	$(BIN)/python -m pytest

# the edit-test loop: unit tests and short simulations, without the notebook suite, kernels,
# Spark or installs (tests/conftest.py SLOW_MODULES); `make test` still runs everything
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow" -q

# developer: rebuild the notebooks from their .py sources and re-run them on data/sample for nbval
notebooks: $(STAMP)
	$(BIN)/python tools/refresh_notebooks.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_kpis.py

sample: $(STAMP)
	$(BIN)/python -m gapkit.sample --out $(DATA) --orders 4000 --seed 7

clean:
	rm -rf $(VENV) .pytest_cache
