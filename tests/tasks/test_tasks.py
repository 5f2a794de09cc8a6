"""Tasks: synthetic optima, config errors, scikit-learn splits and the PyTorch models' curves."""

from __future__ import annotations

import math
import socket
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from tunebench.core.space import SpaceError
from tunebench.tasks import (
    DATASETS,
    SKLEARN_MODELS,
    SPEC_KEYS,
    SYNTHETIC_FUNCTIONS,
    TASK_KINDS,
    build_task,
    coerce_params,
)
from tunebench.tasks.data import load_split


class Recorder:
    """A reporter that records every report and asks to stop at ``stop_at``."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.stop_at = stop_at
        self.calls: list[tuple[int, float, dict[str, float]]] = []

    def report(self, epoch: int, value: float, **metrics: float) -> bool:
        self.calls.append((epoch, value, metrics))
        return epoch == self.stop_at

    @property
    def curve(self) -> list[float]:
        return [value for _, value, _ in self.calls]


# --- synthetic ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "dim", "optimum"),
    [
        ("branin", None, 0.397887),
        ("hartmann6", None, -3.32237),
        ("rosenbrock", 2, 0.0),
        ("rosenbrock", 5, 0.0),
    ],
)
def test_synthetic_known_optimum_at_minimiser(
    function: str, dim: int | None, optimum: float
) -> None:
    task = build_task("f", {"kind": "synthetic", "function": function, "dim": dim})
    assert task.known_optimum == pytest.approx(optimum, abs=1e-5)
    assert task.direction == "minimize" and task.max_fidelity is None
    value = task.test_score(task.minimiser, seed=0)
    assert value == pytest.approx(optimum, abs=1e-5)
    assert task.evaluate(task.minimiser, 0, Recorder()) == value
    assert task.space.names == [f"x{i}" for i in range(dim or len(task.space))]


def test_branin_all_three_minimisers_and_default_domain() -> None:
    task = build_task("b", {"kind": "synthetic", "function": "branin"})
    for x0, x1 in [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)]:
        assert task.test_score({"x0": x0, "x1": x1}, 0) == pytest.approx(0.397887, abs=1e-5)
    assert [(p.low, p.high) for p in task.space] == [(-5.0, 10.0), (0.0, 15.0)]
    assert task.test_score({"x0": 0.0, "x1": 0.0}, 0) > 1.0


def test_synthetic_noise_only_on_validation_and_seeded() -> None:
    task = build_task("n", {"kind": "synthetic", "function": "hartmann6", "noise_std": 0.1})
    point = {f"x{i}": 0.5 for i in range(6)}
    clean = task.test_score(point, seed=3)
    noisy = task.evaluate(point, 3, Recorder())
    assert noisy != clean
    assert task.evaluate(point, 3, Recorder()) == noisy
    assert task.evaluate(point, 4, Recorder()) != noisy
    assert task.test_score(point, seed=4) == clean


def test_synthetic_accepts_numpy_scalars() -> None:
    task = build_task("r", {"kind": "synthetic", "function": "rosenbrock", "dim": 3})
    params = {"x0": np.float32(1.0), "x1": np.float64(1.0), "x2": np.int64(1)}
    assert task.test_score(params, 0) == 0.0


# --- config errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "key", "bad"),
    [
        ({"kind": "quantum"}, "tasks.t.kind", "quantum"),
        ({"kind": "synthetic", "function": "ackley"}, "tasks.t.function", "ackley"),
        ({"kind": "sklearn", "model": "xgb", "dataset": "wine"}, "tasks.t.model", "xgb"),
        ({"kind": "torch", "model": "resnet", "dataset": "digits"}, "tasks.t.model", "resnet"),
        ({"kind": "sklearn", "model": "svc", "dataset": "mnist"}, "tasks.t.dataset", "mnist"),
        ({"kind": "torch", "model": "mlp", "dataset": "iris"}, "tasks.t.dataset", "iris"),
        ({"kind": "sklearn", "model": "svc", "dataset": "openml:"}, "tasks.t.dataset", "openml:"),
        (
            {"kind": "sklearn", "model": "svc", "dataset": "wine", "cv_fold": 3},
            "tasks.t:",
            "cv_fold",
        ),
        (
            {"kind": "sklearn", "model": "svc", "dataset": "wine", "validation": "loo"},
            "tasks.t.validation",
            "loo",
        ),
        (
            {"kind": "sklearn", "model": "svc", "dataset": "wine", "test_size": 1.5},
            "tasks.t.test_size",
            "1.5",
        ),
        (
            {"kind": "torch", "model": "mlp", "dataset": "wine", "validation": "cv"},
            "tasks.t.validation",
            "cv",
        ),
        ({"kind": "synthetic", "function": "branin", "dim": 3}, "tasks.t.dim", "3"),
        (
            {"kind": "synthetic", "function": "branin", "space": {"y": {"type": "float"}}},
            "tasks.t.space",
            "",
        ),
        (
            {
                "kind": "sklearn",
                "model": "svc",
                "dataset": "wine",
                "space": {"depth": {"type": "int", "low": 1, "high": 3}},
            },
            "tasks.t.space",
            "depth",
        ),
        (
            {
                "kind": "torch",
                "model": "mlp",
                "dataset": "wine",
                "space": {"momentum": {"type": "float", "low": 0.1, "high": 0.9}},
            },
            "tasks.t.space",
            "momentum",
        ),
    ],
)
def test_unknown_names_raise_value_error_naming_the_key(
    spec: dict[str, Any], key: str, bad: str
) -> None:
    with pytest.raises(ValueError) as info:
        build_task("t", spec)
    message = str(info.value)
    assert message.startswith(key), message
    assert bad in message and "\n" not in message


def test_unknown_model_message_lists_choices() -> None:
    expected = r"^tasks\.foo\.model: unknown model 'xgb' \(choose from: gboost, svc, sgd\)$"
    with pytest.raises(ValueError, match=expected):
        build_task("foo", {"kind": "sklearn", "model": "xgb", "dataset": "wine"})


def test_registry_matches_implementations() -> None:
    from tunebench.tasks.synthetic import FUNCTIONS
    from tunebench.tasks.tabular import DEFAULT_SPACES

    assert set(SYNTHETIC_FUNCTIONS) == set(FUNCTIONS)
    assert set(SKLEARN_MODELS) == set(DEFAULT_SPACES)
    assert set(SPEC_KEYS) == set(TASK_KINDS)


def test_building_non_torch_tasks_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from tunebench.tasks import build_task\n"
        "build_task('a', {'kind': 'synthetic', 'function': 'branin'})\n"
        "build_task('b', {'kind': 'sklearn', 'model': 'svc', 'dataset': 'wine'})\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'tunebench.tasks.neural' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_coerce_params_converts_numpy_and_integral_floats() -> None:
    task = build_task("m", {"kind": "torch", "model": "mlp", "dataset": "wine"})
    out = coerce_params(
        task.space,
        {"lr": np.float32(0.01), "hidden": 32.0, "batch_size": np.int64(64), "optimizer": "sgd"},
    )
    assert out == {"lr": pytest.approx(0.01), "hidden": 32, "batch_size": 64, "optimizer": "sgd"}
    assert [type(v) for v in out.values()] == [float, int, int, str]


# --- scikit-learn ------------------------------------------------------------------------------

SVC_PARAMS = {"C": 1.0, "gamma": 0.01, "kernel": "rbf"}
GB_PARAMS = {"learning_rate": 0.1, "max_iter": 20, "max_leaf_nodes": 8, "l2_regularization": 1e-3}


@pytest.mark.parametrize("dataset", DATASETS)
def test_sklearn_svc_accuracy_repeatable(dataset: str) -> None:
    task = build_task("s", {"kind": "sklearn", "model": "svc", "dataset": dataset})
    assert (task.direction, task.metric, task.max_fidelity) == ("maximize", "accuracy", None)
    reporter = Recorder()
    value = task.evaluate(SVC_PARAMS, 0, reporter)
    assert 0.0 <= value <= 1.0 and value > 0.5
    assert task.evaluate(SVC_PARAMS, 0, Recorder()) == value
    assert reporter.calls == []
    test = task.test_score(SVC_PARAMS, 0)
    assert 0.5 < test <= 1.0


def test_sklearn_gboost_repeatable_with_numpy_params() -> None:
    task = build_task("g", {"kind": "sklearn", "model": "gboost", "dataset": "breast_cancer"})
    params = {**GB_PARAMS, "max_iter": np.int64(20), "learning_rate": np.float64(0.1)}
    value = task.evaluate(params, 1, Recorder())
    assert 0.8 < value <= 1.0
    assert task.evaluate(GB_PARAMS, 1, Recorder()) == value
    assert 0.8 < task.test_score(params, 1) <= 1.0


def test_sklearn_test_split_disjoint_and_fixed() -> None:
    spec = {"kind": "sklearn", "model": "svc", "dataset": "breast_cancer"}
    data = load_split(build_task("a", spec).split)
    n = len(data.dev_index) + len(data.test_index)
    assert np.intersect1d(data.dev_index, data.test_index).size == 0
    assert np.array_equal(np.union1d(data.dev_index, data.test_index), np.arange(n))
    assert len(data.test_index) == pytest.approx(0.25 * n, abs=1)
    ((train, val),) = data.folds
    assert np.intersect1d(train, val).size == 0
    assert len(train) + len(val) == len(data.dev_index)
    assert len(val) == pytest.approx(0.2 * len(data.dev_index), abs=1)
    # The same test rows whatever the validation scheme; another split_seed moves them.
    cv = load_split(build_task("b", {**spec, "validation": "cv"}).split)
    assert np.array_equal(cv.test_index, data.test_index)
    other = load_split(build_task("c", {**spec, "split_seed": 1}).split)
    assert not np.array_equal(other.test_index, data.test_index)
    assert not data.x_dev.flags.writeable


def test_sklearn_cv_and_holdout() -> None:
    base = {"kind": "sklearn", "model": "svc", "dataset": "wine"}
    holdout = build_task("h", {**base, "validation": "holdout", "val_size": 0.3})
    cv = build_task("c", {**base, "validation": "cv", "cv_folds": 3})
    data = load_split(cv.split)
    assert len(data.folds) == 3
    vals = np.concatenate([val for _, val in data.folds])
    assert np.array_equal(np.sort(vals), np.arange(len(data.dev_index)))
    h, c = holdout.evaluate(SVC_PARAMS, 0, Recorder()), cv.evaluate(SVC_PARAMS, 0, Recorder())
    assert 0.5 < h <= 1.0 and 0.5 < c <= 1.0
    # Validation does not change the test score: both refit on the same dev rows.
    assert holdout.test_score(SVC_PARAMS, 0) == cv.test_score(SVC_PARAMS, 0)


def test_sklearn_space_override() -> None:
    space = {
        "C": {"type": "float", "low": 0.1, "high": 10.0, "log": True},
        "kernel": {"type": "categorical", "choices": ["linear", "rbf"]},
    }
    task = build_task("o", {"kind": "sklearn", "model": "svc", "dataset": "wine", "space": space})
    assert task.space.names == ["C", "kernel"]
    assert task.space.to_config()["C"]["high"] == 10.0
    assert 0.5 < task.evaluate({"C": 1.0, "kernel": "linear"}, 0, Recorder()) <= 1.0
    default = build_task("d", {"kind": "sklearn", "model": "gboost", "dataset": "wine"})
    assert default.space.names == [
        "learning_rate",
        "max_iter",
        "max_leaf_nodes",
        "l2_regularization",
    ]


def test_space_errors_are_prefixed_with_the_task() -> None:
    space = {"C": {"type": "float", "low": 10.0, "high": 1.0}}
    with pytest.raises(SpaceError, match=r"^tasks\.o\.space\.C"):
        build_task("o", {"kind": "sklearn", "model": "svc", "dataset": "wine", "space": space})


def test_openml_loader_real_fetch(tmp_path: Any) -> None:
    try:
        socket.getaddrinfo("www.openml.org", 443)
    except OSError:
        pytest.skip("no network: openml.org does not resolve")
    task = build_task(
        "o",
        {"kind": "sklearn", "model": "svc", "dataset": "openml:61", "data_home": str(tmp_path)},
    )
    try:
        data = task.data()
    except OSError as exc:  # urllib errors: offline, blocked or OpenML down
        pytest.skip(f"OpenML fetch failed: {exc}")
    assert data.n_classes == 3 and len(data.dev_index) + len(data.test_index) == 150
    assert 0.5 < task.evaluate(SVC_PARAMS, 0, Recorder()) <= 1.0


# --- PyTorch -----------------------------------------------------------------------------------

MLP_PARAMS = {
    "lr": 3e-3,
    "hidden": 32,
    "layers": 2,
    "dropout": 0.1,
    "weight_decay": 1e-4,
    "batch_size": 64,
    "optimizer": "adam",
}
CNN_PARAMS = {
    "lr": 1e-2,
    "width": 16,
    "depth": 2,
    "dropout": 0.1,
    "weight_decay": 1e-4,
    "batch_size": 64,
    "optimizer": "adam",
}
PARAMS = {"mlp": MLP_PARAMS, "cnn": CNN_PARAMS}


@pytest.fixture(scope="module", params=["mlp", "cnn"])
def torch_task(request: pytest.FixtureRequest) -> Any:
    pytest.importorskip("torch")
    return build_task(
        request.param,
        {
            "kind": "torch",
            "model": request.param,
            "dataset": "digits",
            "max_epochs": 6,
            "device": "cpu",
            "threads": 1,
        },
    )


def test_torch_task_reports_every_epoch(torch_task: Any) -> None:
    assert (torch_task.direction, torch_task.metric, torch_task.max_fidelity) == (
        "maximize",
        "accuracy",
        6,
    )
    reporter = Recorder()
    value = torch_task.evaluate(PARAMS[torch_task.model], 0, reporter)
    assert [epoch for epoch, _, _ in reporter.calls] == [1, 2, 3, 4, 5, 6]
    assert all(0.0 <= v <= 1.0 for v in reporter.curve)
    assert all(set(m) == {"val_loss"} and m["val_loss"] > 0 for _, _, m in reporter.calls)
    assert value == reporter.curve[-1] and value > 0.8


def test_torch_task_stops_when_reporter_says_so(torch_task: Any) -> None:
    reporter = Recorder(stop_at=3)
    value = torch_task.evaluate(PARAMS[torch_task.model], 0, reporter)
    assert [epoch for epoch, _, _ in reporter.calls] == [1, 2, 3]
    assert value == reporter.curve[-1]


def test_torch_task_deterministic_per_seed(torch_task: Any) -> None:
    import torch

    params = {**PARAMS[torch_task.model], "optimizer": "sgd", "batch_size": 32, "lr": 0.05}
    state = torch.random.get_rng_state()
    first, again, other = Recorder(), Recorder(), Recorder()
    value = torch_task.evaluate(params, 7, first)
    assert torch_task.evaluate(params, 7, again) == value
    assert again.calls == first.calls
    torch_task.evaluate(params, 8, other)
    assert other.calls != first.calls
    assert torch.equal(torch.random.get_rng_state(), state), "global RNG state leaked"


def test_torch_task_test_score(torch_task: Any) -> None:
    score = torch_task.test_score(PARAMS[torch_task.model], 0)
    assert 0.8 < score <= 1.0
    assert torch_task.test_score(PARAMS[torch_task.model], 0) == score


def test_torch_task_divergence_returns_nan(torch_task: Any) -> None:
    params = {**PARAMS[torch_task.model], "optimizer": "sgd", "lr": 1e6}
    params.update(dropout=0.0, weight_decay=0.0)
    reporter = Recorder()
    assert math.isnan(torch_task.evaluate(params, 0, reporter))
    assert all(math.isfinite(v) for v in reporter.curve)
    assert math.isnan(torch_task.test_score(params, 0))


def test_cnn_needs_square_images() -> None:
    pytest.importorskip("torch")
    spec = {"kind": "torch", "model": "cnn", "dataset": "wine", "device": "cpu"}
    with pytest.raises(ValueError, match=r"tasks\.c\.model: cnn needs square one-channel images"):
        build_task("c", spec)


def test_mlp_space_override_fills_fixed_defaults() -> None:
    pytest.importorskip("torch")
    task = build_task(
        "m",
        {
            "kind": "torch",
            "model": "mlp",
            "dataset": "wine",
            "max_epochs": 2,
            "device": "cpu",
            "space": {"lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
        },
    )
    assert task.space.names == ["lr"] and task.max_fidelity == 2
    reporter = Recorder()
    assert 0.0 <= task.evaluate({"lr": 5e-3}, 0, reporter) <= 1.0
    assert len(reporter.calls) == 2


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("gboost", {"learning_rate": 0.1, "max_leaf_nodes": 8, "l2_regularization": 1e-3}),
        ("sgd", {"alpha": 1e-4, "loss": "log_loss", "penalty": "l2", "l1_ratio": 0.15}),
    ],
)
def test_sklearn_models_report_epochs(model, params) -> None:
    spec = {"kind": "sklearn", "model": model, "dataset": "breast_cancer", "max_epochs": 5}
    task = build_task("e", {**spec, "validation": "cv", "cv_folds": 3})
    assert task.max_fidelity == 5 and "max_iter" not in task.space.names
    reporter = Recorder()
    value = task.evaluate(params, 0, reporter)
    assert [epoch for epoch, _, _ in reporter.calls] == [1, 2, 3, 4, 5]
    assert value == reporter.curve[-1] > 0.85
    assert task.evaluate(params, 0, Recorder()) == value  # deterministic per seed
    stopped = Recorder(stop_at=2)
    assert task.evaluate(params, 0, stopped) == reporter.curve[1]  # the same first epochs
    assert 0.85 < task.test_score(params, 0) <= 1.0
    full = task.estimator(params, 0)  # the estimator path trains the full fidelity in one fit
    assert full.get_params()["max_iter" if model == "gboost" else "model__max_iter"] == (
        50 if model == "gboost" else 5
    )


def test_sklearn_epochs_errors() -> None:
    base = {"kind": "sklearn", "dataset": "wine"}
    with pytest.raises(ValueError, match=r"tasks\.e\.max_epochs: svc does not train in epochs"):
        build_task("e", {**base, "model": "svc", "max_epochs": 3})
    space = {"max_iter": {"type": "int", "low": 10, "high": 50}}
    with pytest.raises(ValueError, match=r"tasks\.e\.space: max_iter is the fidelity"):
        build_task("e", {**base, "model": "gboost", "max_epochs": 3, "space": space})
