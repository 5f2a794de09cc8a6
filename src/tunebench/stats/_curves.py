"""Budget curves: best-so-far against trials, epochs or seconds, and ranks over budget fractions.

Anytime performance answers "how good is each optimizer after spending x?" in each of the
three currencies of the trial table (``cum_trials``, ``cum_epochs``, ``cum_seconds``):
comparing at equal trials hides the cost of a trial, comparing at equal seconds includes the
optimizer's own overhead. Reporting performance as a function of the budget rather than at one
budget is the recommendation of Dodge et al. (2019, EMNLP, "Show your work"). Bands over seeds
come from :func:`tunebench.stats._uncertainty.bootstrap_band`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tunebench.core.tables import require_columns
from tunebench.stats._metrics import (
    FRACTIONS,
    _normalise,
    _normalisers,
    ranks,
    scores_at,
    study_scores,
)
from tunebench.stats._uncertainty import mean_ranks
from tunebench.stats._util import (
    segments,
    sign,
    study_index,
    study_keys,
    task_groups,
)

__all__ = ["CURRENCIES", "anytime", "budget_ranks"]

#: Budget currencies of :func:`anytime` → the cumulative column of the trial table.
CURRENCIES: dict[str, str] = {
    "trials": "cum_trials",
    "epochs": "cum_epochs",
    "seconds": "cum_seconds",
}

_GRID_POINTS = 50


def _default_grid(cum: np.ndarray, currency: str) -> np.ndarray:
    cum = cum[np.isfinite(cum)]
    if cum.size == 0 or cum.max() <= 0:
        return np.array([], dtype=float)
    if currency == "trials":
        return np.arange(1.0, np.ceil(cum.max()) + 1.0)
    return np.linspace(cum.min(), cum.max(), _GRID_POINTS)


def anytime(
    trials: pd.DataFrame,
    currency: str = "trials",
    grid: Sequence[float] | np.ndarray | None = None,
    *,
    normalise: bool = False,
    baseline: str = "random",
) -> pd.DataFrame:
    """Best-so-far validation value of each study as a step function of the budget spent.

    The value at ``x`` is the best ``value`` among complete trials with cumulative spend
    ``<= x`` (NaN before the first complete trial; the final best is carried on after the
    study's last trial). The default grid is per task, shared by all its studies: the integers
    ``1..max`` for trials, else 50 evenly spaced points from the smallest to the largest spend
    on the task; a task that never spends the currency (epochs on a task without fidelity) is
    left out. With ``normalise=True`` values are mapped to ``(f - f_opt) / (f_base - f_opt)``
    per task (and budget), where ``f_opt`` is the known optimum or best validation value seen
    and ``f_base`` the baseline's mean final best, so curves share an axis across tasks (lower
    is better). Vectorised: one :func:`pandas.merge_asof` of the grid against the running
    best of all studies at once; the key columns of the result are categoricals.

    Args:
        trials: Trial table, one row per trial.
        currency: ``trials``, ``epochs`` or ``seconds``.
        grid: Common evaluation points for all studies (default: per task, see above).
        normalise: Normalise per task as in :func:`tunebench.stats._metrics.normalised_scores`, on
            validation values.
        baseline: Baseline optimizer of the normalisation.

    Returns:
        Long table, one row per (study, x): study keys, ``direction, currency, normalised,
        x, best``.
    """
    if currency not in CURRENCIES:
        raise ValueError(f"currency must be one of {sorted(CURRENCIES)}, got {currency!r}")
    keys = study_keys(trials)
    col = CURRENCIES[currency]
    require_columns(trials, ("trial", "status", "value", "direction", col), "trial table")
    columns = [*keys, "direction", "currency", "normalised", "x", "best"]

    sid, first = study_index(trials, keys)
    studies = trials[[*keys, "direction"]].iloc[first].reset_index(drop=True)
    cum = pd.to_numeric(trials[col], errors="coerce").to_numpy(dtype=float)
    # the grid: (study id, x) pairs, built with numpy
    if grid is None:
        task_codes, _ = pd.factorize(trials["task"])
        study_task = task_codes[first]
        t_order, t_starts, t_ends = segments(task_codes)
        sids, xs = [], []
        for start, end in zip(t_starts, t_ends, strict=True):
            rows = t_order[start:end]
            points = _default_grid(cum[rows], currency)
            members = np.flatnonzero(study_task == task_codes[rows[0]])
            sids.append(np.repeat(members, points.size))
            xs.append(np.tile(points, members.size))
        left_sid = np.concatenate(sids) if sids else np.zeros(0, dtype=np.intp)
        left_x = np.concatenate(xs) if xs else np.zeros(0)
    else:
        points = np.asarray(grid, dtype=float)
        left_sid = np.repeat(np.arange(first.size), points.size)
        left_x = np.tile(points, first.size)
    if left_sid.size == 0:
        return pd.DataFrame(columns=columns)

    value = pd.to_numeric(trials["value"], errors="coerce").to_numpy(dtype=float)
    done = trials["status"].eq("complete").fillna(False).to_numpy(dtype=bool)
    ok = done & np.isfinite(value) & np.isfinite(cum)
    pos = np.flatnonzero(ok)
    order = np.lexsort((trials["trial"].to_numpy()[pos], cum[pos], sid[pos]))
    pos = pos[order]
    signed = sign(trials["direction"])[pos] * value[pos]
    right = pd.DataFrame(
        {
            "sid": sid[pos],
            "cum": cum[pos],
            "run": pd.Series(signed).groupby(sid[pos], sort=False).cummin().to_numpy(),
        }
    ).sort_values("cum", kind="stable")
    left = pd.DataFrame({"sid": left_sid, "x": left_x}).sort_values("x", kind="stable")
    merged = pd.merge_asof(
        left, right, left_on="x", right_on="cum", by="sid", direction="backward"
    )
    back = np.lexsort((merged["x"].to_numpy(), merged["sid"].to_numpy()))
    m_sid = merged["sid"].to_numpy()[back]
    # keys as categoricals: one cheap take of codes per column instead of a million strings
    out = pd.DataFrame({c: _categorical_take(studies[c], m_sid) for c in [*keys, "direction"]})
    out["currency"] = currency
    out["normalised"] = normalise
    out["x"] = merged["x"].to_numpy()[back]
    out["best"] = sign(studies["direction"])[m_sid] * merged["run"].to_numpy(dtype=float)[back]
    if normalise:
        finals = study_scores(trials)
        groups = task_groups(finals)
        norm = _normalisers(finals, "best_value", baseline, groups)
        f_opt = studies[groups].merge(norm, on=groups, how="left")
        out["best"] = _normalise(
            out["best"].to_numpy(),
            f_opt["f_opt"].to_numpy(dtype=float)[m_sid],
            f_opt["f_base"].to_numpy(dtype=float)[m_sid],
        )
    return out[columns]


def _categorical_take(values: pd.Series, codes: np.ndarray) -> pd.Categorical:
    """``values[codes]`` as a categorical (cheap for many rows drawn from few values)."""
    cat = pd.Categorical(values)
    return pd.Categorical.from_codes(cat.codes[codes], dtype=cat.dtype)


def budget_ranks(
    trials: pd.DataFrame,
    fractions: Sequence[float] = FRACTIONS,
    currency: str = "trials",
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Mean rank of each optimizer after 25, 50 and 100 % of the budget (by default).

    At each fraction every study reports the test score of its incumbent at the cut
    (:func:`tunebench.stats._metrics.scores_at`); optimizers are ranked within each (task, seed)
    block (missing → worst) and the ranks averaged with a bootstrap CI over blocks
    (:func:`tunebench.stats._uncertainty.mean_ranks`). A method that leads at 25 % and trails at
    100 % is fast but plateaus: the order of methods can depend on the budget (Dodge et al.,
    2019).

    Args:
        trials: Trial table, one row per trial.
        fractions: Budget fractions in ``(0, 1]``.
        currency: Currency in which the fractions are taken.
        n_boot: Bootstrap replicates.
        confidence: Coverage of the intervals.
        random_state: Seed or generator.

    Returns:
        ``budget, currency, fraction, optimizer, mean_rank, ci_low, ci_high, n_blocks``.
    """
    at = scores_at(trials, fractions, currency)
    rng = np.random.default_rng(random_state)
    frames = []
    for (budget, fraction), g in at.groupby(["budget", "fraction"], sort=True):
        mr = mean_ranks(ranks(g.drop(columns="fraction")), n_boot, confidence, rng)
        mr.insert(0, "fraction", fraction)
        mr.insert(0, "currency", currency)
        mr.insert(0, "budget", budget)
        frames.append(mr)
    return pd.concat(frames, ignore_index=True)
