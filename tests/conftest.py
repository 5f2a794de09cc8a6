"""Shared fixtures: a small real task over a mixed search space, and study helpers."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tunebench.core.budget import Budget
from tunebench.core.space import SearchSpace
from tunebench.frameworks import build_optimizer
from tunebench.harness.recorder import Recorder, StudyKey
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
    # Vizier's GP step takes 20-45 s here (JAX recompiles it for every new trial count): 13
    # centre/Halton trials first keep the contract fast; the 14-trial study still runs a GP step
    # (test_vizier_gp_* covers the GP more).
    "vizier-gp_bandit": {"framework": "vizier", "algorithm": "gp_bandit", "num_seed_trials": 13},
    "vizier-eagle": {"framework": "vizier", "algorithm": "eagle"},
    "vizier-random": {"framework": "vizier", "algorithm": "random"},
    "vizier-quasi_random": {"framework": "vizier", "algorithm": "quasi_random"},
    "sklearn-grid": {"framework": "sklearn", "search": "grid"},
    "sklearn-random": {"framework": "sklearn", "search": "random"},
    "sklearn-halving": {"framework": "sklearn", "search": "halving"},
    "nevergrad-ngopt": {"framework": "nevergrad", "optimizer": "NGOpt"},
    "nevergrad-oneplusone": {"framework": "nevergrad", "optimizer": "OnePlusOne"},
    "nevergrad-random": {"framework": "nevergrad", "optimizer": "RandomSearch"},
    "synetune-random": {"framework": "synetune", "searcher": "random"},
    # Syne Tune's TPE is random search for its first 40 trials on this space by default; with
    # num_min_data_points 6 its KDEs take over at trial 12.
    "synetune-tpe": {
        "framework": "synetune",
        "searcher": "tpe",
        "searcher_options": {"num_min_data_points": 6},
    },
    # Syne Tune's GP takes 5-25 s per trial here on 2 busy cores: 10 random trials first keep
    # the contract fast; the 12- and 14-trial studies still run GP trials (and
    # tests/test_synetune.py resumes a study through GP trials).
    "synetune-bo": {
        "framework": "synetune",
        "searcher": "bo",
        "searcher_options": {"num_init_random": 10},
    },
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
    ``max_epochs`` gives it a fidelity (the value improves with epochs); ``delay_s`` makes each
    evaluation take that long (for seconds budgets). The task must stay
    picklable: frameworks such as Ray Tune evaluate it in worker processes.
    """

    name = "quadratic"
    metric = "loss"
    direction = "minimize"

    def __init__(
        self, *, failing: bool = False, max_epochs: int | None = None, delay_s: float = 0.0
    ) -> None:
        self.space = SearchSpace.from_config(MIXED_SPACE)
        self.failing = failing
        self.max_fidelity = max_epochs
        self.delay_s = delay_s
        self.known_optimum = 0.0

    def _loss(self, p: Mapping[str, Any]) -> float:
        act = {"relu": 0.0, "tanh": 0.1, "gelu": 0.2}[p["act"]]
        return (p["x"] - 0.5) ** 2 + (p["n"] - 3) ** 2 / 10 + math.log10(p["lr"]) ** 2 / 100 + act

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        time.sleep(self.delay_s)
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


FAULT_X = 1.5  # FaultyTask's fault region: x > FAULT_X (30 % of the mixed space's x)


class FaultyTask(QuadraticTask):
    """The quadratic task with a planted fault where ``x > FAULT_X`` (by parameters only, so the
    same in any process a framework evaluates in).

    ``fault="hang"`` never returns: a Python loop of short sleeps (after reporting
    ``hang_after`` epochs when the task has epochs). ``fault="memory"`` allocates 16 GiB at once
    (run it under an address-space limit).
    """

    def __init__(self, fault: str, *, max_epochs: int | None = None, hang_after: int = 0) -> None:
        super().__init__(max_epochs=max_epochs)
        self.fault = fault
        self.hang_after = hang_after

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        if params["x"] <= FAULT_X:
            return super().evaluate(params, seed, reporter)
        if self.fault == "memory":
            return float(np.ones(2**31).sum())
        for epoch in range(1, self.hang_after + 1):
            reporter.report(epoch, self._loss(params) + 1.0 / epoch)
        while True:
            time.sleep(0.01)


