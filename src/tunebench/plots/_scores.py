"""Score figures: test scores, ranks, the critical-difference diagram, P(A>B), aggregates with
intervals and performance profiles."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from tunebench.core.tables import require_columns
from tunebench.plots._style import (
    BETTER,
    banded,
    colours_of,
    curve_with_band,
    first,
    grid,
    legend,
    points_or_boxes,
    save,
    styled,
    task_title,
)

__all__ = [
    "plot_aggregates",
    "plot_cd_diagram",
    "plot_message",
    "plot_p_a_better",
    "plot_profiles",
    "plot_ranks",
    "plot_test_scores",
]

_AGGREGATE_LABELS = {"median": "Median", "iqm": "IQM", "mean": "Mean"}


@styled
def plot_message(path: str | os.PathLike[str], title: str, message: str) -> Path:
    """A figure that says why there is nothing to show (the workflow needs every file).

    Args:
        path: PNG to write.
        title: What the figure would show.
        message: Why it is empty, e.g. "no i.i.d. (random-search) optimizer in the experiment".
    """
    fig, ax = plt.subplots(figsize=(6.0, 1.8), layout="constrained")
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.45, textwrap.fill(message, 70), ha="center", va="center", wrap=True)
    return save(fig, path)


@styled
def plot_test_scores(
    scores: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    palette: Mapping[str, Any] | None = None,
) -> Path:
    """Final test score of each study, one panel per task: a point per seed, over a box per
    optimizer when every optimizer has :data:`~tunebench.plots._style.MIN_BOX` seeds or more.

    Args:
        scores: ``scores.csv`` (:func:`tunebench.stats.study_scores`): ``task, optimizer,
            test_value``; ``direction`` and ``metric`` label the axes when present.
        path: PNG to write.
        palette: Optimizer → colour.

    Returns:
        ``path``.
    """
    require_columns(scores, ("task", "optimizer", "test_value"), "scores", non_empty=True)
    data = scores.assign(optimizer=scores["optimizer"].astype(str))
    tasks = sorted(data["task"].unique())
    order = sorted(data["optimizer"].unique())
    colours = colours_of(order, palette)
    fig, axes = grid(len(tasks), width=3.9, height=3.0)
    for ax, task in zip(axes, tasks, strict=True):
        sub = data[data["task"] == task]
        values = [sub.loc[sub["optimizer"] == o, "test_value"].dropna().to_numpy() for o in order]
        if not any(v.size for v in values):
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
            continue
        points_or_boxes(ax, values, [colours[o] for o in order])
        ax.set_xticks(range(len(order)), order, rotation=30, ha="right")
        metric = first(sub, "metric", "score")
        better = BETTER.get(str(first(sub, "direction")))
        ax.set_ylabel(f"test {metric} ({better})" if better else f"test {metric}")
        ax.set_title(task_title(sub, task))
    return save(fig, path)


@styled
def plot_ranks(
    mean_ranks: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    palette: Mapping[str, Any] | None = None,
) -> Path:
    """Mean rank per optimizer with its bootstrap CI, best at the top.

    Args:
        mean_ranks: ``mean_ranks.csv`` (:func:`tunebench.stats.mean_ranks`).
        path: PNG to write.
        palette: Optimizer → colour.

    Returns:
        ``path``.
    """
    require_columns(
        mean_ranks, ("optimizer", "mean_rank", "ci_low", "ci_high"), "mean_ranks", non_empty=True
    )
    d = mean_ranks.sort_values("mean_rank", kind="stable").reset_index(drop=True)
    d["optimizer"] = d["optimizer"].astype(str)
    colours = colours_of(d["optimizer"], palette)
    y = np.arange(len(d))
    fig, ax = plt.subplots(figsize=(5.0, 1.2 + 0.4 * len(d)), layout="constrained")
    err = np.vstack([d["mean_rank"] - d["ci_low"], d["ci_high"] - d["mean_rank"]])
    for i, row in d.iterrows():
        ax.errorbar(
            row["mean_rank"], y[i], xerr=err[:, [i]], fmt="o", capsize=3,
            color=colours[row["optimizer"]],
        )  # fmt: skip
    ax.set_yticks(y, d["optimizer"])
    ax.invert_yaxis()
    n_blocks = first(d, "n_blocks")
    suffix = f" over {int(n_blocks)} blocks" if n_blocks is not None else ""
    ax.set_xlabel(f"mean rank (1 = best){suffix}")
    ax.grid(axis="y", alpha=0.0)
    sns.despine(fig=fig, left=True)
    return save(fig, path)


def _p_matrix(pairwise: pd.DataFrame, names: list[str], column: str, fill: float) -> pd.DataFrame:
    """Symmetric names × names matrix of ``column`` from the long pairwise table."""
    m = pd.DataFrame(fill, index=names, columns=names, dtype=float)
    for a, b, v in pairwise[["optimizer_a", "optimizer_b", column]].itertuples(index=False):
        if str(a) in m.index and str(b) in m.index:
            m.loc[str(a), str(b)] = m.loc[str(b), str(a)] = v
    return m


@styled
def plot_cd_diagram(
    cd_ranks: pd.DataFrame,
    pairwise: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    alpha: float = 0.05,
    palette: Mapping[str, Any] | None = None,
) -> Path:
    """Critical-difference diagram: mean ranks, bars joining optimizers not found different.

    Positions are the mean ranks over the Friedman blocks; a bar joins optimizers whose
    pairwise Wilcoxon test is not rejected after the correction (``p_adjusted > alpha``),
    the construction of Benavoli et al. (2016) drawn with
    :func:`scikit_posthocs.critical_difference_diagram` (Demšar, 2006, Fig. 1-2). Nemenyi's
    CD is quoted in the title, for comparison with the literature, when ``cd_ranks`` has it.

    Args:
        cd_ranks: ``cd_ranks.csv`` (:func:`tunebench.stats.cd_ranks`, optionally with ``cd``).
        pairwise: ``pairwise.csv`` (:func:`tunebench.stats.pairwise_wilcoxon`).
        path: PNG to write.
        alpha: Level of the bars.
        palette: Optimizer → colour.

    Returns:
        ``path``.
    """
    import scikit_posthocs as sp

    require_columns(cd_ranks, ("optimizer", "mean_rank"), "cd_ranks", non_empty=True)
    require_columns(
        pairwise, ("optimizer_a", "optimizer_b", "p_adjusted"), "pairwise", non_empty=True
    )
    ranks = pd.Series(
        cd_ranks["mean_rank"].to_numpy(dtype=float), index=cd_ranks["optimizer"].astype(str)
    )
    names = sorted(ranks.index)
    sig = _p_matrix(pairwise, names, "p_adjusted", 1.0).fillna(1.0)
    for n in names:
        sig.loc[n, n] = 1.0
    cd = first(cd_ranks, "cd")
    fig, ax = plt.subplots(figsize=(7.0, 1.2 + 0.35 * len(names)))
    sp.critical_difference_diagram(
        ranks, sig, ax=ax, alpha=alpha, color_palette=colours_of(names, palette)
    )
    ax.grid(False)
    method = first(pairwise, "method", "holm")
    n_blocks = first(cd_ranks, "n_blocks")
    blocks = f" over {int(n_blocks)} blocks" if n_blocks is not None else ""
    nemenyi = f"; Nemenyi CD = {float(cd):.2f}" if cd is not None and np.isfinite(cd) else ""
    ax.set_title(
        f"mean rank{blocks} (1 = best){nemenyi}\n"
        f"bars join optimizers not found different (Wilcoxon, {method}, α = {alpha:g})",
        fontsize="medium",
    )
    return save(fig, path)


@styled
def plot_p_a_better(pairwise: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Heat map of P(row optimizer better than column optimizer), with intervals.

    Cell (A, B) shows ``p_a_better`` for the pair and its bootstrap interval; (B, A) shows
    ``1 - p``. An asterisk marks pairs rejected by the corrected Wilcoxon test. 0.5 means no
    difference (Bouthillier et al., 2021).

    Args:
        pairwise: ``pairwise.csv``.
        path: PNG to write.

    Returns:
        ``path``.
    """
    require_columns(
        pairwise,
        ("optimizer_a", "optimizer_b", "p_a_better", "p_a_better_low", "p_a_better_high"),
        "pairwise",
        non_empty=True,
    )
    names = sorted({*pairwise["optimizer_a"].astype(str), *pairwise["optimizer_b"].astype(str)})
    p = pd.DataFrame(np.nan, index=names, columns=names)
    text = pd.DataFrame("", index=names, columns=names)
    for row in pairwise.itertuples(index=False):
        a, b = str(row.optimizer_a), str(row.optimizer_b)
        star = "*" if bool(getattr(row, "reject", False)) else ""
        lo, hi = row.p_a_better_low, row.p_a_better_high
        p.loc[a, b], p.loc[b, a] = row.p_a_better, 1.0 - row.p_a_better
        text.loc[a, b] = f"{row.p_a_better:.2f}{star}\n[{lo:.2f}, {hi:.2f}]"
        text.loc[b, a] = f"{1 - row.p_a_better:.2f}{star}\n[{1 - hi:.2f}, {1 - lo:.2f}]"
    size = 1.6 + 1.0 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1.2, size), layout="constrained")
    sns.heatmap(
        p.astype(float), annot=text.to_numpy(), fmt="", cmap="vlag_r", vmin=0.0, vmax=1.0,
        center=0.5, square=True, linewidths=0.5, cbar_kws={"label": "P(row better than column)"},
        annot_kws={"fontsize": "small"}, ax=ax,
    )  # fmt: skip
    ax.grid(False)
    ax.set_xlabel("column optimizer (B)")
    ax.set_ylabel("row optimizer (A)")
    ax.tick_params(axis="x", labelrotation=30)
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_title("P(A better than B) [95% CI]; * = significant after correction")
    return save(fig, path)


