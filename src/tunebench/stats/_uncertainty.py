"""Interval estimates by the bootstrap: aggregates, profiles, mean ranks, P(A > B), curve bands.

Every interval is a percentile bootstrap (Efron & Tibshirani, 1993, ch. 13). Where scores
come from several tasks, seeds are resampled *within* each task (a stratified bootstrap), so
every replicate keeps the design of the experiment: this is how rliable computes its
intervals (Agarwal et al., 2021, NeurIPS, "Deep reinforcement learning at the edge of the
statistical precipice"). Randomness is explicit: each function takes ``n_boot``,
``confidence`` and ``random_state`` and processes groups in sorted order, so a seed fixes the
output.

Shapes: a group's scores are a vector of ``n = Σ_t n_seeds(t)`` studies labelled by task;
replicates are index matrices ``(n_boot, n)``; a resampled statistic is ``W @ x`` where
``W (n_boot, n)`` counts how often each study was drawn, so no replicate is materialised
where a mean suffices.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from tunebench.core.tables import STUDY_KEYS, require_columns
from tunebench.stats._metrics import rank_matrix
from tunebench.stats._util import (
    as_tuple,
    block_keys,
    ci_levels,
    index_counts,
    segments,
    sign,
    sorted_quantiles,
    stratified_indices,
)

__all__ = [
    "AGGREGATES",
    "aggregates",
    "bootstrap_band",
    "iqm",
    "mean_ranks",
    "pair_probabilities",
    "performance_profiles",
    "prob_better",
    "task_scores",
]

#: Aggregate statistics of :func:`aggregates`, in output order.
AGGREGATES: tuple[str, ...] = ("median", "iqm", "mean")

# Columns of the anytime / band tables that describe a group and are copied through.
_PASSTHROUGH = ("direction", "currency", "normalised")


def iqm(x: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Interquartile mean: the mean of the middle 50 % (25 % trimmed from each end).

    Robust to outlying runs yet more efficient than the median (Agarwal et al., 2021, Sec. 4);
    computed as :func:`scipy.stats.trim_mean` with ``proportiontocut=0.25``, as rliable does.

    Args:
        x: Scores; ``(n,)`` or ``(n_boot, n)`` with ``axis=1``.
        axis: Axis to reduce (``None``: all values).
    """
    return sps.trim_mean(x, 0.25, axis=axis)


_STATISTICS = {
    "median": lambda x: np.median(x, axis=-1),
    "iqm": lambda x: iqm(x, axis=-1),
    "mean": lambda x: np.mean(x, axis=-1),
}


def _groups(scores: pd.DataFrame, by: Sequence[str]) -> tuple[list[str], Iterable]:
    """The grouping columns present and an iterable of ``(key, group)`` in sorted order."""
    present = [b for b in by if b in scores.columns]
    if not present:
        return present, [((), scores)]
    return present, scores.groupby(present, sort=True, dropna=False)


