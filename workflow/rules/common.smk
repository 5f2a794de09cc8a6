import json
import re

from snakemake.utils import validate

from tunebench.core.config import ConfigError, load_config, validate_config
from tunebench.core.matrix import expand_matrix, matrix_axes
from tunebench.core.outputs import (
    FIGURE_CAPTIONS,
    FIGURE_CATEGORIES,
    FIGURE_FILES,
    STATS_FILES,
    SUMMARY_FILE,
)

try:
    # Snakemake's YAML loader lets duplicate keys through: read each config file again.
    for _configfile in workflow.configfiles:
        load_config(_configfile)
    validate_config(config)
except ConfigError as error:
    raise SystemExit(f"tunebench: invalid config: {error}")
validate(config, schema="../schemas/config.schema.yaml")

CELLS = {(c.task, c.optimizer, c.budget, str(c.seed)): c for c in expand_matrix(config)}
STUDY = "results/studies/{task}/{optimizer}/{budget}/seed{seed}"
PRIMARY = config["analysis"]["primary_budget"]
if isinstance(PRIMARY, dict):
    PRIMARY_BUDGET = PRIMARY.get("budget") or next(iter(config["budgets"]))
    PRIMARY_AT = "".join(f"{k}={v}" for k, v in PRIMARY.items() if k != "budget")
else:
    PRIMARY_BUDGET = PRIMARY or next(iter(config["budgets"]))
    PRIMARY_AT = ""


def _alternatives(names):
    return "|".join(re.escape(name) for name in names)


wildcard_constraints:
    task=_alternatives(config["tasks"]),
    optimizer=_alternatives(config["optimizers"]),
    budget=_alternatives(config["budgets"]),
    seed=r"\d+",


def cell_json(wildcards):
    """The study's cell (task, optimizer, budget specs and seed) as JSON for run-study."""
    key = (wildcards.task, wildcards.optimizer, wildcards.budget, wildcards.seed)
    return CELLS[key].to_json()


def framework_env(wildcards):
    """The conda env of the study's framework."""
    framework = config["optimizers"][wildcards.optimizer]["framework"]
    return f"../../envs/{framework}.yaml"


def study_threads(wildcards):
    """The job's threads: the config's, or the optimizer's worker count if that is more."""
    workers = config["optimizers"][wildcards.optimizer].get("workers", 1)
    return max(config["threads"], workers)


def uses_gpu(wildcards):
    """1 for torch tasks (they use a GPU where the executor grants one), else 0."""
    return int(config["tasks"][wildcards.task]["kind"] == "torch")


def study_dirs():
    """Every study directory of the matrix."""
    return [STUDY.format(task=t, optimizer=o, budget=b, seed=s) for t, o, b, s in CELLS]


def study_files(name):
    """``name`` in every study directory of the matrix."""
    return [f"{study}/{name}" for study in study_dirs()]


def all_outputs():
    """Targets of ``rule all``."""
    return [
        "results/trials.parquet",
        "results/curves.parquet",
        *[f"results/stats/{name}" for name in STATS_FILES],
        *[f"results/figures/{name}" for name in FIGURE_FILES],
        f"results/{SUMMARY_FILE}",
        "results/mlflow/analysis_run.json",
    ]
