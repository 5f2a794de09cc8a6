"""The scikit-learn adapter: the contract, grids, random draws and the estimator path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import adapters_of, params_of, run_quadratic
from tests.helpers.tasks import MIXED_SPACE, AlwaysFails
from tunebench.core.budget import Budget
from tunebench.core.space import SearchSpace
from tunebench.frameworks import OptimizerConfigError, build_optimizer
from tunebench.harness.recorder import Recorder, StudyKey


class TestSklearnContract(AdapterContract):
    @pytest.fixture(params=adapters_of("sklearn"))
    def optimizer(self, request: pytest.FixtureRequest) -> str:
        return request.param


def _cancer_svc(**spec):
    from tunebench.tasks import build_task

    return build_task(
        "cancer-svc", {"kind": "sklearn", "model": "svc", "dataset": "breast_cancer", **spec}
    )


def test_sklearn_grid_values():
    from tunebench.core.space import CategoricalParam, FloatParam, IntParam
    from tunebench.frameworks.sklearn_adapter import grid_values

    assert grid_values(FloatParam("a", -1.0, 1.0), 3) == [-1.0, 0.0, 1.0]
    assert grid_values(FloatParam("a", 1e-4, 1.0, log=True), 5) == pytest.approx(
        [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    )
    assert grid_values(IntParam("n", 1, 3), 5) == [1, 2, 3]  # rounded, deduplicated
    assert grid_values(IntParam("w", 4, 256, log=True), 4) == [4, 16, 64, 256]
    assert grid_values(CategoricalParam("c", ("a", "b")), 7) == ["a", "b"]
    for values in (grid_values(IntParam("n", 1, 3), 5), grid_values(FloatParam("a", 0, 1), 2)):
        assert len({type(v) for v in values}) == 1 and type(values[0]) in (int, float)


def test_sklearn_random_draws_respect_type_and_domain():
    from sklearn.model_selection import ParameterSampler

    from tunebench.frameworks.sklearn_adapter import to_distributions

    space = SearchSpace.from_config(MIXED_SPACE)
    samples = list(ParameterSampler(to_distributions(space), n_iter=3000, random_state=0))
    for sample in samples:
        space.check(sample)
    assert {s["n"] for s in samples} == set(range(1, 7))
    widths = [s["width"] for s in samples]
    assert min(widths) == 4 and max(widths) == 256  # both log-int bounds are reachable
    assert np.median(widths) == pytest.approx(32, rel=0.25)  # log-uniform: median ~ sqrt(4*256)
    assert {s["act"] for s in samples} == {"relu", "tanh", "gelu"}


def test_sklearn_grid_is_sized_to_the_budget_and_ends_when_done(tmp_path):
    from tunebench.frameworks.sklearn_adapter import grid_candidates

    space = SearchSpace.from_config(MIXED_SPACE)
    trials = run_quadratic("sklearn-grid", tmp_path / "a", trials=14)
    assert params_of(trials) == grid_candidates(space, 2)[:14]  # 2 points: 48 >= 14
    spec = {"framework": "sklearn", "search": "grid", "grid_points": 2}
    whole = run_quadratic("sklearn-grid", tmp_path / "b", trials=60, spec=spec)
    assert len(whole) == 48 and len(set(whole["params"])) == 48
    from tunebench.frameworks.sklearn_adapter import _auto_points, _grid_size

    ints = SearchSpace.from_config(
        {
            "n": {"type": "int", "low": 1, "high": 3},
            "c": {"type": "categorical", "choices": [0, 1]},
        }
    )
    assert _auto_points(ints, 50) == 3 and _grid_size(ints, 3) == 6  # every value, then stop


@pytest.mark.parametrize("search", ["grid", "random", "halving"])
@pytest.mark.parametrize("validation", ["holdout", "cv"])
def test_sklearn_estimator_path_on_a_real_task(search, validation, tmp_path):
    from sklearn.model_selection import ParameterSampler

    from tunebench.frameworks.sklearn_adapter import grid_candidates, to_distributions

    task = _cancer_svc(validation=validation, cv_folds=3)
    trials = run_quadratic(f"sklearn-{search}", tmp_path, task=task, trials=9, seed=2)
    assert len(trials) == 9 and trials["trial"].tolist() == list(range(9))
    params = params_of(trials)
    for p in params:
        task.space.check(p)
    if search == "grid":
        assert params == grid_candidates(task.space, 3)[:9]  # 3 x 3 x 1 = 9 points
    else:
        draws = ParameterSampler(to_distributions(task.space), n_iter=9, random_state=2)
        assert params == [{k: d[k] for k in task.space.names} for d in draws]
    done = trials[trials["status"] != "failed"]
    assert len(done) == 9 and done["value"].between(0, 1).all()
    assert (trials["objective_s"] > 0).all() and (trials["optimizer_s"] >= 0).all()
    assert trials["t_start"].is_monotonic_increasing
    if search == "halving":
        assert {"complete", "pruned"} == set(trials["status"])
        curves = pd.read_parquet(tmp_path / "curves.parquet")
        assert curves.groupby("trial")["n_resources"].max().nunique() > 1
    else:
        assert (trials["status"] == "complete").all()
        for p, value in zip(params[:3], trials["value"][:3], strict=True):
            assert value == pytest.approx(task.evaluate(p, 0, None))  # the task's own folds
    scored = trials[trials["test_value"].notna()]
    assert len(scored) >= 1 and scored["test_value"].between(0, 1).all()
    assert scored["trial"].iloc[0] == trials.loc[trials["status"] == "complete", "trial"].iloc[0]


@pytest.mark.parametrize("search", ["grid", "random"])
def test_sklearn_estimator_path_records_failures(search, tmp_path):
    task = _cancer_svc(space={"C": {"type": "float", "low": -1.0, "high": 1.0}})
    trials = run_quadratic(f"sklearn-{search}", tmp_path, task=task, trials=6)
    cs = np.array([p["C"] for p in params_of(trials)])
    failed = trials["status"].to_numpy() == "failed"
    assert failed.any() and (failed == (cs <= 0)).all()
    assert trials.loc[failed, "value"].isna().all()
    assert all(
        e.startswith("InvalidParameterError: The 'C' parameter of SVC")
        for e in trials.loc[failed, "error"]
    )
    assert (trials.loc[~failed, "error"] == "").all()
    bad = _cancer_svc(space={"C": {"type": "float", "low": -2.0, "high": -1.0}})
    trials = run_quadratic(f"sklearn-{search}", tmp_path / "all", task=bad, trials=3)
    assert trials["status"].tolist() == ["failed"] * 3
    assert trials["error"].str.startswith("InvalidParameterError").all()


def test_sklearn_estimator_path_resumes_its_stream(tmp_path):
    task = _cancer_svc()
    whole = run_quadratic("sklearn-random", tmp_path / "w", task=task, trials=6)
    run_quadratic("sklearn-random", tmp_path / "r", task=task, trials=3)
    resumed = run_quadratic("sklearn-random", tmp_path / "r", task=task, trials=6)
    assert params_of(resumed) == params_of(whole)


def test_sklearn_estimator_path_seconds_budget_and_resource(tmp_path):
    from tunebench.tasks import build_task

    task = _cancer_svc()
    trials = run_quadratic(
        "sklearn-random", tmp_path / "s", task=task, budget=Budget("s", "seconds", 0.3)
    )
    assert trials["cum_seconds"].iloc[-1] >= 0.3 > trials["cum_seconds"].iloc[-2]
    gboost = build_task(
        "g",
        {
            "kind": "sklearn",
            "model": "gboost",
            "dataset": "breast_cancer",
            "space": {"learning_rate": {"type": "float", "low": 0.01, "high": 0.5, "log": True}},
        },
    )
    spec = {
        "framework": "sklearn",
        "search": "halving",
        "resource": "max_iter",
        "max_resources": 27,
    }
    trials = run_quadratic("sklearn-halving", tmp_path / "h", task=gboost, spec=spec, trials=9)
    curves = pd.read_parquet(tmp_path / "h" / "curves.parquet")
    assert sorted(curves["n_resources"].unique()) == [3.0, 9.0, 27.0]
    assert (trials["status"] == "complete").sum() == 1
    with pytest.raises(ValueError, match="an epochs budget needs a task that trains in epochs"):
        run_quadratic("sklearn-random", tmp_path / "e", task=task, budget=Budget("e", "epochs", 5))
    with pytest.raises(OptimizerConfigError, match="max_resources: required"):
        build_optimizer("o", {"framework": "sklearn", "search": "halving", "resource": "max_iter"})


@pytest.mark.parametrize(
    ("search", "options"),
    [("random", {}), ("halving", {"resource": "max_iter", "max_resources": 40, "factor": 2})],
)
def test_sklearn_estimator_path_charges_the_epochs_it_trains(search, options, tmp_path):
    from tunebench.tasks import build_task

    spec = {"kind": "sklearn", "model": "gboost", "dataset": "breast_cancer", "max_epochs": 4}
    task = build_task("gb", spec)
    adapter = build_optimizer("s", {"framework": "sklearn", "search": search, **options})
    key = StudyKey("t", task.name, "s", "sklearn", adapter.algorithm, "b", 0)
    recorder = Recorder(tmp_path, key, task, Budget("b", "trials", 6), progress=None)
    adapter.run(task, 0, recorder)
    recorder.finalize()
    trials = pd.read_parquet(tmp_path / "trials.parquet")
    if search == "random":
        assert (trials["epochs"] == 4).all()
    else:  # each rung refits with n_resources rounds: 10 rounds an epoch
        curves = pd.read_parquet(tmp_path / "curves.parquet")
        rounds = curves.groupby("trial")["n_resources"].apply(lambda r: sum(-(-r // 10)))
        assert trials.set_index("trial")["epochs"].equals(rounds.astype(int).rename("epochs"))
        assert (trials["status"] == "pruned").any()
    assert trials["cum_epochs"].iloc[-1] == trials["epochs"].sum()


def test_sklearn_epochs_budget_on_a_sklearn_task_is_exact(tmp_path):
    from tunebench.tasks import build_task

    spec = {"kind": "sklearn", "model": "sgd", "dataset": "breast_cancer", "max_epochs": 5}
    task = build_task("sgd", spec)
    adapter = build_optimizer("s", {"framework": "sklearn", "search": "random"})
    key = StudyKey("t", task.name, "s", "sklearn", adapter.algorithm, "e", 0)
    recorder = Recorder(tmp_path, key, task, Budget("e", "epochs", 12), progress=None)
    adapter.run(task, 0, recorder)
    recorder.finalize()
    trials = pd.read_parquet(tmp_path / "trials.parquet")
    assert trials["epochs"].tolist() == [5, 5, 2]
    assert trials["status"].tolist() == ["complete", "complete", "pruned"]


@pytest.mark.parametrize("optimizer", ["sklearn-grid", "sklearn-random"])
def test_all_failed_study_completes(optimizer, tmp_path):
    trials = run_quadratic(optimizer, tmp_path, trials=4, task=AlwaysFails())
    assert trials["status"].tolist() == ["failed"] * 4
    assert (trials["error"] == "ValueError: diverged").all()
