"""Tests of tunebench.plots on their own (the figures the pipeline writes: tests/report)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import FillBetweenPolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.transforms import Bbox

from tests.helpers.trials import OPTIMIZERS, make_trials
from tunebench import plots, report, stats
from tunebench.plots import _budget, _density, _models, _scores
from tunebench.plots._style import MAX_BANDS
from tunebench.report._pipeline import _figure_makers

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plot_functions_reject_empty_tables(tmp_path):
    trials = make_trials(n_tasks=2, n_seeds=3)
    mr = stats.mean_ranks(stats.ranks(stats.study_scores(trials)), n_boot=20)
    with pytest.raises(ValueError, match="empty"):
        plots.plot_ranks(mr.iloc[:0], tmp_path / "r.png")
    band = stats.bootstrap_band(stats.anytime(trials, "trials"), n_boot=20)
    with pytest.raises(ValueError, match="empty"):
        plots.plot_anytime(band, tmp_path / "a.png", "epochs")
    path = plots.plot_anytime(band, tmp_path / "b.png", log_x=True)
    assert path.read_bytes().startswith(PNG_MAGIC)


MANY = ("random", *(f"opt{i:02d}" for i in range(11)))  # 12 optimizers: more than 10 colours


@pytest.fixture
def drawn(monkeypatch) -> list[Figure]:
    """The figures the plot functions save (each saved as usual, then kept for inspection)."""
    figures: list[Figure] = []
    for module in (_budget, _density, _models, _scores):

        def keep(fig: Figure, path, real=module.save):
            figures.append(fig)
            return real(fig, path)

        monkeypatch.setattr(module, "save", keep)
    return figures


def _draw_all(tmp_path: Path, n_seeds: int, drawn: list[Figure]) -> dict[str, Figure]:
    """Every figure of the pipeline for a 12-optimizer experiment with ``n_seeds`` seeds."""
    trials = make_trials(optimizers=MANY, n_seeds=n_seeds, effect={"opt03": 5.0})
    u = np.random.default_rng(0).random((len(trials), 2))
    trials["params"] = [json.dumps({"a": float(a), "b": float(b)}) for a, b in u]
    report.compare(trials, tmp_path, n_boot=20, comparisons={"ds": ["task0", "task2"]})
    figures = {}
    for name, draw in _figure_makers(tmp_path).items():
        draw(tmp_path / f"{name}.png")
        figures[name] = drawn[-1]
    return figures


def _boxes(fig: Figure) -> list[PathPatch]:
    return [p for ax in fig.axes for p in ax.patches if isinstance(p, PathPatch)]


def _data_areas(fig: Figure) -> list[Bbox]:
    return [ax.get_window_extent() for ax in fig.axes if ax.get_visible() and ax.has_data()]


def test_figures_are_readable_at_a_glance(tmp_path, drawn) -> None:
    figures = _draw_all(tmp_path, n_seeds=3, drawn=drawn)
    with_legend = 0
    for name, fig in figures.items():
        canvas = FigureCanvasAgg(fig)  # saved and closed: a new canvas to measure on
        canvas.draw()
        renderer = canvas.get_renderer()
        drawn_box = fig.get_tightbbox(renderer)  # every drawn artist, in inches
        page = fig.bbox_inches.padded(0.01)
        assert page.contains(drawn_box.x0, drawn_box.y0), (name, drawn_box, page)
        assert page.contains(drawn_box.x1, drawn_box.y1), (name, drawn_box, page)
        for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
            with_legend += 1
            box = legend.get_window_extent(renderer)
            assert not any(box.overlaps(area) for area in _data_areas(fig)), name
        for ax in fig.axes:
            bands = [c for c in ax.collections if isinstance(c, FillBetweenPolyCollection)]
            assert len(bands) <= MAX_BANDS, (name, len(bands))
    assert with_legend >= 6
    # 3 seeds per task: points, not boxes; pooled over 3 tasks, 9 studies: boxes
    assert not _boxes(figures["test_scores"]) and _boxes(figures["density"])
    # the 12 optimizers' curves: every one drawn, each in its own colour
    lines = [line for line in figures["anytime_trials"].axes[0].lines if line.get_label() in MANY]
    assert len({line.get_label() for line in lines}) == len(MANY)
    assert len({to_hex(line.get_color()) for line in lines}) == len(MANY)


def test_five_seeds_or_more_are_summarised_by_boxes(tmp_path, drawn) -> None:
    trials = make_trials(n_seeds=5)
    plots.plot_test_scores(stats.study_scores(trials), tmp_path / "s.png")
    assert len(_boxes(drawn[-1])) == len(OPTIMIZERS) * trials["task"].nunique()


@pytest.mark.parametrize("n", [4, 10, 12, 20, 30])
def test_every_optimizer_has_its_own_colour(n) -> None:
    colours = plots.colours_of([f"o{i}" for i in range(n)])
    assert len({to_hex(c) for c in colours.values()}) == n
    given = plots.colours_of(colours, {"o0": "#000000"})
    assert to_hex(given["o0"]) == "#000000" and to_hex(given["o1"]) == to_hex(colours["o1"])
