"""Expected best validation score after n trials of an i.i.d. search (random search).

Given the N validation values ``v_(1) <= ... <= v_(N)`` that a search drawing configurations
independently from a fixed distribution produced, how good is the best of n such draws?

- Dodge et al. (2019, EMNLP, "Show your work: improved reporting of experimental results",
  eq. 1-2) draw the n trials *with replacement* from the empirical distribution:
  ``E[max_n] = Σ_i v_(i) [(i/N)^n - ((i-1)/N)^n]``, with variance
  ``Σ_i v_(i)² [..] - E[max_n]²``; defined for every n but biased for n > 1.
- Tang et al. (2020, ACL, "Showing your work doesn't always work") draw *without*
  replacement, the unbiased estimator of the expected maximum of n ≤ N draws:
  ``E[max_n] = Σ_{i >= n} v_(i) C(i-1, n-1) / C(N, n)``.

For a minimised objective both give the expected *minimum* (applied to ``-v`` and negated).
Both need i.i.d. trials: they describe random search, not adaptive optimizers whose trials
depend on earlier ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import gammaln

from tunebench.core.tables import require_columns
from tunebench.stats._util import sign

__all__ = [
    "ESTIMATORS",
    "expected_max",
    "expected_max_curves",
    "expected_max_dodge",
    "expected_max_tang",
    "iid_optimizers",
]

#: Estimator names of :func:`expected_max_curves`.
ESTIMATORS: tuple[str, ...] = ("dodge2019", "tang2020")


def _prepare(
    values: Sequence[float] | np.ndarray, n: Sequence[int] | np.ndarray | int, direction: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """Sorted finite values in maximise orientation, n as floats, and the sign applied."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    s = -1.0 if direction == "minimize" else 1.0
    ns = np.atleast_1d(np.asarray(n, dtype=float))
    if np.any(ns < 1) or np.any(ns != np.round(ns)):
        raise ValueError(f"n must be positive integers, got {ns.tolist()}")
    return np.sort(s * v), ns, s


def expected_max_dodge(
    values: Sequence[float] | np.ndarray,
    n: Sequence[int] | np.ndarray | int,
    direction: str = "maximize",
) -> tuple[np.ndarray, np.ndarray]:
    """Expected best of n draws with replacement (Dodge et al., 2019, eq. 1-2), and its std.

    Args:
        values: The N validation values of an i.i.d. search, shape ``(N,)`` (NaN ignored).
        n: Numbers of trials, shape ``(m,)``.
        direction: ``maximize`` (expected maximum) or ``minimize`` (expected minimum).

    Returns:
        ``(expected, std)``, each of shape ``(m,)``; NaN when no value is finite.
    """
    v, ns, s = _prepare(values, n, direction)
    if v.size == 0:
        return np.full(ns.shape, np.nan), np.full(ns.shape, np.nan)
    q = np.arange(v.size + 1) / v.size  # (N+1,): 0, 1/N, ..., 1
    cdf = np.power(q[:, None], ns[None, :])  # (N+1, m)
    p = np.diff(cdf, axis=0)  # (N, m): P(max of n draws is v_(i))
    mean = v @ p
    var = np.maximum((v**2) @ p - mean**2, 0.0)
    return s * mean, np.sqrt(var)


def expected_max_tang(
    values: Sequence[float] | np.ndarray,
    n: Sequence[int] | np.ndarray | int,
    direction: str = "maximize",
) -> np.ndarray:
    """Unbiased expected best of n ≤ N draws without replacement (Tang et al., 2020).

    ``P(the best of n draws is v_(i)) = C(i-1, n-1) / C(N, n)`` for ``i >= n``, computed in
    log space from a table of ``log k!`` (:func:`scipy.special.gammaln`) so that large N do
    not overflow.

    Args:
        values: The N validation values of an i.i.d. search, shape ``(N,)`` (NaN ignored).
        n: Numbers of trials, shape ``(m,)``.
        direction: ``maximize`` or ``minimize``.

    Returns:
        Shape ``(m,)``; NaN where n > N (the estimator is undefined there).
    """
    v, ns, s = _prepare(values, n, direction)
    big_n = v.size
    out = np.full(ns.shape, np.nan)
    ok = ns <= big_n
    if big_n == 0 or not ok.any():
        return out
    log_fact = gammaln(np.arange(big_n + 2, dtype=float) + 1.0)  # log k!, k = 0 .. N+1
    i = np.arange(1, big_n + 1)[:, None]  # (N, 1)
    k = ns[ok].astype(int)[None, :]  # (1, m')
    valid = i >= k
    # log C(i-1, k-1) - log C(N, k), by table lookup (no gammaln per matrix entry)
    j = np.where(valid, i - k, 0)
    log_p = (
        log_fact[i - 1] - log_fact[k - 1] - log_fact[j]
        - (log_fact[big_n] - log_fact[k] - log_fact[big_n - k])
    )  # fmt: skip
    p = np.where(valid, np.exp(np.where(valid, log_p, 0.0)), 0.0)
    out[ok] = s * (v @ p)
    return out


