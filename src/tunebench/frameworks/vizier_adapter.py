"""OSS Vizier adapter: one of Vizier's in-process designers, asked for one trial at a time.

``algorithm``: ``gp_bandit`` (Vizier's GP bandit), ``eagle`` (firefly evolution strategy),
``random`` or ``quasi_random`` (Halton), used through ``suggest``/``update`` without Vizier's
client/server and seeded with the study seed. The designers do not pickle: a resumed study
replays the journal, and the GP bandit's JAX key is restored from ``vizier_state.json`` instead
of rerunning its GP steps. JAX settings are changed only while a study runs.
Details: docs/frameworks.md#vizier.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunebench.core.files import write_json
from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.frameworks.base import Optimizer, OptimizerConfigError
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import evaluate_trial
from tunebench.tasks.base import Task

__all__ = ["VizierOptimizer", "from_vizier", "to_problem"]

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # before jax is imported (the registry imports
# this module only when a vizier optimizer is built)

ALGORITHMS = ("gp_bandit", "eagle", "random", "quasi_random")
METRIC = "objective"
STATE = "vizier_state.json"


def to_problem(space: SearchSpace, direction: str) -> Any:
    """A single-objective ``vz.ProblemStatement`` over the neutral space."""
    from vizier import pyvizier as vz

    problem = vz.ProblemStatement()
    root = problem.search_space.root
    for p in space:
        scale = vz.ScaleType.LOG if getattr(p, "log", False) else vz.ScaleType.LINEAR
        if isinstance(p, FloatParam):
            root.add_float_param(p.name, p.low, p.high, scale_type=scale)
        elif isinstance(p, IntParam):
            root.add_int_param(p.name, p.low, p.high, scale_type=scale)
        else:
            root.add_categorical_param(p.name, p.labels)
    goal = (
        vz.ObjectiveMetricGoal.MINIMIZE
        if direction == "minimize"
        else vz.ObjectiveMetricGoal.MAXIMIZE
    )
    problem.metric_information.append(vz.MetricInformation(METRIC, goal=goal))
    return problem


def from_vizier(space: SearchSpace, parameters: Any) -> dict[str, Any]:
    """Vizier's ``ParameterDict`` as the neutral space declares it (types, bounds, choices)."""
    values = {p.name: parameters[p.name].value for p in space}
    return space.from_native(values, CategoricalParam.choice_of)


