"""Test tasks: a real objective on a mixed search space, and variants that fail on purpose.

They stay picklable (frameworks such as Ray Tune evaluate them in worker processes), so they
live in an importable module: ``from tests.helpers.tasks import QuadraticTask``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from tunebench.core.space import SearchSpace
from tunebench.tasks.base import ReporterLike, Task

MIXED_SPACE = {
    "x": {"type": "float", "low": -2.0, "high": 3.0},
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "n": {"type": "int", "low": 1, "high": 6},
    "width": {"type": "int", "low": 4, "high": 256, "log": True},
    "act": {"type": "categorical", "choices": ["relu", "tanh", "gelu"]},
}


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


class AlwaysFails(QuadraticTask):
    """The quadratic task, every evaluation of which raises ``ValueError("diverged")``."""

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        raise ValueError("diverged")
