"""Budget figures: anytime curves, expected maximum, ranks at budget cuts, where the time went."""

from __future__ import annotations

import os
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
    expected_max_lines,
    first,
    grid,
    legend,
    save,
    styled,
    task_title,
)

__all__ = ["plot_anytime", "plot_budget_ranks", "plot_cost", "plot_expected_max"]

_CURRENCY_LABELS = {
    "trials": "cumulative trials",
    "epochs": "cumulative epochs",
    "seconds": "cumulative seconds\n(objective + optimizer)",
}


@styled
def plot_anytime(
    band: pd.DataFrame,
    path: str | os.PathLike[str],
    currency: str | None = None,
    *,
    log_x: bool = False,
    palette: Mapping[str, Any] | None = None,
    ranking: Sequence[str] | None = None,
) -> Path:
    """Best-so-far mean curve per optimizer, one panel per task; bootstrap bands for at most
    :data:`~tunebench.plots._style.MAX_BANDS` optimizers, the best by ``ranking``.

    Args:
        band: ``anytime.csv`` (:func:`tunebench.stats.bootstrap_band` grouped by task and
            optimizer); when it holds several currencies, ``currency`` selects one.
        path: PNG to write.
        currency: Currency to draw (default: the band's ``currency`` column, else ``trials``).
        log_x: Logarithmic x axis.
        palette: Optimizer → colour.
        ranking: Optimizers best first (``mean_ranks.csv``); see
            :func:`~tunebench.plots._style.banded`.

    Returns:
        ``path``.
    """
    require_columns(
        band, ("task", "optimizer", "x", "mean", "ci_low", "ci_high"), "band", non_empty=True
    )
    if currency is not None and "currency" in band.columns:
        band = band[band["currency"] == currency]
        require_columns(band, ("x",), f"band for currency {currency!r}", non_empty=True)
    currency = currency or str(first(band, "currency", "trials"))
    normalised = bool(first(band, "normalised", False))
    d = band.assign(optimizer=band["optimizer"].astype(str))
    tasks = sorted(d["task"].unique())
    colours = colours_of(d["optimizer"], palette)
    fig, axes = grid(len(tasks))
    for ax, task in zip(axes, tasks, strict=True):
        sub = d[d["task"] == task]
        bands = banded(sub["optimizer"].unique(), ranking)
        for name, colour in colours.items():
            s = sub[sub["optimizer"] == name].sort_values("x")
            if len(s):
                curve_with_band(
                    ax, s["x"], s["mean"], s["ci_low"], s["ci_high"], colour, name,
                    band=name in bands, step=True,
                )  # fmt: skip
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


@styled
def plot_expected_max(
    expected_max: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    palette: Mapping[str, Any] | None = None,
    ranking: Sequence[str] | None = None,
) -> Path:
    """Expected best validation score of n i.i.d. trials, one panel per task.

    Solid: Dodge et al. (2019), with a ±1 std band for at most
    :data:`~tunebench.plots._style.MAX_BANDS` optimizers (the best by ``ranking``); dashed: the
    unbiased estimator of Tang et al. (2020). For a minimised metric the curves are expected
    minima.

    Args:
        expected_max: ``expected_max.csv`` (:func:`tunebench.stats.expected_max_curves`).
        path: PNG to write.
        palette: Optimizer → colour.
        ranking: Optimizers best first (``mean_ranks.csv``).

    Returns:
        ``path``.
    """
    require_columns(
        expected_max,
        ("task", "optimizer", "estimator", "n", "expected"),
        "expected_max",
        non_empty=True,
    )
    d = expected_max.assign(optimizer=expected_max["optimizer"].astype(str))
    tasks = sorted(d["task"].unique())
    colours = colours_of(d["optimizer"], palette)
    fig, axes = grid(len(tasks))
    for ax, task in zip(axes, tasks, strict=True):
        sub = d[d["task"] == task]
        bands = banded(sub["optimizer"].unique(), ranking)
        expected_max_lines(ax, sub, "optimizer", colours, bands)
        better = BETTER.get(str(first(sub, "direction")))
        best = "min" if first(sub, "direction") == "minimize" else "max"
        ax.set_ylabel(f"expected {best} validation\n({better})" if better else "expected best")
        ax.set_xlabel("trials n")
        ax.set_title(task_title(sub, task))
    legend(fig, axes, "optimizer / estimator")
    return save(fig, path)


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
    require_columns(budget_ranks, ("fraction", "optimizer", "mean_rank", "ci_low", "ci_high"),
            "budget_ranks", non_empty=True)  # fmt: skip
    d = budget_ranks.assign(optimizer=budget_ranks["optimizer"].astype(str))
    colours = colours_of(d["optimizer"], palette)
    fig, ax = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
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
    legend(fig, [ax], "optimizer")
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
    require_columns(
        cost, ("task", "optimizer", "objective_s", "optimizer_s"), "cost", non_empty=True
    )
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