def expected_max(
    values: Sequence[float] | np.ndarray,
    n: Sequence[int] | np.ndarray | int,
    direction: str = "maximize",
    *,
    unbiased: bool = False,
) -> np.ndarray:
    """Expected best validation score of n i.i.d. trials (Dodge 2019, or Tang 2020 if unbiased).

    Args:
        values: The N validation values of an i.i.d. search, shape ``(N,)``.
        n: Numbers of trials, shape ``(m,)``.
        direction: ``maximize`` or ``minimize`` (then the expected minimum).
        unbiased: Use :func:`expected_max_tang` instead of :func:`expected_max_dodge`.

    Returns:
        Shape ``(m,)``.
    """
    if unbiased:
        return expected_max_tang(values, n, direction)
    return expected_max_dodge(values, n, direction)[0]


def _n_grid(top: int, n_points: int) -> np.ndarray:
    """``1 .. top``, or about ``n_points`` log-spaced integers from 1 to ``top``."""
    if top <= n_points:
        return np.arange(1, top + 1)
    return np.unique(np.round(np.geomspace(1, top, n_points)).astype(int))


def iid_optimizers(trials: pd.DataFrame) -> list[str]:
    """Optimizers whose trials are i.i.d. draws: ``algorithm == "random"`` (or named random).

    A random sampler with a pruner (``random+median``) is not included: pruning decides which
    trials complete, so the complete values are no longer a sample of the search distribution.
    """
    col = "algorithm" if "algorithm" in trials.columns else "optimizer"
    algo = trials[col].astype(str).str.lower()
    return sorted(trials.loc[algo.eq("random"), "optimizer"].astype(str).unique())


def expected_max_curves(
    trials: pd.DataFrame,
    iid: Sequence[str] | None = None,
    n_max: int | None = None,
    n_points: int = 100,
) -> pd.DataFrame:
    """Expected best validation score vs number of trials for each i.i.d. optimizer and task.

    Per (budget, task, optimizer), the validation values of all complete trials are pooled
    over seeds (seeds of an i.i.d. search draw from the same distribution, so pooling only
    sharpens the estimate) and both estimators are evaluated for ``n = 1 .. n_max`` (default:
    the largest number of trials of one study in the group, the budget); when ``n_max``
    exceeds ``n_points``, at ``n_points`` log-spaced integers from 1 to ``n_max`` instead (the
    cost is ``O(N × number of n)``). Failed and pruned trials carry no comparable value and
    are left out; ``n_values`` says how many remained.

    Args:
        trials: Trial table, one row per trial.
        iid: Optimizers to treat as i.i.d. (default :func:`iid_optimizers`).
        n_max: Largest n.
        n_points: Most values of n per curve.

    Returns:
        ``budget, task, optimizer, direction, estimator, n, expected, std, n_values``;
        ``estimator`` is ``dodge2019`` (with ``std``) or ``tang2020`` (``std`` NaN).
    """
    columns = ("task", "optimizer", "budget", "seed", "status", "value", "direction")
    require_columns(trials, columns, "trial table")
    names = iid_optimizers(trials) if iid is None else [str(o) for o in iid]
    columns = ["budget", "task", "optimizer", "direction", "estimator", "n", "expected", "std",
               "n_values"]  # fmt: skip
    sel = trials[trials["optimizer"].astype(str).isin(names)]
    if sel.empty:
        return pd.DataFrame(columns=columns)
    value = pd.to_numeric(sel["value"], errors="coerce")
    done = sel["status"].astype(str).eq("complete") & np.isfinite(value)
    per_study = sel.groupby(["budget", "task", "optimizer", "seed"], sort=False).size()
    frames = []
    for (budget, task, optimizer), g in sel[done].groupby(
        ["budget", "task", "optimizer"], sort=True
    ):
        direction = str(g["direction"].iloc[0])
        sign([direction])  # validates
        top = n_max or int(per_study.loc[(budget, task, optimizer)].max())
        ns = _n_grid(top, n_points)
        v = pd.to_numeric(g["value"], errors="coerce").to_numpy(dtype=float)
        dodge, std = expected_max_dodge(v, ns, direction)
        tang = expected_max_tang(v, ns, direction)
        for name, mean, sd in (("dodge2019", dodge, std), ("tang2020", tang, np.nan)):
            frames.append(
                pd.DataFrame(
                    {
                        "budget": budget,
                        "task": task,
                        "optimizer": optimizer,
                        "direction": direction,
                        "estimator": name,
                        "n": ns,
                        "expected": mean,
                        "std": sd,
                        "n_values": v.size,
                    }
                )
            )
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