def aggregates(
    scores: pd.DataFrame,
    value: str = "normalised",
    by: Sequence[str] = ("budget", "optimizer"),
    stratum: str = "task",
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Median, IQM and mean of the scores of each group, with stratified-bootstrap CIs.

    The scores of a group (an optimizer at a budget) are pooled over tasks and seeds, as
    rliable's aggregate metrics pool runs × tasks (Agarwal et al., 2021). Each replicate
    resamples seeds with replacement within each task, so every task keeps its weight.
    Missing scores (a study without a complete trial) are left out and counted.

    Args:
        scores: One row per study with ``by``, ``stratum`` and ``value`` (e.g. the output of
            :func:`tunebench.stats._metrics.normalised_scores`; lower is better there).
        value: Column aggregated.
        by: Grouping columns (missing ones are ignored).
        stratum: Column whose levels are resampled separately (the task).
        n_boot: Bootstrap replicates.
        confidence: Coverage of the intervals.
        random_state: Seed or generator.

    Returns:
        ``by, aggregate, estimate, ci_low, ci_high, n_studies, n_tasks, n_missing, value``,
        one row per group and aggregate (``median``, ``iqm``, ``mean``).
    """
    lo, hi = ci_levels(confidence)
    require_columns(scores, (stratum, value), "scores")
    present, grouped = _groups(scores, by)
    rng = np.random.default_rng(random_state)
    rows = []
    for key, g in grouped:
        v = pd.to_numeric(g[value], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(v)
        v, strata = v[ok], g[stratum].to_numpy()[ok]
        base = (*as_tuple(key), int(ok.sum()), int(pd.unique(strata).size), int((~ok).sum()))
        if v.size == 0:
            rows.extend((name, np.nan, np.nan, np.nan, *base) for name in AGGREGATES)
            continue
        boot = v[stratified_indices(strata, n_boot, rng)]  # (n_boot, n)
        for name in AGGREGATES:
            stat = _STATISTICS[name]
            ci = np.quantile(stat(boot), [lo, hi])
            rows.append((name, float(stat(v)), float(ci[0]), float(ci[1]), *base))
    cols = ["aggregate", "estimate", "ci_low", "ci_high", *present, "n_studies", "n_tasks",
            "n_missing"]  # fmt: skip
    out = pd.DataFrame(rows, columns=cols)
    out["value"] = value
    return out[[*present, *cols[:4], "n_studies", "n_tasks", "n_missing", "value"]]


def default_tau(values: np.ndarray, n_points: int = 101) -> np.ndarray:
    """τ grid of :func:`performance_profiles`: from ``min(0, min)`` to ``max(1, q99)``.

    The upper end is the 99th percentile rather than the maximum, so one disastrous study
    does not squash the interesting range (0 = optimum, 1 = baseline level).
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.linspace(0.0, 1.0, n_points)
    return np.linspace(min(0.0, float(v.min())), max(1.0, float(np.quantile(v, 0.99))), n_points)


def performance_profiles(
    scores: pd.DataFrame,
    tau: Sequence[float] | np.ndarray | None = None,
    value: str = "normalised",
    by: Sequence[str] = ("budget", "optimizer"),
    stratum: str = "task",
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Performance profile: fraction of studies whose normalised score is ``<= τ``.

    ``F(τ) = (1/n) Σ_i 1{s_i <= τ}`` over the studies (tasks × seeds) of a group, for
    lower-is-better scores such as the Bayesmark normalisation (0 = optimum, 1 = baseline);
    the higher the curve, the better. This is the score distribution of Agarwal et al. (2021,
    Sec. 4; after Dolan & Moré, 2002, Math. Program. 91:201-213) with the inequality turned for
    lower-is-better scores. Bands: stratified bootstrap over seeds within tasks, computed as
    ``W @ 1{s <= τ} / n`` for the count matrix ``W`` of each replicate. Missing scores count
    as never reaching any τ (a failed study did not solve the task).

    Args:
        scores: One row per study with ``by``, ``stratum`` and ``value``.
        tau: Thresholds (default :func:`default_tau` over all scores).
        value: Column profiled (lower is better).
        by: Grouping columns (missing ones are ignored).
        stratum: Column resampled separately.
        n_boot: Bootstrap replicates.
        confidence: Coverage of the bands.
        random_state: Seed or generator.

    Returns:
        ``by, tau, fraction, ci_low, ci_high, n_studies``.
    """
    lo, hi = ci_levels(confidence)
    require_columns(scores, (stratum, value), "scores")
    all_v = pd.to_numeric(scores[value], errors="coerce").to_numpy(dtype=float)
    grid = default_tau(all_v) if tau is None else np.asarray(tau, dtype=float)
    present, grouped = _groups(scores, by)
    rng = np.random.default_rng(random_state)
    frames = []
    for key, g in grouped:
        v = pd.to_numeric(g[value], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            below = (v[:, None] <= grid[None, :]).astype(float)  # NaN compares False
        n = v.size
        w = index_counts(stratified_indices(g[stratum].to_numpy(), n_boot, rng), n)
        boot = w @ below / n  # (n_boot, n_tau)
        ci = np.quantile(boot, [lo, hi], axis=0)
        frame = pd.DataFrame(
            {
                "tau": grid,
                "fraction": below.mean(axis=0),
                "ci_low": ci[0],
                "ci_high": ci[1],
                "n_studies": n,
            }
        )
        for k, val in reversed(list(zip(present, as_tuple(key), strict=True))):
            frame.insert(0, k, val)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def task_scores(
    scores: pd.DataFrame,
    value: str = "test_value",
    by: Sequence[str] = ("budget", "task", "optimizer"),
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Median and mean score of each optimizer on each task, with bootstrap CIs over seeds.

    The headline numbers of a results table: per (budget, task, optimizer), the median test
    score of the studies (seeds) with a percentile-bootstrap interval, resampling seeds.

    Args:
        scores: One row per study (output of :func:`tunebench.stats._metrics.study_scores`).
        value: Column summarised.
        by: Grouping columns (missing ones are ignored).
        n_boot: Bootstrap replicates.
        confidence: Coverage of the intervals.
        random_state: Seed or generator.

    Returns:
        ``by, n, median, median_low, median_high, mean, mean_low, mean_high`` and
        ``direction``, ``metric`` when present.
    """
    lo, hi = ci_levels(confidence)
    require_columns(scores, (value,), "scores")
    present, grouped = _groups(scores, by)
    passthrough = [c for c in ("direction", "metric") if c in scores.columns]
    rng = np.random.default_rng(random_state)
    rows = []
    for key, g in grouped:
        v = pd.to_numeric(g[value], errors="coerce").to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        extra = [g[c].iloc[0] for c in passthrough]
        if v.size == 0:
            rows.append((*as_tuple(key), 0, *[np.nan] * 6, *extra))
            continue
        boot = v[rng.integers(0, v.size, size=(n_boot, v.size))]
        med = np.quantile(np.median(boot, axis=1), [lo, hi])
        mean = np.quantile(boot.mean(axis=1), [lo, hi])
        rows.append((*as_tuple(key), v.size, np.median(v), *med, v.mean(), *mean, *extra))
    cols = [*present, "n", "median", "median_low", "median_high", "mean", "mean_low",
            "mean_high", *passthrough]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def mean_ranks(
    rank_table: pd.DataFrame,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Mean rank per optimizer with a percentile-bootstrap CI over blocks.

    Blocks ((budget, task, seed) units) are resampled with replacement (Efron & Tibshirani,
    1993, ch. 13); each bootstrap replicate averages the resampled rows of the rank matrix.

    Args:
        rank_table: Output of :func:`tunebench.stats._metrics.ranks`.
        n_boot: Bootstrap replicates.
        confidence: Coverage of the interval.
        random_state: Seed or generator.

    Returns:
        ``optimizer, mean_rank, ci_low, ci_high, n_blocks``, sorted by ``mean_rank``.
    """
    lo, hi = ci_levels(confidence)
    m = rank_matrix(rank_table, "task_seed")
    r = m.to_numpy(dtype=float)  # (n_blocks, n_optimizers)
    rng = np.random.default_rng(random_state)
    idx = rng.integers(0, r.shape[0], size=(n_boot, r.shape[0]))
    boot = index_counts(idx, r.shape[0]) @ r / r.shape[0]  # (n_boot, n_optimizers)
    ci = np.quantile(boot, [lo, hi], axis=0)
    out = pd.DataFrame(
        {
            "optimizer": m.columns.astype(str),
            "mean_rank": r.mean(axis=0),
            "ci_low": ci[0],
            "ci_high": ci[1],
            "n_blocks": r.shape[0],
        }
    )
    return out.sort_values(["mean_rank", "optimizer"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# P(A > B)


def pair_probabilities(
    wide: np.ndarray,
    pairs: Sequence[tuple[int, int]],
    strata: np.ndarray | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """P(A better than B) over paired units, with a (stratified) bootstrap interval.

    For paired lower-is-better scores ``a_i, b_i`` the estimate is
    ``(1/n) Σ_i (1{a_i < b_i} + ½ 1{a_i = b_i})``, the probability of improvement of
    Bouthillier et al. (2021, MLSys, "Accounting for variance in machine learning
    benchmarks", Sec. 4): ½ means no difference; they call an improvement *significant* when
    the interval's lower end exceeds ½ and *meaningful* when it exceeds a threshold γ (0.75).
    Units where either score is missing are dropped from the pair. All pairs share the same
    replicates (units resampled within strata).

    Args:
        wide: Scores ``(n_units, k)``, lower is better, NaN where missing.
        pairs: Column index pairs ``(a, b)``.
        strata: Stratum of each unit ``(n_units,)`` (default: one stratum).
        n_boot: Bootstrap replicates.
        confidence: Coverage of the interval.
        random_state: Seed or generator.

    Returns:
        Array ``(n_pairs, 4)``: ``n, p_a_better, low, high``.
    """
    lo, hi = ci_levels(confidence)
    wide = np.asarray(wide, dtype=float)
    n_units = wide.shape[0]
    out = np.full((len(pairs), 4), np.nan)
    if not pairs:
        return out
    a = wide[:, [p[0] for p in pairs]]
    b = wide[:, [p[1] for p in pairs]]
    valid = np.isfinite(a) & np.isfinite(b)
    ind = np.where(valid, (a < b) + 0.5 * (a == b), 0.0)  # (n_units, n_pairs)
    n = valid.sum(axis=0)
    out[:, 0] = n
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, 1] = np.where(n > 0, ind.sum(axis=0) / n, np.nan)
    if n_units == 0:
        return out
    strata = np.zeros(n_units) if strata is None else np.asarray(strata)
    rng = np.random.default_rng(random_state)
    w = index_counts(stratified_indices(strata, n_boot, rng), n_units)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = (w @ ind) / (w @ valid.astype(float))  # (n_boot, n_pairs)
    out[:, 2:] = sorted_quantiles(boot, [lo, hi]).T
    return out


def prob_better(
    scores: pd.DataFrame,
    value: str = "normalised",
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """P(A > B) for every pair of optimizers over (budget, task, seed) units, with CIs.

    See :func:`pair_probabilities`; units are resampled within (budget, task) strata.
    ``value`` is compared in the task's direction (``normalised`` is lower-is-better for
    every task; other columns are signed by ``direction``).

    Args:
        scores: One row per study.
        value: Column compared.
        n_boot: Bootstrap replicates.
        confidence: Coverage.
        random_state: Seed or generator.

    Returns:
        ``optimizer_a, optimizer_b, n, p_a_better, p_a_better_low, p_a_better_high`` for the
        pairs of sorted optimizer names (a < b).
    """
    require_columns(scores, ("task", "optimizer", "seed", value), "scores")
    blocks = block_keys(scores)
    signed = scores[value].to_numpy(dtype=float)
    if value != "normalised" and "direction" in scores.columns:
        signed = sign(scores["direction"]) * signed
    wide = (
        scores.assign(optimizer=scores["optimizer"].astype(str), _v=signed)
        .groupby([*blocks, "optimizer"], sort=True, dropna=False)["_v"]
        .mean()
        .unstack()
    )
    optimizers = sorted(wide.columns)
    wide = wide[optimizers]
    pairs = list(itertools.combinations(range(len(optimizers)), 2))
    strata_cols = [b for b in blocks if b != "seed"]
    strata = pd.MultiIndex.from_frame(wide.index.to_frame()[strata_cols]).factorize()[0]
    res = pair_probabilities(wide.to_numpy(), pairs, strata, n_boot, confidence, random_state)
    return pd.DataFrame(
        {
            "optimizer_a": [optimizers[i] for i, _ in pairs],
            "optimizer_b": [optimizers[j] for _, j in pairs],
            "n": res[:, 0].astype(int),
            "p_a_better": res[:, 1],
            "p_a_better_low": res[:, 2],
            "p_a_better_high": res[:, 3],
        }
    )


# --------------------------------------------------------------------------------------------
# bands of curves


def bootstrap_band(
    curves: pd.DataFrame,
    by: Sequence[str] = ("task", "optimizer"),
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
    value: str = "best",
) -> pd.DataFrame:
    """Mean curve and percentile-bootstrap CI over seeds, per group and grid point.

    Within a group the replicates are the distinct values of the remaining study keys (the
    seeds). Seeds are resampled once per group as an ``(n_boot, n_seeds)`` count matrix ``W``
    applied to the whole ``(n_seeds, n_x)`` curve matrix, so the band at each ``x`` uses the
    same resamples (Efron & Tibshirani, 1993). Means ignore seeds that are NaN at ``x`` (no
    complete trial yet): a replicate's mean is ``W @ m / W @ 1{finite}``; ``n_seeds`` counts
    the seeds that contribute.

    Args:
        curves: Long table, one row per (study, x) (output of :func:`~tunebench.stats.anytime`).
        by: Grouping columns; one band per group.
        n_boot: Bootstrap replicates.
        confidence: Coverage of the band.
        random_state: Seed or generator; groups are processed in sorted order.
        value: Column to average.

    Returns:
        ``by`` columns, ``x, mean, ci_low, ci_high, n_seeds`` and, when present in
        ``curves``, ``direction, currency, normalised``.
    """
    lo, hi = ci_levels(confidence)
    by = list(by)
    require_columns(curves, [*by, "x", value], "curves")
    reps = [k for k in STUDY_KEYS if k in curves.columns and k not in by]
    if not reps:
        raise KeyError("curves need a replicate column (a study key such as seed) outside `by`")
    passthrough = [c for c in _PASSTHROUGH if c in curves.columns and c not in by]
    columns = [*by, "x", "mean", "ci_low", "ci_high", "n_seeds", *passthrough]
    if curves.empty:
        return pd.DataFrame(columns=columns)
    rng = np.random.default_rng(random_state)
    gid = curves.groupby(by, sort=True, dropna=False).ngroup().to_numpy()
    rid = curves.groupby(reps, sort=True, dropna=False).ngroup().to_numpy()
    x_all = pd.to_numeric(curves["x"], errors="coerce").to_numpy(dtype=float)
    v_all = pd.to_numeric(curves[value], errors="coerce").to_numpy(dtype=float)
    order, starts, ends = segments(gid)
    heads = curves[[*by, *passthrough]].iloc[order[starts]].reset_index(drop=True)
    frames = []
    for j, (start, end) in enumerate(zip(starts, ends, strict=True)):
        rows = order[start:end]
        seeds, r_inv = np.unique(rid[rows], return_inverse=True)
        xs, x_inv = np.unique(x_all[rows], return_inverse=True)
        flat = r_inv * xs.size + x_inv
        v = v_all[rows]
        ok = np.isfinite(v)
        size = seeds.size * xs.size
        total = np.bincount(flat[ok], weights=v[ok], minlength=size)
        count = np.bincount(flat[ok], minlength=size)
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where(count > 0, total / count, np.nan).reshape(seeds.size, xs.size)
        finite = np.isfinite(m)
        w = index_counts(rng.integers(0, seeds.size, size=(n_boot, seeds.size)), seeds.size)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            boot = (w @ np.where(finite, m, 0.0)) / (w @ finite)  # (n_boot, n_x)
            mean = np.nanmean(m, axis=0)
        ci = sorted_quantiles(boot, [lo, hi])
        frame = pd.DataFrame(
            {
                "x": xs,
                "mean": mean,
                "ci_low": ci[0],
                "ci_high": ci[1],
                "n_seeds": finite.sum(axis=0),
            }
        )
        for c in reversed([*by, *passthrough]):
            frame.insert(0, c, heads.at[j, c])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[columns]
