import json
import os
import shlex

from tunebench.core.config import ConfigError, config_hash, load_config, validate_config
from tunebench.tasks.suites import expand_suites
from tunebench.core.matrix import (
    chunk_cells,
    expand_matrix,
    group_chunks,
    matrix_axes,
    studies_at_once,
    study_threads,
)
from tunebench.core.outputs import (
    FIGURE_CAPTIONS,
    FIGURE_CATEGORIES,
    FIGURE_FILES,
    STATS_FILES,
    SUMMARY_FILE,
    SUMMARY_HTML,
    report_category,
)

try:
    # Snakemake's YAML loader lets duplicate keys through: read each config file again.
    for _configfile in workflow.configfiles:
        load_config(_configfile)
    # Suites become ordinary tasks here, before anything reads the config.
    _expanded = expand_suites(config)
    # Validated against workflow/schemas/config.schema.yaml, with its defaults filled in (what
    # Snakemake's validate() does, without parsing the schema a second time).
    _validated = validate_config(_expanded)
    config.clear()
    config.update(_validated)
    CONFIG_HASH = config_hash(_validated)
except ConfigError as error:
    raise SystemExit(f"tunebench: invalid config: {error}")

# The conda envs (envs/*.yaml) install this checkout: pip expands TUNEBENCH_ROOT in their pip
# section. The workflow sets it (the user need not), for the conda runs it starts.
os.environ.update(TUNEBENCH_ROOT=workflow.basedir)

CELLS = {(c.task, c.optimizer, c.budget, str(c.seed)): c for c in expand_matrix(config)}
CHUNKS = chunk_cells(config, list(CELLS.values()))
# Finished studies are logged to MLflow by jobs of up to 256 studies (whole chunks), each
# paying MLflow's import once; the first creates the store.
LOG_GROUPS = group_chunks(CHUNKS, max_studies=256)
STUDY = "results/studies/{task}/{optimizer}/{budget}/seed{seed}"
STUDY_OUTPUTS = ("trials.parquet", "curves.parquet", "study.json")
LIVE_MLFLOW = config["mlflow"]["logging"] == "live"
PRIMARY = config["analysis"]["primary_budget"]
if isinstance(PRIMARY, dict):
    PRIMARY_BUDGET = PRIMARY.get("budget") or next(iter(config["budgets"]))
    PRIMARY_AT = "".join(f"{k}={v}" for k, v in PRIMARY.items() if k != "budget")
else:
    PRIMARY_BUDGET = PRIMARY or next(iter(config["budgets"]))
    PRIMARY_AT = ""


def chunk_outputs(chunk):
    """The files every study of ``chunk`` writes."""
    return [
        f"{cell.study_dir()}/{name}" for cell in chunk.cells for name in STUDY_OUTPUTS
    ]


def chunk_env(chunk):
    """The conda env of the chunk's framework (Auto-PyTorch's job hosts tunebench in the
    scikit-learn env; its worker runs in its own Python 3.8 env, ``AUTOPYTORCH_VENV``).
    """
    framework = chunk.cells[0].optimizer_spec["framework"]
    return f"../../envs/{'sklearn' if framework == 'autopytorch' else framework}.yaml"


def chunk_threads(chunk):
    """The job's threads: a study's (core.matrix.study_threads) times the studies it runs at
    once (studies_at_once); Snakemake lowers them to --cores, and the job runs as many studies
    at once as the threads it gets hold."""
    return study_threads(chunk.cells[0]) * studies_at_once(config, chunk)


def chunk_resources(chunk):
    """``tune_resources`` with the runtime per study times the studies, and a GPU for torch."""
    resources = dict(config["tune_resources"])
    resources["runtime"] = resources.get("runtime", 120) * len(chunk.cells)
    resources["gpu"] = int(chunk.cells[0].task_spec["kind"] == "torch")
    return resources


def group_study_dirs(group):
    """The study directories of a log group (a list of chunks)."""
    return [str(cell.study_dir()) for chunk in group for cell in chunk.cells]


def logged_runs():
    """The files the MLflow log jobs write: study directory -> run id, one per log group."""
    return [f"results/mlflow/runs/{g}.json" for g in range(len(LOG_GROUPS))]


def study_dirs():
    """Every study directory of the matrix."""
    return [STUDY.format(task=t, optimizer=o, budget=b, seed=s) for t, o, b, s in CELLS]


def study_files(name):
    """``name`` in every study directory of the matrix."""
    return [f"{study}/{name}" for study in study_dirs()]


def all_outputs():
    """Targets of ``rule all``. Every study's files are among them, so that a deleted study
    directory or output file makes its tuning job rerun (Snakemake reruns the producer of a
    missing intermediate file only when a job that needs the file runs)."""
    return [
        *study_files("trials.parquet"),
        *study_files("curves.parquet"),
        *study_files("study.json"),
        "results/trials.parquet",
        "results/curves.parquet",
        *logged_runs(),
        *[f"results/stats/{name}" for name in STATS_FILES],
        *[f"results/figures/{name}" for name in FIGURE_FILES],
        f"results/{SUMMARY_FILE}",
        f"results/{SUMMARY_HTML}",
        "results/mlflow/analysis_run.json",
    ]
