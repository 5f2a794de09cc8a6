"""The nevergrad adapter beyond the contract: its space, budget hint, resume and failures."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import (
    adapters_of,
    assert_killed_study_resumes_exactly,
    params_of,
    run_quadratic,
)
from tests.helpers.tasks import MIXED_SPACE, QuadraticTask
from tunebench.core.budget import Budget
from tunebench.core.config import load_config, load_schema, validate_config
from tunebench.core.space import SearchSpace
from tunebench.frameworks import OptimizerConfigError, build_optimizer


class TestNevergradContract(AdapterContract):
    @pytest.fixture(params=adapters_of("nevergrad"))
    def optimizer(self, request: pytest.FixtureRequest) -> str:
        return request.param


def _branin():
    from tunebench.tasks import build_task

    return build_task("branin", {"kind": "synthetic", "function": "branin"})


def test_native_space_round_trip():
    import nevergrad as ng

    from tunebench.frameworks.nevergrad_adapter import from_nevergrad, to_parametrization

    space = SearchSpace.from_config(
        {**MIXED_SPACE, "mixed": {"type": "categorical", "choices": [2, "2", True, 0.5]}}
    )
    parametrization = to_parametrization(space)
    parametrization.random_state = np.random.RandomState(0)
    optimizer = ng.optimizers.RandomSearch(parametrization=parametrization, budget=3000)
    samples = [from_nevergrad(space, optimizer.ask().value) for _ in range(3000)]
    for sample in samples:
        space.check(sample)
    ns = [s["n"] for s in samples]
    assert set(ns) == set(range(1, 7))  # both bounds are reachable
    assert min(ns.count(k) for k in range(1, 7)) > 3000 / 6 * 0.85  # and about as likely
    widths = [s["width"] for s in samples]
    assert min(widths) == 4 and max(widths) == 256
    assert np.median(widths) == pytest.approx(32, rel=0.2)  # log-uniform
    mixed = [s["mixed"] for s in samples]
    for choice in (2, "2", True, 0.5):
        assert sum(type(m) is type(choice) and m == choice for m in mixed) > 600


def test_schema_branch_matches_the_adapter():
    from tunebench.frameworks.nevergrad_adapter import OPTIMIZERS, NevergradOptimizer

    branches = {
        b["if"]["properties"]["framework"]["const"]: b["then"]["properties"]
        for b in load_schema()["$defs"]["optimizer"]["allOf"]
    }
    assert tuple(branches["nevergrad"]["optimizer"]["enum"]) == OPTIMIZERS
    keywords = set(inspect.signature(NevergradOptimizer).parameters) - {"name"}
    assert set(branches["nevergrad"]) - {"framework", "tasks"} == keywords
    config = load_config(Path(__file__).parents[2] / "config" / "smoke.yaml")
    config["optimizers"] = {"o": {"framework": "nevergrad"}}
    spec = validate_config(config)["optimizers"]["o"]  # the schema fills in the defaults
    assert build_optimizer("o", spec).algorithm == "NGOpt"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"optimizer": "CMA"}, "optimizers.o.optimizer: unknown optimizer 'CMA'"),
        ({"budget_hint": 0}, "optimizers.o.budget_hint: must be a positive integer, got 0"),
    ],
)
def test_bad_entries_are_one_line_errors(spec, message):
    with pytest.raises(OptimizerConfigError) as error:
        build_optimizer("o", {"framework": "nevergrad", **spec})
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def _hint(study_dir):
    return json.loads((study_dir / "nevergrad.json").read_text())["budget_hint"]


def test_budget_hint_follows_the_budget_and_is_kept_on_resume(tmp_path):
    run_quadratic("nevergrad-ngopt", tmp_path / "t", trials=4)
    assert _hint(tmp_path / "t") == 4
    run_quadratic("nevergrad-ngopt", tmp_path / "t", trials=6)
    assert _hint(tmp_path / "t") == 4  # the hint the study started with
    task = QuadraticTask(max_epochs=4)
    run_quadratic("nevergrad-ngopt", tmp_path / "e", task=task, budget=Budget("e", "epochs", 10))
    assert _hint(tmp_path / "e") == 3  # trials at full fidelity: 4 + 4 + 2
    trials = run_quadratic("nevergrad-ngopt", tmp_path / "s", budget=Budget("s", "seconds", 0.05))
    assert _hint(tmp_path / "s") == 1000 and len(trials) >= 1
    spec = {"framework": "nevergrad", "optimizer": "NGOpt", "budget_hint": 50}
    run_quadratic("nevergrad-ngopt", tmp_path / "x", trials=3, spec=spec)
    assert _hint(tmp_path / "x") == 50


@pytest.mark.parametrize(
    ("optimizer", "task"),
    [
        ("nevergrad-ngopt", "quadratic"),
        ("nevergrad-ngopt", "branin"),
        ("nevergrad-oneplusone", "quadratic"),
    ],
)
def test_killed_study_resumes_exactly(optimizer, task, tmp_path):
    # on branin (two floats) NGOpt runs Cobyla, a scipy optimiser in a thread of its own
    assert_killed_study_resumes_exactly(
        optimizer, _branin() if task == "branin" else QuadraticTask(), tmp_path
    )


def test_replay_that_differs_from_the_journal_is_a_clear_error(tmp_path):
    run_quadratic("nevergrad-random", tmp_path, trials=3, seed=1)
    with pytest.raises(RuntimeError, match=r"^nevergrad cannot resume this study: it proposes"):
        run_quadratic("nevergrad-random", tmp_path, trials=5, seed=2)


@pytest.mark.filterwarnings("error::nevergrad.common.errors.LossTooLargeWarning")
@pytest.mark.parametrize("optimizer", ["nevergrad-ngopt", "nevergrad-oneplusone"])
def test_all_failed_study_completes(optimizer, tmp_path):
    class AlwaysFails(QuadraticTask):
        def evaluate(self, params, seed, reporter):
            raise ValueError("diverged")

    trials = run_quadratic(optimizer, tmp_path, trials=5, task=AlwaysFails())
    assert trials["status"].tolist() == ["failed"] * 5
    assert len(set(trials["params"])) > 1  # told inf, the optimiser moves on


def test_maximised_metric_is_told_negated(tmp_path):
    class Maximised(QuadraticTask):
        direction = "maximize"

        def evaluate(self, params, seed, reporter):
            return -super().evaluate(params, seed, reporter)

    spec = {"framework": "nevergrad", "optimizer": "OnePlusOne"}
    up = run_quadratic("nevergrad-oneplusone", tmp_path / "max", trials=25, task=Maximised())
    down = run_quadratic("nevergrad-oneplusone", tmp_path / "min", trials=25, spec=spec)
    assert params_of(up) == params_of(down)  # the same search, whichever the direction
    assert up["value"].max() == -down["value"].min()


def test_objective_draws_do_not_change_the_trials(tmp_path):
    class Drawing(QuadraticTask):
        def evaluate(self, params, seed, reporter):
            np.random.rand(params["n"])  # the objective uses NumPy's global generator
            return super().evaluate(params, seed, reporter)

    plain = run_quadratic("nevergrad-ngopt", tmp_path / "a", trials=8)
    drawing = run_quadratic("nevergrad-ngopt", tmp_path / "b", trials=8, task=Drawing())
    assert params_of(plain) == params_of(drawing)
