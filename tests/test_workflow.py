"""End to end: the real Snakemake workflow on the smoke config, in a fresh directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
ENV.pop("MLFLOW_TRACKING_URI", None)


def _checkout(dest: Path) -> Path:
    """A copy of the workflow files, as a user's clone would have them."""
    for name in ("Snakefile", "workflow", "config", "profiles", "envs"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy(src, dest / name)
    return dest


def _snakemake(cwd: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "snakemake"), *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_smoke_workflow_end_to_end(tmp_path):
    work = _checkout(tmp_path)
    config = yaml.safe_load((work / "config" / "smoke.yaml").read_text())
    n_studies = len(config["tasks"]) * len(config["optimizers"]) * config["seeds"]
    n_trials = config["budgets"]["t6"]["trials"]

    run = _snakemake(
        work, "--cores", "2", "--configfile", "config/smoke.yaml", "--scheduler", "greedy"
    )
    assert run.returncode == 0, run.stderr[-4000:]

    results = work / "results"
    for name in (
        "trials.parquet",
        "curves.parquet",
        "stats/pairwise.csv",
        "stats/friedman.csv",
        "stats/ranks.csv",
        "stats/scores.csv",
        "stats/family.json",
        "figures/anytime.png",
        "figures/test_scores.png",
        "figures/ranks.png",
    ):
        assert (results / name).stat().st_size > 0, name

    trials = pd.read_parquet(results / "trials.parquet")
    assert len(trials) == n_studies * n_trials
    per_study = trials.groupby(["task", "optimizer", "seed"]).size()
    assert len(per_study) == n_studies and set(per_study) == {n_trials}
    assert set(trials["status"]) <= {"complete", "pruned", "failed"}
    curves = pd.read_parquet(results / "curves.parquet")
    mlp = trials[trials["task"] == "digits-mlp"]
    assert len(curves[curves["task"] == "digits-mlp"]) == mlp["epochs"].sum() > 0

    scores = pd.read_csv(results / "stats" / "scores.csv")
    assert len(scores) == n_studies and scores["test_value"].notna().all()
    pairwise = pd.read_csv(results / "stats" / "pairwise.csv")
    assert len(pairwise) == 3 and set(pairwise["method"]) == {"holm"}

    study = json.loads(next(results.glob("studies/*/*/*/seed0/study.json")).read_text())
    assert study["versions"]["mlflow"] and "commit" in study["git"] and study["host"]

    client = MlflowClient(f"sqlite:///{results / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("smoke")
    runs = client.search_runs([experiment.experiment_id], max_results=10000)
    parents = [r for r in runs if r.data.tags.get("tunebench.role") == "study"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == n_studies
    assert len(children) == n_studies * n_trials
    (analysis,) = [r for r in runs if r.data.tags.get("tunebench.role") == "analysis"]
    logged = {
        f.path
        for folder in ("stats", "figures")
        for f in client.list_artifacts(analysis.info.run_id, folder)
    }
    assert {"stats/pairwise.csv", "figures/anytime.png"} <= logged

    report = _snakemake(
        work, "--configfile", "config/smoke.yaml", "--report", "results/report.html"
    )
    assert report.returncode == 0, report.stderr[-3000:]
    assert (results / "report.html").stat().st_size > 10_000

    again = _snakemake(work, "-n", "--configfile", "config/smoke.yaml")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_bad_config_stops_the_workflow_before_any_job(tmp_path):
    work = _checkout(tmp_path)
    bad = yaml.safe_load((work / "config" / "smoke.yaml").read_text())
    bad["tasks"]["branin"]["space"] = {"x0": {"type": "float", "low": 3.0, "high": 1.0}}
    (work / "config" / "bad.yaml").write_text(yaml.safe_dump(bad))
    run = _snakemake(work, "--cores", "1", "--configfile", "config/bad.yaml", timeout=120)
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if "invalid config" in line]
    assert lines == [
        "tunebench: invalid config: tasks.branin.space.x0: low=3.0 must be < high=1.0"
    ]
    assert not (work / "results").exists()


def test_workflow_lints_clean():
    run = _snakemake(ROOT, "--lint", timeout=120)
    assert run.returncode == 0 and "Lints for" not in run.stdout + run.stderr
