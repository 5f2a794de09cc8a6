"""Tests of tunebench.plots on their own (the figures the pipeline writes: tests/report)."""

from __future__ import annotations

import pytest

from tests.helpers.trials import make_trials
from tunebench import plots, stats

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
