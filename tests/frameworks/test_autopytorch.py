"""Auto-PyTorch in its Python 3.8 venv (``make install-autopytorch``): the install script, the
registry's report, and real studies on a scikit-learn task (a restricted space, 12 evaluations).

The studies are skipped where the venv is absent, and fail there instead where
``TUNEBENCH_REQUIRE_AUTOPYTORCH=1`` (CI builds the venv first: .ci/run).

TestAutoPyTorchContract runs the adapter contract where it applies; Auto-PyTorch searches its own
pipeline space on a data set, so every contract test that tunes the quadratic task does not,
and each skips with its reason. This module checks the same promises on Auto-PyTorch's studies:
the budget spent exactly, every evaluation a trial in the trial table, journal and MLflow,
incumbents with test scores, the same seed giving the same trials, and a killed study resuming.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import adapters_of
from tests.helpers.tasks import QuadraticTask
from tunebench.cli import main
from tunebench.core.budget import Budget
from tunebench.core.matrix import StudyCell
from tunebench.core.tables import TRIAL_COLUMNS, incumbent_flags
from tunebench.frameworks import OptimizerConfigError, build_optimizer
from tunebench.frameworks.autopytorch_adapter import (
    BUDGET_KEY,
    WORKER,
    AutoPyTorchOptimizer,
    status,
    venv_python,
)
from tunebench.harness.recorder import Recorder, StudyKey
from tunebench.harness.tracking import TrackingTarget, init_experiment
from tunebench.study import run_study

pytestmark = pytest.mark.xdist_group("autopytorch")  # one worker runs the module's one study

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-autopytorch.sh"
PINS = ROOT / "envs" / "autopytorch-py38.txt"
TRIALS = 12
# A small MLP pipeline space: one backbone, optimizer and scaler, no scheduler or preprocessor.
INCLUDE = {
    "network_backbone": ["MLPBackbone"],
    "network_embedding": ["NoEmbedding"],
    "lr_scheduler": ["NoScheduler"],
    "optimizer": ["AdamOptimizer"],
    "feature_preprocessor": ["NoFeaturePreprocessor"],
    "scaler": ["StandardScaler"],
    "trainer": ["StandardTrainer"],
}
SPEC = {
    "framework": "autopytorch",
    "min_budget": 1,
    "max_budget": 3,
    "memory_limit": None,
    "func_eval_time_limit_secs": 120,
    "total_walltime_limit": 900,
    "include_components": INCLUDE,
}
CELL = StudyCell(
    experiment="autopytorch",
    task="cancer-svc",
    task_spec={"kind": "sklearn", "model": "svc", "dataset": "breast_cancer"},
    optimizer="apt",
    optimizer_spec=SPEC,
    budget=f"t{TRIALS}",
    budget_spec={"trials": TRIALS},
    seed=0,
)


def require_autopytorch() -> None:
    """Skip unless Auto-PyTorch's venv is built; fail instead where CI requires it."""
    installed, detail = status()
    if installed:
        return
    if os.environ.get("TUNEBENCH_REQUIRE_AUTOPYTORCH") == "1":
        pytest.fail(f"TUNEBENCH_REQUIRE_AUTOPYTORCH=1 but Auto-PyTorch is {detail}")
    pytest.skip(f"Auto-PyTorch is {detail}")


# ------------------------------------------------------------------------------------------
# without the venv


