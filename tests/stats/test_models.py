"""Tests of tunebench.stats._model_comparison: tuned model vs tuned model on one data set."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.trials import make_trials
from tunebench import stats
from tunebench.stats._model_comparison import MODEL_COLUMNS, MODEL_PAIRWISE_COLUMNS


@pytest.fixture(scope="module")
def trials():
    # task0/2 are minimised, task1 maximised; task2's values are far worse than task0's
    t = make_trials(n_tasks=3, optimizers=("random", "tpe"), n_seeds=8, maximize=(1,))
    t.loc[t["task"] == "task2", ["value", "test_value"]] += 10.0
    t["algorithm"] = t["optimizer"]
    return t


def test_compare_models_detects_the_better_model(trials):
    res = stats.compare_models(trials, {"ds": ["task2", "task0"]}, n_boot=300)
    assert list(res.models.columns) == list(MODEL_COLUMNS)
    assert list(res.pairwise.columns) == list(MODEL_PAIRWISE_COLUMNS)
    # 2 optimizers × 3 fractions × 2 models; one pair per (optimizer, fraction)
    assert len(res.models) == 12 and len(res.pairwise) == 6
    final = res.pairwise[res.pairwise["fraction"] == 1.0]
    assert (final["pair"] == "task0 vs task2").all()
    assert final["reject"].all() and (final["n"] == 8).all()
    # 8 seeds all in favour of task0: exact p = 2 / 2^8
    assert final["p_value"].iloc[0] == pytest.approx(2 / 2**8)
    assert (final["p_a_better"] == 1.0).all() and (final["p_a_better_low"] == 1.0).all()
    assert (final["mean_diff"] < -9).all()  # raw test score of task0 minus task2
    m = res.models[(res.models["fraction"] == 1.0) & (res.models["optimizer"] == "tpe")]
    m = m.set_index("model")
    ref = trials[trials["optimizer"] == "tpe"]
    ref = stats.study_scores(ref).groupby("task")["test_value"].median()
    np.testing.assert_allclose(m.loc[["task0", "task2"], "median"], ref.loc[["task0", "task2"]])
    assert m.loc["task0", "mean_rank"] == 1.0 and m.loc["task2", "mean_rank"] == 2.0
    assert len(res.families) == 6 and "group ds" in res.families[0]["description"]
    assert set(res.expected_max["optimizer"]) == {"random"}
    assert set(res.expected_max["model"]) == {"task0", "task2"}


def test_compare_models_without_groups_gives_empty_tables_with_columns(trials):
    res = stats.compare_models(trials, None)
    assert res.models.empty and list(res.models.columns) == list(MODEL_COLUMNS)
    assert res.pairwise.empty and list(res.pairwise.columns) == list(MODEL_PAIRWISE_COLUMNS)
    assert res.expected_max.empty and res.families == []


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"g": ["task0"]}, "at least two"),
        ({"g": ["task0", "nope"]}, "not in the trial table"),
        ({"g": ["task0", "task1"]}, "share a direction"),
    ],
)
def test_compare_models_rejects_bad_groups(trials, groups, message):
    with pytest.raises(ValueError, match=message):
        stats.compare_models(trials, groups)
