"""Private helpers of the figure modules: one style, atomic saving, checks and colours.

Importing this module selects matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
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
        # a figure with a layout engine has placed its labels; others get a tight bounding box
        tight = {} if fig.get_layout_engine() is not None else {"bbox_inches": "tight"}
        return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png", **tight))
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
    colours = sns.color_palette(PALETTE, n_colors=max(len(names), 1))
    return {n: given.get(n, colours[i % len(colours)]) for i, n in enumerate(names)}


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
    """One figure legend (right, outside) from the labelled artists of all ``axes``."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), title=title, loc="outside right upper")


def expected_max_lines(
    ax: plt.Axes, sub: pd.DataFrame, hue: str, colours: Mapping[str, Any]
) -> None:
    """Draw each estimator's expected-maximum curve (±1 sd) for every name in ``colours``."""
    for name, colour in colours.items():
        for est, ls in ESTIMATOR_STYLES.items():
            s = sub[(sub[hue].astype(str) == name) & (sub["estimator"] == est)].sort_values("n")
            if s.empty:
                continue
            label = f"{name}, {ESTIMATOR_LABELS[est]}"
            ax.plot(s["n"], s["expected"], color=colour, ls=ls, lw=1.5, label=label)
            if "std" in s.columns and s["std"].notna().any():
                ax.fill_between(
                    s["n"], s["expected"] - s["std"], s["expected"] + s["std"], color=colour,
                    alpha=0.15, lw=0,
                )  # fmt: skip
