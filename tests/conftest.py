"""Shared fixtures: a small real task over a mixed search space, and study helpers."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tunebench.budget import Budget
from tunebench.frameworks import build_optimizer
from tunebench.recorder import Recorder, StudyKey
from tunebench.space import SearchSpace
from tunebench.tasks.base import ReporterLike, Task

MIXED_SPACE = {
    "x": {"type": "float", "low": -2.0, "high": 3.0},
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "n": {"type": "int", "low": 1, "high": 6},
    "width": {"type": "int", "low": 4, "high": 256, "log": True},
    "act": {"type": "categorical", "choices": ["relu", "tanh", "gelu"]},
}

# One entry per adapter configuration: the contract tests run over all of them.
ADAPTERS: dict[str, dict[str, Any]] = {
    "optuna-tpe": {"framework": "optuna", "sampler": "tpe"},
    "optuna-random": {"framework": "optuna", "sampler": "random"},
    "optuna-cmaes": {"framework": "optuna", "sampler": "cmaes"},
    "optuna-gp": {"framework": "optuna", "sampler": "gp"},
    "optuna-qmc": {"framework": "optuna", "sampler": "qmc"},
    "hyperopt-tpe": {"framework": "hyperopt", "algo": "tpe"},
    "hyperopt-random": {"framework": "hyperopt", "algo": "random"},
    "hyperopt-anneal": {"framework": "hyperopt", "algo": "anneal"},
    # Ray starts a local cluster per study (seconds): three entries cover its searchers.
    "ray-random-fifo": {"framework": "ray", "search": "random", "scheduler": "fifo"},
    "ray-optuna-asha": {"framework": "ray", "search": "optuna", "scheduler": "asha"},
    "ray-hyperopt-fifo": {"framework": "ray", "search": "hyperopt", "scheduler": "fifo"},
    # Ax's GP takes 10-30 s per trial on the mixed space: 13 centre/Sobol trials first keep the
    # contract fast; the 14-trial study still runs a GP trial (test_ax_gp_* covers the GP more).
    "ax-default": {"framework": "ax", "method": "default", "initialization_budget": 13},
    "ax-sobol": {"framework": "ax", "method": "sobol"},
    "sklearn-grid": {"framework": "sklearn", "search": "grid"},
    "sklearn-random": {"framework": "sklearn", "search": "random"},
    "sklearn-halving": {"framework": "sklearn", "search": "halving"},
    # SMAC's GP (bb) takes seconds per trial: 13 Sobol trials first keep the contract fast;
    # test_smac.py covers the GP. hpo and hyperband keep SMAC's initial design (a quarter of the
    # trials budget), so the random forest proposes from the second to fourth trial on.
    "smac-hpo": {"framework": "smac", "facade": "hpo"},
    "smac-bb": {"framework": "smac", "facade": "bb", "n_initial": 13},
    "smac-random": {"framework": "smac", "facade": "random"},
    "smac-hyperband": {"framework": "smac", "facade": "hyperband"},
}

# Adapters whose candidates do not depend on the seed (a grid is one fixed design).
SEED_INDEPENDENT: frozenset[str] = frozenset({"sklearn-grid"})


class QuadraticTask(Task):
    """A real objective on the mixed space: a shifted quadratic, minimised at x=0.5, n=3.

    With ``failing=True`` it raises where ``x > 1.5`` and returns NaN where ``x < -1``, so that
    failures depend on the parameters only (the same in any process a framework evaluates in).
    ``max_epochs`` gives it a fidelity (the value improves with epochs). The task must stay
    picklable: frameworks such as Ray Tune evaluate it in worker processes.
    """

    name = "quadratic"
    metric = "loss"
    direction = "minimize"

    def __init__(self, *, failing: bool = False, max_epochs: int | None = None) -> None:
        self.space = SearchSpace.from_config(MIXED_SPACE)
        self.failing = failing
        self.max_fidelity = max_epochs
        self.known_optimum = 0.0

    def _loss(self, p: Mapping[str, Any]) -> float:
        act = {"relu": 0.0, "tanh": 0.1, "gelu": 0.2}[p["act"]]
        return (p["x"] - 0.5) ** 2 + (p["n"] - 3) ** 2 / 10 + math.log10(p["lr"]) ** 2 / 100 + act

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        if self.failing and params["x"] > 1.5:
            raise RuntimeError("planted failure: x > 1.5")
        if self.failing and params["x"] < -1.0:
            return float("nan")
        loss = self._loss(params)
        if self.max_fidelity:
            for epoch in range(1, self.max_fidelity + 1):
                value = loss + 1.0 / epoch
                if reporter.report(epoch, value):
                    return value
            return loss + 1.0 / self.max_fidelity
        return loss

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        return self._loss(params)


def run_quadratic(
    optimizer: str,
    study_dir: Path,
    *,
    trials: int = 12,
    seed: int = 0,
    task: QuadraticTask | None = None,
    spec: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
) -> pd.DataFrame:
    """Run one study of ``optimizer`` (a key of ADAPTERS) on the quadratic task.

    Returns the trial table the study wrote (``trials.parquet``).
    """
    task = task or QuadraticTask()
    spec = dict(spec or ADAPTERS[optimizer])
    adapter = build_optimizer(optimizer, spec)
    budget = budget or Budget("b", "trials", trials)
    key = StudyKey(
        "test", task.name, optimizer, adapter.framework, adapter.algorithm, budget.name, seed
    )
    recorder = Recorder(study_dir, key, task, budget, progress=None)
    adapter.run(task, seed, recorder)
    return recorder.finalize()


def params_of(trials: pd.DataFrame) -> list[dict[str, Any]]:
    """The parameters of each trial, in trial order."""
    return [json.loads(p) for p in trials.sort_values("trial")["params"]]


@pytest.fixture
def quadratic() -> QuadraticTask:
    return QuadraticTask()
