"""A project's MLflow store: copied or moved with the project, shared, created concurrently."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.helpers.studies import branin_cell
from tunebench.cli import main
from tunebench.harness.tracking import TrackingTarget, init_experiment, log_analysis_run
from tunebench.study import run_study

pytestmark = pytest.mark.xdist_group("mlflow")


def _study(results: Path, seed: int) -> Path:
    out = results / "studies" / f"seed{seed}"
    run_study(branin_cell("stores", trials=4, seed=seed), out, progress=None)
    return out


def _log(results: Path, *studies: Path, create: bool = False) -> dict[str, str]:
    """``tunebench log-studies`` as the workflow's log job runs it; returns its run ids."""
    handoff = results / "mlflow" / "experiment.json"
    store = ["--name", "stores", "--experiment-out", str(handoff)] if create else []
    out = results / "mlflow" / "runs.json"
    args = ["log-studies", *map(str, studies), "--results", str(results), "--out", str(out)]
    assert main([*args, *(store or ["--mlflow", str(handoff)])]) == 0
    return json.loads(out.read_text())


def _study_runs(results: Path) -> dict[str, object]:
    """The live study runs of the project's own store, by run name."""
    target = TrackingTarget.read(results / "mlflow" / "experiment.json")
    client = MlflowClient(f"sqlite:///{results / 'mlflow' / 'mlflow.db'}")
    runs = client.search_runs([target.experiment_id], "tags.`tunebench.role` = 'study'")
    names = [run.info.run_name for run in runs]
    assert len(names) == len(set(names)), f"a study logged twice: {sorted(names)}"
    return {run.info.run_name: run for run in runs}


def test_a_copied_and_a_moved_project_log_into_their_own_store(tmp_path: Path) -> None:
    original = tmp_path / "a" / "results"
    logged = _log(original, _study(original, 0), _study(original, 1), create=True)
    handoff = json.loads((original / "mlflow" / "experiment.json").read_text())
    assert handoff["tracking_uri"] == "sqlite:///mlflow.db" and handoff["relative"] is True
    assert handoff["project"] == ".."
    before = {name: run.info.run_id for name, run in _study_runs(original).items()}
    assert sorted(before.values()) == sorted(logged.values())

    shutil.copytree(tmp_path / "a", tmp_path / "b")
    copy = tmp_path / "b" / "results"
    shutil.rmtree(copy / "studies" / "seed1")  # deleted in the copy: run and logged again
    _log(copy, copy / "studies" / "seed0", _study(copy, 1), create=True)  # as the first job
    ours = _study_runs(copy)
    assert len(ours) == 2
    assert ours["branin/rs/t4/seed0"].info.run_id == before["branin/rs/t4/seed0"]  # kept
    assert ours["branin/rs/t4/seed1"].info.run_id != before["branin/rs/t4/seed1"]  # replaced
    for name, run in ours.items():
        assert run.data.tags["tunebench.project"] == str(copy)
        assert run.data.tags["tunebench.study_dir"] == str(copy / "studies" / name[-5:])
        assert run.info.artifact_uri.startswith((copy / "mlflow" / "artifacts").as_uri())
    new_run = ours["branin/rs/t4/seed1"].info.run_id
    assert (copy / "mlflow" / "artifacts" / new_run / "artifacts" / "study.json").exists()
    assert not (original / "mlflow" / "artifacts" / new_run).exists()
    theirs = _study_runs(original)  # the original's store is as it was
    assert {name: run.info.run_id for name, run in theirs.items()} == before
    assert theirs["branin/rs/t4/seed0"].data.tags["tunebench.project"] == str(original)

    (tmp_path / "a").rename(tmp_path / "moved")
    moved = tmp_path / "moved" / "results"
    studies = [moved / "studies" / "seed0", moved / "studies" / "seed1"]
    assert sorted(_log(moved, *studies).values()) == sorted(before.values())  # nothing new
    shutil.rmtree(studies[0])
    _log(moved, _study(moved, 0), studies[1])
    runs = _study_runs(moved)
    assert (
        len(runs) == 2 and runs["branin/rs/t4/seed1"].info.run_id == before["branin/rs/t4/seed1"]
    )
    assert {run.data.tags["tunebench.project"] for run in runs.values()} == {str(moved)}
    assert not (tmp_path / "a").exists()  # nothing was written at the old place


def test_every_run_carries_its_project_and_host(tmp_path: Path) -> None:
    results = tmp_path / "results"
    target = init_experiment(
        "tags", f"sqlite:///{results / 'mlflow.db'}", results / "artifacts", project=results
    )
    run_study(branin_cell("tags", trials=3), results / "study", tracking=target, progress=None)
    (results / "table.csv").write_text("a\n1\n")
    log_analysis_run(target, [results / "table.csv"], {})
    runs = MlflowClient(target.tracking_uri).search_runs([target.experiment_id])
    roles = sorted(r.data.tags.get("tunebench.role", "trial") for r in runs)
    assert roles == ["analysis", "study", "trial", "trial", "trial"]
    for run in runs:
        assert run.data.tags["tunebench.project"] == str(results.resolve())
        assert run.data.tags["tunebench.host"] == socket.gethostname()


def test_a_deleted_study_logged_live_is_replaced_not_duplicated(tmp_path: Path) -> None:
    target = init_experiment("live", f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "art")
    out = tmp_path / "study"
    first = run_study(branin_cell("live", trials=3), out, tracking=target, progress=None)
    shutil.rmtree(out)
    second = run_study(branin_cell("live", trials=3), out, tracking=target, progress=None)
    client = MlflowClient(target.tracking_uri)
    runs = client.search_runs([target.experiment_id])
    studies = [r for r in runs if r.data.tags.get("tunebench.role") == "study"]
    assert [r.info.run_id for r in studies] == [second["mlflow"]["parent_run_id"]]
    assert first["mlflow"]["parent_run_id"] != second["mlflow"]["parent_run_id"]
    assert len(runs) == 1 + 3


def test_concurrent_first_use_of_a_fresh_store_is_safe(tmp_path: Path) -> None:
    """Three projects start at once against one new SQLite store: one creates it and the
    experiment, the others wait for it and reuse both."""
    uri = f"sqlite:///{tmp_path / 'shared' / 'mlflow.db'}"
    procs = []
    for k in range(3):
        results = tmp_path / f"project{k}"
        command = [sys.executable, "-m", "tunebench.cli", "init-mlflow", "--name", "shared"]
        command += [f"--tracking-uri={uri}", "--results", str(results)]
        command += ["--out", str(results / "experiment.json")]
        procs.append(subprocess.Popen(command, stderr=subprocess.PIPE, text=True))
    errors = [proc.communicate(timeout=300)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    targets = [TrackingTarget.read(tmp_path / f"project{k}" / "experiment.json") for k in range(3)]
    assert len({t.experiment_id for t in targets}) == 1
    assert [t.project for t in targets] == [str(tmp_path / f"project{k}") for k in range(3)]
    client = MlflowClient(uri)
    assert sorted(e.name for e in client.search_experiments()) == ["Default", "shared"]