@styled
def plot_aggregates(
    aggregates: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    palette: Mapping[str, Any] | None = None,
) -> Path:
    """Median, IQM and mean of the normalised scores per optimizer, with their intervals.

    The interval-estimate plot of Agarwal et al. (2021, Fig. 1): one panel per aggregate,
    one row per optimizer, the stratified-bootstrap interval as a bar and the point estimate
    as a tick. Normalised scores: 0 = optimum, 1 = baseline (lower is better).

    Args:
        aggregates: ``aggregates.csv`` (:func:`tunebench.stats.aggregates`).
        path: PNG to write.
        palette: Optimizer → colour.

    Returns:
        ``path``.
    """
    require_columns(
        aggregates,
        ("optimizer", "aggregate", "estimate", "ci_low", "ci_high"),
        "aggregates",
        non_empty=True,
    )
    d = aggregates.assign(optimizer=aggregates["optimizer"].astype(str))
    kinds = [k for k in _AGGREGATE_LABELS if k in set(d["aggregate"])]
    names = sorted(d["optimizer"].unique())
    colours = colours_of(names, palette)
    fig, axes = plt.subplots(
        1, len(kinds), figsize=(3.0 * len(kinds), 1.2 + 0.45 * len(names)), sharey=True,
        squeeze=False, constrained_layout=True,
    )  # fmt: skip
    for ax, kind in zip(axes[0], kinds, strict=True):
        sub = d[d["aggregate"] == kind].set_index("optimizer")
        for i, name in enumerate(names):
            if name not in sub.index:
                continue
            r = sub.loc[name]
            ax.barh(
                i, r["ci_high"] - r["ci_low"], left=r["ci_low"], height=0.6,
                color=colours[name], alpha=0.75,
            )  # fmt: skip
            ax.vlines(r["estimate"], i - 0.3, i + 0.3, color="k", lw=1.5)
        ax.set_title(_AGGREGATE_LABELS[kind])
        ax.grid(axis="y", alpha=0.0)
    fig.supxlabel("normalised test score (0 = optimum, 1 = baseline; lower is better)")
    axes[0][0].set_yticks(np.arange(len(names)), names)
    axes[0][0].invert_yaxis()
    sns.despine(fig=fig, left=True)
    return save(fig, path)


