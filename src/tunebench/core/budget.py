"""Budgets in three currencies and the ledger of what a study has spent.

A budget sets exactly one limit: ``trials`` (number of trials, failed and pruned included),
``epochs`` (fidelity units consumed, pruned trials included) or ``seconds`` (objective plus
optimizer seconds). ``trials_per_dim: k`` is a trials budget that scales with the task, COCO's
convention: ``k`` times the number of parameters of the task's search space. The ledger counts
every currency whatever the limit, so results can be re-sliced in any currency afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Budget", "Currency", "Ledger"]

Currency = Literal["trials", "epochs", "seconds"]
CURRENCIES: tuple[Currency, ...] = ("trials", "epochs", "seconds")
PER_DIM = "trials_per_dim"


@dataclass(frozen=True)
class Budget:
    """A limit in one currency, e.g. ``Budget(name="t50", currency="trials", limit=50)``."""

    name: str
    currency: Currency
    limit: float

    def __post_init__(self) -> None:
        if self.currency not in CURRENCIES:
            raise ValueError(f"budgets.{self.name}: unknown currency {self.currency!r}")
        if not self.limit > 0:
            raise ValueError(f"budgets.{self.name}.{self.currency}: must be > 0, got {self.limit}")

    @classmethod
    def from_config(
        cls, name: str, spec: Mapping[str, Any], *, n_params: int | None = None
    ) -> Budget:
        """Build from a config entry holding exactly one of ``trials``, ``epochs``, ``seconds``
        or ``trials_per_dim``.

        Args:
            name: The budget's name.
            spec: The entry.
            n_params: The task's number of parameters, which ``trials_per_dim`` multiplies
                (a ``trials`` budget comes back).
        """
        limits = {k: v for k, v in spec.items() if k in (*CURRENCIES, PER_DIM)}
        if len(limits) != 1:
            raise ValueError(
                f"budgets.{name}: set exactly one of trials/epochs/seconds/{PER_DIM}, "
                f"got {sorted(limits)}"
            )
        ((currency, limit),) = limits.items()
        if currency == PER_DIM:
            if n_params is None:
                raise ValueError(f"budgets.{name}.{PER_DIM}: needs the task's number of params")
            return cls(name=name, currency="trials", limit=limit * n_params)
        return cls(name=name, currency=currency, limit=limit)

    def to_config(self) -> dict[str, float]:
        """The entry of this budget (a ``trials_per_dim`` budget comes back resolved)."""
        return {self.currency: self.limit}


@dataclass
class Ledger:
    """What a study has spent so far, in every currency."""

    trials: int = 0
    epochs: int = 0
    seconds: float = 0.0

    def charge(self, *, epochs: int, seconds: float, trials: int = 1) -> None:
        """Account for one finished trial (``trials=0``: for time that was no trial of its own,
        such as an attempt a killed job interrupted)."""
        self.trials += trials
        self.epochs += epochs
        self.seconds += seconds

    def spent(self, currency: Currency) -> float:
        """Amount spent in ``currency``."""
        return getattr(self, currency)

    def remaining(self, budget: Budget) -> float:
        """What is left of ``budget`` (never negative)."""
        return max(0.0, budget.limit - self.spent(budget.currency))

    def exhausted(self, budget: Budget) -> bool:
        """Whether no further trial may start under ``budget``."""
        return self.remaining(budget) <= 0
