"""Hypothesis tests: Friedman + Iman–Davenport, Nemenyi, pairwise Wilcoxon with corrections.

The recipe of Demšar (2006, JMLR 7:1-30) for comparing several methods over several data
sets, with the amendment of Benavoli, Corani & Mangili (2016, JMLR 17:1-10): pairwise
decisions come from Wilcoxon signed-rank tests corrected for multiplicity (Holm by default),
not from the mean-ranks Nemenyi test, whose outcome for a pair depends on which other methods
are in the comparison. Nemenyi's critical difference is still reported, for comparison with
the literature.

Every test declares its *family*: the set of hypotheses its correction runs over (which
pairs, at which budget, over which tasks and seeds). Trials inside a study are not hypotheses:
that one optimizer evaluated N configurations and another M is a budget confound, removed by
comparing at equal budget, not by an N·M correction.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from tunebench.core.tables import require_columns
from tunebench.stats._metrics import normalised_scores, rank_matrix, ranks
from tunebench.stats._uncertainty import pair_probabilities
from tunebench.stats._util import block_keys

__all__ = [
    "CORRECTIONS",
    "FriedmanResult",
    "adjust_pvalues",
    "cd_ranks",
    "friedman",
    "friedman_from_mean_ranks",
    "iman_davenport",
    "nemenyi",
    "nemenyi_critical_difference",
    "pairwise_wilcoxon",
    "wilcoxon_pairs",
]

#: Accepted names of multiple-comparison corrections → statsmodels ``multipletests`` methods.
CORRECTIONS: dict[str, str] = {
    "holm": "holm",
    "bh": "fdr_bh",
    "fdr_bh": "fdr_bh",
    "by": "fdr_by",
    "fdr_by": "fdr_by",
}

#: Columns of :func:`pairwise_wilcoxon`.
PAIRWISE_COLUMNS: tuple[str, ...] = (
    "pair",
    "optimizer_a",
    "optimizer_b",
    "n",
    "statistic",
    "p_value",
    "p_adjusted",
    "method",
    "family",
    "reject",
    "mean_diff",
    "p_a_better",
    "p_a_better_low",
    "p_a_better_high",
)


# --------------------------------------------------------------------------------------------
# omnibus


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman omnibus test with Iman–Davenport's F and Nemenyi's critical difference.

    ``statistic``/``p_value``: Friedman χ² (Demšar, 2006, eq. 2); ``iman_davenport_f``/``_p``:
    its F form (eq. 3); ``nemenyi_q_alpha`` and ``nemenyi_cd``: the critical value and the
    critical difference of mean ranks at level ``alpha`` (Sec. 3.2.2).
    """

    statistic: float
    p_value: float
    iman_davenport_f: float
    iman_davenport_p: float
    n_blocks: int
    n_optimizers: int
    block: str
    nemenyi_q_alpha: float = np.nan
    nemenyi_cd: float = np.nan
    alpha: float = 0.05
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
        mean_rank: Average rank ``R_j`` of each of the k optimizers, shape ``(k,)``.
        n_blocks: N, the number of blocks the ranks were averaged over.

    Returns:
        ``(χ²_F, F_F)``.
    """
    r = np.asarray(mean_rank, dtype=float)
    k, n = r.size, n_blocks
    chi2 = 12.0 * n / (k * (k + 1)) * (np.sum(r**2) - k * (k + 1) ** 2 / 4.0)
    return float(chi2), iman_davenport(chi2, n, k)[0]


def nemenyi_critical_difference(
    n_optimizers: int, n_blocks: int, alpha: float = 0.05
) -> tuple[float, float]:
    """Nemenyi's critical value ``q_α`` and critical difference ``CD = q_α √(k(k+1)/(6N))``.

    ``q_α`` is the studentized range quantile (infinite degrees of freedom) divided by √2
    (Nemenyi, 1963; Demšar, 2006, Sec. 3.2.2 and Table 5: q_0.05 = 2.569 for k = 4). Two
    methods whose mean ranks differ by at least CD differ at level α.

    Args:
        n_optimizers: k.
        n_blocks: N.
        alpha: Family-wise level.

    Returns:
        ``(q_alpha, cd)``; NaN for k < 2 or N < 1.
    """
    k, n = n_optimizers, n_blocks
    if k < 2 or n < 1:
        return np.nan, np.nan
    q = float(sps.studentized_range.ppf(1.0 - alpha, k, np.inf) / np.sqrt(2.0))
    return q, q * float(np.sqrt(k * (k + 1) / (6.0 * n)))


def _block_matrix(scores: pd.DataFrame, block: str) -> pd.DataFrame:
    """Complete blocks × optimizers matrix of (averaged) ranks, the input of Friedman."""
    return rank_matrix(ranks(scores), block).dropna(axis=0, how="any")


def friedman(scores: pd.DataFrame, block: str = "task", alpha: float = 0.05) -> FriedmanResult:
    """Friedman test of equal performance of all optimizers, with Iman–Davenport's F.

    Scores are first ranked within each (task, seed) unit by
    :func:`tunebench.stats._metrics.ranks` (missing → worst). With ``block="task"`` (default) the
    ranks are averaged over seeds, so each task is one block, as Demšar (2006) averages
    resamples within a data set; averaging ranks rather than raw scores keeps failed studies
    (worst rank) and tasks of any scale on the same footing. ``block="task_seed"`` treats
    every (task, seed) unit as a block; more blocks, but seeds of a task are not independent
    data sets, so it overstates the evidence across tasks. The χ² statistic is
    :func:`scipy.stats.friedmanchisquare` (tie-corrected) on the blocks × optimizers matrix.

    Args:
        scores: One row per study (output of :func:`tunebench.stats._metrics.study_scores`).
        block: ``"task"`` or ``"task_seed"``.
        alpha: Level of Nemenyi's critical difference.

    Returns:
        A :class:`FriedmanResult`; NaN with a ``note`` for fewer than 3 optimizers or 2 blocks.
    """
    m = _block_matrix(scores, block)
    n, k = m.shape
    nan = np.nan
    q, cd = nemenyi_critical_difference(k, n, alpha)
    if k < 3 or n < 2:
        note = f"needs >= 3 optimizers and >= 2 blocks, got {k} optimizers and {n} blocks"
        return FriedmanResult(nan, nan, nan, nan, n, k, block, q, cd, alpha, note)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.friedmanchisquare(*m.to_numpy(dtype=float).T)
    chi2, p = float(res.statistic), float(res.pvalue)
    if not np.isfinite(chi2):
        note = "all optimizers tied in every block"
        return FriedmanResult(nan, nan, nan, nan, n, k, block, q, cd, alpha, note)
    f, fp = iman_davenport(chi2, n, k)
    return FriedmanResult(chi2, p, f, fp, n, k, block, q, cd, alpha)


def cd_ranks(scores: pd.DataFrame, block: str = "task") -> pd.DataFrame:
    """Mean rank of each optimizer over the Friedman blocks: the axis of a CD diagram.

    Each block (row of the matrix :func:`friedman` tests) is ranked again, so these are the
    ``R_j`` of Demšar (2006, eq. 2) that Friedman and Nemenyi use.

    Args:
        scores: One row per study.
        block: ``"task"`` or ``"task_seed"``.

    Returns:
        ``optimizer, mean_rank, n_blocks``, sorted by mean rank.
    """
    m = _block_matrix(scores, block)
    r = sps.rankdata(m.to_numpy(dtype=float), axis=1, method="average")
    out = pd.DataFrame(
        {
            "optimizer": m.columns.astype(str),
            "mean_rank": r.mean(axis=0) if r.size else np.nan,
            "n_blocks": m.shape[0],
        }
    )
    return out.sort_values(["mean_rank", "optimizer"], kind="stable").reset_index(drop=True)


def nemenyi(scores: pd.DataFrame, block: str = "task", alpha: float = 0.05) -> pd.DataFrame:
    """Nemenyi post-hoc test for every pair, on the mean ranks of the Friedman blocks.

    ``q = |R_a - R_b| / √(k(k+1)/(6N))`` and ``p = P(Q_k,∞ > √2 q)`` with ``Q`` the
    studentized range (Demšar, 2006, Sec. 3.2.2); the same numbers as
    ``scikit_posthocs.posthoc_nemenyi_friedman`` on the block matrix. Reported for
    comparison with the literature; decisions use :func:`pairwise_wilcoxon`.

    Args:
        scores: One row per study.
        block: ``"task"`` or ``"task_seed"``.
        alpha: Level of ``reject`` and of ``cd``.

    Returns:
        ``optimizer_a, optimizer_b, mean_rank_a, mean_rank_b, statistic, p_value, cd,
        reject`` for sorted pairs (a < b).
    """
    r = cd_ranks(scores, block).sort_values("optimizer")
    names, mean_rank = r["optimizer"].tolist(), r["mean_rank"].to_numpy(dtype=float)
    k, n = len(names), int(r["n_blocks"].iloc[0]) if len(r) else 0
    _, cd = nemenyi_critical_difference(k, n, alpha)
    pairs = list(itertools.combinations(range(k), 2))
    ia = np.array([i for i, _ in pairs], dtype=int)
    ib = np.array([j for _, j in pairs], dtype=int)
    if n >= 1 and k >= 2:
        q = np.abs(mean_rank[ia] - mean_rank[ib]) / np.sqrt(k * (k + 1.0) / (6.0 * n))
        p = sps.studentized_range.sf(q * np.sqrt(2.0), k, np.inf)
    else:
        q = p = np.full(len(pairs), np.nan)
    return pd.DataFrame(
        {
            "optimizer_a": [names[i] for i in ia],
            "optimizer_b": [names[j] for j in ib],
            "mean_rank_a": mean_rank[ia],
            "mean_rank_b": mean_rank[ib],
            "statistic": q,
            "p_value": p,
            "cd": cd,
            "reject": np.asarray(p) <= alpha,
        }
    )


# --------------------------------------------------------------------------------------------
# pairwise tests


def adjust_pvalues(p_values: Sequence[float], method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values: Holm, Benjamini–Hochberg or Benjamini–Yekutieli.

    ``holm`` controls the family-wise error rate (Holm, 1979): with the m p-values sorted,
    ``p̃_(i) = max_{j<=i} min(1, (m - j + 1) p_(j))``. ``bh`` controls the false discovery rate
    under independence or positive dependence (Benjamini & Hochberg, 1995):
    ``p̃_(i) = min_{j>=i} min(1, m p_(j) / j)``; ``by`` under any dependence (Benjamini &
    Yekutieli, 2001), the BH values times ``Σ_{k<=m} 1/k``. The numbers are those of
    :func:`statsmodels.stats.multitest.multipletests` (the tests check equality); they are
    computed here because statsmodels' Holm branch runs a full ``gc.collect()`` per call,
    which costs a tenth of a second per family on a large heap. NaN p-values are left out of
    the family and stay NaN.

    Args:
        p_values: Raw p-values, shape ``(m,)``.
        method: ``holm``, ``bh``/``fdr_bh`` or ``by``/``fdr_by``.

    Returns:
        Adjusted p-values, same order as ``p_values``.
    """
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(CORRECTIONS)}, got {method!r}")
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    order = np.argsort(p[ok], kind="stable")
    ps = p[ok][order]
    rank = np.arange(1, m + 1)
    if CORRECTIONS[method] == "holm":
        adj = np.maximum.accumulate((m - rank + 1) * ps)
    else:
        scale = np.sum(1.0 / rank) if CORRECTIONS[method] == "fdr_by" else 1.0
        adj = np.minimum.accumulate((scale * m * ps / rank)[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adj, 1.0)
    out[ok] = adjusted
    return out


def wilcoxon_pairs(wide: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Two-sided Wilcoxon signed-rank test of each pair of columns of a paired matrix.

    Units (rows) where either score is missing are dropped from the pair. Zero differences use
    ``zero_method="zsplit"``: their ranks are split evenly between the positive and negative
    sums, as recommended by Demšar (2006, Sec. 3.1.3), so that ties count as evidence of no
    difference instead of being discarded. scipy picks the exact, permutation or normal null
    distribution. A pair whose differences are all zero gets p = 1.

    Args:
        wide: Scores ``(n_units, k)``, NaN where missing.
        pairs: Column index pairs ``(a, b)``.

    Returns:
        Array ``(n_pairs, 4)``: ``n, statistic, p_value, mean_diff`` (mean of a - b).
    """
    wide = np.asarray(wide, dtype=float)
    out = np.full((len(pairs), 4), np.nan)
    for row, (a, b) in enumerate(pairs):
        d = wide[:, a] - wide[:, b]
        d = d[np.isfinite(d)]
        out[row, 0] = d.size
        if d.size == 0:
            continue
        out[row, 3] = d.mean()
        if np.all(d == 0):
            out[row, 2] = 1.0
            continue
        res = sps.wilcoxon(d, zero_method="zsplit", alternative="two-sided")
        out[row, 1:3] = float(res.statistic), float(res.pvalue)
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
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Wilcoxon signed-rank test and P(A > B) for every pair of optimizers.

    Pairs are matched on (budget, task, seed) and compared on the normalised score (computed
    with :func:`tunebench.stats._metrics.normalised_scores` if absent), so differences are
    commensurable across tasks (:func:`wilcoxon_pairs`). p-values are adjusted over the family
    of all pairs with :func:`adjust_pvalues`; ``family`` says which. ``p_a_better`` is the
    probability of improvement of Bouthillier et al. (2021) with a stratified-bootstrap
    interval (seeds resampled within tasks; :func:`pair_probabilities`).

    Args:
        scores: One row per study (output of :func:`tunebench.stats._metrics.normalised_scores`).
        correction: ``holm``, ``bh`` or ``by`` (see :func:`adjust_pvalues`).
        alpha: Level at which ``reject`` is decided on the adjusted p-value.
        value: Column compared (lower is better).
        n_boot: Bootstrap replicates of the P(A > B) interval.
        confidence: Coverage of that interval.
        random_state: Seed or generator.

    Returns:
        :data:`PAIRWISE_COLUMNS`: ``pair`` ("a vs b"), ``optimizer_a, optimizer_b, n,
        statistic, p_value, p_adjusted, method, family, reject, mean_diff`` (mean of A - B,
        negative: A better), ``p_a_better, p_a_better_low, p_a_better_high``.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(CORRECTIONS)}, got {correction!r}")
    if value not in scores.columns and value == "normalised":
        scores = normalised_scores(scores)
    require_columns(scores, ("task", "optimizer", "seed", value), "scores")
    blocks = block_keys(scores)
    wide = (
        scores.assign(optimizer=scores["optimizer"].astype(str))
        .groupby([*blocks, "optimizer"], sort=True, dropna=False)[value]
        .mean()
        .unstack()
    )
    optimizers = sorted(wide.columns)
    wide = wide[optimizers]
    pairs = list(itertools.combinations(range(len(optimizers)), 2))
    tests = wilcoxon_pairs(wide.to_numpy(), pairs)
    strata_cols = [b for b in blocks if b != "seed"]
    strata = pd.MultiIndex.from_frame(wide.index.to_frame()[strata_cols]).factorize()[0]
    probs = pair_probabilities(wide.to_numpy(), pairs, strata, n_boot, confidence, random_state)
    a_names = [optimizers[i] for i, _ in pairs]
    b_names = [optimizers[j] for _, j in pairs]
    out = pd.DataFrame(
        {
            "pair": [f"{a} vs {b}" for a, b in zip(a_names, b_names, strict=True)],
            "optimizer_a": a_names,
            "optimizer_b": b_names,
            "n": tests[:, 0].astype(int),
            "statistic": tests[:, 1],
            "p_value": tests[:, 2],
            "mean_diff": tests[:, 3],
            "p_a_better": probs[:, 1],
            "p_a_better_low": probs[:, 2],
            "p_a_better_high": probs[:, 3],
        }
    )
    out["p_adjusted"] = adjust_pvalues(out["p_value"].to_numpy(), correction)
    out["method"] = CORRECTIONS[correction]
    out["family"] = _family_label(scores, len(pairs), len(optimizers))
    out["reject"] = (out["p_adjusted"] <= alpha).fillna(False).astype(bool)
    return out[list(PAIRWISE_COLUMNS)]


@dataclass(frozen=True)
class DesignPower:
    """What a paired design of ``n`` units and ``m`` tests can show (see :func:`design_power`).

    Attributes:
        n: Paired units per test (e.g. task × seed blocks).
        m: Tests in the corrected family (pairs of optimizers).
        alpha: Family-wise (or FDR) level.
        p_min: Smallest two-sided exact Wilcoxon signed-rank p-value of ``n`` pairs: ``2 / 2**n``.
        p_min_adjusted: ``min(1, m * p_min)``: the smallest p of the family after Holm (and the
            first step of Benjamini–Hochberg).
        n_min: Smallest ``n`` at which ``p_min_adjusted <= alpha`` is possible at all.
        effect: The ``P(A better than B)`` the sample size is computed for.
        n_needed: Paired units for 80 % power to detect ``effect`` at ``alpha / m`` (two-sided
            sign-test normal approximation; NaN when ``effect`` is 0.5).
    """

    n: int
    m: int
    alpha: float
    p_min: float
    p_min_adjusted: float
    n_min: int
    effect: float
    n_needed: float


def design_power(
    n: int, m: int, alpha: float, effect: float, *, power: float = 0.8
) -> DesignPower:
    """How far a paired design is from showing a difference (for the summary's power note).

    The exact two-sided Wilcoxon signed-rank test on ``n`` pairs cannot give ``p`` below
    ``2 / 2**n``, so ``m`` Holm-corrected tests need ``n >= log2(2 m / alpha)`` pairs before any
    can be significant. For an effect given as a probability of superiority
    ``π = P(A better than B)``, the sign test needs about
    ``n = ((z_{1-α'/2} / 2 + z_power · sqrt(π (1 - π))) / (π - 1/2))²`` pairs with
    ``α' = alpha / m`` (Bonferroni, a bound for Holm): a rough, conservative figure for the
    Wilcoxon test (Noether, 1987).

    Args:
        n: Paired units per test.
        m: Tests in the family.
        alpha: Level of the family.
        effect: ``P(A better than B)`` in [0, 1] (e.g. the largest observed).
        power: Wanted power.
    """
    if n < 1 or m < 1 or not 0 < alpha < 1:
        raise ValueError(f"need n >= 1, m >= 1 and 0 < alpha < 1, got {n}, {m}, {alpha}")
    p_min = 2.0 / 2.0**n
    gap = abs(float(effect) - 0.5)
    if gap > 0:
        z_a = sps.norm.ppf(1 - alpha / m / 2)
        z_b = sps.norm.ppf(power)
        pi = 0.5 + gap
        n_needed = float(np.ceil(((z_a / 2 + z_b * np.sqrt(pi * (1 - pi))) / gap) ** 2))
    else:
        n_needed = float("nan")
    return DesignPower(
        n=n,
        m=m,
        alpha=alpha,
        p_min=p_min,
        p_min_adjusted=min(1.0, m * p_min),
        n_min=int(np.ceil(np.log2(2 * m / alpha))),
        effect=float(effect),
        n_needed=n_needed,
    )
