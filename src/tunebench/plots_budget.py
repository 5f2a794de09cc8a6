"""Budget, cost, exploration and model-comparison figures (re-exported by :mod:`tunebench.plots`).

Same contract as :mod:`tunebench.plots`: each function takes tables written by
:func:`tunebench.analysis.compare`, draws in the one tunebench style, writes a PNG atomically
and returns its path; nothing is estimated here.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from tunebench._plotutil import (
    BETTER,
    first,
    grid,
    legend,
    palette,
    require,
    save,
    styled,
    task_title,
)

__all__ = [
    "plot_anytime",
    "plot_budget_ranks",
    "plot_cost",
    "plot_density",
    "plot_expected_max",
    "plot_model_expected_max",
    "plot_models",
]

_CURRENCY_LABELS = {
    "trials": "cumulative trials",
    "epochs": "cumulative epochs",
    "seconds": "cumulative seconds (objective + optimizer)",
}
_ESTIMATOR_STYLES = {"dodge2019": "-", "tang2020": "--"}
_ESTIMATOR_LABELS = {"dodge2019": "Dodge et al. 2019", "tang2020": "Tang et al. 2020 (unbiased)"}


def _band(ax: plt.Axes, x, mean, lo, hi, colour: Any, label: str, step: bool) -> None:
    kw = {"drawstyle": "steps-post"} if step else {}
    ax.plot(x, mean, color=colour, label=label, lw=1.5, **kw)
    ax.fill_between(x, lo, hi, step="post" if step else None, color=colour, alpha=0.2, linewidth=0)


@styled
def plot_anytime(
    band: pd.DataFrame,
    path: str | os.PathLike[str],
    currency: str | None = None,
    *,
    log_x: bool = False,
    palette: Mapping[str, Any] | None = None,
) -> Path:
    """Best-so-far mean curve with its bootstrap band per optimizer, one panel per task.

    Args:
        band: ``anytime.csv`` (:func:`tunebench.stats.bootstrap_band` grouped by task and
            optimizer); when it holds several currencies, ``currency`` selects one.
        path: PNG to write.
        currency: Currency to draw (default: the band's ``currency`` column, else ``trials``).
        log_x: Logarithmic x axis.
        palette: Optimizer → colour.

    Returns:
        ``path``.
    """
    require(band, ("task", "optimizer", "x", "mean", "ci_low", "ci_high"), "band")
    if currency is not None and "currency" in band.columns:
        band = band[band["currency"] == currency]
        require(band, ("x",), f"band for currency {currency!r}")
    currency = currency or str(first(band, "currency", "trials"))
    normalised = bool(first(band, "normalised", False))
    d = band.assign(optimizer=band["optimizer"].astype(str))
    tasks = sorted(d["task"].unique())
    colours = palette_for(d["optimizer"], palette)
    fig, axes = grid(len(tasks))
    for ax, task in zip(axes, tasks, strict=True):
        sub = d[d["task"] == task]
        for name, colour in colours.items():
            s = sub[sub["optimizer"] == name].sort_values("x")
            if len(s):
                _band(ax, s["x"], s["mean"], s["ci_low"], s["ci_high"], colour, name, True)
        direction = "minimize" if normalised else first(sub, "direction")
        what = "normalised best so far" if normalised else "best validation so far"
        better = BETTER.get(str(direction))
        ax.set_ylabel(f"{what}\n({better})" if better else what)
        ax.set_xlabel(_CURRENCY_LABELS.get(currency, f"cumulative {currency}"))
        ax.set_title(task_title(sub, task))
        if log_x:
            ax.set_xscale("log")
    legend(fig, axes, "optimizer")
    return save(fig, path)


def palette_for(names: pd.Series, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Colours of the names present, consistent with ``given``."""
    return palette(names.astype(str).unique(), given)


@styled
def plot_expected_max(
    expected_max: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    palette: Mapping[str, Any] | None = None,
) -> Path:
    """Expected best validation score of n i.i.d. trials, one panel per task.

    Solid: Dodge et al. (2019) with a ±1 std band; dashed: the unbiased estimator of Tang et
    al. (2020). For a minimised metric the curves are expected minima.

    Args:
        expected_max: ``expected_max.csv`` (:func:`tunebench.stats.expected_max_curves`).
        path: PNG to write.
        palette: Optimizer → colour.

    Returns:
        ``path``.
    """
    require(expected_max, ("task", "optimizer", "estimator", "n", "expected"), "expected_max")
    d = expected_max.assign(optimizer=expected_max["optimizer"].astype(str))
    tasks = sorted(d["task"].unique())
    colours = palette_for(d["optimizer"], palette)
    fig, axes = grid(len(tasks))
    for ax, task in zip(axes, tasks, strict=True):
        sub = d[d["task"] == task]
        _expected_lines(ax, sub, "optimizer", colours)
        better = BETTER.get(str(first(sub, "direction")))
        best = "min" if first(sub, "direction") == "minimize" else "max"
        ax.set_ylabel(f"expected {best} validation\n({better})" if better else "expected best")
        ax.set_xlabel("trials n")
        ax.set_title(task_title(sub, task))
    legend(fig, axes, "optimizer / estimator")
    return save(fig, path)


def _expected_lines(ax: plt.Axes, sub: pd.DataFrame, hue: str, colours: Mapping[str, Any]) -> None:
    for name, colour in colours.items():
        for est, ls in _ESTIMATOR_STYLES.items():
            s = sub[(sub[hue].astype(str) == name) & (sub["estimator"] == est)].sort_values("n")
            if s.empty:
                continue
            label = f"{name}, {_ESTIMATOR_LABELS[est]}"
            ax.plot(s["n"], s["expected"], color=colour, ls=ls, lw=1.5, label=label)
            if "std" in s.columns and s["std"].notna().any():
                ax.fill_between(
                    s["n"], s["expected"] - s["std"], s["expected"] + s["std"], color=colour,
                    alpha=0.15, lw=0,
                )  # fmt: skip


@styled
def plot_budget_ranks(
    budget_ranks: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    palette: Mapping[str, Any] | None = None,
) -> Path:
    """Mean rank of each optimizer at 25, 50 and 100 % of the budget, with bootstrap CIs.

    Crossing lines mean the winner depends on the budget.

    Args:
        budget_ranks: ``budget_ranks.csv`` (:func:`tunebench.stats.budget_ranks`).
        path: PNG to write.
        palette: Optimizer → colour.

    Returns:
        ``path``.
    """
    require(budget_ranks, ("fraction", "optimizer", "mean_rank", "ci_low", "ci_high"),
            "budget_ranks")  # fmt: skip
    d = budget_ranks.assign(optimizer=budget_ranks["optimizer"].astype(str))
    colours = palette_for(d["optimizer"], palette)
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    names = list(colours)
    offsets = np.linspace(-0.012, 0.012, len(names)) if len(names) > 1 else [0.0]
    for off, name in zip(offsets, names, strict=True):
        s = d[d["optimizer"] == name].sort_values("fraction")
        x = s["fraction"].to_numpy(dtype=float) + off
        err = np.vstack([s["mean_rank"] - s["ci_low"], s["ci_high"] - s["mean_rank"]])
        ax.errorbar(
            x, s["mean_rank"], yerr=err, color=colours[name], marker="o", capsize=3, label=name
        )
    fractions = sorted(d["fraction"].unique())
    ax.set_xticks(fractions, [f"{100 * f:g} %" for f in fractions])
    currency = first(d, "currency", "trials")
    ax.set_xlabel(f"fraction of the budget ({currency})")
    ax.set_ylabel("mean rank of the test score (1 = best)")
    ax.invert_yaxis()
    ax.legend(title="optimizer", loc="center left", bbox_to_anchor=(1.0, 0.5))
    return save(fig, path)


@styled
def plot_cost(cost: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Mean seconds per study in the objective vs in the optimizer, per optimizer and task.

    Stacked bars: the objective (training and validation) and the framework's own proposing
    and updating; the label names the framework.

    Args:
        cost: ``cost.csv`` (:func:`tunebench.stats.cost_breakdown`).
        path: PNG to write.

    Returns:
        ``path``.
    """
    require(cost, ("task", "optimizer", "objective_s", "optimizer_s"), "cost")
    d = cost.assign(optimizer=cost["optimizer"].astype(str))
    if "framework" in d.columns:
        d["label"] = d["optimizer"] + " (" + d["framework"].astype(str) + ")"
    else:
        d["label"] = d["optimizer"]
    tasks = sorted(d["task"].unique())
    labels = sorted(d["label"].unique())
    colours = sns.color_palette(n_colors=2)
    fig, axes = grid(len(tasks), width=4.2, height=0.9 + 0.35 * len(labels))
    for ax, task in zip(axes, tasks, strict=True):
        sub = d[d["task"] == task].set_index("label").reindex(labels)
        y = np.arange(len(labels))
        obj = sub["objective_s"].fillna(0).to_numpy(dtype=float)
        opt = sub["optimizer_s"].fillna(0).to_numpy(dtype=float)
        ax.barh(y, obj, color=colours[0], label="objective")
        ax.barh(y, opt, left=obj, color=colours[1], label="optimizer")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlabel("mean seconds per study")
        ax.set_title(str(task))
    legend(fig, axes, "time spent in")
    return save(fig, path)


@styled
def plot_density(
    density: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    palette: Mapping[str, Any] | None = None,
) -> Path:
    """Exploration density of each optimizer next to its score, pooled over tasks.

    Three panels share the optimizer axis: the normalised test score (lower is better), the
    centred L2 discrepancy and the dispersion of each study relative to the baseline's studies
    of the same task (1 = as even as random search; above 1 = more concentrated). Boxes
    summarise the studies, points are studies.

    Args:
        density: ``density.csv`` (:func:`tunebench.stats.exploration_density` +
            :func:`tunebench.stats.relative_density` with the study's ``normalised`` score).
        path: PNG to write.
        palette: Optimizer → colour.

    Returns:
        ``path``.
    """
    columns = ("optimizer", "normalised", "discrepancy_rel", "dispersion_rel")
    require(density, columns, "density")
    d = density.assign(optimizer=density["optimizer"].astype(str))
    colours = palette_for(d["optimizer"], palette)
    names = list(colours)
    fig, axes = plt.subplots(
        1, 3, figsize=(10.5, 1.4 + 0.42 * len(names)), sharey=True, constrained_layout=True
    )
    jitter = np.random.default_rng(0)  # vertical spread of the points only
    panels = (
        ("normalised", "normalised test score\n(lower is better)"),
        ("discrepancy_rel", "centred L2 discrepancy\n÷ baseline's (1 = as even)"),
        ("dispersion_rel", "largest empty ball\n÷ baseline's (1 = as covered)"),
    )
    for ax, (col, label) in zip(axes, panels, strict=True):
        ax.set_xlabel(label)
        values = [d.loc[d["optimizer"] == n, col].dropna().to_numpy() for n in names]
        shown = [i for i, v in enumerate(values) if v.size]
        if not shown:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
            continue
        boxes = ax.boxplot(
            [values[i] for i in shown], positions=shown, vert=False, widths=0.6,
            patch_artist=True, showfliers=False, medianprops={"color": "k"},
        )  # fmt: skip
        for i, patch in zip(shown, boxes["boxes"], strict=True):
            patch.set_facecolor(colours[names[i]])
            patch.set_alpha(0.5)
        for i in shown:
            y = i + jitter.uniform(-0.15, 0.15, size=values[i].size)
            ax.scatter(values[i], y, s=6, color="k", lw=0, alpha=0.6, zorder=3)
        if col != "normalised":
            ax.axvline(1.0, color="0.4", ls=":", lw=1)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    n_tasks = d["task"].nunique() if "task" in d else 0
    fig.suptitle(f"exploration density and score per study ({n_tasks} tasks)")
    return save(fig, path)


@styled
def plot_models(
    models: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    pairwise: pd.DataFrame | None = None,
) -> Path:
    """Tuned test score of each model vs the budget spent, per group and optimizer.

    One panel per (group, optimizer); x: the budget cut (trials, or the fraction's
    currency), y: the mean test score over seeds with its bootstrap interval, one line per
    model (and line style per budget). Where two lines cross, the answer to "which model is
    better?" flips with the budget. When ``pairwise`` is given, the panel title counts its
    significant pairs.

    Args:
        models: ``models.csv`` (:func:`tunebench.stats.compare_models`).
        path: PNG to write.
        pairwise: ``model_pairwise.csv``.

    Returns:
        ``path``.
    """
    require(models, ("group", "optimizer", "model", "cut", "mean", "ci_low", "ci_high"),
            "models")  # fmt: skip
    d = models.assign(optimizer=models["optimizer"].astype(str))
    panels = list(d.groupby(["group", "optimizer"], sort=True).groups)
    fig, axes = grid(len(panels))
    for ax, (group, optimizer) in zip(axes, panels, strict=True):
        sub = d[(d["group"] == group) & (d["optimizer"] == optimizer)]
        colours = palette(sub["model"].astype(str).unique())
        budgets = sorted(sub["budget"].astype(str).unique()) if "budget" in sub else [None]
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
        ax.legend(title="model" if len(budgets) == 1 else "model, budget", fontsize="small")
    return save(fig, path)


@styled
def plot_model_expected_max(expected_max: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Expected best validation score of random search per model, one panel per group.

    How many i.i.d. trials each model needs before it is as good as another (Dodge et al.,
    2019): solid lines Dodge's estimator with a ±1 std band, dashed the unbiased estimator of
    Tang et al. (2020).

    Args:
        expected_max: ``model_expected_max.csv`` (:func:`tunebench.stats.compare_models`).
        path: PNG to write.

    Returns:
        ``path``.
    """
    require(expected_max, ("group", "model", "optimizer", "estimator", "n", "expected"),
            "model expected max")  # fmt: skip
    d = expected_max.assign(optimizer=expected_max["optimizer"].astype(str))
    panels = list(d.groupby(["group", "optimizer"], sort=True).groups)
    fig, axes = grid(len(panels))
    for ax, (group, optimizer) in zip(axes, panels, strict=True):
        sub = d[(d["group"] == group) & (d["optimizer"] == optimizer)]
        _expected_lines(ax, sub, "model", palette(sub["model"].astype(str).unique()))
        better = BETTER.get(str(first(sub, "direction")))
        best = "min" if first(sub, "direction") == "minimize" else "max"
        ax.set_ylabel(f"expected {best} validation\n({better})" if better else "expected best")
        ax.set_xlabel("trials n")
        ax.set_title(f"{group}: {optimizer}")
        ax.legend(fontsize="x-small")
    return save(fig, path)
