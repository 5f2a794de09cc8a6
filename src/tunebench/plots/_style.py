"""Private helpers of the figure modules: one style, atomic saving, checks and colours.

Importing this module selects matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from tunebench.core.files import write_atomic

DPI = 120
BETTER = {"minimize": "lower is better", "maximize": "higher is better"}
PALETTE = "colorblind"
"""Seaborn's colour-blind-safe palette: 10 distinct colours (tab20, then HUSL, beyond 10)."""
MAX_BANDS = 3
"""Most confidence bands in one panel; more overlap into an unreadable wash."""
MIN_BOX = 5
"""Fewest values per group drawn as a box; fewer are shown as points only."""
ESTIMATOR_STYLES = {"dodge2019": "-", "tang2020": "--"}
ESTIMATOR_LABELS = {"dodge2019": "Dodge et al. 2019", "tang2020": "Tang et al. 2020 (unbiased)"}

_P = ParamSpec("_P")
_R = TypeVar("_R")


def styled(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Draw ``func``'s figure in the one tunebench style (white grid, paper context, CVD-safe)."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with (
            sns.axes_style("whitegrid"),
            sns.plotting_context("paper", font_scale=1.2),
            sns.color_palette(PALETTE),
        ):
            return func(*args, **kwargs)

    return wrapper


def save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as PNG atomically (:mod:`tunebench.core.files`); always close it."""
    try:
        # constrained layout keeps every label on the page (tested in tests/plots); a tight
        # bounding box would draw each figure twice
        return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    finally:
        plt.close(fig)


def first(df: pd.DataFrame, column: str, default: object = None) -> object:
    """The first non-missing value of ``column``, else ``default``."""
    if column in df.columns and df[column].notna().any():
        return df[column].dropna().iloc[0]
    return default


def task_title(df: pd.DataFrame, task: object) -> str:
    """``task (direction)`` when the direction is known."""
    direction = first(df, "direction")
    return f"{task} ({direction})" if direction else str(task)


def colours_of(names: Iterable[object], given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Colour of each name: ``given`` where it has one, else the style's palette in sorted order.

    Pass one mapping built from all optimizers to every figure as ``palette`` so that an
    optimizer keeps its colour across figures.
    """
    names = sorted({str(n) for n in names})
    given = dict(given or {})
    n = max(len(names), 1)
    palette = PALETTE if n <= 10 else "tab20" if n <= 20 else "husl"
    colours = sns.color_palette(palette, n_colors=n)
    return {name: given.get(name, colours[i]) for i, name in enumerate(names)}


def banded(names: Iterable[str], ranking: Sequence[str] | None = None) -> set[str]:
    """The names whose curves get a confidence band: at most :data:`MAX_BANDS`.

    Args:
        names: The names drawn in a panel.
        ranking: Names best first (the order of ``mean_ranks.csv``): the first
            :data:`MAX_BANDS` drawn get bands. Without it, every name when there are at most
            :data:`MAX_BANDS`, else none (lines only).
    """
    names = [str(n) for n in names]
    if ranking is None:
        return set(names) if len(names) <= MAX_BANDS else set()
    present = set(names)
    return set([str(n) for n in ranking if str(n) in present][:MAX_BANDS])


def curve_with_band(
    ax: plt.Axes, x, mean, lo, hi, colour: Any, label: str, *, band: bool, step: bool
) -> None:
    """A curve, and its confidence band if ``band`` (a line alone is thinner)."""
    kw = {"drawstyle": "steps-post"} if step else {}
    ax.plot(x, mean, color=colour, label=label, lw=1.8 if band else 1.1, **kw)
    if band:
        ax.fill_between(x, lo, hi, step="post" if step else None, color=colour, alpha=0.2, lw=0)


def points_or_boxes(
    ax: plt.Axes,
    values: Sequence[np.ndarray],
    colours: Sequence[Any],
    *,
    vertical: bool = True,
) -> None:
    """Each group's values at positions 0, 1, ...: a box with its points from
    :data:`MIN_BOX` values in every group, else the points alone, coloured by group. The
    category axis spans every position ± 0.5, so a lone group's points sit around its tick."""
    shown = [i for i, v in enumerate(values) if v.size]
    jitter = np.random.default_rng(0)  # spread of the points across the axis only
    boxes = min(values[i].size for i in shown) >= MIN_BOX
    if boxes:
        drawn = ax.boxplot(
            [values[i] for i in shown], positions=shown, widths=0.6, patch_artist=True,
            showfliers=False, medianprops={"color": "k"}, orientation="vertical" if vertical
            else "horizontal",
        )  # fmt: skip
        for i, patch in zip(shown, drawn["boxes"], strict=True):
            patch.set_facecolor(colours[i])
            patch.set_alpha(0.5)
    for i in shown:
        at = i + jitter.uniform(-0.15, 0.15, size=values[i].size)
        colour = "k" if boxes else colours[i]
        xy = (at, values[i]) if vertical else (values[i], at)
        ax.scatter(*xy, s=9 if boxes else 22, color=colour, lw=0, alpha=0.8, zorder=3)
    (ax.set_xlim if vertical else ax.set_ylim)(-0.5, len(values) - 0.5)


def wrap(n: int, at: int = 3) -> int:
    """Columns of a wrapped facet grid with ``n`` panels."""
    return max(1, min(at, n))


def grid(n_panels: int, width: float = 3.6, height: float = 2.8, at: int = 3):
    """A figure with ``n_panels`` axes wrapped ``at`` per row (constrained layout).

    Returns:
        ``(figure, axes)`` with ``axes`` a flat array of the visible panels.
    """
    cols = wrap(n_panels, at)
    rows = int(np.ceil(n_panels / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False, constrained_layout=True
    )
    flat = axes.ravel()
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def legend(fig: Figure, axes: Iterable[Any], title: str) -> None:
    """One figure legend below the panels (off the data), from the labelled artists of all
    ``axes``, in as many columns as the figure's width holds; the figure grows to hold it."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    if not handles:
        return
    renderer = fig.canvas.get_renderer()
    for ncols in range(len(handles), 0, -1):  # the most columns that fit the figure's width
        box = fig.legend(
            list(handles.values()), list(handles), title=title, loc="outside lower center",
            ncols=ncols,
        )  # fmt: skip
        if ncols == 1 or box.get_window_extent(renderer).width <= 0.98 * fig.bbox.width:
            break
        box.remove()
    extent = box.get_window_extent(renderer)
    fig.set_figwidth(max(fig.get_figwidth(), extent.width / fig.dpi + 0.2))
    fig.set_figheight(fig.get_figheight() + extent.height / fig.dpi)


def expected_max_lines(
    ax: plt.Axes, sub: pd.DataFrame, hue: str, colours: Mapping[str, Any], bands: set[str]
) -> None:
    """Draw each estimator's expected-maximum curve for every name in ``colours``, with a
    ±1 sd band for the names in ``bands``."""
    for name, colour in colours.items():
        for est, ls in ESTIMATOR_STYLES.items():
            s = sub[(sub[hue].astype(str) == name) & (sub["estimator"] == est)].sort_values("n")
            if s.empty:
                continue
            label = f"{name}, {ESTIMATOR_LABELS[est]}"
            ax.plot(s["n"], s["expected"], color=colour, ls=ls, lw=1.5, label=label)
            if name in bands and "std" in s.columns and s["std"].notna().any():
                ax.fill_between(
                    s["n"], s["expected"] - s["std"], s["expected"] + s["std"], color=colour,
                    alpha=0.15, lw=0,
                )  # fmt: skip
