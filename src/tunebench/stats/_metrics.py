"""Per-study metrics on the trial table: incumbents, final scores, normalised scores, ranks, cost.

Pure functions: they take the trial table of :mod:`tunebench.core.tables` (or the output of another
function here) and return new DataFrames; no resampling, no tests, no files.

- A *study* is one (task, optimizer, budget, seed) run; ``experiment``, ``framework`` and
  ``algorithm`` are constant within it and are carried along as keys.
- Only ``complete`` trials can be incumbents: pruned trials stopped before the end of
  training, so their validation value is not comparable, and failed trials have none.
- The reported result of a study is the *test* score of its final incumbent, the configuration
  selected on validation data (Cawley & Talbot, 2010, JMLR 11:2079-2107); validation scores are
  optimistically biased by the selection itself.
- Scores are made commensurable across tasks with the Bayesmark normalisation
  ``(f - f_opt) / (f_base - f_opt)``: 0 is the optimum, 1 the baseline's mean, lower is better
  for every task whatever its direction (Turner et al., 2021, PMLR 133).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tunebench.core.tables import require_columns
from tunebench.stats._util import (
    as_tuple,
    block_keys,
    sign,
    study_index,
    study_keys,
    task_groups,
)

__all__ = [
    "FRACTIONS",
    "cost_breakdown",
    "incumbents",
    "normalised_scores",
    "rank_matrix",
    "ranks",
    "scores_at",
    "study_scores",
]

#: Default budget fractions of :func:`scores_at` (25, 50 and 100 % of the budget).
FRACTIONS: tuple[float, ...] = (0.25, 0.5, 1.0)

_CURRENCY_COLUMNS = {"trials": "cum_trials", "epochs": "cum_epochs", "seconds": "cum_seconds"}


def _normalisers(
    frame: pd.DataFrame, value: str, baseline: str, groups: Sequence[str]
) -> pd.DataFrame:
    """Per group: ``f_opt``, ``f_base`` and a ``normaliser`` label for column ``value``.

    ``frame`` has one row per study with ``groups``, ``optimizer``, ``direction``,
    ``known_optimum`` and ``value``. ``f_opt`` is the known optimum, else the best ``value``
    seen in the group; ``f_base`` the mean ``value`` of the ``baseline`` optimizer, else
    (baseline absent or all NaN) the worst optimizer mean in the group.
    """
    rows = []
    for key, g in frame.groupby(list(groups), sort=True, dropna=False):
        s = sign(g["direction"].iloc[:1])[0]
        known = pd.to_numeric(g["known_optimum"], errors="coerce").dropna()
        signed = s * g[value].to_numpy(dtype=float)
        if len(known):
            f_opt = float(known.iloc[0])
        elif np.isfinite(signed).any():
            f_opt = s * float(np.nanmin(signed))
        else:
            f_opt = np.nan
        means = g.groupby("optimizer", sort=True)[value].mean().dropna()
        if baseline in means.index:
            f_base, label = float(means[baseline]), f"baseline={baseline}"
        elif len(means):
            worst = (s * means).idxmax()
            f_base = float(means[worst])
            label = f"worst-mean={worst} ({baseline!r} absent)"
        else:
            f_base, label = np.nan, "none"
        rows.append((*as_tuple(key), f_opt, f_base, label))
    return pd.DataFrame(rows, columns=[*groups, "f_opt", "f_base", "normaliser"])


def _normalise(f: np.ndarray, f_opt: np.ndarray, f_base: np.ndarray) -> np.ndarray:
    """``(f - f_opt) / (f_base - f_opt)``; NaN where the denominator is 0 or unknown."""
    denom = np.asarray(f_base, dtype=float) - np.asarray(f_opt, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (np.asarray(f, dtype=float) - f_opt) / denom
    return np.where(np.isfinite(denom) & (denom != 0), out, np.nan)


# --------------------------------------------------------------------------------------------
# incumbents and final scores


def _incumbent_positions(trials: pd.DataFrame, sid: np.ndarray) -> np.ndarray:
    """Row positions of the incumbents, ordered by study id and trial (see :func:`incumbents`)."""
    value = pd.to_numeric(trials["value"], errors="coerce").to_numpy(dtype=float)
    ok = trials["status"].eq("complete").fillna(False).to_numpy(dtype=bool) & np.isfinite(value)
    pos = np.flatnonzero(ok)
    if pos.size == 0:
        return pos
    signed = sign(trials["direction"])[pos] * value[pos]
    order = np.lexsort((trials["trial"].to_numpy()[pos], sid[pos]))
    pos, signed, g = pos[order], signed[order], sid[pos][order]
    run = pd.Series(signed).groupby(g, sort=False).cummin().to_numpy()
    new_study = np.r_[True, g[1:] != g[:-1]]
    previous = np.r_[np.inf, run[:-1]]
    return pos[new_study | (signed < previous)]


def incumbents(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials at which each study's best-so-far validation value strictly improved.

    Only ``complete`` trials with a finite ``value`` can be incumbents (pruned trials did not
    finish training; failed ones have no value). Trials are taken in ``trial`` order and the
    comparison respects ``direction``; the first complete trial is always an incumbent.

    Args:
        trials: Trial table (see :mod:`tunebench.core.tables`), one row per trial.

    Returns:
        The incumbent rows (all columns), sorted by study keys and ``trial``.
    """
    keys = study_keys(trials)
    require_columns(trials, ("trial", "status", "value", "direction"), "trial table")
    sid, _ = study_index(trials, keys)
    return trials.iloc[_incumbent_positions(trials, sid)].reset_index(drop=True)


