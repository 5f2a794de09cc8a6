"""Model-comparison figures: tuned model A against tuned model B per budget."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pandas as pd

from tunebench.core.tables import require_columns
from tunebench.plots._style import (
    BETTER,
    banded,
    colours_of,
    expected_max_lines,
    first,
    grid,
    legend,
    save,
    styled,
)

__all__ = ["plot_model_expected_max", "plot_models"]


@styled
def plot_models(
    models: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    pairwise: pd.DataFrame | None = None,
) -> Path:
    """Tuned test score of each model vs the budget spent, per group and optimizer.

    One panel per (group, optimizer); x: the budget cut (trials, or the fraction's
    currency), y: the mean test score over seeds, one line per model (and line style per
    budget), with its bootstrap band when the panel has at most
    :data:`~tunebench.plots._style.MAX_BANDS` lines. Where two lines cross, the answer to
    "which model is better?" flips with the budget. When ``pairwise`` is given, the panel
    title counts its significant pairs.

    Args:
        models: ``models.csv`` (:func:`tunebench.stats.compare_models`).
        path: PNG to write.
        pairwise: ``model_pairwise.csv``.

    Returns:
        ``path``.
    """
    require_columns(models, ("group", "optimizer", "model", "cut", "mean", "ci_low", "ci_high"),
            "models", non_empty=True)  # fmt: skip
    d = models.assign(optimizer=models["optimizer"].astype(str))
    panels = list(d.groupby(["group", "optimizer"], sort=True).groups)
    fig, axes = grid(len(panels))
    for ax, (group, optimizer) in zip(axes, panels, strict=True):
        sub = d[(d["group"] == group) & (d["optimizer"] == optimizer)]
        colours = colours_of(sub["model"].astype(str).unique())
        budgets = sorted(sub["budget"].astype(str).unique()) if "budget" in sub else [None]
        lines = [f"{name}, {budget}" for name in colours for budget in budgets]
        bands = banded(lines)
        for name, colour in colours.items():
            for budget, style in zip(
                budgets, itertools.cycle(("-", "--", ":", "-.")), strict=False
            ):
                s = sub[sub["model"].astype(str) == name]
                if budget is not None:
                    s = s[s["budget"].astype(str) == budget]
                s = s.sort_values("cut")
                label = name if len(budgets) == 1 else f"{name}, {budget}"
                ax.plot(s["cut"], s["mean"], ls=style, marker="o", ms=3, color=colour, label=label)
                if f"{name}, {budget}" in bands:
                    ax.fill_between(
                        s["cut"], s["ci_low"], s["ci_high"], color=colour, alpha=0.15, lw=0
                    )
        metric = first(sub, "metric", "score")
        better = BETTER.get(str(first(sub, "direction")))
        ax.set_ylabel(f"test {metric}\n({better})" if better else f"test {metric}")
        ax.set_xlabel("budget spent (trials)")
        title = f"{group}: tuned by {optimizer}"
        if pairwise is not None and len(pairwise):
            p = pairwise[(pairwise["group"] == group) & (pairwise["optimizer"] == optimizer)]
            title += f"\n{int(p['reject'].sum())} of {len(p)} tests significant"
        ax.set_title(title)
    budgets = d["budget"].nunique() if "budget" in d else 1
    legend(fig, axes, "model" if budgets == 1 else "model, budget")
    return save(fig, path)


@styled
def plot_model_expected_max(expected_max: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Expected best validation score of random search per model, one panel per group.

    How many i.i.d. trials each model needs before it is as good as another (Dodge et al.,
    2019): solid lines Dodge's estimator with a ±1 std band, dashed the unbiased estimator of
    Tang et al. (2020); bands for at most :data:`~tunebench.plots._style.MAX_BANDS` models.

    Args:
        expected_max: ``model_expected_max.csv`` (:func:`tunebench.stats.compare_models`).
        path: PNG to write.

    Returns:
        ``path``.
    """
    require_columns(expected_max, ("group", "model", "optimizer", "estimator", "n", "expected"),
            "model expected max", non_empty=True)  # fmt: skip
    d = expected_max.assign(optimizer=expected_max["optimizer"].astype(str))
    panels = list(d.groupby(["group", "optimizer"], sort=True).groups)
    fig, axes = grid(len(panels))
    for ax, (group, optimizer) in zip(axes, panels, strict=True):
        sub = d[(d["group"] == group) & (d["optimizer"] == optimizer)]
        colours = colours_of(sub["model"].astype(str).unique())
        expected_max_lines(ax, sub, "model", colours, banded(colours))
        better = BETTER.get(str(first(sub, "direction")))
        best = "min" if first(sub, "direction") == "minimize" else "max"
        ax.set_ylabel(f"expected {best} validation\n({better})" if better else "expected best")
        ax.set_xlabel("trials n")
        ax.set_title(f"{group}: {optimizer}")
    legend(fig, axes, "model, estimator")
    return save(fig, path)
