"""One trial: evaluate a task at sampled parameters, time it, and capture failures.

Every adapter evaluates through :func:`evaluate_trial`, so that timing, NaN handling, error
capture, the per-trial time cap and the per-epoch curve are identical whichever framework
proposed the parameters.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from tunebench.harness.deadline import Deadline, TrialTimeout
from tunebench.tasks.base import Task

__all__ = [
    "Reporter",
    "Status",
    "TrialResult",
    "TrialTimeout",
    "derive_seed",
    "evaluate_trial",
    "timeout_error",
    "trial_seed",
]

Status = Literal["complete", "pruned", "failed"]


_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    """SplitMix64's output function (Steele et al. 2014): a well-mixed 64-bit hash of ``x``."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def derive_seed(*parts: int) -> int:
    """A 31-bit seed mixed from integers (a study seed, a trial number, a stream), in about a
    microsecond: the same parts give the same seed on every platform."""
    state = 0
    for part in parts:
        state = _splitmix64(state ^ (part & _MASK64))
    return state >> 33


def trial_seed(study_seed: int, trial: int) -> int:
    """A per-trial seed derived from the study seed and the trial number (31-bit)."""
    return derive_seed(study_seed, trial)


class Reporter:
    """Collects a trial's per-epoch values and relays the framework's stop decision.

    Args:
        should_stop: Called as ``should_stop(epoch, value)`` after each report; return ``True``
            to stop the trial (the framework's pruner or scheduler). ``None`` never stops.
        max_epochs: Epoch cap for this trial (what is left of an epoch budget); a trial that
            reaches it before finishing is cut, and recorded as pruned with the reason.
        timeout_s: The trial's time cap (``trial_timeout_s``); :func:`evaluate_trial`
            interrupts the trial there (see :mod:`tunebench.harness.deadline`). ``None``: no cap.
        on_start: Called as ``on_start(trial, params)`` by :func:`evaluate_trial` just before
            the objective runs (the recorder notes the attempt, for a resume after a kill).
    """

    def __init__(
        self,
        should_stop: Callable[[int, float], bool] | None = None,
        *,
        max_epochs: int | None = None,
        timeout_s: float | None = None,
        on_start: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> None:
        self._should_stop = should_stop
        self.on_start = on_start
        self._max_epochs = max_epochs
        self.timeout_s = timeout_s
        self.deadline = Deadline(timeout_s)
        self.curve: list[dict[str, float]] = []
        self.stopped = False
        self.cut = False
        self.stop_s = 0.0  # seconds inside ``should_stop``: the framework's, not the objective's

    @property
    def epochs(self) -> int:
        """Epochs reported so far."""
        return len(self.curve)

    def report(self, epoch: int, value: float, **metrics: float) -> bool:
        """Record ``value`` (and extra ``metrics``) for ``epoch``; return ``True`` to stop.

        The time cap waits while the epoch is recorded and relayed to the framework.
        """
        with self.deadline.hold():
            self.curve.append({"epoch": int(epoch), "value": float(value), **metrics})
            if self._should_stop is not None and math.isfinite(value):
                t0 = time.perf_counter()
                self.stopped = bool(self._should_stop(int(epoch), float(value)))
                self.stop_s += time.perf_counter() - t0
            if (
                not self.stopped
                and self._max_epochs is not None
                and self.epochs >= self._max_epochs
            ):
                self.cut = self.stopped = True
        return self.stopped


@dataclass
class TrialResult:
    """What one trial produced; the recorder turns it into a trial-table row."""

    trial: int
    params: dict[str, Any]
    status: Status
    value: float
    epochs: int
    t_start: float
    t_end: float
    objective_s: float
    optimizer_s: float = 0.0
    error: str = ""
    curve: list[dict[str, float]] = field(default_factory=list)
    stop_s: float = 0.0
    """Seconds the framework's early-stopping rule took during the trial (part of the
    recorded ``optimizer_s``, not of ``objective_s``)."""


def _plain(value: Any) -> Any:
    """Numpy scalars to plain Python values, so params serialise and type-check alike."""
    return value.item() if isinstance(value, np.generic) else value


def timeout_error(timeout_s: float) -> str:
    """The error recorded for a trial stopped at its time cap."""
    return f"timeout: exceeded trial_timeout_s={timeout_s:g}"


def _describe(exc: BaseException) -> str:
    """One line naming the exception (NumPy's allocation errors as ``MemoryError``)."""
    name = "MemoryError" if isinstance(exc, MemoryError) else type(exc).__name__
    return f"{name}: {exc}".splitlines()[0][:500]


def evaluate_trial(
    task: Task,
    trial: int,
    params: Mapping[str, Any],
    *,
    study_seed: int,
    reporter: Reporter | None = None,
) -> TrialResult:
    """Evaluate ``task`` at ``params``; exceptions and non-finite values become ``failed``.

    A trial whose reporter asked it to stop is ``pruned`` with its last reported value. A trial
    still running at the reporter's time cap is interrupted and ``failed`` (``timeout: ...``),
    with the seconds it spent and the epochs it reported.
    """
    reporter = reporter or Reporter()
    plain = {k: _plain(v) for k, v in params.items()}
    if reporter.on_start is not None:
        reporter.on_start(trial, plain)
    t_start = time.time()
    t0 = time.perf_counter()
    error = ""
    try:
        with reporter.deadline:
            value = float(task.evaluate(plain, trial_seed(study_seed, trial), reporter))
    except (Exception, TrialTimeout) as exc:  # a trial's failure must not end the study
        value, error = math.nan, _describe(exc)
    elapsed = time.perf_counter() - t0
    objective_s = elapsed - reporter.stop_s
    if reporter.deadline.expired:
        assert reporter.timeout_s is not None
        error = timeout_error(reporter.timeout_s)
    if not error and not math.isfinite(value):
        error = f"objective returned {value}"
    if error:
        status: Status = "failed"
        value = math.nan
    elif reporter.stopped:
        status = "pruned"
        if reporter.cut:
            error = f"cut after {reporter.epochs} epochs: the epoch budget is spent"
    else:
        status = "complete"
    return TrialResult(
        trial=trial,
        params=plain,
        status=status,
        value=value,
        epochs=reporter.epochs,
        t_start=t_start,
        t_end=t_start + elapsed,
        objective_s=objective_s,
        error=error,
        curve=reporter.curve,
        stop_s=reporter.stop_s,
    )
