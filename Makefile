# tunebench: `make run` runs the default experiment, `make test` runs the test suite, `make bench`
# the benchmarks (docs/benchmarks.md). All create .venv first. torch==2.13.0 is installed before
# anything that depends on it (a CPU wheel on these machines); on a GPU cluster, install your own
# torch build first. `make install-autopytorch` builds Auto-PyTorch's own Python 3.8 venv
# (docs/frameworks.md#autopytorch); AUTOPYTORCH_PYTHON names its interpreter where python3.8 is
# not on PATH or in pyenv.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CORES ?= all
export PATH := $(BIN):$(PATH)

.PHONY: install install-autopytorch run report test lint bench findings clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $@

install: $(VENV)/.installed

install-autopytorch:
	bash scripts/install-autopytorch.sh .venv-autopytorch envs/autopytorch-py38.txt

run: install
	snakemake --profile profiles/local --cores $(CORES) --report results/report.html --report-after-run
	@echo
	@sed -n '3p' results/summary.md
	@echo
	@echo "Summary:   results/summary.md"
	@echo "Results:   results/trials.parquet, results/stats/*.csv, results/figures/*.png"
	@echo "Report:    results/report.html"
	@echo "MLflow UI: $(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/results/mlflow/mlflow.db"

report: install
	snakemake --report results/report.html

test: install
	pytest -n 2 --dist loadgroup

lint: install
	ruff check .
	lint-imports
	ruff format --check .
	snakemake --lint
	snakefmt --check Snakefile workflow/rules

bench: install
	python benchmarks/harness_overhead.py
	python benchmarks/mlflow_cost.py
	python benchmarks/mlflow_cost.py --task mlp --repeats 2
	python benchmarks/sweep.py --large 1000
	python benchmarks/analysis.py
	python benchmarks/dag.py

# docs/findings.md: each config/findings/<name>.yaml runs in runs/findings/<name>/ (hours of CPU:
# the document says how many), then scripts/findings.py analyses every suite and writes the
# document and its figures (docs/findings/).
FINDINGS := bbob tabular bayesmark gp
findings: install
	for c in $(FINDINGS); do \
	  mkdir -p runs/findings/$$c && (cd runs/findings/$$c && snakemake -s $(CURDIR)/Snakefile \
	    --configfile $(CURDIR)/config/findings/$$c.yaml --profile $(CURDIR)/profiles/local \
	    --cores $(CORES)) || exit 1; \
	done
	python scripts/findings.py $(FINDINGS:%=config/findings/%.yaml) --runs runs/findings \
	  --out docs/findings.md

clean:
	rm -rf results .snakemake
