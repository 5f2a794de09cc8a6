"""Statistics on trial tables: incumbents, final scores, ranks, tests and anytime curves.

Every function is pure: it takes pandas DataFrames (the trial table of
:mod:`tunebench.tables`, or the output of another function here) and returns new ones or a
dataclass, never plots and never writes files. Randomness is explicit (``random_state``).

Conventions:

- A *study* is one (task, optimizer, budget, seed) run; ``experiment``, ``framework`` and
  ``algorithm`` are constant within it and are carried along as keys.
- Only ``complete`` trials can be incumbents: pruned trials stopped before the end of training,
  so their validation value is not comparable, and failed trials have none.
- The reported result of a study is the *test* score of its final incumbent, the configuration
  selected on validation data (Cawley & Talbot, 2010, JMLR 11:2079-2107); validation scores are
  optimistically biased by the selection itself.
- Scores are made commensurable across tasks with the Bayesmark normalisation
  ``(f - f_opt) / (f_base - f_opt)``: 0 is the optimum, 1 the baseline's mean, lower is better
  for every task whatever its direction.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from tunebench.tables import STUDY_KEYS

__all__ = [
    "CORRECTIONS",
    "CURRENCIES",
    "FriedmanResult",
    "adjust_pvalues",
    "anytime",
    "bootstrap_band",
    "friedman",
    "friedman_from_mean_ranks",
    "iman_davenport",
    "incumbents",
    "mean_ranks",
    "normalised_scores",
    "pairwise_wilcoxon",
    "ranks",
    "study_scores",
]

#: Accepted names of multiple-comparison corrections → statsmodels ``multipletests`` methods.
CORRECTIONS: dict[str, str] = {
    "holm": "holm",
    "bh": "fdr_bh",
    "fdr_bh": "fdr_bh",
    "by": "fdr_by",
    "fdr_by": "fdr_by",
}

#: Budget currencies of :func:`anytime` → the cumulative column of the trial table.
CURRENCIES: dict[str, str] = {
    "trials": "cum_trials",
    "epochs": "cum_epochs",
    "seconds": "cum_seconds",
}

_REQUIRED_KEYS = ("task", "optimizer", "budget", "seed")
_GRID_POINTS = 50
# Columns of the anytime / band tables that describe a group and are copied through.
_PASSTHROUGH = ("direction", "currency", "normalised")


# --------------------------------------------------------------------------------------------
# helpers


def _study_keys(df: pd.DataFrame) -> list[str]:
    """The study-key columns present in ``df`` (task, optimizer, budget, seed are required)."""
    missing = [k for k in _REQUIRED_KEYS if k not in df.columns]
    if missing:
        raise KeyError(f"table lacks study key column(s) {missing}")
    return [k for k in STUDY_KEYS if k in df.columns]


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{what} lacks column(s) {missing}")


def _sign(direction: pd.Series) -> np.ndarray:
    """+1 for ``minimize``, -1 for ``maximize``: ``sign * value`` is then lower-is-better."""
    d = direction.astype(str).str.lower().to_numpy()
    bad = sorted(set(d) - {"minimize", "maximize"})
    if bad:
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {bad}")
    return np.where(d == "maximize", -1.0, 1.0)


def _task_groups(df: pd.DataFrame) -> list[str]:
    """Normalisation groups: a task at one budget (Bayesmark compares at equal budget)."""
    return [c for c in ("task", "budget") if c in df.columns]


def _block_keys(df: pd.DataFrame) -> list[str]:
    """Paired units of the comparison: (budget, task, seed)."""
    return [c for c in ("budget", "task", "seed") if c in df.columns]


def _ci_levels(confidence: float) -> tuple[float, float]:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    alpha = 1.0 - confidence
    return alpha / 2.0, 1.0 - alpha / 2.0


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
        sign = _sign(g["direction"].iloc[:1])[0]
        known = pd.to_numeric(g["known_optimum"], errors="coerce").dropna()
        signed = sign * g[value].to_numpy(dtype=float)
        if len(known):
            f_opt = float(known.iloc[0])
        elif np.isfinite(signed).any():
            f_opt = sign * float(np.nanmin(signed))
        else:
            f_opt = np.nan
        means = g.groupby("optimizer", sort=True)[value].mean().dropna()
        if baseline in means.index:
            f_base, label = float(means[baseline]), f"baseline={baseline}"
        elif len(means):
            worst = (sign * means).idxmax()
            f_base = float(means[worst])
            label = f"worst-mean={worst} ({baseline!r} absent)"
        else:
            f_base, label = np.nan, "none"
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, f_opt, f_base, label))
    return pd.DataFrame(rows, columns=[*groups, "f_opt", "f_base", "normaliser"])


def _normalise(f: np.ndarray, f_opt: np.ndarray, f_base: np.ndarray) -> np.ndarray:
    """``(f - f_opt) / (f_base - f_opt)``; NaN where the denominator is 0 or unknown."""
    denom = np.asarray(f_base, dtype=float) - np.asarray(f_opt, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (np.asarray(f, dtype=float) - f_opt) / denom
    return np.where(np.isfinite(denom) & (denom != 0), out, np.nan)


# --------------------------------------------------------------------------------------------
# incumbents and final scores


def incumbents(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials at which each study's best-so-far validation value strictly improved.

    Only ``complete`` trials with a finite ``value`` can be incumbents (pruned trials did not
    finish training; failed ones have no value). Trials are taken in ``trial`` order and the
    comparison respects ``direction``; the first complete trial is always an incumbent.

    Args:
        trials: Trial table (see :mod:`tunebench.tables`).

    Returns:
        The incumbent rows (all columns), sorted by study keys and ``trial``.
    """
    keys = _study_keys(trials)
    _require(trials, ("trial", "status", "value", "direction"), "trial table")
    ok = trials["status"].astype(str).eq("complete") & np.isfinite(
        pd.to_numeric(trials["value"], errors="coerce")
    )
    done = trials.loc[ok].sort_values([*keys, "trial"], kind="stable")
    signed = pd.Series(
        _sign(done["direction"]) * done["value"].to_numpy(dtype=float), index=done.index
    )
    grouped = signed.groupby([done[k] for k in keys], sort=False, dropna=False)
    previous_best = grouped.cummin().groupby([done[k] for k in keys], dropna=False).shift()
    improved = previous_best.isna() | (signed < previous_best)
    return done.loc[improved].reset_index(drop=True)


