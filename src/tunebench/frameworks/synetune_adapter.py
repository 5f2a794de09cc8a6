"""Syne Tune adapter: its ``AskTellScheduler`` over a single-objective scheduler.

``searcher``: ``random``, ``tpe`` (Syne Tune's KDE searcher) or ``bo`` (a BoTorch GP), in Syne
Tune's ``SingleObjectiveScheduler``. The neutral space becomes Syne Tune's config space
(categoricals by index). The searcher, the scheduler and a study-owned copy of NumPy's and
torch's global generators are seeded with the study seed. No early stopping (Syne Tune's ASHA
needs its trial backend). A resumed study replays the journal.
Details: docs/frameworks.md#synetune.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from tunebench.core.space import FloatParam, IntParam, SearchSpace
from tunebench.frameworks._globalrng import StudyGlobals
from tunebench.frameworks.base import Optimizer, OptimizerConfigError, check_replayed
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import evaluate_trial
from tunebench.tasks.base import Task

__all__ = ["SyneTuneOptimizer", "from_synetune", "to_config_space"]

SEARCHERS = ("random", "tpe", "bo")
METRIC = "objective"


def to_config_space(space: SearchSpace) -> dict[str, Any]:
    """Translate the neutral space to a Syne Tune config space (see the module docstring)."""
    from syne_tune import config_space as cs

    out: dict[str, Any] = {}
    for p in space:
        if isinstance(p, FloatParam):
            out[p.name] = (cs.loguniform if p.log else cs.uniform)(p.low, p.high)
        elif isinstance(p, IntParam):
            out[p.name] = (cs.lograndint if p.log else cs.randint)(p.low, p.high)
        else:
            out[p.name] = cs.choice(list(range(len(p.choices))))
    return out


def from_synetune(space: SearchSpace, config: Mapping[str, Any]) -> dict[str, Any]:
    """A suggested config as the neutral space declares it (types, bounds, choices)."""
    return space.from_native(config, lambda param, index: param.choices[int(index)])


class SyneTuneOptimizer(Optimizer):
    """A Syne Tune searcher driven by ask/tell; the harness enforces the budget.

    Args:
        name: The optimizer's config name.
        searcher: ``random``, ``tpe`` or ``bo``.
        searcher_options: Keyword arguments for the searcher's constructor.
    """

    framework = "synetune"

    def __init__(
        self,
        *,
        name: str,
        searcher: str = "random",
        searcher_options: Mapping[str, Any] | None = None,
    ) -> None:
        if searcher not in SEARCHERS:
            raise OptimizerConfigError(
                f"optimizers.{name}.searcher: unknown searcher {searcher!r} "
                f"(choose from: {', '.join(SEARCHERS)})"
            )
        self.name = name
        self.searcher = searcher
        self.searcher_options = dict(searcher_options or {})
        self.algorithm = searcher

    def _searcher_class(self) -> Any:
        if self.searcher == "random":
            from syne_tune.optimizer.schedulers.searchers.random_searcher import RandomSearcher

            return RandomSearcher
        if self.searcher == "tpe":
            from syne_tune.optimizer.schedulers.searchers.kde import KernelDensityEstimator

            return KernelDensityEstimator
        try:
            from syne_tune.optimizer.schedulers.searchers.botorch.botorch_searcher import (
                BoTorchSearcher,
            )
        except ImportError as exc:
            raise OptimizerConfigError(
                f"optimizers.{self.name}.searcher: bo needs botorch ({exc}): pip install botorch"
            ) from None
        return BoTorchSearcher

    def _new_scheduler(self, task: Task, seed: int) -> Any:
        from syne_tune.optimizer.schedulers.ask_tell_scheduler import AskTellScheduler
        from syne_tune.optimizer.schedulers.single_objective_scheduler import (
            SingleObjectiveScheduler,
        )

        config_space = to_config_space(task.space)
        try:
            searcher = self._searcher_class()(
                config_space, random_seed=seed, **self.searcher_options
            )
        except TypeError as exc:
            raise OptimizerConfigError(f"optimizers.{self.name}.searcher_options: {exc}") from None
        scheduler = SingleObjectiveScheduler(
            config_space,
            metric=METRIC,
            do_minimize=task.direction == "minimize",
            searcher=searcher,
            random_seed=seed,
        )
        return AskTellScheduler(base_scheduler=scheduler)

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Replay the journal, then ask, evaluate, tell until the budget is spent."""
        globals_ = StudyGlobals(seed, torch=self.searcher == "bo")
        with _quiet(self.searcher):
            with globals_:
                scheduler = self._new_scheduler(task, seed)
            _replay(scheduler, task.space, recorder.rows, globals_)
            while not recorder.exhausted:
                t0 = time.perf_counter()
                with globals_:
                    trial = scheduler.ask()
                ask_s = time.perf_counter() - t0
                params = from_synetune(task.space, trial.config)
                result = evaluate_trial(
                    task, recorder.n_trials, params, study_seed=seed, reporter=recorder.reporter()
                )
                t1 = time.perf_counter()
                with globals_:
                    _tell(scheduler, trial, result.status, result.value)
                result.optimizer_s = ask_s + time.perf_counter() - t1
                recorder.record(result)


def _tell(scheduler: Any, trial: Any, status: str, value: float) -> None:
    """Hand one trial's outcome to Syne Tune."""
    if status == "failed":
        scheduler.base_scheduler.on_trial_error(trial)
    else:
        scheduler.tell(trial, {METRIC: value})


def _replay(
    scheduler: Any, space: SearchSpace, rows: list[dict[str, Any]], globals_: StudyGlobals
) -> None:
    """Ask again and tell the recorded trials, checking Syne Tune proposes what they hold."""
    for number, row in enumerate(rows):
        with globals_:
            trial = scheduler.ask()
        params = from_synetune(space, trial.config)
        check_replayed("Syne Tune", number, params, row)
        with globals_:
            _tell(scheduler, trial, row["status"], float(row["value"]))


@contextlib.contextmanager
def _quiet(searcher: str) -> Iterator[None]:
    """Syne Tune's loggers at WARNING, without two warnings about what its searchers pass on.

    ``tpe``: statsmodels' ``KDEMultivariate`` warns that its default generator will change;
    it draws from it only for ``efficient`` bandwidths, which Syne Tune does not use. ``bo``:
    gpytorch warns at every GP fit about the zero observation noise ``BoTorchSearcher`` sets.
    """
    logger = logging.getLogger("syne_tune")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            if searcher == "tpe":
                warnings.filterwarnings("ignore", message="After 0.17 or January 2028")
            if searcher == "bo":
                warnings.filterwarnings("ignore", message="Very small noise values detected")
            yield
    finally:
        logger.setLevel(level)
