"""Helpers for tests that run the real Snakemake workflow in a fresh directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
