"""Budgets: the per-dimension trials budget resolves to trials for the task at hand."""

from __future__ import annotations

import pytest

from tunebench.core.budget import Budget
from tunebench.core.config import ConfigError, validate_config

CONFIG = {
    "tasks": {"b": {"kind": "synthetic", "function": "branin"}},
    "optimizers": {"random": {"framework": "optuna", "sampler": "random"}},
}


def test_trials_per_dim_scales_with_the_task() -> None:
    spec = {"trials_per_dim": 20}
    assert Budget.from_config("d20", spec, n_params=5) == Budget("d20", "trials", 100)
    with pytest.raises(ValueError, match=r"^budgets\.d20\.trials_per_dim: needs the task's"):
        Budget.from_config("d20", spec)
    with pytest.raises(ValueError, match=r"^budgets\.x: set exactly one of"):
        Budget.from_config("x", {"trials": 3, "trials_per_dim": 2}, n_params=2)
    with pytest.raises(
        ConfigError, match=r"^budgets\.d\.trials_per_dim: 0 is less than the minimum of 1$"
    ):
        validate_config({**CONFIG, "budgets": {"d": {"trials_per_dim": 0}}})


def test_trials_per_dim_is_a_budget_of_the_config() -> None:
    config = validate_config({**CONFIG, "budgets": {"d20": {"trials_per_dim": 20}}})
    assert config["budgets"]["d20"] == {"trials_per_dim": 20}
