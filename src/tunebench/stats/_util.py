"""Private helpers shared by the statistics modules (column checks, directions, resampling).

Nothing here is public API: :mod:`tunebench.stats` re-exports the public functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tunebench.core.tables import STUDY_KEYS

REQUIRED_KEYS = ("task", "optimizer", "budget", "seed")


def study_keys(df: pd.DataFrame) -> list[str]:
    """The study-key columns present in ``df`` (task, optimizer, budget, seed are required)."""
    missing = [k for k in REQUIRED_KEYS if k not in df.columns]
    if missing:
        raise KeyError(f"table lacks study key column(s) {missing}")
    return [k for k in STUDY_KEYS if k in df.columns]


def sign(direction: pd.Series | Sequence[str]) -> np.ndarray:
    """+1 for ``minimize``, -1 for ``maximize``: ``sign * value`` is then lower-is-better."""
    codes, uniques = pd.factorize(pd.Series(direction), use_na_sentinel=False)
    d = np.asarray([str(u).lower() for u in uniques])
    bad = sorted(set(d) - {"minimize", "maximize"})
    if bad:
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {bad}")
    return np.where(d == "maximize", -1.0, 1.0)[codes] if len(codes) else np.zeros(0)


def study_index(df: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Integer id of each row's study and the position of each study's first row.

    Ids follow the sorted order of the key tuples (as ``groupby(sort=True)`` iterates), so
    ``df[keys].iloc[first]`` is the sorted table of studies. One factorisation of the key
    columns replaces one per aggregation, which matters on million-row trial tables.

    Returns:
        ``(sid, first)``: shapes ``(n_rows,)`` and ``(n_studies,)``.
    """
    if df.empty:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    sid = df.groupby(list(keys), sort=True, dropna=False).ngroup().to_numpy()
    order = np.argsort(sid, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(sid[order])) + 1]
    return sid, order[starts]


def segments(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable order that groups equal integer codes, with the start and end of each run.

    Returns:
        ``(order, starts, ends)``: ``order[starts[j]:ends[j]]`` are the positions of the j-th
        smallest code, in their original order.
    """
    order = np.argsort(codes, kind="stable")
    if order.size == 0:
        empty = np.zeros(0, dtype=np.intp)
        return order, empty, empty
    cuts = np.flatnonzero(np.diff(codes[order])) + 1
    return order, np.r_[0, cuts], np.r_[cuts, order.size]


def task_groups(df: pd.DataFrame) -> list[str]:
    """Normalisation groups: a task at one budget (Bayesmark compares at equal budget)."""
    return [c for c in ("task", "budget") if c in df.columns]


def block_keys(df: pd.DataFrame) -> list[str]:
    """Paired units of the comparison: (budget, task, seed)."""
    return [c for c in ("budget", "task", "seed") if c in df.columns]


def ci_levels(confidence: float) -> tuple[float, float]:
    """Lower and upper quantile levels of a two-sided percentile interval."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    alpha = 1.0 - confidence
    return alpha / 2.0, 1.0 - alpha / 2.0


def as_tuple(key: object) -> tuple:
    """A groupby key as a tuple (pandas gives scalars for a single grouping column)."""
    return key if isinstance(key, tuple) else (key,)


def stratified_indices(strata: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap index matrix that resamples items with replacement within each stratum.

    Every replicate keeps the stratum sizes, as rliable's stratified bootstrap resamples runs
    within each task (Agarwal et al., 2021, NeurIPS, "Deep RL at the edge of the statistical
    precipice", Sec. 4). Strata are processed in sorted order, so results depend only on
    ``rng``.

    Args:
        strata: Stratum label of each of the n items, shape ``(n,)``.
        n_boot: Number of replicates.
        rng: Random generator.

    Returns:
        Integer array ``(n_boot, n)`` of item indices; column block j holds the resampled
        items of the j-th stratum.
    """
    strata = np.asarray(strata)
    if strata.size == 0:
        return np.zeros((n_boot, 0), dtype=np.intp)
    codes, uniques = pd.factorize(strata, sort=True)
    blocks = []
    for c in range(len(uniques)):
        members = np.flatnonzero(codes == c)
        blocks.append(members[rng.integers(0, members.size, size=(n_boot, members.size))])
    return np.concatenate(blocks, axis=1)


def index_counts(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` items appears in each row of an index matrix ``(n_boot, m)``.

    Turns resampling into a matrix product: the replicate mean of ``x`` is ``W @ x / m``.
    """
    n_boot = idx.shape[0]
    flat = (idx + n * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(float)


def sorted_quantiles(boot: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Column quantiles of ``boot`` (``(n_boot, m)``) ignoring NaN, without a Python loop.

    Equivalent to ``np.nanquantile(boot, levels, axis=0)`` (linear interpolation), which falls
    back to a per-column loop when NaNs are present: complete columns go through
    :func:`numpy.quantile` (a partition), the others through one sort.

    Returns:
        Array ``(len(levels), m)``; NaN for all-NaN columns.
    """
    boot = np.asarray(boot, dtype=float)
    out = np.full((len(levels), boot.shape[1]), np.nan)
    complete = np.isfinite(boot).all(axis=0)
    if complete.any():
        out[:, complete] = np.quantile(boot[:, complete], levels, axis=0)
    rest = np.flatnonzero(~complete)
    if rest.size == 0:
        return out
    s = np.sort(boot[:, rest], axis=0)  # NaN sorts last
    count = np.isfinite(s).sum(axis=0)
    cols = np.arange(rest.size)
    ok = count > 0
    for i, q in enumerate(levels):
        pos = q * np.maximum(count - 1, 0)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
        frac = pos - lo
        lo_v, hi_v = s[lo, cols], s[hi, cols]
        out[i, rest] = np.where(ok, lo_v + frac * (hi_v - lo_v), np.nan)
    return out