def test_a_missing_venv_names_the_make_target(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AUTOPYTORCH_VENV", str(tmp_path / "none"))
    assert main(["frameworks"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("autopytorch")]
    python = tmp_path / "none" / "bin" / "python"
    assert line.split(None, 1)[1] == f"not installed (no {python}): make install-autopytorch"
    with pytest.raises(OptimizerConfigError) as error:
        build_optimizer("apt", {"framework": "autopytorch"})
    assert str(error.value) == (
        f"optimizers.apt.framework: autopytorch is not installed (no {python}): "
        "make install-autopytorch"
    )


def test_bad_hyperband_budgets_are_one_line_errors():
    with pytest.raises(OptimizerConfigError) as error:
        AutoPyTorchOptimizer(name="apt", min_budget=5, max_budget=3)
    assert str(error.value) == (
        "optimizers.apt.min_budget: must be between 1 and max_budget (3), got 5"
    )


def test_a_task_without_data_is_a_one_line_error(tmp_path):
    task = QuadraticTask()
    key = StudyKey("t", task.name, "apt", "autopytorch", "smac-hyperband", "t3", 0)
    recorder = Recorder(tmp_path, key, task, Budget("t3", "trials", 3), progress=None)
    with pytest.raises(ValueError) as error:
        AutoPyTorchOptimizer(name="apt").run(task, 0, recorder)
    assert str(error.value) == (
        "optimizers.apt: Auto-PyTorch needs a task with a data set (kind: sklearn); "
        "'quadratic' has none (optimizers.apt.tasks lists the tasks it runs on)"
    )


def _install(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    venv = tmp_path / "venv"
    return subprocess.run(
        ["bash", str(SCRIPT), str(venv), str(PINS)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def test_install_says_what_to_do_without_python_3_8(tmp_path):
    done = _install(tmp_path, AUTOPYTORCH_PYTHON=shutil.which("python3") or "python3")
    assert done.returncode == 1
    assert "no Python 3.8 found" in done.stderr and "is not 3.8" in done.stderr
    for hint in ("module load python/3.8", "conda create", "pyenv install 3.8"):
        assert hint in done.stderr
    assert "AUTOPYTORCH_PYTHON=" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_install_skips_a_venv_that_matches_the_pins(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(shutil.which("python3") or "/bin/true")
    (venv / ".constraints.sha256").write_text(hashlib.sha256(PINS.read_bytes()).hexdigest())
    done = _install(tmp_path, AUTOPYTORCH_PYTHON="/nonexistent/python3.8")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{venv} matches {PINS}: nothing to do"
    (venv / ".constraints.sha256").write_text("another pin set\n")
    done = _install(tmp_path, AUTOPYTORCH_PYTHON="/nonexistent/python3.8")
    assert done.returncode == 1 and "no Python 3.8 found" in done.stderr  # rebuilds


# ------------------------------------------------------------------------------------------
# the contract


class TestAutoPyTorchContract(AdapterContract):
    """The contract's tests tune the quadratic task, which Auto-PyTorch cannot: it searches its
    own pipeline space on a data set. Its promises are checked on real studies below."""

    @pytest.fixture(params=adapters_of("autopytorch"))
    def optimizer(self, request: pytest.FixtureRequest) -> str:
        pytest.skip(
            "Auto-PyTorch tunes its own pipeline space on a data set, not the contract's "
            "quadratic task: tests/frameworks/test_autopytorch.py checks the contract's promises "
            "on Auto-PyTorch studies"
        )


# ------------------------------------------------------------------------------------------
# real studies


def test_the_worker_is_python_3_8_code():
    require_autopytorch()
    done = subprocess.run(
        [str(venv_python()), "-c", f"import ast; ast.parse(open({str(WORKER)!r}).read())"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrackingTarget]:
    """One Auto-PyTorch study of :data:`CELL`, tracked in a real MLflow store."""
    require_autopytorch()
    root = tmp_path_factory.mktemp("autopytorch")
    target = init_experiment("autopytorch", f"sqlite:///{root / 'mlflow.db'}", root / "art")
    run_study(CELL, root / "study", tracking=target, progress=None)
    return root / "study", target


def test_every_evaluation_is_a_trial(study):
    out, _ = study
    trials = pd.read_parquet(out / "trials.parquet")
    assert list(trials.columns) == list(TRIAL_COLUMNS)
    assert trials["trial"].tolist() == list(range(TRIALS))  # runcount_limit: exactly the budget
    assert trials["cum_trials"].tolist() == list(range(1, TRIALS + 1))
    params = [json.loads(p) for p in trials["params"]]
    budgets = [p[BUDGET_KEY] for p in params]
    assert set(budgets) == {1, 3}  # Hyperband over epochs 1..3 (eta 3)
    assert all(p["network_backbone:__choice__"] == "MLPBackbone" for p in params)
    ok = trials["status"] != "failed"
    assert ok.any()
    assert (trials.loc[ok, "epochs"] == pd.Series(budgets)[ok]).all()
    assert trials["epochs"].cumsum().tolist() == trials["cum_epochs"].tolist()
    expected = ["complete" if b == 3 else "pruned" for b in budgets]
    assert trials.loc[ok, "status"].tolist() == [s for s, o in zip(expected, ok, strict=True) if o]
    assert trials.loc[ok, "value"].between(0, 1).all()
    assert trials["cum_seconds"].is_monotonic_increasing
    assert (trials["objective_s"] > 0).all() and (trials["optimizer_s"] >= 0).all()
    assert trials["t_start"].is_monotonic_increasing
    assert not (out / "autopytorch").exists()  # Auto-PyTorch's folders are gone


def test_incumbents_get_their_test_scores(study):
    out, _ = study
    trials = pd.read_parquet(out / "trials.parquet")
    flags = incumbent_flags(trials["value"].tolist(), trials["status"].tolist(), "maximize")
    assert trials["test_value"].notna().tolist() == flags and any(flags)
    assert trials.loc[flags, "test_value"].between(0.5, 1).all()
    meta = json.loads((out / "study.json").read_text())
    assert meta["results"]["test_value"] == trials.loc[flags, "test_value"].iloc[-1]


def test_trial_table_journal_and_mlflow_agree(study):
    out, target = study
    trials = pd.read_parquet(out / "trials.parquet")
    lines = (out / "journal.jsonl").read_text().splitlines()
    journal = pd.DataFrame([json.loads(line) for line in lines])
    cols = ["trial", "status", "params", "value", "t_start", "epochs", "cum_seconds"]
    pd.testing.assert_frame_equal(journal[cols], trials[cols])
    client = MlflowClient(target.tracking_uri)
    meta = json.loads((out / "study.json").read_text())
    parent = meta["mlflow"]["parent_run_id"]
    children = client.search_runs(
        [target.experiment_id], f"tags.`mlflow.parentRunId` = '{parent}'", max_results=100
    )
    logged = {int(r.data.tags["trial"]): r for r in children}
    assert sorted(logged) == trials["trial"].tolist()  # each trial logged once
    for row in trials.itertuples():
        run = logged[row.trial]
        assert run.data.tags["status"] == row.status
        params = json.loads(row.params)  # MLflow holds them as JSON text
        assert run.data.params == {
            k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()
        }
        assert run.data.metrics["epochs"] == row.epochs
        if row.status != "failed":
            assert run.data.metrics["value"] == pytest.approx(row.value)
    assert client.get_run(parent).data.tags["framework"] == "autopytorch"


def test_a_killed_study_replays_its_search_and_ends_as_if_never_stopped(study, tmp_path):
    """Same seed, same trials budget: the rerun's search repeats the first (measured: three
    studies of 12 evaluations identical), so the journaled trials are checked, not recorded
    twice. The rerun is also cut to 6 trials (a smaller budget keeps the journal): it must end
    as the first 6 trials of the uninterrupted study."""
    out, _ = study
    original = pd.read_parquet(out / "trials.parquet").head(6)
    killed = tmp_path / "killed"
    shutil.copytree(out, killed)
    lines = (killed / "journal.jsonl").read_text().splitlines(keepends=True)
    (killed / "journal.jsonl").write_text("".join(lines[:3]))  # killed during trial 3
    for path in killed.iterdir():  # what a study killed then holds: its cell and journal
        if path.name not in ("cell.json", "journal.jsonl"):
            path.unlink()
    run_study(replace(CELL, budget="t6", budget_spec={"trials": 6}), killed, progress=None)
    resumed = pd.read_parquet(killed / "trials.parquet")
    assert resumed["trial"].tolist() == list(range(6))
    assert resumed["params"].tolist() == original["params"].tolist()
    cols = ["status", "value", "t_start"]
    pd.testing.assert_frame_equal(resumed[cols].head(3), original[cols].head(3))  # kept as were
    assert (resumed["t_start"].iloc[3:] > original["t_end"].max()).all()  # the rest ran again
    assert resumed["value"].tolist() == original["value"].tolist()
    assert not (killed / "autopytorch").exists()