def study_scores(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per study with its counts, final incumbent and spend.

    ``test_value`` is the held-out score of the final incumbent, the number reported as the
    result of the study (Cawley & Talbot, 2010). ``regret`` is direction-aware and signed:
    ``test_value - known_optimum`` for minimisation, ``known_optimum - test_value`` for
    maximisation (NaN when the optimum is unknown; it can be slightly negative when the test
    score beats an optimum defined on other data). A study without a complete trial gets NaN
    scores.

    Args:
        trials: Trial table, one row per trial.

    Returns:
        One row per study: study keys, ``n_trials, n_failed, n_pruned, best_value,
        test_value, regret, direction, known_optimum, cum_epochs, cum_seconds`` (the last two:
        totals spent), plus ``metric`` when the table has it.
    """
    keys = study_keys(trials)
    require_columns(
        trials, ("trial", "status", "value", "direction", "known_optimum"), "trial table"
    )
    sid, first = study_index(trials, keys)
    n = first.size
    extra = ["metric"] if "metric" in trials.columns else []
    out = trials[[*keys, "direction", *extra]].iloc[first].reset_index(drop=True)
    out["known_optimum"] = pd.to_numeric(trials["known_optimum"], errors="coerce").to_numpy(
        dtype=float
    )[first]
    out["n_trials"] = np.bincount(sid, minlength=n)
    for name, status in (("n_failed", "failed"), ("n_pruned", "pruned")):
        flag = trials["status"].eq(status).fillna(False).to_numpy(dtype=float)
        out[name] = np.bincount(sid, weights=flag, minlength=n).astype(int)
    for col in ("cum_epochs", "cum_seconds"):
        values = (
            pd.to_numeric(trials[col], errors="coerce").to_numpy(dtype=float)
            if col in trials
            else np.full(len(trials), np.nan)
        )
        out[col] = pd.Series(values).groupby(sid).max().reindex(range(n)).to_numpy()
    pos = _incumbent_positions(trials, sid)
    last = pd.Series(pos).groupby(sid[pos], sort=True).last()
    best = np.full(n, np.nan)
    test = np.full(n, np.nan)
    best[last.index] = pd.to_numeric(trials["value"], errors="coerce").to_numpy()[last]
    test[last.index] = pd.to_numeric(trials["test_value"], errors="coerce").to_numpy()[last]
    out["best_value"], out["test_value"] = best, test
    out["regret"] = sign(out["direction"]) * (out["test_value"] - out["known_optimum"])
    cols = [
        *keys,
        "n_trials",
        "n_failed",
        "n_pruned",
        "best_value",
        "test_value",
        "regret",
        "direction",
        "known_optimum",
        *extra,
        "cum_epochs",
        "cum_seconds",
    ]
    return out[cols]


def normalised_scores(scores: pd.DataFrame, baseline: str = "random") -> pd.DataFrame:
    """Bayesmark-style normalised test scores ``(f - f_opt) / (f_base - f_opt)``.

    Per task (and budget): ``f_opt`` is ``known_optimum`` or, if unknown, the best test score
    seen on the task over all studies; ``f_base`` is the mean test score of the ``baseline``
    optimizer, or, if it is absent, of the worst optimizer by mean (recorded in
    ``normaliser``). 0 = optimum, 1 = baseline level, lower is better in every direction
    (Turner et al., 2021, "Bayesian optimization is superior to random search...", PMLR 133).
    A zero denominator gives NaN.

    Args:
        scores: Output of :func:`study_scores`, one row per study.
        baseline: Optimizer whose mean defines 1.

    Returns:
        ``scores`` with ``f_opt, f_base, normaliser, normalised`` appended.
    """
    require_columns(
        scores, ("task", "optimizer", "direction", "known_optimum", "test_value"), "scores"
    )
    groups = task_groups(scores)
    norm = _normalisers(scores, "test_value", baseline, groups)
    drop = [c for c in ("f_opt", "f_base", "normaliser", "normalised") if c in scores]
    out = scores.drop(columns=drop).merge(norm, on=groups, how="left")
    out["normalised"] = _normalise(out["test_value"], out["f_opt"], out["f_base"])
    return out


# --------------------------------------------------------------------------------------------
# ranks


def restricted_optimizers(scores: pd.DataFrame) -> dict[str, list[str]]:
    """Optimizers without a single study on some task of the table, and those tasks.

    An optimizer limited to some tasks by design (``tasks:`` in its config entry) would get the
    worst rank in every block of the other tasks (:func:`ranks`); rank-based analyses leave
    such optimizers out, and compare them pairwise on the units they share.

    Args:
        scores: One row per study (``task``, ``optimizer``).

    Returns:
        Optimizer → sorted tasks it has no study on; only optimizers missing some task.
    """
    require_columns(scores, ("task", "optimizer"), "scores")
    tasks = set(scores["task"].astype(str))
    present = scores.groupby(scores["optimizer"].astype(str))["task"].agg(
        lambda s: set(s.astype(str))
    )
    return {name: sorted(tasks - have) for name, have in present.items() if tasks - have}


def ranks(scores: pd.DataFrame, value: str = "test_value") -> pd.DataFrame:
    """Rank of each optimizer within each (budget, task, seed) block.

    1 is best, ties get the average rank, the comparison respects ``direction``. An optimizer
    with a missing score in a block (no complete trial, or no study at all) gets the worst rank
    (missing ones tie among themselves). Ranking within blocks makes tasks commensurable
    without normalisation (Demšar, 2006, JMLR 7:1-30, Sec. 3.2.2).

    Args:
        scores: One row per study: output of :func:`study_scores`, :func:`normalised_scores`
            or :func:`scores_at` (then also ranked within each ``fraction``).
        value: Column ranked (in the task's direction).

    Returns:
        Block keys (``fraction`` first when present), ``optimizer, <value>, rank``; every
        block has every optimizer.
    """
    require_columns(scores, ("task", "optimizer", "seed", "direction", value), "scores")
    blocks = (["fraction"] if "fraction" in scores.columns else []) + block_keys(scores)
    direction = scores.groupby("task", sort=False)["direction"].first()
    optimizers = sorted(scores["optimizer"].astype(str).unique())
    units = scores[blocks].drop_duplicates().sort_values(blocks, kind="stable")
    grid = units.merge(pd.DataFrame({"optimizer": optimizers}), how="cross")
    vals = scores[[*blocks, "optimizer", value]].assign(optimizer=scores["optimizer"].astype(str))
    vals = vals.groupby([*blocks, "optimizer"], sort=False, dropna=False, as_index=False).mean()
    out = grid.merge(vals, on=[*blocks, "optimizer"], how="left")
    signed = sign(out["task"].map(direction)) * out[value].to_numpy(dtype=float)
    out["rank"] = (
        pd.Series(signed, index=out.index)
        .groupby([out[b] for b in blocks], sort=False, dropna=False)
        .rank(method="average", na_option="bottom")
    )
    return out.reset_index(drop=True)


def rank_matrix(rank_table: pd.DataFrame, block: str) -> pd.DataFrame:
    """Blocks × optimizers matrix of ranks; ``block="task"`` averages ranks over seeds.

    Args:
        rank_table: Output of :func:`ranks` (one ``fraction`` at most).
        block: ``"task"`` (rows are (budget, task)) or ``"task_seed"`` (rows are
            (budget, task, seed)).

    Returns:
        DataFrame ``(n_blocks, n_optimizers)`` indexed by the block keys.
    """
    blocks = block_keys(rank_table)
    if block == "task":
        blocks = [b for b in blocks if b != "seed"]
    elif block != "task_seed":
        raise ValueError(f"block must be 'task' or 'task_seed', got {block!r}")
    return rank_table.groupby([*blocks, "optimizer"], sort=True)["rank"].mean().unstack()


# --------------------------------------------------------------------------------------------
# scores at budget fractions, cost


def scores_at(
    trials: pd.DataFrame,
    fractions: Sequence[float] = FRACTIONS,
    currency: str = "trials",
) -> pd.DataFrame:
    """Incumbent of each study after a fraction of the budget had been spent.

    For every (task, budget) the *cap* is the largest spend of any of its studies in
    ``currency``; the cut at fraction ``f`` is ``f × cap``, and a study's incumbent at the cut
    is its last incumbent (:func:`incumbents`) whose cumulative spend is ``<= cut``. Its
    ``test_value`` is the held-out score the study would have reported had it stopped there,
    so ``fraction = 1`` reproduces :func:`study_scores`. A study with no complete trial by the
    cut gets NaN (and the worst rank in :func:`ranks`).

    Args:
        trials: Trial table, one row per trial.
        fractions: Budget fractions in ``(0, 1]``.
        currency: ``trials``, ``epochs`` or ``seconds``.

    Returns:
        One row per (study, fraction): study keys, ``fraction, cut, best_value, test_value,
        direction, known_optimum`` (and ``metric`` when present).
    """
    if currency not in _CURRENCY_COLUMNS:
        raise ValueError(f"currency must be one of {sorted(_CURRENCY_COLUMNS)}, got {currency!r}")
    frac = np.asarray(fractions, dtype=float)
    if frac.size == 0 or np.any((frac <= 0) | (frac > 1)):
        raise ValueError(f"fractions must lie in (0, 1], got {list(fractions)}")
    keys = study_keys(trials)
    col = _CURRENCY_COLUMNS[currency]
    require_columns(trials, ("trial", "status", "value", col, "direction", "known_optimum"),
            "trial table")  # fmt: skip
    groups = task_groups(trials)
    extra = ["metric"] if "metric" in trials.columns else []
    sid, first = study_index(trials, keys)
    studies = trials[[*keys, "direction", *extra]].iloc[first].reset_index(drop=True)
    studies["known_optimum"] = pd.to_numeric(trials["known_optimum"], errors="coerce").to_numpy(
        dtype=float
    )[first]
    spent = pd.to_numeric(trials[col], errors="coerce").to_numpy(dtype=float)
    studies["_spent"] = pd.Series(spent).groupby(sid).max().reindex(range(first.size)).to_numpy()
    cap = studies.groupby(groups, sort=False, dropna=False)["_spent"].transform("max")
    studies["_cap"] = cap.to_numpy(dtype=float)
    pos = _incumbent_positions(trials, sid)
    inc_sid = sid[pos]
    inc_spent = spent[pos]
    inc_value = pd.to_numeric(trials["value"], errors="coerce").to_numpy(dtype=float)[pos]
    inc_test = pd.to_numeric(trials["test_value"], errors="coerce").to_numpy(dtype=float)[pos]
    inc_cap = studies["_cap"].to_numpy()[inc_sid]
    frames = []
    for f in np.unique(frac):
        inside = inc_spent <= f * inc_cap * (1.0 + 1e-9)
        last = pd.Series(np.flatnonzero(inside)).groupby(inc_sid[inside], sort=True).last()
        best = np.full(first.size, np.nan)
        test = np.full(first.size, np.nan)
        best[last.index] = inc_value[last.to_numpy()]
        test[last.index] = inc_test[last.to_numpy()]
        out = studies.drop(columns="_spent").copy()
        out["fraction"] = float(f)
        out["cut"] = float(f) * out.pop("_cap")
        out["best_value"], out["test_value"] = best, test
        frames.append(out)
    out = pd.concat(frames, ignore_index=True)
    cols = [*keys, "fraction", "cut", "best_value", "test_value", "direction", "known_optimum",
            *extra]  # fmt: skip
    return out[cols].sort_values([*keys, "fraction"], kind="stable").reset_index(drop=True)


def cost_breakdown(trials: pd.DataFrame) -> pd.DataFrame:
    """Where the wall time of the studies went: objective vs optimizer seconds.

    Per study, ``objective_s`` (inside the task: training and validation) and ``optimizer_s``
    (the framework proposing and updating) are summed over trials; the table reports their
    means over the studies of each (budget, task, optimizer, framework). The optimizer's
    share is the fraction of a study's time the HPO method itself consumed: the overhead that a
    budget counted in trials or epochs does not charge.

    Args:
        trials: Trial table, one row per trial.

    Returns:
        ``budget, task, optimizer, framework, n_studies, objective_s, optimizer_s, total_s,
        optimizer_share`` (seconds are means per study).
    """
    keys = study_keys(trials)
    require_columns(trials, ("objective_s", "optimizer_s"), "trial table")
    per_study = (
        trials.assign(
            objective_s=pd.to_numeric(trials["objective_s"], errors="coerce"),
            optimizer_s=pd.to_numeric(trials["optimizer_s"], errors="coerce"),
        )
        .groupby(keys, sort=True, dropna=False, as_index=False)[["objective_s", "optimizer_s"]]
        .sum(min_count=1)
    )
    if "framework" not in per_study.columns:
        per_study["framework"] = ""
    by = [c for c in ("budget", "task", "optimizer", "framework") if c in per_study.columns]
    out = per_study.groupby(by, sort=True, dropna=False).agg(
        n_studies=("seed", "size"),
        objective_s=("objective_s", "mean"),
        optimizer_s=("optimizer_s", "mean"),
    )
    out = out.reset_index()
    out["total_s"] = out["objective_s"] + out["optimizer_s"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["optimizer_share"] = np.where(
            out["total_s"] > 0, out["optimizer_s"] / out["total_s"], np.nan
        )
    return out
