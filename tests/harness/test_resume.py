"""A study killed with SIGKILL mid-trial and run again keeps every finished trial, once, in the
trial table and in MLflow, runs the interrupted one again as its second attempt, and ends where an
uninterrupted study ends (Optuna and Hyperopt re-seed
exactly; Ax does when its last snapshot is current, which it skips while snapshots would cost
more than a quarter of the trial time: see the adapters)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tunebench.core.matrix import StudyCell
from tunebench.harness.attempts import ATTEMPTS
from tunebench.harness.tracking import init_experiment

TRIALS = 24
OPTIMIZERS = {
    "optuna-tpe": {
        "framework": "optuna",
        "sampler": "tpe",
        "sampler_options": {"n_startup_trials": 4},
    },
    "hyperopt-tpe": {"framework": "hyperopt", "algo": "tpe"},
    "ax-sobol": {"framework": "ax", "method": "sobol"},
}
EXACT = {"optuna-tpe", "hyperopt-tpe"}
"""Optimizers whose resumed study provably proposes what an uninterrupted one would."""


def _cell(optimizer: str) -> StudyCell:
    return StudyCell(
        experiment="resume",
        task="cancer-gboost",
        task_spec={"kind": "sklearn", "model": "gboost", "dataset": "breast_cancer"},
        optimizer=optimizer,
        optimizer_spec=OPTIMIZERS[optimizer],
        budget=f"t{TRIALS}",
        budget_spec={"trials": TRIALS},
        seed=0,
    )


def _command(cell: StudyCell, out: Path, handoff: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tunebench.cli",
        "run-study",
        "--cell",
        cell.to_json(),
        "--out",
        str(out),
        "--mlflow",
        str(handoff),
    ]


def _journal_lines(out: Path, name: str = "journal.jsonl") -> int:
    journal = out / name
    return journal.read_text().count("\n") if journal.exists() else 0


def _mid_trial(out: Path) -> bool:
    """Whether trial 6 or a later one is running (started, not yet recorded)."""
    done = _journal_lines(out)
    return done >= 6 and _journal_lines(out, ATTEMPTS) > done


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_killed_study_resumes_without_losing_or_repeating_trials(optimizer, tmp_path):
    target = init_experiment("resume", f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "art")
    handoff = tmp_path / "experiment.json"
    target.write(handoff)
    cell, out = _cell(optimizer), tmp_path / "killed"

    proc = subprocess.Popen(
        _command(cell, out, handoff),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while not _mid_trial(out) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before_kill = _journal_lines(out)
    assert 6 <= done_before_kill < TRIALS, "the kill should land mid-study"
    before = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]

    rerun = subprocess.run(_command(cell, out, handoff), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = pd.read_parquet(out / "trials.parquet")
    assert after["trial"].tolist() == list(range(TRIALS))
    assert after["attempt"].tolist() == [2 if t == done_before_kill else 1 for t in range(TRIALS)]
    for row in before:  # finished trials are kept as they were, not re-run
        kept = after[after["trial"] == row["trial"]].iloc[0]
        assert kept["params"] == row["params"] and kept["t_start"] == row["t_start"]

    straight = tmp_path / "straight"
    subprocess.run(_command(cell, straight, handoff), check=True, capture_output=True)
    uninterrupted = pd.read_parquet(straight / "trials.parquet")
    assert after["params"].nunique() == TRIALS  # nothing proposed twice
    if optimizer in EXACT:
        assert after["params"].tolist() == uninterrupted["params"].tolist()
        assert after["value"].tolist() == pytest.approx(uninterrupted["value"].tolist())
    else:
        head = slice(0, done_before_kill)
        assert after["params"].tolist()[head] == uninterrupted["params"].tolist()[head]

    client = MlflowClient(target.tracking_uri)
    meta = json.loads((out / "study.json").read_text())
    children = client.search_runs(
        [target.experiment_id],
        f"tags.`mlflow.parentRunId` = '{meta['mlflow']['parent_run_id']}'",
        max_results=1000,
    )
    trials = sorted(int(r.data.tags["trial"]) for r in children)
    assert trials == list(range(TRIALS))  # each trial logged once
    attempts = {int(r.data.tags["trial"]): r.data.tags.get("attempt") for r in children}
    assert attempts == {t: "2" if t == done_before_kill else None for t in range(TRIALS)}
    assert {r.info.status for r in children} == {"FINISHED"}
