"""Nevergrad adapter: ``optimizer.ask()``, evaluate, ``optimizer.tell(candidate, loss)``.

``optimizer``: ``NGOpt``, ``OnePlusOne`` or ``RandomSearch``, built with a budget hint (from the
study's budget, or ``budget_hint``) that is fixed when the study starts (``nevergrad.json``).
The neutral space becomes an ``ng.p.Dict``; the parametrization's random state and a
study-owned copy of NumPy's global generator are seeded with the study seed. A resumed study
replays the journal: each recorded trial is asked again, checked and told its outcome.
Details: docs/frameworks.md#nevergrad.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from tunebench.core.files import write_json
from tunebench.core.space import CategoricalParam, IntParam, SearchSpace
from tunebench.frameworks._globalrng import StudyGlobals
from tunebench.frameworks.base import Optimizer, OptimizerConfigError, check_replayed
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import evaluate_trial
from tunebench.tasks.base import Task

__all__ = ["NevergradOptimizer", "from_nevergrad", "to_parametrization"]

OPTIMIZERS = ("NGOpt", "OnePlusOne", "RandomSearch")
SECONDS_BUDGET_HINT = 1000
"""The budget hint for a seconds budget (nevergrad needs a number of evaluations)."""
STATE_FILE = "nevergrad.json"


def to_parametrization(space: SearchSpace) -> Any:
    """Translate the neutral space to an ``ng.p.Dict`` (see the module docstring)."""
    import nevergrad as ng

    params: dict[str, Any] = {}
    for p in space:
        if isinstance(p, CategoricalParam):
            params[p.name] = ng.p.Choice(list(range(len(p.choices))))
            continue
        low, high = (p.low - 0.5, p.high + 0.5) if isinstance(p, IntParam) else (p.low, p.high)
        param = ng.p.Log(lower=low, upper=high) if p.log else ng.p.Scalar(lower=low, upper=high)
        params[p.name] = param.set_integer_casting() if isinstance(p, IntParam) else param
    return ng.p.Dict(**params)


def from_nevergrad(space: SearchSpace, value: Mapping[str, Any]) -> dict[str, Any]:
    """A candidate's value as the neutral space declares it (types, bounds, choices)."""
    return space.from_native(value, lambda param, index: param.choices[int(index)])


class NevergradOptimizer(Optimizer):
    """A nevergrad optimizer driven by ask/tell; the harness enforces the budget.

    Args:
        name: The optimizer's config name.
        optimizer: ``NGOpt``, ``OnePlusOne`` or ``RandomSearch``.
        budget_hint: The ``budget`` nevergrad is told (``None``: derived from the study's
            budget, see the module docstring).
    """

    framework = "nevergrad"

    def __init__(
        self, *, name: str, optimizer: str = "NGOpt", budget_hint: int | None = None
    ) -> None:
        if optimizer not in OPTIMIZERS:
            raise OptimizerConfigError(
                f"optimizers.{name}.optimizer: unknown optimizer {optimizer!r} "
                f"(choose from: {', '.join(OPTIMIZERS)})"
            )
        if budget_hint is not None and (
            isinstance(budget_hint, bool) or not isinstance(budget_hint, int) or budget_hint < 1
        ):
            raise OptimizerConfigError(
                f"optimizers.{name}.budget_hint: must be a positive integer, got {budget_hint!r}"
            )
        self.name = name
        self.optimizer = optimizer
        self.budget_hint = budget_hint
        self.algorithm = optimizer

    def _hint(self, task: Task, recorder: Recorder) -> int:
        """The budget hint: stored when the study started, else derived now and stored."""
        path = recorder.study_dir / STATE_FILE
        if recorder.rows and path.exists():
            return int(json.loads(path.read_text())["budget_hint"])
        hint = self.budget_hint
        if hint is None:
            budget = recorder.budget
            if budget.currency == "trials":
                hint = math.ceil(budget.limit)
            elif budget.currency == "epochs":
                hint = math.ceil(budget.limit / (task.max_fidelity or 1))
            else:
                hint = SECONDS_BUDGET_HINT
        write_json(path, {"budget_hint": hint})
        return hint

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Replay the journal, then ask, evaluate, tell until the budget is spent."""
        import nevergrad as ng

        hint = self._hint(task, recorder)
        globals_ = StudyGlobals(seed)
        with globals_:
            parametrization = to_parametrization(task.space)
            parametrization.random_state = np.random.RandomState(seed)
            optimizer = ng.optimizers.registry[self.optimizer](
                parametrization=parametrization, budget=hint
            )
        sign = 1.0 if task.direction == "minimize" else -1.0
        _replay(optimizer, task.space, recorder.rows, sign, globals_)
        while not recorder.exhausted:
            t0 = time.perf_counter()
            with globals_:
                candidate = optimizer.ask()
            ask_s = time.perf_counter() - t0
            params = from_nevergrad(task.space, candidate.value)
            result = evaluate_trial(
                task, recorder.n_trials, params, study_seed=seed, reporter=recorder.reporter()
            )
            t1 = time.perf_counter()
            with globals_:
                _tell(optimizer, candidate, _loss(result.status, result.value, sign))
            result.optimizer_s = ask_s + time.perf_counter() - t1
            recorder.record(result)


def _loss(status: str, value: float, sign: float) -> float:
    """What nevergrad is told: the signed value, or ``inf`` for a failed trial."""
    return math.inf if status == "failed" else sign * value


def _tell(optimizer: Any, candidate: Any, loss: float) -> None:
    """Tell one loss; nevergrad caps ``inf`` at 5e20 and warns, which is expected here."""
    import nevergrad as ng

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ng.errors.LossTooLargeWarning)
        optimizer.tell(candidate, loss)


def _replay(
    optimizer: Any,
    space: SearchSpace,
    rows: list[dict[str, Any]],
    sign: float,
    globals_: StudyGlobals,
) -> None:
    """Ask again and tell the recorded trials, checking nevergrad proposes what they hold."""
    for number, row in enumerate(rows):
        with globals_:
            candidate = optimizer.ask()
        params = from_nevergrad(space, candidate.value)
        check_replayed("nevergrad", number, params, row)
        with globals_:
            _tell(optimizer, candidate, _loss(row["status"], float(row["value"]), sign))
