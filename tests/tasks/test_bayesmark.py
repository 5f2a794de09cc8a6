"""Bayesmark's problems: spaces, names, errors, the suite selection, determinism, and exactness
against a bare scikit-learn loop written here from Bayesmark's ``sklearn_funcs.py``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.helpers.studies import suite_cell
from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.harness.trial import trial_seed
from tunebench.study import run_study
from tunebench.tasks import SPEC_KEYS, TASK_KINDS, build_task
from tunebench.tasks.bayesmark import DATASETS, METRICS, MODELS, SPACES, suite_tasks

# Bayesmark's api_config per model, copied from bayesmark/sklearn_funcs.py (v0.0.8).
_KNN = {"n_neighbors": ("int", "linear", (1, 25)), "p": ("int", "linear", (1, 4))}
_SVM = {
    "C": ("real", "log", (1.0, 1e3)),
    "gamma": ("real", "log", (1e-4, 1e-3)),
    "tol": ("real", "log", (1e-5, 1e-1)),
}
_TREE = {
    "max_depth": ("int", "linear", (1, 15)),
    "min_samples_split": ("real", "logit", (0.01, 0.99)),
    "min_samples_leaf": ("real", "logit", (0.01, 0.49)),
    "min_weight_fraction_leaf": ("real", "logit", (0.01, 0.49)),
    "max_features": ("real", "logit", (0.01, 0.99)),
    "min_impurity_decrease": ("real", "linear", (0.0, 0.5)),
}
_RF = {  # the same domains as the tree's, in rf_cfg's order
    "max_depth": _TREE["max_depth"],
    "max_features": _TREE["max_features"],
    **{k: v for k, v in _TREE.items() if k not in ("max_depth", "max_features")},
}
_MLP = {
    "hidden_layer_sizes": ("int", "linear", (50, 200)),
    "alpha": ("real", "log", (1e-5, 1e1)),
    "batch_size": ("int", "linear", (10, 250)),
    "learning_rate_init": ("real", "log", (1e-5, 1e-1)),
}
_MLP_ADAM = {
    **_MLP,
    "tol": ("real", "log", (1e-5, 1e-1)),
    "validation_fraction": ("real", "logit", (0.1, 0.9)),
    "beta_1": ("real", "logit", (0.5, 0.99)),
    "beta_2": ("real", "logit", (0.9, 1.0 - 1e-6)),
    "epsilon": ("real", "log", (1e-9, 1e-6)),
}
_MLP_SGD = {
    **_MLP,
    "power_t": ("real", "logit", (0.1, 0.9)),
    "tol": ("real", "log", (1e-5, 1e-1)),
    "momentum": ("real", "logit", (0.001, 0.999)),
    "validation_fraction": ("real", "logit", (0.1, 0.9)),
}
_ADA = {
    "n_estimators": ("int", "linear", (10, 100)),
    "learning_rate": ("real", "log", (1e-4, 1e1)),
}
_LOGISTIC = {
    "C": ("real", "log", (1e-2, 1e2)),
    "intercept_scaling": ("real", "log", (1e-2, 1e2)),
}
_CLF = {"kNN": _KNN, "SVM": _SVM, "DT": _TREE, "RF": _RF, "MLP-adam": _MLP_ADAM,
        "MLP-sgd": _MLP_SGD, "ada": _ADA, "lasso": _LOGISTIC, "linear": _LOGISTIC}  # fmt: skip
_REG_LINEAR = {
    "alpha": ("real", "log", (1e-2, 1e2)),
    "fit_intercept": ("bool", None, None),
    "normalize": ("bool", None, None),
    "max_iter": ("int", "log", (10, 5000)),
}
_REG = {
    **_CLF,
    "lasso": {**_REG_LINEAR, "tol": ("real", "log", (1e-5, 1e-1)),
              "positive": ("bool", None, None)},
    "linear": {**_REG_LINEAR, "tol": ("real", "log", (1e-4, 1e-1))},
}  # fmt: skip
BAYESMARK_API = {"clf": _CLF, "reg": _REG}


def _expected(kind: str, warp: str | None, bounds: tuple[float, float] | None, name: str) -> Any:
    if kind == "bool":
        return CategoricalParam(name, (False, True))
    low, high = bounds
    if kind == "int":
        return IntParam(name, low, high, log=warp == "log")
    return FloatParam(name, low, high, log=warp == "log")  # logit: uniform on the range


pytestmark = pytest.mark.usefixtures("offline")  # every test here runs offline


@pytest.mark.parametrize("problem", ["clf", "reg"])
@pytest.mark.parametrize("model", MODELS)
def test_space_is_bayesmarks_api_config(problem: str, model: str) -> None:
    api = BAYESMARK_API[problem][model]
    expected = [_expected(*domain, name) for name, domain in api.items()]
    assert SPACES[problem][model] == SearchSpace(tuple(expected))


def test_kind_is_registered() -> None:
    assert "bayesmark" in TASK_KINDS
    assert SPEC_KEYS["bayesmark"] == ("kind", "model", "dataset", "metric")


def test_schema_matches_the_module() -> None:
    from tunebench.core.config import load_schema

    (branch,) = [
        b["then"]
        for b in load_schema()["$defs"]["task"]["allOf"]
        if b["if"]["properties"]["kind"]["const"] == "bayesmark"
    ]
    props = branch["properties"]
    assert set(props) - {"description", "trial_timeout_s"} == set(SPEC_KEYS["bayesmark"])
    assert tuple(props["model"]["enum"]) == MODELS
    assert tuple(props["dataset"]["enum"]) == tuple(DATASETS)
    assert props["metric"]["enum"] == [*METRICS["clf"], *METRICS["reg"]]
    regression = [d for d, problem in DATASETS.items() if problem == "reg"]
    assert branch["if"]["properties"]["dataset"] == {"const": regression[0]}
    assert len(regression) == 1
    assert branch["then"]["properties"]["metric"]["enum"] == list(METRICS["reg"])
    assert branch["else"]["properties"]["metric"]["enum"] == list(METRICS["clf"])


def test_all_problems_and_their_names() -> None:
    tasks = suite_tasks("suites.bm", {})
    assert len(tasks) == len(MODELS) * (4 * 2 + 1 * 2)  # Bayesmark without boston
    assert tasks["kNN_iris_acc"] == {
        "kind": "bayesmark", "model": "kNN", "dataset": "iris", "metric": "acc"
    }  # fmt: skip
    assert "MLP-adam_diabetes_mse" in tasks and "MLP-adam_diabetes_acc" not in tasks
    assert suite_tasks("s", {"models": "all", "datasets": "all", "metrics": "all"}) == tasks


def test_selection_picks_matching_metrics_per_problem_type() -> None:
    tasks = suite_tasks(
        "suites.bm",
        {"models": ["kNN", "lasso"], "datasets": ["wine", "diabetes"], "metrics": ["acc", "mse"]},
    )
    assert sorted(tasks) == [
        "kNN_diabetes_mse", "kNN_wine_acc", "lasso_diabetes_mse", "lasso_wine_acc"
    ]  # fmt: skip
    for name, spec in tasks.items():  # every entry is a valid task
        assert build_task(name, spec).name == name


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ({"model": ["kNN"]}, "suites.bm: unknown key(s) ['model']"),
        ({"models": ["knn"]}, "suites.bm.models: unknown model 'knn' (choose from: DT,"),
        ({"datasets": ["boston"]}, "suites.bm.datasets: unknown dataset 'boston'"),
        ({"metrics": ["rmse"]}, "suites.bm.metrics: unknown metric 'rmse'"),
        ({"models": []}, "suites.bm.models: must be 'all' or a non-empty list, got []"),
        ({"models": "kNN"}, "suites.bm.models: must be 'all' or a non-empty list, got 'kNN'"),
        ({"datasets": ["diabetes"], "metrics": ["acc"]}, "suites.bm.metrics: none of ['acc']"),
    ],
)
def test_suite_errors_name_the_key(selection: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        suite_tasks("suites.bm", selection)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "knn"}, "tasks.t.model: unknown model 'knn' (choose from: DT, MLP-adam,"),
        ({"dataset": "breast_cancer"}, "tasks.t.dataset: unknown dataset 'breast_cancer'"),
        (
            {"metric": "mse"},
            "tasks.t.metric: unknown metric for iris 'mse' (choose from: nll, acc)",
        ),
        ({"space": {}}, "tasks.t: unknown key(s) ['space'] for kind 'bayesmark'"),
    ],
)
def test_task_errors_name_the_key(change: dict[str, Any], message: str) -> None:
    spec = {"kind": "bayesmark", "model": "kNN", "dataset": "iris", "metric": "acc", **change}
    with pytest.raises(ValueError) as info:
        build_task("t", spec)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("metric", "direction"), [("acc", "maximize"), ("nll", "minimize"), ("mse", "minimize")]
)
def test_direction_follows_the_metric(metric: str, direction: str) -> None:
    dataset = "diabetes" if metric == "mse" else "iris"
    spec = {"kind": "bayesmark", "model": "kNN", "dataset": dataset, "metric": metric}
    task = build_task("t", spec)
    assert (task.direction, task.metric, task.known_optimum, task.max_fidelity) == (
        direction, metric, None, None
    )  # fmt: skip


RF_PARAMS = {"max_depth": 4, "max_features": 0.5, "min_samples_split": 0.1,
             "min_samples_leaf": 0.05, "min_weight_fraction_leaf": 0.02,
             "min_impurity_decrease": 0.0}  # fmt: skip


def test_same_params_and_seed_give_the_same_value() -> None:
    spec = {"kind": "bayesmark", "model": "RF", "dataset": "wine", "metric": "nll"}
    task = build_task("t", spec)
    first = task.evaluate(RF_PARAMS, 3, None)
    assert build_task("t", spec).evaluate(RF_PARAMS, 3, None) == first
    assert task.evaluate(RF_PARAMS, 4, None) != first  # the seed is the forest's random_state
    assert task.test_score(RF_PARAMS, 3) == task.test_score(RF_PARAMS, 3)
    assert 0 < first < math.log(3) + 1


def test_every_model_evaluates_on_every_problem_type() -> None:
    for problem, dataset, metric in (("clf", "iris", "acc"), ("reg", "diabetes", "mae")):
        for model in MODELS:
            space = SPACES[problem][model]
            params = {p.name: _middle(p) for p in space}
            task = build_task("t", {"kind": "bayesmark", "model": model, "dataset": dataset,
                                    "metric": metric})  # fmt: skip
            value = task.evaluate(params, 0, None)
            assert math.isfinite(value) and math.isfinite(task.test_score(params, 0)), model
            assert 0 <= value <= 1 if metric == "acc" else value > 0


def _middle(p: Any) -> Any:
    if isinstance(p, CategoricalParam):
        return p.choices[-1]
    mid = math.sqrt(p.low * p.high) if p.log else (p.low + p.high) / 2
    return round(mid) if isinstance(p, IntParam) else mid


# --- exactness: tunebench's records = a bare scikit-learn loop ---------------------------------


def _bare_problem(dataset: str) -> tuple[np.ndarray, ...]:
    """Bayesmark's data.load_data + SklearnModel.__init__ split, written out."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loader = {"iris": datasets.load_iris, "diabetes": datasets.load_diabetes}[dataset]
    data, target = loader(return_X_y=True)
    return tuple(train_test_split(data, target, test_size=0.2, random_state=0, shuffle=True))


