"""The :class:`Task` interface: what is tuned.

Lifecycle: the harness builds a task once per study from its config entry, then for every
trial calls :meth:`Task.evaluate` with the sampled parameters, a per-trial seed and a
:class:`~tunebench.harness.trial.Reporter`.
Tasks that train iteratively call ``reporter.report`` once
per epoch (the fidelity unit) and stop early when it returns ``True``. After the study, the
harness calls :meth:`Task.test_score` on each incumbent to get the honest, held-out number.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from tunebench.core.space import SearchSpace

__all__ = ["Direction", "ReporterLike", "Task"]

Direction = Literal["minimize", "maximize"]


class ReporterLike(Protocol):
    """What a task sees of the harness while it trains."""

    def report(self, epoch: int, value: float, **metrics: float) -> bool:
        """Report the objective ``value`` after ``epoch`` (1-based); ``True`` means stop now."""
        ...


class Task(ABC):
    """An objective with a search space, a direction and a held-out test score.

    Attributes:
        name: The task's name in the experiment config.
        space: The search space tuned over.
        direction: Whether lower (``"minimize"``) or higher (``"maximize"``) values are better.
        metric: Name of the objective (``"value"`` for synthetic functions, ``"accuracy"``...).
        max_fidelity: Epochs a full trial trains for, or ``None`` when the task has no fidelity.
        known_optimum: The best achievable value where it is known, else ``None``.
    """

    name: str
    space: SearchSpace
    direction: Direction
    metric: str = "value"
    max_fidelity: int | None = None
    known_optimum: float | None = None

    def prepare(self) -> None:
        """Load what every trial needs (a data set, a table) before the study's clock starts.

        The harness calls it once per study before the first trial, so no trial is charged the
        loading, whether the study starts afresh or resumes after a kill. Default: nothing.
        """
        return None

    @abstractmethod
    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        """Train/evaluate with ``params`` and return the validation objective."""

    @abstractmethod
    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        """Score ``params`` on data that tuning never sees (same metric and direction)."""
