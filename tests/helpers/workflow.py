"""Helpers for tests that run the real Snakemake workflow in a fresh directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SMOKE_STUDY_COLUMNS = ["task", "optimizer", "budget", "seed", "trial"]


def environment(**extra: str) -> dict[str, str]:
    """The test's environment with the venv first on PATH and no stray MLflow URI."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **extra}
    if "MLFLOW_TRACKING_URI" not in extra:
        env.pop("MLFLOW_TRACKING_URI", None)
    return env


def checkout(dest: Path) -> Path:
    """A copy of the workflow files, as a user's clone would have them."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "config", "profiles", "envs"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy(src, dest / name)
    return dest


def snakemake(
    cwd: Path, *args: str, timeout: int = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run snakemake in ``cwd``; the caller asserts on the result."""
    return subprocess.run(
        ["timeout", str(timeout), str(BIN / "snakemake"), *args],
        cwd=cwd,
        env=env or environment(),
        capture_output=True,
        text=True,
    )


def sorted_trials(results: Path) -> pd.DataFrame:
    """The aggregated trial table in a stable order."""
    trials = pd.read_parquet(results / "trials.parquet")
    return trials.sort_values(SMOKE_STUDY_COLUMNS).reset_index(drop=True)


def logged_trials(client: Any, experiment_name: str) -> dict[str, int]:
    """Trials each study run holds in MLflow (child runs, or steps of its run), by run name."""
    experiment = client.get_experiment_by_name(experiment_name)
    runs = client.search_runs([experiment.experiment_id], max_results=10000)
    children: dict[str, int] = {}
    for run in runs:
        parent = run.data.tags.get("mlflow.parentRunId")
        if parent is not None:
            children[parent] = children.get(parent, 0) + 1
    counts = {}
    for run in runs:
        if run.data.tags.get("tunebench.role") != "study":
            continue
        steps = client.get_metric_history(run.info.run_id, "objective_s")
        assert not (steps and run.info.run_id in children), "trials logged both ways"
        counts[run.info.run_name] = children.get(run.info.run_id, 0) or len(steps)
    return counts