def study_scores(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per study with its counts, final incumbent and spend.

    ``test_value`` is the held-out score of the final incumbent, the number reported as the
    result of the study (Cawley & Talbot, 2010). ``regret`` is direction-aware and signed:
    ``test_value - known_optimum`` for minimisation, ``known_optimum - test_value`` for
    maximisation (NaN when the optimum is unknown; it can be slightly negative when the test
    score beats an optimum defined on other data). A study without a complete trial gets NaN
    scores.

    Args:
        trials: Trial table.

    Returns:
        Study keys, ``n_trials, n_failed, n_pruned, best_value, test_value, regret,
        direction, known_optimum, cum_epochs, cum_seconds`` (the last two: totals spent), plus
        ``metric`` when the table has it.
    """
    keys = _study_keys(trials)
    _require(trials, ("status", "direction", "known_optimum"), "trial table")
    by = [trials[k] for k in keys]
    status = trials["status"].astype(str)
    agg = pd.DataFrame(
        {
            "n_trials": trials.groupby(by, dropna=False).size(),
            "n_failed": status.eq("failed").groupby(by, dropna=False).sum(),
            "n_pruned": status.eq("pruned").groupby(by, dropna=False).sum(),
            "direction": trials["direction"].groupby(by, dropna=False).first(),
            "known_optimum": pd.to_numeric(trials["known_optimum"], errors="coerce")
            .groupby(by, dropna=False)
            .first(),
        }
    )
    if "metric" in trials.columns:
        agg["metric"] = trials["metric"].groupby(by, dropna=False).first()
    for col in ("cum_epochs", "cum_seconds"):
        values = pd.to_numeric(trials[col], errors="coerce") if col in trials else np.nan
        agg[col] = pd.Series(values, index=trials.index).groupby(by, dropna=False).max()
    agg = agg.reset_index()

    inc = incumbents(trials)
    final = inc.groupby(keys, sort=False, dropna=False).tail(1)
    final = final[[*keys, "value", "test_value"]].rename(columns={"value": "best_value"})
    out = agg.merge(final, on=keys, how="left")
    out["test_value"] = pd.to_numeric(out["test_value"], errors="coerce")
    sign = _sign(out["direction"])
    out["regret"] = sign * (out["test_value"] - out["known_optimum"])
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
        *(["metric"] if "metric" in out else []),
        "cum_epochs",
        "cum_seconds",
    ]
    out[["n_failed", "n_pruned"]] = out[["n_failed", "n_pruned"]].astype(int)
    return out[cols].sort_values(keys, kind="stable").reset_index(drop=True)


def normalised_scores(scores: pd.DataFrame, baseline: str = "random") -> pd.DataFrame:
    """Bayesmark-style normalised test scores ``(f - f_opt) / (f_base - f_opt)``.

    Per task (and budget): ``f_opt`` is ``known_optimum`` or, if unknown, the best test score
    seen on the task over all studies; ``f_base`` is the mean test score of the ``baseline``
    optimizer, or, if it is absent, of the worst optimizer by mean (recorded in
    ``normaliser``). 0 = optimum, 1 = baseline level, lower is better in every direction
    (Turner et al., 2021, "Bayesian optimization is superior to random search...", PMLR 133).
    A zero denominator gives NaN.

    Args:
        scores: Output of :func:`study_scores`.
        baseline: Optimizer whose mean defines 1.

    Returns:
        ``scores`` with ``f_opt, f_base, normaliser, normalised`` appended.
    """
    _require(scores, ("task", "optimizer", "direction", "known_optimum", "test_value"), "scores")
    groups = _task_groups(scores)
    norm = _normalisers(scores, "test_value", baseline, groups)
    drop = [c for c in ("f_opt", "f_base", "normaliser", "normalised") if c in scores]
    out = scores.drop(columns=drop).merge(norm, on=groups, how="left")
    out["normalised"] = _normalise(out["test_value"], out["f_opt"], out["f_base"])
    return out


# --------------------------------------------------------------------------------------------
# ranks and omnibus test


def ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Rank of each optimizer within each (budget, task, seed) block on ``test_value``.

    1 is best, ties get the average rank, the comparison respects ``direction``. An optimizer
    with a missing score in a block (no complete trial, or no study at all) gets the worst rank
    (missing ones tie among themselves). Ranking within blocks makes tasks commensurable
    without normalisation (Demšar, 2006, JMLR 7:1-30, Sec. 3.2.2).

    Args:
        scores: Output of :func:`study_scores` (or :func:`normalised_scores`).

    Returns:
        Block keys, ``optimizer, test_value, rank``; every block has every optimizer.
    """
    _require(scores, ("task", "optimizer", "seed", "direction", "test_value"), "scores")
    blocks = _block_keys(scores)
    direction = scores.groupby("task", sort=False)["direction"].first()
    optimizers = sorted(scores["optimizer"].astype(str).unique())
    units = scores[blocks].drop_duplicates().sort_values(blocks, kind="stable")
    grid = units.merge(pd.DataFrame({"optimizer": optimizers}), how="cross")
    vals = scores[[*blocks, "optimizer", "test_value"]].assign(
        optimizer=scores["optimizer"].astype(str)
    )
    vals = vals.groupby([*blocks, "optimizer"], sort=False, dropna=False, as_index=False).mean()
    out = grid.merge(vals, on=[*blocks, "optimizer"], how="left")
    signed = _sign(out["task"].map(direction)) * out["test_value"].to_numpy(dtype=float)
    out["rank"] = (
        pd.Series(signed, index=out.index)
        .groupby([out[b] for b in blocks], sort=False, dropna=False)
        .rank(method="average", na_option="bottom")
    )
    return out.reset_index(drop=True)


def _rank_matrix(rank_table: pd.DataFrame, block: str) -> pd.DataFrame:
    """Blocks × optimizers matrix of ranks; ``block="task"`` averages ranks over seeds."""
    blocks = _block_keys(rank_table)
    if block == "task":
        blocks = [b for b in blocks if b != "seed"]
    elif block != "task_seed":
        raise ValueError(f"block must be 'task' or 'task_seed', got {block!r}")
    return rank_table.groupby([*blocks, "optimizer"], sort=True)["rank"].mean().unstack()


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
        rank_table: Output of :func:`ranks`.
        n_boot: Bootstrap replicates.
        confidence: Coverage of the interval.
        random_state: Seed or generator.

    Returns:
        ``optimizer, mean_rank, ci_low, ci_high, n_blocks``, sorted by ``mean_rank``.
    """
    lo, hi = _ci_levels(confidence)
    m = _rank_matrix(rank_table, "task_seed")
    r = m.to_numpy(dtype=float)  # (n_blocks, n_optimizers)
    rng = np.random.default_rng(random_state)
    idx = rng.integers(0, r.shape[0], size=(n_boot, r.shape[0]))
    boot = r[idx].mean(axis=1)  # (n_boot, n_optimizers)
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


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman omnibus test with the Iman–Davenport correction (Demšar, 2006, eq. 2-3)."""

    statistic: float
    p_value: float
    iman_davenport_f: float
    iman_davenport_p: float
    n_blocks: int
    n_optimizers: int
    block: str
    note: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The result as a one-row DataFrame."""
        return pd.DataFrame([asdict(self)])


def iman_davenport(chi2: float, n_blocks: int, n_optimizers: int) -> tuple[float, float]:
    """Iman–Davenport ``F_F = (N-1) χ² / (N(k-1) - χ²)`` and its p-value.

    ``F_F`` follows an F distribution with ``k-1`` and ``(k-1)(N-1)`` degrees of freedom
    (Iman & Davenport, 1980; Demšar, 2006, eq. 3). Perfect agreement of all blocks
    (``χ² = N(k-1)``) gives ``F_F = inf`` and p = 0.

    Args:
        chi2: Friedman statistic.
        n_blocks: N, the number of blocks.
        n_optimizers: k, the number of treatments.

    Returns:
        ``(F_F, p_value)``.
    """
    n, k = n_blocks, n_optimizers
    if not np.isfinite(chi2) or n < 2 or k < 2:
        return np.nan, np.nan
    denom = n * (k - 1) - chi2
    if denom <= 0:
        return np.inf, 0.0
    f = (n - 1) * chi2 / denom
    return float(f), float(sps.f.sf(f, k - 1, (k - 1) * (n - 1)))


def friedman_from_mean_ranks(mean_rank: Sequence[float], n_blocks: int) -> tuple[float, float]:
    """Friedman ``χ²_F`` from average ranks, and its Iman–Davenport ``F_F``.

    ``χ²_F = 12N / (k(k+1)) [Σ_j R_j² - k(k+1)²/4]`` (Demšar, 2006, eq. 2); without ties this
    equals :func:`scipy.stats.friedmanchisquare`.

    Args:
        mean_rank: Average rank ``R_j`` of each of the k optimizers.
        n_blocks: N, the number of blocks the ranks were averaged over.

    Returns:
        ``(χ²_F, F_F)``.
    """
    r = np.asarray(mean_rank, dtype=float)
    k, n = r.size, n_blocks
    chi2 = 12.0 * n / (k * (k + 1)) * (np.sum(r**2) - k * (k + 1) ** 2 / 4.0)
    return float(chi2), iman_davenport(chi2, n, k)[0]


def friedman(scores: pd.DataFrame, block: str = "task") -> FriedmanResult:
    """Friedman test of equal performance of all optimizers, with Iman–Davenport's F.

    Scores are first ranked within each (task, seed) unit by :func:`ranks` (missing → worst).
    With ``block="task"`` (default) the ranks are averaged over seeds, so each task is one
    block, as Demšar (2006) averages resamples within a data set; averaging ranks rather than
    raw scores keeps failed studies (worst rank) and tasks of any scale on the same footing.
    ``block="task_seed"`` treats every (task, seed) unit as a block; more blocks, but seeds of
    a task are not independent data sets, so it overstates the evidence across tasks.
    The χ² statistic is :func:`scipy.stats.friedmanchisquare` (tie-corrected).

    Args:
        scores: Output of :func:`study_scores`.
        block: ``"task"`` or ``"task_seed"``.

    Returns:
        A :class:`FriedmanResult`; NaN with a ``note`` for fewer than 3 optimizers or 2 blocks.
    """
    m = _rank_matrix(ranks(scores), block).dropna(axis=0, how="any")
    n, k = m.shape
    nan = np.nan
    if k < 3 or n < 2:
        note = f"needs >= 3 optimizers and >= 2 blocks, got {k} optimizers and {n} blocks"
        return FriedmanResult(nan, nan, nan, nan, n, k, block, note)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.friedmanchisquare(*m.to_numpy(dtype=float).T)
    chi2, p = float(res.statistic), float(res.pvalue)
    if not np.isfinite(chi2):
        return FriedmanResult(
            nan, nan, nan, nan, n, k, block, "all optimizers tied in every block"
        )
    f, fp = iman_davenport(chi2, n, k)
    return FriedmanResult(chi2, p, f, fp, n, k, block)


# --------------------------------------------------------------------------------------------
# pairwise tests


def adjust_pvalues(p_values: Sequence[float], method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values via :func:`statsmodels.stats.multitest.multipletests`.

    ``holm`` controls the family-wise error rate (Holm, 1979); ``bh`` the false discovery rate
    under independence or positive dependence (Benjamini & Hochberg, 1995); ``by`` under any
    dependence (Benjamini & Yekutieli, 2001). NaN p-values are left out of the family and stay
    NaN.

    Args:
        p_values: Raw p-values.
        method: ``holm``, ``bh``/``fdr_bh`` or ``by``/``fdr_by``.

    Returns:
        Adjusted p-values, same order as ``p_values``.
    """
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(CORRECTIONS)}, got {method!r}")
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=CORRECTIONS[method])[1]
    return out


