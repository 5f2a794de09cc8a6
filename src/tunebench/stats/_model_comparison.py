"""Model-comparison mode: "tuned model A vs tuned model B" on one data set, at each budget.

A *group* names tasks that share a data set (and metric) but differ in model, e.g. digits: an
MLP, gradient boosting and an SVC. Each model is tuned by each optimizer under the same
budget and seeds; the question is whether the deep model beats a *fairly tuned* baseline, and
at which budget the answer flips (Bouthillier et al., 2021, MLSys; Dodge et al., 2019, EMNLP).

For every group, budget, budget fraction and optimizer, the held-out test scores of the tuned
models are paired by seed and compared with the tests of the optimizer comparison: two-sided
Wilcoxon signed-rank per pair of models, corrected over the pairs of the group at that
(budget, fraction, optimizer) — the family, recorded in each row — and P(A > B) with a
bootstrap interval over seeds. The expected best validation score of random search per model
(:mod:`tunebench.stats._expected_max`) shows how much tuning each model needs.

With few seeds the Wilcoxon test cannot reject: with n paired seeds the smallest two-sided
exact p-value is ``2 / 2^n`` (0.0625 for n = 5), so at α = 0.05 at least 6 seeds are needed
before any correction. P(A > B) and its interval remain informative.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tunebench.core.tables import require_columns
from tunebench.stats._expected_max import expected_max_curves
from tunebench.stats._metrics import FRACTIONS, scores_at
from tunebench.stats._significance import CORRECTIONS, adjust_pvalues, wilcoxon_pairs
from tunebench.stats._uncertainty import pair_probabilities
from tunebench.stats._util import ci_levels, sign

__all__ = [
    "MODEL_COLUMNS",
    "MODEL_EXPECTED_MAX_COLUMNS",
    "MODEL_PAIRWISE_COLUMNS",
    "ModelComparison",
    "compare_models",
]

#: Columns of :attr:`ModelComparison.models`.
MODEL_COLUMNS: tuple[str, ...] = (
    "group", "budget", "fraction", "cut", "optimizer", "model", "n", "median", "mean",
    "ci_low", "ci_high", "mean_rank", "direction", "metric",
)  # fmt: skip

#: Columns of :attr:`ModelComparison.pairwise`.
MODEL_PAIRWISE_COLUMNS: tuple[str, ...] = (
    "group", "budget", "fraction", "cut", "optimizer", "pair", "model_a", "model_b", "n",
    "statistic", "p_value", "p_adjusted", "method", "family", "reject", "mean_diff",
    "p_a_better", "p_a_better_low", "p_a_better_high", "direction",
)  # fmt: skip

#: Columns of :attr:`ModelComparison.expected_max`.
MODEL_EXPECTED_MAX_COLUMNS: tuple[str, ...] = (
    "group", "budget", "model", "optimizer", "direction", "estimator", "n", "expected", "std",
    "n_values",
)  # fmt: skip


_UNUSED = ("params", "error", "t_start", "t_end")


@dataclass(frozen=True)
class ModelComparison:
    """Result of :func:`compare_models` (empty tables with their columns when no group)."""

    models: pd.DataFrame
    pairwise: pd.DataFrame
    expected_max: pd.DataFrame
    families: list[dict]


def _check_groups(trials: pd.DataFrame, groups: Mapping[str, Sequence[str]]) -> None:
    present = set(trials["task"].astype(str).unique())
    for name, tasks in groups.items():
        tasks = list(tasks)
        if len(set(tasks)) < 2:
            raise ValueError(f"comparisons.{name}: needs at least two distinct tasks, got {tasks}")
        missing = sorted(set(map(str, tasks)) - present)
        if missing:
            raise ValueError(f"comparisons.{name}: task(s) {missing} not in the trial table")
        sub = trials[trials["task"].astype(str).isin(tasks)]
        directions = sorted(sub["direction"].astype(str).unique())
        if len(directions) > 1:
            raise ValueError(f"comparisons.{name}: tasks must share a direction, got {directions}")


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


def compare_models(
    trials: pd.DataFrame,
    groups: Mapping[str, Sequence[str]] | None,
    *,
    fractions: Sequence[float] = FRACTIONS,
    currency: str = "trials",
    correction: str = "holm",
    alpha: float = 0.05,
    n_boot: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> ModelComparison:
    """Tuned model vs tuned model, per group, budget, budget fraction and optimizer.

    Args:
        trials: Trial table (all budgets), one row per trial.
        groups: Group name → tasks that share a data set and differ in model (the
            ``comparisons:`` section of the config). None or empty: empty results.
        fractions: Budget fractions at which the incumbents are compared
            (:func:`tunebench.stats._metrics.scores_at`).
        currency: Currency of the fractions.
        correction: ``holm``, ``bh`` or ``by``, over the model pairs of one (group, budget,
            fraction, optimizer).
        alpha: Level of ``reject``.
        n_boot: Bootstrap replicates (mean CIs and P(A > B) intervals, seeds resampled).
        confidence: Coverage of the intervals.
        random_state: Seed or generator.

    Returns:
        A :class:`ModelComparison`: ``models`` (one row per model with its median and mean
        test score, bootstrap CI of the mean and mean rank among the group's models over
        seeds), ``pairwise`` (tests per pair of models), ``expected_max`` (expected best
        validation score of each model's i.i.d. studies vs n) and ``families``.

    Raises:
        ValueError: A group with fewer than two tasks, a task not in the table, tasks with
            different directions, or an unknown correction.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(CORRECTIONS)}, got {correction!r}")
    empty = ModelComparison(
        _empty(MODEL_COLUMNS), _empty(MODEL_PAIRWISE_COLUMNS),
        _empty(MODEL_EXPECTED_MAX_COLUMNS), [],
    )  # fmt: skip
    if not groups:
        return empty
    require_columns(trials, ("task", "optimizer", "budget", "seed", "direction"), "trial table")
    _check_groups(trials, groups)
    lo, hi = ci_levels(confidence)
    rng = np.random.default_rng(random_state)
    columns = [c for c in trials.columns if c not in _UNUSED]  # not carried into subsets
    model_rows, pair_frames, em_frames, families = [], [], [], []
    for group in sorted(groups):
        tasks = sorted(map(str, groups[group]))
        sub = trials.loc[trials["task"].astype(str).isin(tasks), columns]
        at = scores_at(sub, fractions, currency)
        metric = str(at["metric"].iloc[0]) if "metric" in at else ""
        direction = str(at["direction"].iloc[0])
        sgn = float(sign([direction])[0])
        for (budget, fraction, optimizer), g in at.groupby(
            ["budget", "fraction", "optimizer"], sort=True
        ):
            wide = g.pivot_table(index="seed", columns="task", values="test_value")
            raw = wide.reindex(columns=tasks).to_numpy(dtype=float)  # (n_seeds, n_models)
            m = sgn * raw  # lower is better
            cut = float(g["cut"].max())
            rank = pd.DataFrame(m).rank(axis=1, na_option="bottom").to_numpy()
            for j, model in enumerate(tasks):
                v = raw[:, j][np.isfinite(raw[:, j])]
                if v.size:
                    boot = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
                    ci = np.quantile(boot, [lo, hi])
                    stats = (float(np.median(v)), float(v.mean()), *map(float, ci))
                else:
                    stats = (np.nan,) * 4
                model_rows.append(
                    (group, budget, fraction, cut, optimizer, model, v.size, *stats,
                     float(rank[:, j].mean()) if rank.size else np.nan, direction, metric)
                )  # fmt: skip
            pairs = list(itertools.combinations(range(len(tasks)), 2))
            tests = wilcoxon_pairs(m, pairs)
            probs = pair_probabilities(m, pairs, None, n_boot, confidence, rng)
            family = (
                f"all {len(pairs)} pairs of the {len(tasks)} models of group {group} "
                f"({', '.join(tasks)}) tuned by {optimizer} at budget {budget}, "
                f"fraction {fraction:g}, over {m.shape[0]} seeds"
            )
            families.append(
                {"group": group, "budget": str(budget), "fraction": float(fraction),
                 "optimizer": str(optimizer), "models": tasks, "n_pairs": len(pairs),
                 "description": family}
            )  # fmt: skip
            frame = pd.DataFrame(
                {
                    "group": group,
                    "budget": budget,
                    "fraction": fraction,
                    "cut": cut,
                    "optimizer": optimizer,
                    "pair": [f"{tasks[i]} vs {tasks[j]}" for i, j in pairs],
                    "model_a": [tasks[i] for i, _ in pairs],
                    "model_b": [tasks[j] for _, j in pairs],
                    "n": tests[:, 0].astype(int),
                    "statistic": tests[:, 1],
                    "p_value": tests[:, 2],
                    "p_adjusted": adjust_pvalues(tests[:, 2], correction),
                    "method": CORRECTIONS[correction],
                    "family": family,
                    "mean_diff": sgn * tests[:, 3],
                    "p_a_better": probs[:, 1],
                    "p_a_better_low": probs[:, 2],
                    "p_a_better_high": probs[:, 3],
                    "direction": direction,
                }
            )
            frame["reject"] = (frame["p_adjusted"] <= alpha).fillna(False).astype(bool)
            pair_frames.append(frame[list(MODEL_PAIRWISE_COLUMNS)])
        em = expected_max_curves(sub)
        if len(em):
            em = em.rename(columns={"task": "model"})
            em.insert(0, "group", group)
            em_frames.append(em[list(MODEL_EXPECTED_MAX_COLUMNS)])
    models = pd.DataFrame(model_rows, columns=list(MODEL_COLUMNS))
    pairwise = pd.concat(pair_frames, ignore_index=True) if pair_frames else empty.pairwise
    em = pd.concat(em_frames, ignore_index=True) if em_frames else empty.expected_max
    return ModelComparison(models, pairwise, em, families)
