"""Runs written straight into a SQLite store read back through MLflow's client exactly as the
runs MLflow's client writes; stores tunebench does not know go through the client."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric

from tests.helpers.studies import branin_cell
from tunebench.harness._sqlite_runs import DirectRuns, direct_store
from tunebench.harness._sqlite_store import seed_store, store_lock, template_path
from tunebench.harness.study_log import log_studies
from tunebench.harness.tracking import TrackingTarget, init_experiment, log_analysis_run
from tunebench.study import run_study

pytestmark = pytest.mark.xdist_group("mlflow")


def _store(root: Path, monkeypatch, *, direct: bool) -> TrackingTarget:
    monkeypatch.setenv("TUNEBENCH_MLFLOW_DIRECT", "1" if direct else "0")
    return init_experiment(
        "same", f"sqlite:///{root / 'mlflow.db'}", root / "artifacts", "cafe", project=root
    )


def _snapshot(target: TrackingTarget) -> dict[str, Any]:
    """What MLflow's client reads of the experiment, with run ids, the project folder and the
    times of metrics logged after the study ended (its summary, at the moment of logging) left
    out."""
    client = MlflowClient(target.tracking_uri)
    experiment = client.get_experiment(target.experiment_id)
    runs = {}
    for run in client.search_runs([target.experiment_id], max_results=1000):
        info, run_id = run.info, run.info.run_id

        def neutral(text: str, run_id: str = run_id) -> str:
            return text.replace(run_id, "RUN").replace(target.project, "PROJECT")

        history = {
            key: sorted(
                (m.step, m.value, m.timestamp if m.timestamp <= info.end_time else None)
                for m in client.get_metric_history(run_id, key)
            )
            for key in run.data.metrics
        }
        artifacts = {
            a.path: a.file_size
            for folder in (None, "figures", "stats")
            for a in client.list_artifacts(run_id, folder)
        }
        runs[info.run_name] = {
            "info": (info.status, info.start_time, info.end_time, info.lifecycle_stage),
            "user": info.user_id,
            "artifact_uri": neutral(info.artifact_uri),
            "tags": {k: neutral(v) for k, v in run.data.tags.items()},
            "params": run.data.params,
            "latest": run.data.metrics,
            "history": history,
            "artifacts": artifacts,
        }
    tags = {k: v for k, v in experiment.tags.items() if k != "tunebench.git_commit"}
    location = experiment.artifact_location.replace(target.project, "PROJECT")
    return {"experiment": (experiment.name, location, tags), "runs": runs}


def _latest_rows(target: TrackingTarget) -> set[tuple[Any, ...]]:
    """``latest_metrics`` rows (without run ids and summary times) by run name."""
    db = target.tracking_uri.removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT r.name, m.key, m.value, m.step, m.is_nan,"
            " CASE WHEN m.timestamp <= r.end_time THEN m.timestamp END"
            " FROM latest_metrics m JOIN runs r ON r.run_uuid = m.run_uuid"
        ).fetchall()
    return set(rows)


def test_direct_runs_read_back_as_the_clients(tmp_path, monkeypatch) -> None:
    studies = []
    for seed, sampler in ((0, "tpe"), (1, "random")):
        out = tmp_path / "studies" / f"seed{seed}"
        run_study(branin_cell("same", trials=12, seed=seed, sampler=sampler), out, progress=None)
        studies.append(out)
    client_target = _store(tmp_path / "client", monkeypatch, direct=False)
    log_studies(client_target, studies, progress=None)
    direct_target = _store(tmp_path / "direct", monkeypatch, direct=True)
    assert direct_store(direct_target.tracking_uri) is not None
    log_studies(direct_target, studies, progress=None)

    direct, through_client = _snapshot(direct_target), _snapshot(client_target)
    assert len(direct["runs"]) == 2
    assert direct == through_client
    assert _latest_rows(direct_target) == _latest_rows(client_target)


def test_a_direct_analysis_run_reads_back_as_the_clients(tmp_path, monkeypatch) -> None:
    (tmp_path / "cd.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "ranks.csv").write_text("optimizer,rank\ntpe,1.5\n")
    files = [tmp_path / "cd.png", tmp_path / "ranks.csv"]
    snapshots = []
    for direct in (True, False):
        target = _store(tmp_path / str(direct), monkeypatch, direct=direct)
        log_analysis_run(
            target, files, {"seeds": 3, "n_boot": 200}, {"friedman_p": 0.01}, "# Summary", "cafe"
        )
        (run,) = _snapshot(target)["runs"].values()
        run["info"] = run["info"][0], run["info"][3]  # status and stage: the times are now
        run["history"] = {k: [m[:2] for m in ms] for k, ms in run["history"].items()}
        snapshots.append(run)
    assert snapshots[0] == snapshots[1]
    assert snapshots[0]["artifacts"] == {
        "figures": None, "stats": None, "figures/cd.png": 15, "stats/ranks.csv": 23
    }  # fmt: skip
    assert snapshots[0]["tags"]["mlflow.note.content"] == "# Summary"


def test_nan_and_infinite_metrics_are_stored_as_mlflow_stores_them(tmp_path) -> None:
    target = init_experiment("odd", f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "a")
    client = MlflowClient(target.tracking_uri)
    metrics = [("nan", math.nan, 1000, 0), ("up", math.inf, 1000, 1), ("down", -math.inf, 1000, 2)]
    theirs = client.create_run(target.experiment_id).info.run_id
    client.log_batch(theirs, metrics=[Metric(*m) for m in metrics])
    ours = DirectRuns.new_run_id()
    DirectRuns(direct_store(target.tracking_uri)).log_run(
        target.experiment_id,
        run_id=ours,
        name="ours",
        tags={},
        params={},
        metrics=metrics,
        start_ms=0,
        end_ms=1,
    )
    for key, *_ in metrics:
        read = [client.get_metric_history(run, key)[0].value for run in (ours, theirs)]
        assert read[0] == read[1] or all(map(math.isnan, read)), key
    assert client.get_run(ours).data.metrics.keys() == {"nan", "up", "down"}


def test_stores_that_are_not_known_sqlite_stores_go_through_the_client(
    tmp_path, monkeypatch
) -> None:
    target = init_experiment("x", f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "a")
    assert direct_store(target.tracking_uri) == tmp_path / "mlflow.db"
    assert direct_store("http://localhost:5000") is None
    assert direct_store(f"sqlite:///{tmp_path / 'absent.db'}") is None
    monkeypatch.setenv("TUNEBENCH_MLFLOW_DIRECT", "0")
    assert direct_store(target.tracking_uri) is None
    monkeypatch.delenv("TUNEBENCH_MLFLOW_DIRECT")
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert direct_store(target.tracking_uri) is None
    monkeypatch.delenv("MLFLOW_ENABLE_WORKSPACES")
    with sqlite3.connect(tmp_path / "mlflow.db") as connection:  # run tables of another schema
        connection.execute("ALTER TABLE runs ADD COLUMN owner VARCHAR(20)")
    assert direct_store(target.tracking_uri) is None


def test_a_new_store_is_a_copy_of_the_migrated_template(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TUNEBENCH_CACHE_DIR", str(tmp_path / "cache"))
    template = template_path()
    assert template.parent == tmp_path / "cache" and not template.exists()
    first = tmp_path / "one" / "mlflow.db"
    with store_lock(first):
        assert seed_store(first)
    built = template.stat().st_mtime_ns
    second = tmp_path / "two" / "mlflow.db"
    with store_lock(second):
        assert seed_store(second) and not seed_store(second)  # a store is never replaced
    assert template.stat().st_mtime_ns == built  # built once
    assert first.read_bytes() == second.read_bytes() == template.read_bytes()
    client = MlflowClient(f"sqlite:///{second}")  # MLflow checks the schema's revision
    assert client.create_experiment("fresh")
    assert {e.name for e in client.search_experiments()} == {"Default", "fresh"}


def test_without_a_writable_cache_mlflow_creates_the_store(tmp_path, monkeypatch) -> None:
    (tmp_path / "cache").write_text("a file, not a folder")
    monkeypatch.setenv("TUNEBENCH_CACHE_DIR", str(tmp_path / "cache"))
    db = tmp_path / "store" / "mlflow.db"
    with store_lock(db):
        assert not seed_store(db) and not db.exists()
    target = init_experiment("x", f"sqlite:///{db}", tmp_path / "artifacts")
    assert MlflowClient(target.tracking_uri).get_experiment(target.experiment_id).name == "x"