def _family_label(scores: pd.DataFrame, n_pairs: int, n_opt: int) -> str:
    budgets = sorted(scores["budget"].astype(str).unique()) if "budget" in scores else []
    where = f" at budget {', '.join(budgets)}" if budgets else ""
    n_tasks = scores["task"].nunique()
    n_seeds = scores["seed"].nunique()
    return (
        f"all {n_pairs} pairs of {n_opt} optimizers{where} over {n_tasks} tasks × {n_seeds} seeds"
    )


def pairwise_wilcoxon(
    scores: pd.DataFrame,
    correction: str = "holm",
    alpha: float = 0.05,
    value: str = "normalised",
) -> pd.DataFrame:
    """Wilcoxon signed-rank test for every pair of optimizers over paired (task, seed) units.

    Pairs are matched on (budget, task, seed) and compared on the normalised score (computed
    with :func:`normalised_scores` if absent), so differences are commensurable across tasks;
    units where either score is missing are dropped. Zero differences use
    ``zero_method="zsplit"``: their ranks are split evenly between the positive and negative
    sums, as recommended by Demšar (2006, Sec. 3.1.3), so that ties (both optimizers reaching
    the same value) count as evidence of no difference instead of being discarded. scipy picks
    the exact, permutation or normal null distribution. A pair whose differences are all zero
    gets p = 1. p-values are adjusted over all pairs with :func:`adjust_pvalues`.

    Args:
        scores: Output of :func:`normalised_scores` (or :func:`study_scores`).
        correction: ``holm``, ``bh`` or ``by`` (see :func:`adjust_pvalues`).
        alpha: Level at which ``reject`` is decided on the adjusted p-value.
        value: Column compared (lower is better).

    Returns:
        ``optimizer_a, optimizer_b, n, statistic, p_value, p_adjusted, method, family, reject,
        mean_diff, p_a_better`` — ``mean_diff`` is the mean of A - B (negative: A better),
        ``p_a_better`` the fraction of units where A is strictly better (+0.5 per tie).
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(CORRECTIONS)}, got {correction!r}")
    if value not in scores.columns and value == "normalised":
        scores = normalised_scores(scores)
    _require(scores, ("task", "optimizer", "seed", value), "scores")
    blocks = _block_keys(scores)
    wide = (
        scores.assign(optimizer=scores["optimizer"].astype(str))
        .groupby([*blocks, "optimizer"], sort=True, dropna=False)[value]
        .mean()
        .unstack()
    )
    optimizers = sorted(wide.columns)
    pairs = list(itertools.combinations(optimizers, 2))
    rows = []
    for a, b in pairs:
        both = wide[[a, b]].dropna()
        d = both[a].to_numpy(dtype=float) - both[b].to_numpy(dtype=float)
        n = d.size
        if n == 0:
            stat, p = np.nan, np.nan
        elif np.all(d == 0):
            stat, p = np.nan, 1.0
        else:
            res = sps.wilcoxon(d, zero_method="zsplit", alternative="two-sided")
            stat, p = float(res.statistic), float(res.pvalue)
        better = float(np.mean((d < 0) + 0.5 * (d == 0))) if n else np.nan
        rows.append((a, b, n, stat, p, float(d.mean()) if n else np.nan, better))
    out = pd.DataFrame(
        rows,
        columns=["optimizer_a", "optimizer_b", "n", "statistic", "p_value", "mean_diff",
                 "p_a_better"],
    )  # fmt: skip
    out["p_adjusted"] = adjust_pvalues(out["p_value"].to_numpy(), correction)
    out["method"] = CORRECTIONS[correction]
    out["family"] = _family_label(scores, len(pairs), len(optimizers))
    out["reject"] = (out["p_adjusted"] <= alpha).fillna(False).astype(bool)
    cols = ["optimizer_a", "optimizer_b", "n", "statistic", "p_value", "p_adjusted", "method",
            "family", "reject", "mean_diff", "p_a_better"]  # fmt: skip
    return out[cols]


# --------------------------------------------------------------------------------------------
# anytime performance


def _default_grid(cum: np.ndarray, currency: str) -> np.ndarray:
    cum = cum[np.isfinite(cum)]
    if cum.size == 0:
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
    on the task. With ``normalise=True`` values are mapped to
    ``(f - f_opt) / (f_base - f_opt)`` per task (and budget), where ``f_opt`` is the known
    optimum or best validation value seen and ``f_base`` the baseline's mean final best, so
    curves share an axis across tasks (lower is better).

    Args:
        trials: Trial table.
        currency: ``trials``, ``epochs`` or ``seconds``.
        grid: Common evaluation points for all studies (default: per task, see above).
        normalise: Normalise per task as in :func:`normalised_scores`, on validation values.
        baseline: Baseline optimizer of the normalisation.

    Returns:
        Long table: study keys, ``direction, currency, normalised, x, best``.
    """
    if currency not in CURRENCIES:
        raise ValueError(f"currency must be one of {sorted(CURRENCIES)}, got {currency!r}")
    keys = _study_keys(trials)
    col = CURRENCIES[currency]
    _require(trials, ("status", "value", "direction", col), "trial table")
    cum_all = pd.to_numeric(trials[col], errors="coerce").to_numpy(dtype=float)
    ok = trials["status"].astype(str).eq("complete").to_numpy() & np.isfinite(
        pd.to_numeric(trials["value"], errors="coerce").to_numpy(dtype=float)
    )
    fixed = None if grid is None else np.asarray(grid, dtype=float)
    grids: dict[object, np.ndarray] = {}
    if fixed is None:
        for task, idx in trials.groupby("task", sort=False).indices.items():
            grids[task] = _default_grid(cum_all[idx], currency)

    sign_all = _sign(trials["direction"])
    trial_all = trials["trial"].to_numpy()
    value_all = pd.to_numeric(trials["value"], errors="coerce").to_numpy(dtype=float)
    frames = []
    for key, idx in trials.groupby(keys, sort=True, dropna=False).indices.items():
        key = key if isinstance(key, tuple) else (key,)
        study = dict(zip(keys, key, strict=True))
        xs = fixed if fixed is not None else grids[study["task"]]
        sel = idx[ok[idx]]
        sign = sign_all[idx[0]]
        best = np.full(xs.shape, np.nan)
        if sel.size:
            order = np.lexsort((trial_all[sel], cum_all[sel]))
            cum = cum_all[sel][order]
            run = np.minimum.accumulate(sign * value_all[sel][order])
            pos = np.searchsorted(cum, xs, side="right") - 1
            best = np.where(pos >= 0, sign * run[np.clip(pos, 0, None)], np.nan)
        frame = pd.DataFrame({"x": xs, "best": best})
        for k in reversed(keys):
            frame.insert(0, k, study[k])
        frame["direction"] = trials["direction"].iloc[idx[0]]
        frames.append(frame)
    columns = [*keys, "x", "best", "direction"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    out["currency"] = currency
    out["normalised"] = normalise
    if normalise:
        finals = study_scores(trials)
        groups = _task_groups(finals)
        norm = _normalisers(finals, "best_value", baseline, groups)
        out = out.merge(norm[[*groups, "f_opt", "f_base"]], on=groups, how="left")
        out["best"] = _normalise(out["best"], out["f_opt"], out["f_base"])
        out = out.drop(columns=["f_opt", "f_base"])
    return out[[*keys, "direction", "currency", "normalised", "x", "best"]]


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
    seeds). Seeds are resampled once per group as an ``(n_boot, n_seeds)`` index matrix and
    applied to the whole ``(n_seeds, n_x)`` curve matrix, so the band at each ``x`` uses the
    same resamples (Efron & Tibshirani, 1993). Means ignore seeds that are NaN at ``x`` (no
    complete trial yet); ``n_seeds`` counts the seeds that contribute.

    Args:
        curves: Output of :func:`anytime`.
        by: Grouping columns.
        n_boot: Bootstrap replicates.
        confidence: Coverage of the band.
        random_state: Seed or generator; groups are processed in sorted order.
        value: Column to average.

    Returns:
        ``by`` columns, ``x, mean, ci_low, ci_high, n_seeds`` and, when present in
        ``curves``, ``direction, currency, normalised``.
    """
    lo, hi = _ci_levels(confidence)
    by = list(by)
    _require(curves, [*by, "x", value], "curves")
    reps = [k for k in STUDY_KEYS if k in curves.columns and k not in by]
    if not reps:
        raise KeyError("curves need a replicate column (a study key such as seed) outside `by`")
    passthrough = [c for c in _PASSTHROUGH if c in curves.columns and c not in by]
    rng = np.random.default_rng(random_state)
    frames = []
    for key, g in curves.groupby(by, sort=True, dropna=False):
        wide = g.groupby([*reps, "x"], sort=True, dropna=False)[value].mean().unstack()
        m = wide.to_numpy(dtype=float)  # (n_seeds, n_x)
        idx = rng.integers(0, m.shape[0], size=(n_boot, m.shape[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            boot = np.nanmean(m[idx], axis=1)  # (n_boot, n_x)
            ci = np.nanquantile(boot, [lo, hi], axis=0)
            mean = np.nanmean(m, axis=0)
        frame = pd.DataFrame(
            {
                "x": wide.columns.to_numpy(dtype=float),
                "mean": mean,
                "ci_low": ci[0],
                "ci_high": ci[1],
                "n_seeds": np.isfinite(m).sum(axis=0),
            }
        )
        key = key if isinstance(key, tuple) else (key,)
        for k, v in reversed(list(zip(by, key, strict=True))):
            frame.insert(0, k, v)
        for c in passthrough:
            frame[c] = g[c].iloc[0]
        frames.append(frame)
    columns = [*by, "x", "mean", "ci_low", "ci_high", "n_seeds", *passthrough]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
