"""Bayesmark's normalised mean score on a trial table computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers.trials import make_trials
from tunebench import stats

NAN = np.nan
# (optimizer, seed): (values, test values) of trials 0, 1, 2; None = failed. Minimised.
STUDIES = {
    ("random", 0): ([5, 3, 4], [6, 2, NAN]),
    ("random", 1): ([4, 6, 1], [5, NAN, 3]),
    ("bo", 0): ([2, 1, 0.5], [3, 1, 0.5]),
    ("bo", 1): ([None, 2], [NAN, 2.5]),  # one trial short: keeps its incumbent at t = 3
}


def _table(direction: str = "minimize") -> pd.DataFrame:
    s = 1.0 if direction == "minimize" else -1.0
    rows = []
    for (optimizer, seed), (values, tests) in STUDIES.items():
        for trial, (value, test) in enumerate(zip(values, tests, strict=True)):
            rows.append(
                {
                    "task": "p",
                    "optimizer": optimizer,
                    "budget": "t3",
                    "seed": seed,
                    "trial": trial,
                    "status": "failed" if value is None else "complete",
                    "value": NAN if value is None else s * value,
                    "test_value": s * test,
                    "direction": direction,
                }
            )
    return pd.DataFrame(rows)


# validation: opt = 0.5, clip = median(5, 3, 4, 4, 6, 1) = 4, so a loss x scores (2x - 1) / 7
# (capped at 1; no result yet = 1). test: opt = 0.5, clip = median of the random studies' first
# test losses (6, 5) = 5.5, so x scores (x - 0.5) / 5.
EXPECTED = {
    ("validation", "random"): [1, (5 / 7 + 1) / 2, (5 / 7 + 1 / 7) / 2],
    ("validation", "bo"): [(3 / 7 + 1) / 2, (1 / 7 + 3 / 7) / 2, (0 + 3 / 7) / 2],
    ("test", "random"): [(1 + 0.9) / 2, (0.3 + 0.9) / 2, (0.3 + 0.5) / 2],
    ("test", "bo"): [(0.5 + 1) / 2, (0.1 + 0.4) / 2, (0 + 0.4) / 2],
}


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_scores_by_hand(direction: str) -> None:
    scores = stats.bayesmark_scores(_table(direction), baseline="random")
    assert list(scores.columns) == [
        "budget", "task", "optimizer", "objective", "t", "n_seeds", "opt", "clip", "score"
    ]  # fmt: skip
    for (objective, optimizer), expected in EXPECTED.items():
        rows = scores[(scores["objective"] == objective) & (scores["optimizer"] == optimizer)]
        assert rows["t"].tolist() == [1, 2, 3]
        assert rows["score"].to_numpy() == pytest.approx(expected, abs=1e-12)
        assert (rows["n_seeds"] == 2).all()
    validation = scores[scores["objective"] == "validation"]
    assert set(validation["opt"]) == {0.5} and set(validation["clip"]) == {4.0}
    assert set(scores.loc[scores["objective"] == "test", "clip"]) == {5.5}


def test_summary_by_hand() -> None:
    summary = stats.bayesmark_summary(stats.bayesmark_scores(_table()), baseline="random")
    bo = summary[(summary["optimizer"] == "bo") & (summary["objective"] == "validation")]
    random = summary[(summary["optimizer"] == "random") & (summary["objective"] == "validation")]
    assert bo["mean_score"].to_numpy() == pytest.approx([5 / 7, 2 / 7, 3 / 14])
    assert random["normalised_mean_score"].tolist() == [1.0, 1.0, 1.0]
    assert bo["normalised_mean_score"].to_numpy() == pytest.approx([5 / 7, 1 / 3, 1 / 2])
    assert bo["leaderboard"].iloc[-1] == pytest.approx(100 * (1 - 3 / 14))


def test_over_tasks_the_mean_of_the_task_scores() -> None:
    trials = make_trials(n_tasks=3, n_seeds=4, n_trials=6, effect={"gp": 2.0}, p_fail=0.1)
    scores = stats.bayesmark_scores(trials)
    assert scores["score"].between(-1, 1).all() and scores["t"].max() == 6
    assert (scores["score"] >= 0).all()  # opt is the best of every record
    summary = stats.bayesmark_summary(scores)
    gp = summary[(summary["optimizer"] == "gp") & (summary["objective"] == "test")]
    by_task = scores[(scores["optimizer"] == "gp") & (scores["objective"] == "test")]
    assert gp["mean_score"].to_numpy() == pytest.approx(by_task.groupby("t")["score"].mean())
    assert (gp["n_tasks"] == 3).all()
    assert gp["normalised_mean_score"].iloc[-1] < 1  # the better optimizer beats random


def test_normalise_edges() -> None:
    assert stats.bayesmark_normalise(np.array([NAN, -9.0, 3.0]), 1.0, 2.0).tolist() == [
        1.0, -1.0, 1.0
    ]  # fmt: skip
    assert np.isnan(stats.bayesmark_normalise(np.array([1.0]), 2.0, 2.0)).all()


def test_no_baseline_gives_nan_scores() -> None:
    scores = stats.bayesmark_scores(_table(), baseline="absent")
    assert scores["score"].isna().all() and scores["clip"].isna().all()
