"""Figures drawn from the outputs of :mod:`tunebench.stats` (never computing statistics here).

Each function takes a DataFrame and an output path, writes a PNG (atomically, dpi 120),
closes its figure and returns the path. The Agg backend is selected on import.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

__all__ = ["DPI", "plot_anytime", "plot_ranks", "plot_test_scores"]

DPI = 120
_BETTER = {"minimize": "lower is better", "maximize": "higher is better"}


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as PNG via a temporary file and ``os.replace``; always close it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    finally:
        plt.close(fig)
    return path


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{what} lacks column(s) {missing}")
    if df.empty:
        raise ValueError(f"{what} is empty: nothing to plot")


def _first(df: pd.DataFrame, column: str, default: object = None) -> object:
    if column in df.columns and df[column].notna().any():
        return df[column].dropna().iloc[0]
    return default


def _task_title(df: pd.DataFrame, task: object) -> str:
    direction = _first(df, "direction")
    return f"{task} ({direction})" if direction else str(task)


def _draw_band(
    data: pd.DataFrame, color: object = None, label: str | None = None, **_: object
) -> None:
    d = data.sort_values("x")
    ax = plt.gca()
    ax.plot(d["x"], d["mean"], drawstyle="steps-post", color=color, label=label, lw=1.5)
    ax.fill_between(
        d["x"], d["ci_low"], d["ci_high"], step="post", color=color, alpha=0.2, linewidth=0
    )


def plot_anytime(
    band: pd.DataFrame,
    path: str | os.PathLike[str],
    currency: str | None = None,
    *,
    log_x: bool = False,
) -> Path:
    """Best-so-far mean curve with its bootstrap band per optimizer, one panel per task.

    Args:
        band: Output of :func:`tunebench.stats.bootstrap_band` grouped by task and optimizer.
        path: PNG to write.
        currency: x-axis label (default: the band's ``currency`` column, else ``trials``).
        log_x: Logarithmic x axis.

    Returns:
        ``path``.
    """
    _require(band, ("task", "optimizer", "x", "mean", "ci_low", "ci_high"), "band")
    currency = currency or str(_first(band, "currency", "trials"))
    normalised = bool(_first(band, "normalised", False))
    tasks = sorted(band["task"].unique())
    optimizers = sorted(band["optimizer"].astype(str).unique())
    g = sns.FacetGrid(
        band.assign(optimizer=band["optimizer"].astype(str)),
        col="task",
        col_order=tasks,
        col_wrap=min(3, len(tasks)),
        hue="optimizer",
        hue_order=optimizers,
        sharex=False,
        sharey=False,
        height=3.0,
        aspect=1.3,
    )
    g.map_dataframe(_draw_band)
    for task, ax in g.axes_dict.items():
        sub = band[band["task"] == task]
        direction = "minimize" if normalised else _first(sub, "direction")
        what = "normalised best so far" if normalised else "best validation so far"
        better = _BETTER.get(str(direction))
        ax.set_ylabel(f"{what}\n({better})" if better else what)
        ax.set_xlabel(f"cumulative {currency}")
        ax.set_title(_task_title(sub, task))
        if log_x:
            ax.set_xscale("log")
    g.add_legend(title="optimizer")
    g.figure.subplots_adjust(wspace=0.3)
    return _save(g.figure, path)


def plot_test_scores(scores: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Final test score of each study: box per optimizer, seeds as points, one panel per task.

    Args:
        scores: Output of :func:`tunebench.stats.study_scores` (``task, optimizer,
            test_value``; ``direction`` and ``metric`` label the axes when present).
        path: PNG to write.

    Returns:
        ``path``.
    """
    _require(scores, ("task", "optimizer", "test_value"), "scores")
    data = scores.assign(optimizer=scores["optimizer"].astype(str))
    tasks = sorted(data["task"].unique())
    order = sorted(data["optimizer"].unique())
    g = sns.catplot(
        data=data,
        x="optimizer",
        y="test_value",
        col="task",
        col_order=tasks,
        col_wrap=min(3, len(tasks)),
        kind="box",
        order=order,
        hue="optimizer",
        hue_order=order,
        legend=False,
        sharey=False,
        showfliers=False,
        boxprops={"alpha": 0.5},
        height=3.0,
        aspect=1.3,
    )
    g.map_dataframe(
        sns.stripplot, x="optimizer", y="test_value", order=order, color="k", size=3, jitter=0.15
    )
    for task, ax in g.axes_dict.items():
        sub = data[data["task"] == task]
        metric = _first(sub, "metric", "score")
        better = _BETTER.get(str(_first(sub, "direction")))
        ax.set_ylabel(f"test {metric} ({better})" if better else f"test {metric}")
        ax.set_title(_task_title(sub, task))
        ax.tick_params(axis="x", labelrotation=30)
    return _save(g.figure, path)


def plot_ranks(mean_ranks: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Mean rank per optimizer with its bootstrap CI, best at the top.

    Args:
        mean_ranks: Output of :func:`tunebench.stats.mean_ranks`.
        path: PNG to write.

    Returns:
        ``path``.
    """
    _require(mean_ranks, ("optimizer", "mean_rank", "ci_low", "ci_high"), "mean_ranks")
    d = mean_ranks.sort_values("mean_rank", kind="stable").reset_index(drop=True)
    y = np.arange(len(d))
    fig, ax = plt.subplots(figsize=(5.0, 1.2 + 0.4 * len(d)))
    err = np.vstack([d["mean_rank"] - d["ci_low"], d["ci_high"] - d["mean_rank"]])
    colors = sns.color_palette(n_colors=len(d))
    for i, row in d.iterrows():
        ax.errorbar(row["mean_rank"], y[i], xerr=err[:, [i]], fmt="o", capsize=3, color=colors[i])
    ax.set_yticks(y, d["optimizer"].astype(str))
    ax.invert_yaxis()
    n_blocks = _first(d, "n_blocks")
    suffix = f" over {int(n_blocks)} blocks" if n_blocks is not None else ""
    ax.set_xlabel(f"mean rank (1 = best){suffix}")
    ax.grid(axis="x", alpha=0.3)
    sns.despine(fig=fig)
    return _save(fig, path)