class VizierOptimizer(Optimizer):
    """A Vizier designer: ``suggest(1)``, evaluate, ``update``; the harness enforces the budget.

    Args:
        name: The optimizer's config name.
        algorithm: ``gp_bandit``, ``eagle``, ``random`` or ``quasi_random``.
        num_seed_trials: ``gp_bandit`` only: trials (the centre, then Halton points) before
            the GP takes over; ``None``: Vizier's default, 1.
    """

    framework = "vizier"

    def __init__(
        self, *, name: str, algorithm: str = "gp_bandit", num_seed_trials: int | None = None
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise OptimizerConfigError(
                f"optimizers.{name}.algorithm: unknown algorithm {algorithm!r} "
                f"(choose from: {', '.join(ALGORITHMS)})"
            )
        if num_seed_trials is not None and (
            isinstance(num_seed_trials, bool)
            or not isinstance(num_seed_trials, int)
            or num_seed_trials < 1
        ):
            raise OptimizerConfigError(
                f"optimizers.{name}.num_seed_trials: must be a positive integer, "
                f"got {num_seed_trials!r}"
            )
        if num_seed_trials is not None and algorithm != "gp_bandit":
            raise OptimizerConfigError(
                f"optimizers.{name}.num_seed_trials: only for algorithm gp_bandit, "
                f"not {algorithm!r}"
            )
        self.name = name
        self.algorithm = algorithm
        self.num_seed_trials = 1 if num_seed_trials is None else num_seed_trials

    def _new_designer(self, problem: Any, seed: int) -> Any:
        if self.algorithm == "gp_bandit":
            import jax
            from vizier._src.algorithms.designers.gp_bandit import VizierGPBandit

            return VizierGPBandit(
                problem, rng=jax.random.PRNGKey(seed), num_seed_trials=self.num_seed_trials
            )
        if self.algorithm == "eagle":
            from vizier._src.algorithms.designers.eagle_strategy.eagle_strategy import (
                EagleStrategyDesigner,
            )

            return EagleStrategyDesigner(problem, seed=seed)
        if self.algorithm == "random":
            from vizier._src.algorithms.designers.random import RandomDesigner

            return RandomDesigner(problem.search_space, seed=seed)
        from vizier._src.algorithms.designers.quasi_random import QuasiRandomDesigner

        return QuasiRandomDesigner(problem.search_space, seed=seed)

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Suggest, evaluate, update until the recorder's budget is spent."""
        with _vizier_runtime():
            self._run(task, seed, recorder)

    def _run(self, task: Task, seed: int, recorder: Recorder) -> None:
        from vizier import pyvizier as vz

        problem = to_problem(task.space, task.direction)
        designer = self._new_designer(problem, seed)
        state = recorder.study_dir / STATE if self.algorithm == "gp_bandit" else None
        self._replay(designer, task.space, recorder.rows, state)
        while not recorder.exhausted:
            number = recorder.n_trials
            t0 = time.perf_counter()
            (suggestion,) = designer.suggest(count=1)
            suggest_s = time.perf_counter() - t0
            params = from_vizier(task.space, suggestion.parameters)
            result = evaluate_trial(
                task, number, params, study_seed=seed, reporter=recorder.reporter()
            )
            trial = vz.Trial(
                id=number + 1,
                parameters=task.space.labelled(params),
                metadata=suggestion.metadata,
            )
            t1 = time.perf_counter()
            _update(designer, trial, result.status, result.value, result.error)
            result.optimizer_s = suggest_s + time.perf_counter() - t1
            recorder.record(result)
            if state is not None:
                _save_key(designer, recorder.n_trials, state)

    def _replay(
        self, designer: Any, space: SearchSpace, rows: list[dict[str, Any]], state: Path | None
    ) -> None:
        """Bring a fresh designer to where it stood after the recorded trials.

        Every recorded trial is suggested again and updated with its recorded outcome, except
        the GP bandit's GP-phase trials covered by the saved key: those are updated only, and
        the key is restored after the last of them.
        """
        from vizier import pyvizier as vz

        saved, key = _load_key(state, len(rows))
        for number, row in enumerate(rows):
            gp_step = self.algorithm == "gp_bandit" and number >= self.num_seed_trials
            metadata = vz.Metadata()
            if not (gp_step and number < saved):
                (suggestion,) = designer.suggest(count=1)
                metadata = suggestion.metadata
            params = space.labelled(json.loads(row["params"]))
            trial = vz.Trial(id=number + 1, parameters=params, metadata=metadata)
            _update(designer, trial, row["status"], float(row["value"]), row["error"])
            if number + 1 == saved:
                _restore_key(designer, key)


def _update(designer: Any, trial: Any, status: str, value: float, error: str) -> None:
    """Complete ``trial`` with the outcome (a failure as infeasible); hand it to the designer."""
    from vizier import algorithms as vza
    from vizier import pyvizier as vz

    if status == "failed" or not math.isfinite(value):
        trial.complete(vz.Measurement(), infeasibility_reason=error or "failed")
    else:
        trial.complete(vz.Measurement(metrics={METRIC: value}))
    designer.update(vza.CompletedTrials([trial]), vza.ActiveTrials())


def _save_key(designer: Any, trials: int, path: Path) -> None:
    """Write the GP bandit's JAX key after ``trials`` trials, atomically."""
    import numpy as np

    key = np.asarray(designer._rng).tolist()  # the designer's only random state after its seeds
    write_json(path, {"trials": trials, "rng": key})


def _load_key(path: Path | None, recorded: int) -> tuple[int, Any]:
    """``(trials, key)`` saved in ``path``; ``(0, None)`` if there is none or it is ahead of the
    journal (then every recorded trial is suggested again)."""
    if path is None or not path.exists():
        return 0, None
    saved = json.loads(path.read_text())
    if saved["trials"] > recorded:
        return 0, None
    return saved["trials"], saved["rng"]


def _restore_key(designer: Any, key: Any) -> None:
    import jax.numpy as jnp

    if key is not None:
        designer._rng = jnp.asarray(key, dtype=jnp.uint32)


@contextlib.contextmanager
def _vizier_runtime() -> Iterator[None]:
    """x64 JAX, absl at WARNING and no numpy divide warnings while a study runs."""
    import jax
    import numpy as np
    from absl import logging as absl_logging

    x64 = jax.config.read("jax_enable_x64")
    verbosity = absl_logging.get_verbosity()
    jax.config.update("jax_enable_x64", True)
    absl_logging.set_verbosity(absl_logging.WARNING)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            yield
    finally:
        absl_logging.set_verbosity(verbosity)
        jax.config.update("jax_enable_x64", x64)