@styled
def plot_profiles(
    profiles: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    palette: Mapping[str, Any] | None = None,
    ranking: Sequence[str] | None = None,
) -> Path:
    """Performance profiles: fraction of studies with normalised score ≤ τ.

    Higher curves are better; τ = 0 is the optimum and τ = 1 the baseline's mean (dotted).
    Bootstrap bands for at most :data:`~tunebench.plots._style.MAX_BANDS` optimizers, the best
    by ``ranking``.

    Args:
        profiles: ``profiles.csv`` (:func:`tunebench.stats.performance_profiles`).
        path: PNG to write.
        palette: Optimizer → colour.
        ranking: Optimizers best first (``mean_ranks.csv``).

    Returns:
        ``path``.
    """
    require_columns(
        profiles, ("optimizer", "tau", "fraction", "ci_low", "ci_high"), "profiles", non_empty=True
    )
    d = profiles.assign(optimizer=profiles["optimizer"].astype(str))
    names = sorted(d["optimizer"].unique())
    colours = colours_of(names, palette)
    bands = banded(names, ranking)
    fig, ax = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
    for name in names:
        sub = d[d["optimizer"] == name].sort_values("tau")
        curve_with_band(
            ax, sub["tau"], sub["fraction"], sub["ci_low"], sub["ci_high"], colours[name], name,
            band=name in bands, step=True,
        )  # fmt: skip
    for tau in (0.0, 1.0):
        ax.axvline(tau, color="0.4", ls=":", lw=1)
    ax.set_xlabel("τ (normalised score: 0 = optimum, 1 = baseline)")
    ax.set_ylabel("fraction of studies\nwith score ≤ τ")
    ax.set_ylim(-0.02, 1.02)
    legend(fig, [ax], "optimizer")
    return save(fig, path)
