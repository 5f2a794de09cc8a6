"""The real workflow after a study is deleted or corrupted, and in a copied or moved project."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.helpers.workflow import ROOT, checkout, environment, snakemake
from tunebench.core.config import validate_config
from tunebench.core.matrix import chunk_cells, expand_matrix

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("smoke")]

TINY = {
    "name": "tiny",
    "seeds": 2,
    "studies_per_job": 2,
    "tasks": {
        "branin": {"kind": "synthetic", "function": "branin"},
        "rosen": {"kind": "synthetic", "function": "rosenbrock"},
    },
    "optimizers": {
        "random": {"framework": "optuna", "sampler": "random"},
        "tpe": {"framework": "optuna", "sampler": "tpe"},
    },
    "budgets": {"t4": {"trials": 4}},
    "analysis": {"n_boot": 100},
}
N_STUDIES = 8
DELETED = "results/studies/branin/random/t4/seed1"


def _chunk_of(study: str) -> str:
    """The tuning job (rule name) that runs ``study``."""
    config = validate_config(TINY)
    for chunk in chunk_cells(config, expand_matrix(config)):
        if any(str(cell.study_dir()) == study for cell in chunk.cells):
            return f"tune_{chunk.name}"
    raise AssertionError(study)


def _planned_tune_jobs(work: Path) -> list[str]:
    dry = snakemake(work, "-n", "--configfile", "config/tiny.yaml", timeout=300)
    assert dry.returncode == 0, dry.stderr[-3000:]
    jobs = re.findall(r"^(tune_\S+)\s+\d+$", dry.stdout + dry.stderr, flags=re.MULTILINE)
    return sorted(set(jobs))  # the job stats table is printed twice


def _run(work: Path) -> None:
    run = snakemake(work, "--cores", "2", "--configfile", "config/tiny.yaml")
    assert run.returncode == 0, run.stderr[-4000:]


# Read in a child process: a process holding a SQLite store open while its project is moved
# corrupts it (https://www.sqlite.org/howtocorrupt.html, section 2.4), as it would for a user.
_READ_STORE = """
import json, sys
from mlflow import MlflowClient
from tests.helpers.workflow import logged_trials
client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name("tiny")
runs = client.search_runs([experiment.experiment_id], "tags.`tunebench.role` = 'study'")
print(json.dumps({
    "trials": sorted(set(logged_trials(client, "tiny").values())),
    "runs": [[r.info.run_name, r.info.run_id, r.data.tags["tunebench.project"]] for r in runs],
}))
"""


def _study_runs(results: Path) -> dict[str, tuple[str, str]]:
    """The project's study runs: run name -> (run id, project tag); every trial once."""
    uri = f"sqlite:///{results / 'mlflow' / 'mlflow.db'}"
    done = subprocess.run(
        [sys.executable, "-c", _READ_STORE, uri],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    store = json.loads(done.stdout)
    assert store["trials"] == [4]  # every trial once
    names = [name for name, _, _ in store["runs"]]
    assert len(names) == len(set(names)), f"a study logged twice: {sorted(names)}"
    return {name: (run_id, project) for name, run_id, project in store["runs"]}


def test_deleted_and_corrupt_studies_rerun_alone_in_copied_and_moved_projects(tmp_path):
    work = checkout(tmp_path / "original")
    (work / "config" / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    _run(work)
    results = work / "results"
    first = {name: run[0] for name, run in _study_runs(results).items()}
    assert len(first) == N_STUDIES

    # a deleted study directory: its job (and no other) reruns; its run is replaced
    shutil.rmtree(work / DELETED)
    assert _planned_tune_jobs(work) == [_chunk_of(DELETED)]
    _run(work)
    assert len(pd.read_parquet(results / "trials.parquet")) == N_STUDIES * 4
    runs = {name: run[0] for name, run in _study_runs(results).items()}
    changed = {name for name in runs if runs[name] != first[name]}
    assert changed == {"branin/random/t4/seed1"}

    # a corrupt table: one line saying what to do; doing it reruns the study
    table = work / "results/studies/rosen/tpe/t4/seed0/trials.parquet"
    table.write_bytes(b"not parquet")  # named as the rule names it: relative to the project
    broken = snakemake(work, "--cores", "2", "--configfile", "config/tiny.yaml")
    assert broken.returncode != 0
    log = (results / "logs" / "aggregate_trials.log").read_text().splitlines()
    assert len(log) == 1 and log[0].startswith(
        f"tunebench aggregate: error: {table.relative_to(work)}: not a "
    )
    assert log[0].endswith("delete it, or its study directory, and rerun: the study's files are "
                           "written again")  # fmt: skip
    table.unlink()
    assert _planned_tune_jobs(work) == [_chunk_of("results/studies/rosen/tpe/t4/seed0")]
    _run(work)
    assert len(pd.read_parquet(results / "trials.parquet")) == N_STUDIES * 4
    before = {name: run[0] for name, run in _study_runs(results).items()}

    # a copy logs into its own store; the original's is left as it was
    copy = tmp_path / "copy"
    shutil.copytree(work, copy, symlinks=True)
    shutil.rmtree(copy / DELETED)
    _run(copy)
    ours = _study_runs(copy / "results")
    assert {n for n, r in ours.items() if r[0] != before[n]} == {"branin/random/t4/seed1"}
    assert {r[1] for r in ours.values()} == {str(copy / "results")}
    assert {name: run[0] for name, run in _study_runs(results).items()} == before

    # a moved project too, and nothing is written at its old place
    moved = tmp_path / "moved"
    work.rename(moved)
    shutil.rmtree(moved / DELETED)
    _run(moved)
    runs = _study_runs(moved / "results")
    assert {n for n, r in runs.items() if r[0] != before[n]} == {"branin/random/t4/seed1"}
    assert {r[1] for r in runs.values()} == {str(moved / "results")}
    assert not work.exists()
