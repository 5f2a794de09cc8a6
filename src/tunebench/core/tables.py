"""The data contract between tuning and analysis: column names of the trial and curve tables.

Trial table (one row per trial; ``results/studies/.../trials.parquet`` and the aggregate
``results/trials.parquet``):

- study keys: ``experiment, task, optimizer, framework, algorithm, budget, seed``
- ``trial`` (0-based, in the order the optimizer proposed it), ``status`` (``complete``,
  ``pruned`` or ``failed``), ``error`` (message of a failed trial, else empty), ``attempt``
  (1, or 1 + the earlier attempts at this trial that a killed job interrupted; they are no
  trials of their own and are listed in the study's ``attempts.jsonl``)
- ``value``: validation objective (NaN for failed trials); ``test_value``: held-out score of the
  trial's configuration, filled only on incumbent rows (trials that improved the best value)
- ``params``: JSON object of the sampled parameters
- ``epochs``: fidelity units consumed (0 for tasks without fidelity)
- ``t_start, t_end``: Unix times of the objective call; ``objective_s``: seconds inside the
  objective; ``optimizer_s``: seconds the framework spent proposing/updating for this trial;
  ``interrupted_s``: seconds its interrupted attempts ran before the kill (0 for most trials)
- ``cum_trials, cum_epochs, cum_seconds``: what the study had spent when this trial ended, in
  each budget currency (seconds = objective + optimizer + interrupted seconds, so resumes do not
  count downtime)
- ``direction`` (``minimize``/``maximize``), ``metric`` and ``known_optimum`` (NaN if unknown),
  copied from the task so that the table is self-describing

Curve table (one row per reported epoch): the study keys, ``trial, epoch, value`` and any
extra metrics the task reported as further columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CURVE_KEYS",
    "STATUSES",
    "STUDY_KEYS",
    "TRIAL_COLUMNS",
    "incumbent_flags",
    "require_columns",
]

STUDY_KEYS: tuple[str, ...] = (
    "experiment",
    "task",
    "optimizer",
    "framework",
    "algorithm",
    "budget",
    "seed",
)

TRIAL_COLUMNS: tuple[str, ...] = (
    *STUDY_KEYS,
    "trial",
    "status",
    "error",
    "attempt",
    "value",
    "test_value",
    "params",
    "epochs",
    "t_start",
    "t_end",
    "objective_s",
    "optimizer_s",
    "interrupted_s",
    "cum_trials",
    "cum_epochs",
    "cum_seconds",
    "direction",
    "metric",
    "known_optimum",
)

CURVE_KEYS: tuple[str, ...] = (*STUDY_KEYS, "trial", "epoch", "value")

STATUSES: tuple[str, ...] = ("complete", "pruned", "failed")


def incumbent_flags(values: list[float], statuses: list[str], direction: str) -> list[bool]:
    """Flag the trials (in trial order) whose value strictly improved on all earlier ones.

    Only ``complete`` trials can be incumbents: a pruned trial did not finish training and a
    failed one has no value.
    """
    sign = 1.0 if direction == "minimize" else -1.0
    best = float("inf")
    flags = []
    for value, status in zip(values, statuses, strict=True):
        improved = status == "complete" and sign * value < best
        if improved:
            best = sign * value
        flags.append(improved)
    return flags


def require_columns(
    df: pd.DataFrame, columns: Iterable[str], what: str, *, non_empty: bool = False
) -> None:
    """Raise ``KeyError`` naming the ``columns`` that ``df`` lacks (``what`` names the table).

    With ``non_empty``, an empty table raises ``ValueError`` too.
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{what} lacks column(s) {missing}")
    if non_empty and df.empty:
        raise ValueError(f"{what} is empty: nothing to plot")
