"""The exploration-density figure: how evenly each optimizer covers the space."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from tunebench.core.tables import require_columns
from tunebench.plots._style import (
    colours_of,
    points_or_boxes,
    save,
    styled,
)

__all__ = ["plot_density"]


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
    of the same task (1 = as even as random search; above 1 = more concentrated). Points are
    studies, over a box per optimizer when each has
    :data:`~tunebench.plots._style.MIN_BOX` studies or more.

    Args:
        density: ``density.csv`` (:func:`tunebench.stats.exploration_density` +
            :func:`tunebench.stats.relative_density` with the study's ``normalised`` score).
        path: PNG to write.
        palette: Optimizer → colour.

    Returns:
        ``path``.
    """
    columns = ("optimizer", "normalised", "discrepancy_rel", "dispersion_rel")
    require_columns(density, columns, "density", non_empty=True)
    d = density.assign(optimizer=density["optimizer"].astype(str))
    colours = colours_of(d["optimizer"], palette)
    names = list(colours)
    fig, axes = plt.subplots(
        1, 3, figsize=(10.5, 1.4 + 0.42 * len(names)), sharey=True, constrained_layout=True
    )
    panels = (
        ("normalised", "normalised test score\n(lower is better)"),
        ("discrepancy_rel", "centred L2 discrepancy\n÷ baseline's (1 = as even)"),
        ("dispersion_rel", "largest empty ball\n÷ baseline's (1 = as covered)"),
    )
    for ax, (col, label) in zip(axes, panels, strict=True):
        ax.set_xlabel(label)
        values = [d.loc[d["optimizer"] == n, col].dropna().to_numpy() for n in names]
        if not any(v.size for v in values):
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
            continue
        points_or_boxes(ax, values, [colours[n] for n in names], vertical=False)
        if col != "normalised":
            ax.axvline(1.0, color="0.4", ls=":", lw=1)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    n_tasks = d["task"].nunique() if "task" in d else 0
    fig.suptitle(f"exploration density and score per study ({n_tasks} tasks)")
    return save(fig, path)