def run_quadratic(
    optimizer: str,
    study_dir: Path,
    *,
    trials: int = 12,
    seed: int = 0,
    task: QuadraticTask | None = None,
    spec: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
    trial_timeout_s: float | None = None,
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
    recorder = Recorder(
        study_dir, key, task, budget, progress=None, trial_timeout_s=trial_timeout_s
    )
    adapter.run(task, seed, recorder)
    return recorder.finalize()


def params_of(trials: pd.DataFrame) -> list[dict[str, Any]]:
    """The parameters of each trial, in trial order."""
    return [json.loads(p) for p in trials.sort_values("trial")["params"]]


def check_timeouts(
    trials: pd.DataFrame, wall: float, *, n: int, epochs: int = 0, slack: float = 30
) -> None:
    """A :class:`FaultyTask` ``"hang"`` study under ``trial_timeout_s=1``: every trial in the
    fault region failed at the cap, with its seconds counted; the others completed; the study
    spent its budget of ``n`` trials in bounded time (``slack``: what is not the trials')."""
    assert len(trials) == n
    hung = trials[[p["x"] > FAULT_X for p in params_of(trials)]]
    assert len(hung) >= 1, "the seed must draw at least one hanging trial"
    assert set(hung["status"]) == {"failed"}
    assert set(hung["error"]) == {"timeout: exceeded trial_timeout_s=1"}
    assert hung["value"].isna().all()
    assert hung["objective_s"].between(1.0, 1.5).all()
    assert (hung["epochs"] == epochs).all()
    assert set(trials.drop(hung.index)["status"]) == {"complete"}
    assert trials["cum_seconds"].max() >= hung["objective_s"].sum()
    assert wall < len(hung) * 1.5 + slack


class KilledAt(Task):
    """``base`` until its ``k``-th evaluation, which raises KeyboardInterrupt (not an
    Exception: it ends the study like a kill)."""

    def __init__(self, base: Task, k: int) -> None:
        self.base, self.k, self.calls = base, k, 0
        self.name, self.space, self.direction = base.name, base.space, base.direction
        self.metric, self.known_optimum = base.metric, base.known_optimum

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        self.calls += 1
        if self.calls == self.k:
            raise KeyboardInterrupt
        return self.base.evaluate(params, seed, reporter)

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        return self.base.test_score(params, seed)


def assert_killed_study_resumes_exactly(
    optimizer: str,
    task: Task,
    tmp_path: Path,
    *,
    trials: int = 10,
    kill_at: int = 7,
    spec: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A study killed while trial ``kill_at - 1`` ran resumes as if never stopped.

    Returns the uninterrupted study's trial table.
    """
    uninterrupted = run_quadratic(
        optimizer, tmp_path / "u", trials=trials, seed=2, task=task, spec=spec
    )
    with pytest.raises(KeyboardInterrupt):
        killed = KilledAt(task, kill_at)
        run_quadratic(optimizer, tmp_path / "k", trials=trials, seed=2, task=killed, spec=spec)
    journal = pd.read_json(tmp_path / "k" / "journal.jsonl", lines=True)
    assert len(journal) == kill_at - 1
    resumed = run_quadratic(optimizer, tmp_path / "k", trials=trials, seed=2, task=task, spec=spec)
    assert resumed["t_start"].head(kill_at - 1).tolist() == journal["t_start"].tolist()
    assert params_of(resumed) == params_of(uninterrupted)
    return uninterrupted


@pytest.fixture
def quadratic() -> QuadraticTask:
    return QuadraticTask()
