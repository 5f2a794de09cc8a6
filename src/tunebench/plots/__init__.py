"""Figures drawn from the tables of :mod:`tunebench.stats` (never computing statistics).

Each ``plot_*`` takes the table(s) that :func:`tunebench.report.compare` writes and an output
path, draws one figure in the one tunebench style, writes a PNG atomically (dpi :data:`DPI`),
closes the figure and returns the path. The style: seaborn white grid and paper context; one
colour per optimizer across figures (:func:`colours_of`: colour-blind-safe up to 10, never
two alike); at most :data:`MAX_BANDS` confidence bands per panel (those of the best by mean
rank); legends below the panels, off the data; constrained layout, so no label is clipped; the
points themselves, not boxes, for groups of fewer than :data:`MIN_BOX` values. Importing this
package selects matplotlib's non-interactive Agg backend.
"""

from tunebench.plots._budget import plot_anytime, plot_budget_ranks, plot_cost, plot_expected_max
from tunebench.plots._density import plot_density
from tunebench.plots._models import plot_model_expected_max, plot_models
from tunebench.plots._scores import (
    plot_aggregates,
    plot_cd_diagram,
    plot_message,
    plot_p_a_better,
    plot_profiles,
    plot_ranks,
    plot_test_scores,
)
from tunebench.plots._style import DPI, MAX_BANDS, MIN_BOX, colours_of

__all__ = [
    "DPI",
    "MAX_BANDS",
    "MIN_BOX",
    "colours_of",
    "plot_aggregates",
    "plot_anytime",
    "plot_budget_ranks",
    "plot_cd_diagram",
    "plot_cost",
    "plot_density",
    "plot_expected_max",
    "plot_message",
    "plot_model_expected_max",
    "plot_models",
    "plot_p_a_better",
    "plot_profiles",
    "plot_ranks",
    "plot_test_scores",
]
