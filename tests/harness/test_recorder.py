"""The recorder's budgets, seen through a real study."""

from __future__ import annotations

from tests.helpers.studies import run_quadratic
from tests.helpers.tasks import QuadraticTask
from tunebench.core.budget import Budget


def test_epoch_budget_cuts_the_last_trial(tmp_path):
    task = QuadraticTask(max_epochs=4)
    trials = run_quadratic("optuna-tpe", tmp_path, task=task, budget=Budget("e", "epochs", 10))
    assert trials["epochs"].tolist() == [4, 4, 2]
    assert trials["cum_epochs"].tolist() == [4, 8, 10]
    assert trials["status"].tolist() == ["complete", "complete", "pruned"]
    assert trials["error"].iloc[-1] == "cut after 2 epochs: the epoch budget is spent"
