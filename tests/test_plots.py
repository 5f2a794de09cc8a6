"""Tests of tunebench.analysis (files written) and tunebench.plots (PNG files)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_stats import make_trials

from tunebench import analysis, plots, stats

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def stats_dir(tmp_path_factory):
    trials = pd.concat(
        [make_trials(effect={"gp": 5.0}), make_trials(budget="t20", n_trials=20)],
        ignore_index=True,
    )
    out = tmp_path_factory.mktemp("stats")
    written = analysis.compare(trials, out, budget="t10", n_boot=200)
    return out, written


def test_compare_writes_all_files(stats_dir):
    out, written = stats_dir
    assert set(written) == set(analysis.STATS_FILES)
    for path in written.values():
        assert path.parent == out and path.stat().st_size > 0
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 60 and (scores["budget"] == "t10").all()
    for col in ("test_value", "regret", "normalised", "normaliser", "cum_seconds"):
        assert col in scores.columns
    assert list(pd.read_csv(out / "ranks.csv").columns) == [
        "budget", "task", "seed", "optimizer", "test_value", "rank",
    ]  # fmt: skip
    assert list(pd.read_csv(out / "mean_ranks.csv").columns) == [
        "optimizer", "mean_rank", "ci_low", "ci_high", "n_blocks",
    ]  # fmt: skip
    fr = pd.read_csv(out / "friedman.csv")
    assert len(fr) == 1 and fr["n_blocks"].iloc[0] == 3
    pw = pd.read_csv(out / "pairwise.csv")
    assert len(pw) == 6 and {"p_adjusted", "reject", "family"} <= set(pw.columns)
    band = pd.read_csv(out / "anytime.csv")
    assert {"task", "optimizer", "x", "mean", "ci_low", "ci_high"} <= set(band.columns)
    family = json.loads((out / "family.json").read_text())
    assert family["budget"] == "t10" and family["n_pairs"] == 6
    assert family["seeds"] == [0, 1, 2, 3, 4] and family["correction"] == "holm"
    assert family["alpha"] == 0.05 and len(family["pairs"]) == 6


def test_compare_budget_errors(tmp_path):
    trials = pd.concat([make_trials(n_tasks=1), make_trials(n_tasks=1, budget="t20")])
    with pytest.raises(ValueError, match=r"t10.*t20"):
        analysis.compare(trials, tmp_path)
    with pytest.raises(ValueError, match="budgets present"):
        analysis.compare(trials, tmp_path, budget="t99")
    with pytest.raises(ValueError, match="correction"):
        analysis.compare(trials, tmp_path, budget="t10", correction="bonferroni")


def test_plot_writes_pngs(stats_dir, tmp_path):
    out, _ = stats_dir
    figs = analysis.plot(out, tmp_path / "figs")
    assert set(figs) == {"anytime", "test_scores", "ranks"}
    for path in figs.values():
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000


def test_plot_functions_direct(tmp_path):
    trials = make_trials(n_tasks=2, n_seeds=3)
    scores = stats.study_scores(trials)
    band = stats.bootstrap_band(stats.anytime(trials, "seconds"), n_boot=50)
    mr = stats.mean_ranks(stats.ranks(scores), n_boot=50)
    paths = [
        plots.plot_anytime(band, tmp_path / "a.png", log_x=True),
        plots.plot_test_scores(scores, tmp_path / "b.png"),
        plots.plot_ranks(mr, tmp_path / "c.png"),
    ]
    for p in paths:
        assert p.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="empty"):
        plots.plot_ranks(mr.iloc[:0], tmp_path / "d.png")
