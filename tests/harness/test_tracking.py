"""MLflow records on a real SQLite store: parents, nested children, concurrency, resume."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import replace

import pandas as pd
import pytest
from mlflow import MlflowClient

import tunebench
from tests.helpers.tasks import QuadraticTask
from tunebench.cli import main
from tunebench.core.budget import Budget
from tunebench.core.config import config_hash, load_config, validate_config
from tunebench.core.matrix import StudyCell
from tunebench.frameworks import build_optimizer
from tunebench.harness.provenance import git_commit
from tunebench.harness.recorder import Recorder, StudyKey
from tunebench.harness.tracking import (
    MlflowTracker,
    TrackingTarget,
    default_tracking_uri,
    init_experiment,
    log_analysis_run,
)
from tunebench.study import run_study


@pytest.fixture
def target(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    return init_experiment("test", uri, tmp_path / "mlflow" / "artifacts")


def _cell(optimizer: str, seed: int, trials: int) -> StudyCell:
    spec = {
        "framework": optimizer.split("-")[0],
        **({"sampler": "tpe"} if optimizer.startswith("optuna") else {"algo": "tpe"}),
    }
    return StudyCell(
        experiment="test",
        task="branin",
        task_spec={"kind": "synthetic", "function": "branin"},
        optimizer=optimizer,
        optimizer_spec=spec,
        budget=f"t{trials}",
        budget_spec={"trials": trials},
        seed=seed,
    )


def _runs(target, filter_string: str = ""):
    client = MlflowClient(target.tracking_uri)
    return client.search_runs([target.experiment_id], filter_string, max_results=10000)


def test_tracking_uri_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    assert default_tracking_uri(tmp_path, "http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere.db")
    assert default_tracking_uri(tmp_path, "http://127.0.0.1:5000") == "sqlite:////elsewhere.db"


def test_init_experiment_is_idempotent(target, tmp_path):
    again = init_experiment("test", target.tracking_uri, tmp_path / "mlflow" / "artifacts")
    assert again.experiment_id == target.experiment_id


def test_trial_runs_carry_params_curves_and_status(target, tmp_path):
    task = QuadraticTask(failing=True, max_epochs=4)
    spec = {"framework": "optuna", "sampler": "random", "pruner": "successive_halving"}
    adapter = build_optimizer("o", spec)
    key = StudyKey("test", "quadratic", "o", "optuna", "random", "b", 0)
    tracker = MlflowTracker(target)
    tracker.start_study(key.label, tags={"task": "quadratic"}, params={"seed": 0})
    recorder = Recorder(
        tmp_path / "s", key, task, Budget("b", "trials", 10), tracker=tracker, progress=None
    )
    adapter.run(task, 0, recorder)
    tracker.flush()  # trial runs are logged from a background thread
    children = _runs(target, f"tags.`mlflow.parentRunId` = '{tracker.parent_run_id}'")
    assert len(children) == 10
    by_trial = {int(r.data.tags["trial"]): r for r in children}
    client = MlflowClient(target.tracking_uri)
    expected = {"complete": "FINISHED", "pruned": "KILLED", "failed": "FAILED"}
    for row in recorder.rows:
        run = by_trial[row["trial"]]
        assert run.info.status == expected[row["status"]]
        assert run.data.tags.get("error", "") == row["error"]
    assert any(row["status"] == "failed" for row in recorder.rows)
    done = next(row for row in recorder.rows if row["status"] == "complete")
    run = by_trial[done["trial"]]
    assert set(run.data.params) == {"x", "lr", "n", "width", "act"}
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [1, 2, 3, 4]
    assert run.data.metrics["value"] == pytest.approx(done["value"])
    pruned = [row for row in recorder.rows if row["status"] == "pruned"]
    assert pruned, "successive halving should stop some trials"
    for row in pruned:  # a stopped trial keeps its curve up to the stop
        history = client.get_metric_history(by_trial[row["trial"]].info.run_id, "loss")
        assert sorted(m.step for m in history) == list(range(1, row["epochs"] + 1))
        assert row["epochs"] < 4


def test_concurrent_studies_lose_nothing(target, tmp_path):
    handoff = tmp_path / "experiment.json"
    target.write(handoff)
    cells = [_cell(opt, seed, 8) for opt in ("optuna-tpe", "hyperopt-tpe") for seed in (0, 1)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tunebench.cli",
                "run-study",
                "--cell",
                cell.to_json(),
                "--out",
                str(tmp_path / f"study{i}"),
                "--mlflow",
                str(handoff),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i, cell in enumerate(cells)
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
    parents = _runs(target, "tags.`tunebench.role` = 'study'")
    assert len(parents) == 4
    children = _runs(target, "tags.trial != ''")
    assert len(children) == 4 * 8
    per_parent = Counter(r.data.tags["mlflow.parentRunId"] for r in children)
    assert set(per_parent) == {p.info.run_id for p in parents}
    assert set(per_parent.values()) == {8}
    for parent in parents:
        assert parent.info.status == "FINISHED"
        assert parent.data.metrics["n_trials"] == 8
        trials = {
            int(r.data.tags["trial"])
            for r in children
            if r.data.tags["mlflow.parentRunId"] == parent.info.run_id
        }
        assert trials == set(range(8))


def test_resumed_study_reuses_its_parent_and_adds_only_new_trials(target, tmp_path):
    out = tmp_path / "study"
    first = run_study(_cell("optuna-tpe", 0, 3), out, tracking=target, progress=None)
    second = run_study(replace(_cell("optuna-tpe", 0, 5)), out, tracking=target, progress=None)
    assert second["mlflow"]["parent_run_id"] == first["mlflow"]["parent_run_id"]
    assert second["resumed_from_trial"] == 3
    assert len(_runs(target, "tags.`tunebench.role` = 'study'")) == 1
    children = _runs(target, "tags.trial != ''")
    assert sorted(int(r.data.tags["trial"]) for r in children) == [0, 1, 2, 3, 4]
    assert len(pd.read_parquet(out / "trials.parquet")) == 5
    meta = first | second
    assert meta["versions"]["optuna"] and meta["git"].keys() == {"commit", "dirty"}


def test_changed_study_config_starts_afresh(tmp_path):
    out = tmp_path / "study"
    run_study(_cell("optuna-tpe", 0, 3), out, progress=None)
    noisy = replace(
        _cell("optuna-tpe", 0, 3),
        task_spec={"kind": "synthetic", "function": "branin", "noise_std": 1.0},
    )
    summary = run_study(noisy, out, progress=None)
    assert summary["resumed_from_trial"] == 0
    assert len(pd.read_parquet(out / "trials.parquet")) == 3


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://alice:s3cret@mlflow.lab:5000", "http://alice:***@mlflow.lab:5000"),
        ("https://mlflow.lab", "https://mlflow.lab"),
        ("sqlite:////tmp/x/mlflow.db", "sqlite:////tmp/x/mlflow.db"),
    ],
)
def test_tracking_uris_are_recorded_without_passwords(uri, shown):
    from tunebench.harness.tracking import redacted

    assert redacted(uri) == shown


def _journal_mode(target) -> str:
    import sqlite3

    db = target.tracking_uri.removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]


def test_a_local_sqlite_store_commits_in_wal_mode(target, tmp_path):
    from tunebench.harness._sqlite_store import LOCAL_FILESYSTEMS, filesystem_type

    if filesystem_type(tmp_path) not in LOCAL_FILESYSTEMS:
        pytest.skip(f"{tmp_path} is on {filesystem_type(tmp_path)}, where WAL is not used")
    assert _journal_mode(target) == "wal"


def test_wal_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEBENCH_SQLITE_WAL", "0")
    target = init_experiment("test", f"sqlite:///{tmp_path / 'off.db'}")
    assert _journal_mode(target) == "delete"


def test_filesystem_type_finds_the_longest_mount(tmp_path):
    from pathlib import Path

    from tunebench.harness._sqlite_store import filesystem_type

    if not Path("/proc/mounts").exists():
        pytest.skip("no /proc/mounts")
    mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    assert filesystem_type(Path("/")) == next(m[2] for m in reversed(mounts) if m[1] == "/")
    assert filesystem_type(Path("/proc/self")) == "proc"


def test_trials_are_logged_in_the_background_only_for_a_remote_store(target):
    assert MlflowTracker(target)._queue is None
    remote = TrackingTarget("http://127.0.0.1:9", target.experiment_id, "test")
    assert MlflowTracker(remote)._queue is not None


def test_a_background_logging_error_reaches_the_study(target):
    tracker = MlflowTracker(target, background=True)
    tracker.start_study("s", tags={}, params={})
    tracker.log_trial({"trial": 0}, [])  # not a trial-table row: the worker thread fails
    with pytest.raises(RuntimeError, match="MLflow logging failed"):
        tracker.flush()
    tracker.flush()  # reported once


def test_the_experiment_is_tagged_with_version_commit_and_config_hash(tmp_path):
    smoke = validate_config(load_config("config/smoke.yaml"))
    first = config_hash(smoke)
    assert first == config_hash(json.loads(json.dumps(smoke)))  # stable across a round trip
    out = tmp_path / "experiment.json"
    args = ["--name", "tagged", "--results", str(tmp_path), "--out", str(out)]
    assert main(["init-mlflow", "--config-hash", first, *args]) == 0
    target = TrackingTarget.read(out)
    client = MlflowClient(target.tracking_uri)
    tags = client.get_experiment(target.experiment_id).tags
    assert tags["tunebench.config_hash"] == first
    assert tags["tunebench.version"] == tunebench.__version__
    assert tags["tunebench.git_commit"].split("-")[0] == git_commit()["commit"]
    # a later run with another config reuses the experiment: its tags describe the latest run,
    # and each analysis run keeps the hash of the config it analysed
    changed = config_hash({**smoke, "seeds": 3})
    assert changed != first
    summary = tmp_path / "summary.md"
    summary.write_text("# verdict")
    run_ids = [
        log_analysis_run(target, [summary], {}, config_hash=digest) for digest in (first, changed)
    ]
    assert client.get_experiment(target.experiment_id).tags["tunebench.config_hash"] == changed
    recorded = [client.get_run(r).data.tags["tunebench.config_hash"] for r in run_ids]
    assert recorded == [first, changed]
