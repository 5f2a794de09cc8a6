"""Tests of the bootstrap statistics: aggregates, profiles, per-task CIs, resampling helpers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tests.helpers.trials import make_trials
from tunebench import stats
from tunebench.stats._util import index_counts, sorted_quantiles, stratified_indices


def _norm_table(values: dict[tuple[str, str, int], float]) -> pd.DataFrame:
    rows = [(t, o, s, v) for (t, o, s), v in values.items()]
    task, optimizer, seed, v = zip(*rows, strict=True)
    return pd.DataFrame(
        {"budget": "b", "task": task, "optimizer": optimizer, "seed": seed, "normalised": v}
    )


def test_iqm_by_hand():
    # 8 values: drop the lowest 2 and highest 2, mean of 3, 4, 5, 6
    assert stats.iqm(np.arange(1.0, 9.0)) == pytest.approx(4.5)
    assert stats.iqm(np.array([0.0, 0.0, 0.0, 100.0])) == pytest.approx(0.0)


def test_stratified_indices_stay_in_their_stratum():
    strata = np.array(["b", "a", "b", "a", "a", "c"])
    idx = stratified_indices(strata, 50, np.random.default_rng(0))
    assert idx.shape == (50, 6)
    # columns: 3 draws from a, 2 from b, 1 from c (sorted strata)
    assert set(strata[idx[:, :3]].ravel()) == {"a"}
    assert set(strata[idx[:, 3:5]].ravel()) == {"b"}
    assert (idx[:, 5] == 5).all()
    counts = index_counts(idx, 6)
    assert (counts.sum(axis=1) == 6).all() and (counts[:, 5] == 1).all()


def test_sorted_quantiles_match_nanquantile():
    rng = np.random.default_rng(0)
    boot = rng.normal(size=(300, 20))
    boot[rng.random(boot.shape) < 0.2] = np.nan
    boot[:, 4] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanquantile(boot, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(sorted_quantiles(boot, [0.025, 0.975]), ref, equal_nan=True)


def test_aggregates_one_seed_per_task_has_no_bootstrap_spread():
    # stratified bootstrap: with one seed per task every replicate is the sample itself
    t = _norm_table({("t0", "a", 0): 0.1, ("t1", "a", 0): 0.5, ("t2", "a", 0): 0.9,
                     ("t3", "a", 0): 2.1})  # fmt: skip
    agg = stats.aggregates(t, n_boot=200).set_index("aggregate")
    assert agg.loc["median", "estimate"] == pytest.approx(0.7)
    assert agg.loc["mean", "estimate"] == pytest.approx(0.9)
    assert agg.loc["iqm", "estimate"] == pytest.approx(0.7)  # mean of 0.5 and 0.9
    np.testing.assert_allclose(agg["ci_low"], agg["estimate"])
    np.testing.assert_allclose(agg["ci_high"], agg["estimate"])
    assert (agg["n_tasks"] == 4).all() and (agg["n_studies"] == 4).all()


def test_aggregates_intervals_contain_estimates_and_count_missing():
    s = stats.normalised_scores(stats.study_scores(make_trials(p_fail=0.0, effect={"gp": 5.0})))
    s.loc[s.index[:2], "normalised"] = np.nan
    agg = stats.aggregates(s, n_boot=500, random_state=1)
    assert list(agg.columns) == [
        "budget", "optimizer", "aggregate", "estimate", "ci_low", "ci_high", "n_studies",
        "n_tasks", "n_missing", "value",
    ]  # fmt: skip
    assert len(agg) == 4 * 3
    assert (agg["ci_low"] <= agg["estimate"] + 1e-12).all()
    assert (agg["estimate"] <= agg["ci_high"] + 1e-12).all()
    assert agg["n_missing"].sum() == 2 * 3
    iqm = agg[agg["aggregate"] == "iqm"].set_index("optimizer")["estimate"]
    assert iqm.idxmin() == "gp"
    again = stats.aggregates(s, n_boot=500, random_state=1)
    pd.testing.assert_frame_equal(agg, again)


def test_performance_profile_by_hand():
    t = _norm_table({("t0", "a", 0): 0.0, ("t0", "a", 1): 0.5, ("t1", "a", 0): 1.0,
                     ("t1", "a", 1): 2.0, ("t1", "a", 2): np.nan})  # fmt: skip
    prof = stats.performance_profiles(t, tau=[0.0, 0.5, 1.5, 3.0], n_boot=300)
    # NaN (failed study) never reaches a threshold: denominators are 5
    np.testing.assert_allclose(prof["fraction"], [0.2, 0.4, 0.6, 0.8])
    assert (prof["ci_low"] <= prof["fraction"] + 1e-12).all()
    assert (prof["fraction"] <= prof["ci_high"] + 1e-12).all()
    assert prof["n_studies"].iloc[0] == 5
    assert np.all(np.diff(prof["fraction"]) >= 0)


def test_default_tau_spans_optimum_and_baseline():
    tau = stats.performance_profiles(_norm_table({("t", "a", 0): 0.3}), n_boot=10)["tau"]
    assert tau.iloc[0] == 0.0 and tau.iloc[-1] == 1.0 and len(tau) == 101


def test_task_scores_median_and_ci():
    s = stats.study_scores(make_trials(n_tasks=2, n_seeds=7))
    ts = stats.task_scores(s, n_boot=300)
    assert len(ts) == 2 * 4 and (ts["n"] == 7).all()
    ref = s.groupby(["task", "optimizer"])["test_value"].median()
    got = ts.set_index(["task", "optimizer"])["median"]
    np.testing.assert_allclose(got.loc[ref.index], ref)
    assert (ts["median_low"] <= ts["median"]).all() and (ts["median"] <= ts["median_high"]).all()
    assert {"direction", "metric"} <= set(ts.columns)


def test_prob_better_orders_pairs_and_respects_direction():
    s = stats.study_scores(make_trials(effect={"gp": 20.0}, n_seeds=6))
    pb = stats.prob_better(s, value="test_value", n_boot=300).set_index(
        ["optimizer_a", "optimizer_b"]
    )
    # "gp" beats everyone, in minimised and maximised tasks alike
    assert pb.loc[("cmaes", "gp"), "p_a_better"] < 0.1
    assert pb.loc[("gp", "random"), "p_a_better"] > 0.9
    assert (pb["n"] == 18).all()
