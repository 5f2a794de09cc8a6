"""Tests of budget curves: expected max (hand fixtures, brute force), budget fractions, ranks."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from tests.helpers.trials import hand_table, make_trials
from tunebench import stats


def test_expected_max_hand_fixture_dodge_and_tang():
    v = [3.0, 1.0, 2.0]
    # Dodge: P(max of n draws = v_(i)) = (i/N)^n - ((i-1)/N)^n
    # n=2: (1*1 + 2*3 + 3*5) / 9 = 22/9; n=3: (1 + 2*7 + 3*19) / 27 = 72/27
    mean, std = stats.expected_max_dodge(v, [1, 2, 3])
    np.testing.assert_allclose(mean, [2.0, 22 / 9, 8 / 3])
    assert std[0] == pytest.approx(np.std(v))  # n = 1: one draw from the values
    # Tang: P = C(i-1, n-1) / C(N, n); n=2: (2*1 + 3*2) / 3 = 8/3; n=3: the maximum
    np.testing.assert_allclose(stats.expected_max_tang(v, [1, 2, 3]), [2.0, 8 / 3, 3.0])
    assert np.isnan(stats.expected_max_tang(v, [4])[0])
    np.testing.assert_allclose(stats.expected_max(v, [2], unbiased=True), [8 / 3])


def test_expected_min_for_minimisation_by_hand():
    v = [1.0, 2.0, 3.0]
    # without replacement, n=2: pairs (1,2) (1,3) (2,3) have minima 1, 1, 2 → 4/3
    assert stats.expected_max_tang(v, [2], "minimize")[0] == pytest.approx(4 / 3)
    # with replacement: P(min = 1) = 5/9, P(min = 2) = 3/9, P(min = 3) = 1/9 → 14/9
    assert stats.expected_max_dodge(v, [2], "minimize")[0][0] == pytest.approx(14 / 9)
    with pytest.raises(ValueError, match="direction"):
        stats.expected_max(v, [1], "up")
    with pytest.raises(ValueError, match="positive integers"):
        stats.expected_max(v, [0])


def test_expected_max_equals_brute_force_enumeration():
    v = np.array([0.3, -1.2, 2.5, 0.7, 0.7, 1.9])
    for n in (1, 2, 3, 4):
        subsets = [max(c) for c in itertools.combinations(v, n)]
        draws = [max(c) for c in itertools.product(v, repeat=n)]
        assert stats.expected_max_tang(v, [n])[0] == pytest.approx(np.mean(subsets), abs=1e-12)
        assert stats.expected_max_dodge(v, [n])[0][0] == pytest.approx(np.mean(draws), abs=1e-12)
        assert stats.expected_max_dodge(v, [n])[1][0] == pytest.approx(np.std(draws), abs=1e-9)


def test_expected_max_curves_pool_iid_studies_only():
    a = hand_table([3, 1, 2], ["complete"] * 3, optimizer="random", seed=0)
    b = hand_table([5, 4, 9], ["complete", "failed", "complete"], optimizer="random", seed=1)
    c = hand_table([1, 1, 1], ["complete"] * 3, optimizer="tpe", seed=0)
    d = hand_table([1, 1, 1], ["complete"] * 3, optimizer="rs-median", seed=0)
    trials = pd.concat([a, b, c, d], ignore_index=True)
    trials["algorithm"] = trials["optimizer"].map(
        {"random": "random", "tpe": "tpe", "rs-median": "random+median"}
    )
    assert stats.iid_optimizers(trials) == ["random"]
    em = stats.expected_max_curves(trials)
    assert set(em["optimizer"]) == {"random"} and (em["n_values"] == 5).all()  # failed dropped
    assert sorted(em["n"].unique()) == [1, 2, 3]  # n_max: trials per study
    dodge = em[em["estimator"] == "dodge2019"].set_index("n")["expected"]
    tang = em[em["estimator"] == "tang2020"].set_index("n")["expected"]
    pooled = [3, 1, 2, 5, 9]  # minimised: expected minimum
    assert dodge[1] == pytest.approx(np.mean(pooled))
    assert tang[2] == pytest.approx(np.mean([min(c) for c in itertools.combinations(pooled, 2)]))
    assert stats.expected_max_curves(trials, iid=["nobody"]).empty
    grid = stats.expected_max_curves(trials, n_max=400, n_points=20)
    assert grid["n"].nunique() <= 20 and grid["n"].max() == 400 and grid["n"].min() == 1


def test_scores_at_fractions_by_hand():
    df = hand_table(
        [5, 3, 4, 1], ["complete"] * 4, test_values=[5.5, 3.3, np.nan, 1.1], known_optimum=0.0
    )
    at = stats.scores_at(df, fractions=[0.25, 0.5, 1.0]).set_index("fraction")
    # cuts at 1, 2 and 4 trials: incumbents trial 0, trial 1, trial 3
    np.testing.assert_allclose(at["cut"], [1.0, 2.0, 4.0])
    np.testing.assert_allclose(at["test_value"], [5.5, 3.3, 1.1])
    np.testing.assert_allclose(at["best_value"], [5, 3, 1])
    secs = stats.scores_at(df, fractions=[0.5], currency="seconds")  # 8 s in all, cut at 4
    assert secs["test_value"].iloc[0] == pytest.approx(3.3)
    with pytest.raises(ValueError, match="fractions"):
        stats.scores_at(df, fractions=[0.0])


def test_scores_at_full_budget_equals_study_scores():
    trials = make_trials(p_fail=0.2, random_state=4)
    at = stats.scores_at(trials, fractions=[1.0])
    final = stats.study_scores(trials)
    np.testing.assert_array_equal(at["test_value"].to_numpy(), final["test_value"].to_numpy())


def test_budget_ranks_fractions_and_rank_sums():
    br = stats.budget_ranks(make_trials(effect={"gp": 10.0}), n_boot=200)
    assert list(br.columns) == [
        "budget", "currency", "fraction", "optimizer", "mean_rank", "ci_low", "ci_high",
        "n_blocks",
    ]  # fmt: skip
    assert sorted(br["fraction"].unique()) == [0.25, 0.5, 1.0]
    sums = br.groupby("fraction")["mean_rank"].sum()
    np.testing.assert_allclose(sums, 1 + 2 + 3 + 4)
    final = br[br["fraction"] == 1.0].set_index("optimizer")["mean_rank"]
    ref = stats.mean_ranks(stats.ranks(stats.study_scores(make_trials(effect={"gp": 10.0}))))
    np.testing.assert_allclose(final.loc[ref["optimizer"]], ref["mean_rank"])


def test_anytime_epochs_skip_tasks_without_fidelity():
    trials = make_trials(n_tasks=2)
    trials.loc[trials["task"] == "task0", ["epochs", "cum_epochs"]] = 0
    curves = stats.anytime(trials, "epochs")
    assert set(curves["task"]) == {"task1"}


def test_cost_breakdown_by_hand():
    df = hand_table([1, 2], ["complete"] * 2)
    df["objective_s"], df["optimizer_s"] = [1.0, 3.0], [0.5, 0.5]
    other = df.assign(seed=1, objective_s=[2.0, 2.0], optimizer_s=[1.0, 1.0])
    cost = stats.cost_breakdown(pd.concat([df, other], ignore_index=True)).iloc[0]
    # per study: (4, 1) and (4, 2); means 4 and 1.5
    assert (cost["objective_s"], cost["optimizer_s"], cost["total_s"]) == (4.0, 1.5, 5.5)
    assert cost["optimizer_share"] == pytest.approx(1.5 / 5.5) and cost["n_studies"] == 2
