"""MLflow logging after tuning: every finished study once, every trial once, kills included."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.helpers.studies import branin_cell
from tunebench.core.matrix import StudyCell
from tunebench.harness._sqlite_runs import direct_store
from tunebench.harness.datasets import dataset_inputs
from tunebench.harness.study_log import MARKER, log_studies, trials_mode
from tunebench.harness.tracking import MlflowTracker, TrackingTarget, init_experiment
from tunebench.study import run_study

pytestmark = pytest.mark.xdist_group("mlflow")


def _cell(seed: int, trials: int = 8) -> StudyCell:
    return branin_cell("log", trials=trials, seed=seed)


@pytest.fixture(params=["direct", "client"])
def target(request, tmp_path: Path, monkeypatch) -> TrackingTarget:
    """A new SQLite store, written straight (``direct``) or through MLflow's client."""
    monkeypatch.setenv("TUNEBENCH_MLFLOW_DIRECT", "1" if request.param == "direct" else "0")
    target = init_experiment("log", f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")
    assert (direct_store(target.tracking_uri) is not None) == (request.param == "direct")
    return target


def _studies(tmp_path: Path, seeds=(0, 1, 2), trials: int = 8) -> list[Path]:
    dirs = []
    for seed in seeds:
        out = tmp_path / "studies" / f"seed{seed}"
        run_study(_cell(seed, trials), out, progress=None)
        dirs.append(out)
    return dirs


def _study_runs(target: TrackingTarget) -> list:
    client = MlflowClient(target.tracking_uri)
    runs = client.search_runs([target.experiment_id], max_results=5000)
    return [r for r in runs if r.data.tags.get("tunebench.role") == "study"]


def _logged_trials(target: TrackingTarget, run) -> list[int]:
    """The trial numbers a study run holds: its children's, or its steps'."""
    client = MlflowClient(target.tracking_uri)
    children = client.search_runs(
        [target.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{run.info.run_id}'"
    )
    if children:
        return sorted(int(c.data.tags["trial"]) for c in children)
    return sorted(m.step for m in client.get_metric_history(run.info.run_id, "objective_s"))


def test_trials_mode_by_task_kind() -> None:
    assert trials_mode("auto", "synthetic") == "steps"
    assert trials_mode("auto", "torch") == trials_mode("auto", "sklearn") == "nested"
    assert trials_mode("nested", "synthetic") == "nested"
    with pytest.raises(ValueError, match=r"mlflow\.trials"):
        trials_mode("flat", "synthetic")


def test_every_study_and_trial_once_and_a_rerun_logs_nothing(tmp_path, target) -> None:
    dirs = _studies(tmp_path)
    runs = log_studies(target, dirs, progress=None)
    study_runs = _study_runs(target)
    assert sorted(r.info.run_id for r in study_runs) == sorted(runs.values())
    client = MlflowClient(target.tracking_uri)
    for run in study_runs:
        assert run.info.status == "FINISHED"
        assert _logged_trials(target, run) == list(range(8))
        table = pd.read_parquet(Path(run.data.tags["tunebench.study_dir"]) / "trials.parquet")
        best = [m.value for m in client.get_metric_history(run.info.run_id, "best_value")]
        assert best == table["value"].cummin().tolist()  # the anytime curve, minimising
        assert {a.path for a in client.list_artifacts(run.info.run_id)} == {
            "study.json", "trials.parquet"
        }  # fmt: skip
        assert run.data.params["optimizer.sampler"] == "random"
        assert run.data.tags["version.optuna"] and run.data.tags["version.tunebench"]
    assert log_studies(target, dirs, progress=None) == runs
    assert len(_study_runs(target)) == 3
    experiment = client.get_experiment(target.experiment_id)
    assert "every study" in experiment.tags["mlflow.note.content"]


def test_nested_trials_are_child_runs(tmp_path, target) -> None:
    dirs = _studies(tmp_path, seeds=(0,))
    log_studies(target, dirs, trials="nested", progress=None)
    (run,) = _study_runs(target)
    assert _logged_trials(target, run) == list(range(8))
    best = MlflowClient(target.tracking_uri).get_metric_history(run.info.run_id, "best_value")
    table = pd.read_parquet(dirs[0] / "trials.parquet")
    assert [m.value for m in best] == table["value"].cummin().tolist()  # charted on the study


def test_a_rerun_study_replaces_its_run(tmp_path, target) -> None:
    (study,) = _studies(tmp_path, seeds=(0,))
    first = log_studies(target, [study], progress=None)[str(study)]
    run_study(_cell(0, trials=12), study, progress=None)  # extended: 4 more trials
    second = log_studies(target, [study], progress=None)[str(study)]
    (run,) = _study_runs(target)
    assert run.info.run_id == second != first
    assert _logged_trials(target, run) == list(range(12))


def test_a_killed_log_job_leaves_every_trial_once_after_the_rerun(
    tmp_path, target, monkeypatch
) -> None:
    dirs = _studies(tmp_path)
    calls = {"n": 0}
    if direct_store(target.tracking_uri) is not None:  # killed while copying an artifact
        owner, name = shutil, "copy2"

        def killed_on_second_study(*args, **options):
            calls["n"] += 1
            if calls["n"] == 3:  # the second study's first artifact (two a study)
                raise KeyboardInterrupt
            return real(*args, **options)

    else:
        owner, name = MlflowTracker, "log_trial_steps"

        def killed_on_second_study(self, rows, **options):
            calls["n"] += 1
            if calls["n"] == 2:
                real(self, rows[:3], **options)  # half of the study's trials reach the store
                raise KeyboardInterrupt
            real(self, rows, **options)

    real = getattr(owner, name)
    monkeypatch.setattr(owner, name, killed_on_second_study)
    with pytest.raises(KeyboardInterrupt):
        log_studies(target, dirs, progress=None)
    assert json.loads((dirs[1] / MARKER).read_text())["complete"] is False
    if owner is shutil:  # one transaction a run: the killed study's run is not in the store
        assert len(_study_runs(target)) == 1
    monkeypatch.setattr(owner, name, real)
    log_studies(target, dirs, progress=None)
    study_runs = _study_runs(target)
    assert len(study_runs) == 3
    assert sorted(r.data.tags["tunebench.study_dir"] for r in study_runs) == sorted(
        str(d.resolve()) for d in dirs
    )
    for run in study_runs:
        assert _logged_trials(target, run) == list(range(8))


def test_a_run_without_marker_is_found_by_its_tag_and_replaced(tmp_path, target) -> None:
    """A job killed between creating the run and writing the marker leaves an orphan run."""
    (study,) = _studies(tmp_path, seeds=(0,))
    log_studies(target, [study], progress=None)
    (study / MARKER).unlink()
    log_studies(target, [study], progress=None)
    (run,) = _study_runs(target)
    assert _logged_trials(target, run) == list(range(8))


def test_a_sklearn_study_has_its_data_set_as_inputs_and_a_synthetic_one_none(
    tmp_path, target
) -> None:
    svc = replace(
        _cell(0, trials=2),
        task="cancer-svc",
        task_spec={"kind": "sklearn", "model": "svc", "dataset": "breast_cancer"},
    )
    dirs = [tmp_path / "svc", tmp_path / "branin"]
    run_study(svc, dirs[0], progress=None)
    run_study(_cell(0, trials=2), dirs[1], progress=None)
    runs = log_studies(target, dirs, progress=None)
    client = MlflowClient(target.tracking_uri)
    inputs = client.get_run(runs[str(dirs[0])]).inputs.dataset_inputs
    contexts = {i.tags[0].value: i.dataset for i in inputs}
    assert sorted(contexts) == ["test", "training", "validation"]
    assert {d.name for d in contexts.values()} == {"breast_cancer"}
    assert len({d.digest for d in contexts.values()}) == 3  # three different sets of rows
    rows = {c: json.loads(d.profile)["features_shape"][0] for c, d in contexts.items()}
    assert sum(rows.values()) == 569 and rows["test"] == 143  # test_size 0.25, stratified
    source = json.loads(contexts["test"].source)["tags"]
    assert source["tunebench.loader"] == "sklearn.datasets.load_breast_cancer"
    assert json.loads(source["tunebench.split"])["split_seed"] == 0
    assert client.get_run(runs[str(dirs[1])]).inputs.dataset_inputs == []
    live = run_study(svc, tmp_path / "live", tracking=target, progress=None)  # logging: live
    live_inputs = client.get_run(live["mlflow"]["parent_run_id"]).inputs.dataset_inputs
    assert sorted(i.dataset.digest for i in live_inputs) == sorted(
        d.digest for d in contexts.values()
    )


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "synthetic", "function": "branin"},
        {"kind": "bbob", "function": 1, "dimension": 2},
        {"kind": "tabular-benchmark", "benchmark": "hpobench", "dataset": "australian"},
        {"kind": "bayesmark", "model": "kNN", "dataset": "iris", "metric": "acc"},
    ],
)
def test_tasks_without_a_split_data_set_have_no_inputs(spec: dict) -> None:
    assert dataset_inputs(spec) == []