def _bare_estimator(name: str, params: dict[str, Any], seed: int) -> Any:
    """Bayesmark's MODELS_CLF/MODELS_REG entries with random_state=seed; the removed
    ``normalize=True`` as scikit-learn 1.0 told users to replace it: a StandardScaler and
    ``alpha * sqrt(n_samples)`` for Lasso (here inside a tiny wrapper, n known at fit)."""
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import Lasso
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "RF":
        return RandomForestClassifier(
            n_estimators=10, max_leaf_nodes=None, random_state=seed, **params
        )
    params = dict(params)
    if not (params.pop("normalize") and params["fit_intercept"]):
        return Lasso(random_state=seed, **params)

    class NormalizedLasso(RegressorMixin, BaseEstimator):
        def __init__(self, lasso_params: dict[str, Any]) -> None:
            self.lasso_params = lasso_params

        def fit(self, x: np.ndarray, y: np.ndarray) -> NormalizedLasso:
            alpha = self.lasso_params["alpha"] * math.sqrt(len(x))
            lasso = Lasso(random_state=seed, **{**self.lasso_params, "alpha": alpha})
            self.pipe_ = make_pipeline(StandardScaler(), lasso).fit(x, y)
            return self

        def predict(self, x: np.ndarray) -> np.ndarray:
            return self.pipe_.predict(x)

    return NormalizedLasso(params)


@pytest.mark.parametrize(
    ("task", "model", "dataset", "metric", "scoring", "sign"),
    [
        ("RF_iris_nll", "RF", "iris", "nll", "neg_log_loss", -1.0),
        ("lasso_diabetes_mse", "lasso", "diabetes", "mse", "neg_mean_squared_error", -1.0),
    ],
)
def test_recorded_values_equal_a_bare_scikit_learn_loop(
    tmp_path: Path, task: str, model: str, dataset: str, metric: str, scoring: str, sign: float
) -> None:
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import cross_val_score

    spec = {"kind": "bayesmark", "model": model, "dataset": dataset, "metric": metric}
    cell = suite_cell(task, spec, budget={"trials": 6}, seed=1)
    run_study(cell, tmp_path, progress=None)
    trials = pd.read_parquet(tmp_path / "trials.parquet").sort_values("trial")
    assert (trials["status"] == "complete").all() and len(trials) == 6
    x, xt, y, yt = _bare_problem(dataset)
    scorer = get_scorer(scoring)
    for row in trials.itertuples():
        params, seed = json.loads(row.params), trial_seed(1, row.trial)
        cv = cross_val_score(_bare_estimator(model, params, seed), x, y, scoring=scorer, cv=5)
        assert row.value == pytest.approx(sign * np.mean(cv), rel=1e-9, abs=0)
        if not math.isnan(row.test_value):  # the incumbents
            est = _bare_estimator(model, params, seed).fit(x, y)
            assert row.test_value == pytest.approx(sign * scorer(est, xt, yt), rel=1e-9, abs=0)
    assert trials["test_value"].notna().sum() >= 1
