"""Tests of tunebench.stats on small synthetic, hand-checkable trial tables."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from tests.helpers.trials import hand_table, make_trials
from tunebench import stats

# ------------------------------------------------------------------------------- incumbents


def test_incumbents_minimize_skips_failed_pruned_and_ties():
    df = hand_table(
        [5, 0, 3, 1, 3, 2, 4],
        ["complete", "failed", "complete", "pruned", "complete", "complete", "complete"],
    )
    shuffled = df.sample(frac=1.0, random_state=1)
    inc = stats.incumbents(shuffled)
    assert inc["trial"].tolist() == [0, 2, 5]
    assert inc["value"].tolist() == [5, 3, 2]


def test_incumbents_maximize_and_failed_first():
    df = hand_table(
        [0, 1, 3, 2, 3, 5], ["failed", "complete", "complete", "complete", "complete", "complete"],
        direction="maximize",
    )  # fmt: skip
    assert stats.incumbents(df)["trial"].tolist() == [1, 2, 5]


def test_incumbents_per_study():
    a = hand_table([3, 2, 4], ["complete"] * 3, seed=0)
    b = hand_table([1, 2, 0], ["complete"] * 3, seed=1)
    inc = stats.incumbents(pd.concat([b, a], ignore_index=True))
    assert inc.groupby("seed")["trial"].apply(list).to_dict() == {0: [0, 1], 1: [0, 2]}


# ---------------------------------------------------------------------------- study_scores


def test_study_scores_final_incumbent_and_counts():
    df = hand_table(
        [5, 0, 3, 1, 4],
        ["complete", "failed", "complete", "pruned", "complete"],
        test_values=[5.5, np.nan, 3.3, np.nan, np.nan],
        known_optimum=1.0,
    )
    s = stats.study_scores(df)
    assert len(s) == 1
    row = s.iloc[0]
    assert (row["n_trials"], row["n_failed"], row["n_pruned"]) == (5, 1, 1)
    assert row["best_value"] == 3
    assert row["test_value"] == pytest.approx(3.3)
    assert row["regret"] == pytest.approx(2.3)
    assert row["cum_epochs"] == 5
    assert row["cum_seconds"] == 10.0


def test_regret_sign_min_and_max():
    mn = hand_table([2.0], ["complete"], test_values=[1.5], known_optimum=1.0, task="a")
    mx = hand_table(
        [0.7], ["complete"], "maximize", test_values=[0.8], known_optimum=1.0, task="b"
    )
    unk = hand_table([0.7], ["complete"], test_values=[0.8], task="c")
    s = stats.study_scores(pd.concat([mn, mx, unk])).set_index("task")
    assert s.loc["a", "regret"] == pytest.approx(0.5)
    assert s.loc["b", "regret"] == pytest.approx(0.2)
    assert np.isnan(s.loc["c", "regret"])


def test_study_without_complete_trial_has_nan_scores():
    df = hand_table([1, 2], ["failed", "pruned"])
    row = stats.study_scores(df).iloc[0]
    assert row["n_trials"] == 2
    assert np.isnan(row["best_value"]) and np.isnan(row["test_value"])


def test_study_scores_one_row_per_study():
    trials = make_trials()
    s = stats.study_scores(trials)
    assert len(s) == 3 * 4 * 5
    assert (s["n_trials"] == 10).all()
    # the reported test value is the last non-NaN test value of the study
    last = (
        trials.dropna(subset=["test_value"])
        .sort_values("trial")
        .groupby(["task", "optimizer", "seed"])["test_value"]
        .last()
    )
    got = s.set_index(["task", "optimizer", "seed"])["test_value"]
    np.testing.assert_allclose(got.loc[last.index], last)


# ------------------------------------------------------------------------------ normalising


def _scores(rows: list[tuple[str, str, int, float]], direction="minimize", opt=np.nan):
    task, optimizer, seed, test = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "task": task,
            "optimizer": optimizer,
            "budget": "b",
            "seed": seed,
            "test_value": test,
            "direction": direction,
            "known_optimum": opt,
        }
    )


def test_normalised_zero_at_optimum_one_at_baseline():
    trials = make_trials()
    s = stats.normalised_scores(stats.study_scores(trials))
    base = s[s["optimizer"] == "random"].groupby("task")["normalised"].mean()
    np.testing.assert_allclose(base, 1.0)
    # a study exactly at the known optimum scores 0, in both directions
    extra = s.groupby("task").head(1).copy()
    extra["test_value"] = extra["known_optimum"]
    extra["optimizer"] = "oracle"
    n = stats.normalised_scores(pd.concat([s, extra], ignore_index=True))
    np.testing.assert_allclose(n.loc[n["optimizer"] == "oracle", "normalised"], 0.0)
    assert (n["normaliser"] == "baseline=random").all()


def test_normalised_unknown_optimum_and_missing_baseline():
    s = _scores([("t", "a", 0, 2.0), ("t", "a", 1, 4.0), ("t", "b", 0, 1.0), ("t", "b", 1, 1.0)])
    n = stats.normalised_scores(s, baseline="random")
    # f_opt = best seen (1), f_base = worst mean optimizer a (3)
    assert n["f_opt"].iloc[0] == 1.0 and n["f_base"].iloc[0] == 3.0
    assert n["normaliser"].iloc[0].startswith("worst-mean=a")
    np.testing.assert_allclose(n["normalised"], [0.5, 1.5, 0.0, 0.0])
    m = stats.normalised_scores(s.assign(direction="maximize"), baseline="random")
    # maximise: best seen 4 → 0; worst mean optimizer is b (1) → 1
    assert m["normaliser"].iloc[0].startswith("worst-mean=b")
    np.testing.assert_allclose(m["normalised"], [2 / 3, 0.0, 1.0, 1.0])


# ------------------------------------------------------------------------------------ ranks


def test_ranks_ties_missing_and_direction():
    s = _scores(
        [
            *[("t", "a", 0, 1.0), ("t", "b", 0, 1.0), ("t", "c", 0, 2.0), ("t", "d", 0, np.nan)],
            *[("u", "a", 0, 1.0), ("u", "b", 0, 3.0), ("u", "c", 0, 2.0)],  # d absent on u
        ]
    )
    s.loc[s["task"] == "u", "direction"] = "maximize"
    r = stats.ranks(s).set_index(["task", "optimizer"])["rank"]
    assert r.loc["t"].to_dict() == {"a": 1.5, "b": 1.5, "c": 3.0, "d": 4.0}
    assert r.loc["u"].to_dict() == {"a": 3.0, "b": 1.0, "c": 2.0, "d": 4.0}


def test_mean_ranks_ci():
    s = stats.study_scores(make_trials(effect={"gp": 5.0}))
    mr = stats.mean_ranks(stats.ranks(s), n_boot=500, random_state=0)
    assert list(mr.columns) == ["optimizer", "mean_rank", "ci_low", "ci_high", "n_blocks"]
    assert mr["optimizer"].iloc[0] == "gp"
    assert (mr["ci_low"] <= mr["mean_rank"]).all() and (mr["mean_rank"] <= mr["ci_high"]).all()
    assert mr["n_blocks"].iloc[0] == 15
    assert mr["mean_rank"].sum() == pytest.approx(1 + 2 + 3 + 4)
    again = stats.mean_ranks(stats.ranks(s), n_boot=500, random_state=0)
    pd.testing.assert_frame_equal(mr, again)


# --------------------------------------------------------------------------------- friedman


def test_friedman_matches_scipy_and_iman_davenport_formula():
    m = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 3.5], [1.5, 3.0, 2.0], [1.0, 4.0, 5.0]])
    rows = [(f"t{i}", f"o{j}", 0, m[i, j]) for i in range(4) for j in range(3)]
    res = stats.friedman(_scores(rows), block="task")
    ref = sps.friedmanchisquare(*m.T)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)
    n, k = 4, 3
    f = (n - 1) * ref.statistic / (n * (k - 1) - ref.statistic)
    assert res.iman_davenport_f == pytest.approx(f)
    assert res.iman_davenport_p == pytest.approx(sps.f.sf(f, k - 1, (k - 1) * (n - 1)))
    assert (res.n_blocks, res.n_optimizers, res.block, res.note) == (4, 3, "task", "")
    # without ties, Demšar's eq. 2 on the mean ranks gives the same χ²
    mean_rank = sps.rankdata(m, axis=1).mean(axis=0)
    assert stats.friedman_from_mean_ranks(mean_rank, 4)[0] == pytest.approx(ref.statistic)


def test_friedman_demsar_2006_worked_example():
    # Demšar (2006), Sec. 3.2.2: four C4.5 variants on 14 data sets.
    chi2, f = stats.friedman_from_mean_ranks([3.143, 2.000, 2.893, 1.964], 14)
    assert chi2 == pytest.approx(9.28, abs=0.01)
    assert f == pytest.approx(3.69, abs=0.01)
    # critical F(3, 39) at α = 0.05 is 2.85: the null hypothesis is rejected
    assert sps.f.ppf(0.95, 3, 39) == pytest.approx(2.85, abs=0.01)
    assert stats.iman_davenport(chi2, 14, 4)[1] < 0.05


def test_friedman_task_seed_blocks_and_degenerate_cases():
    s = stats.study_scores(make_trials(effect={"gp": 5.0}))
    by_task = stats.friedman(s, block="task")
    by_unit = stats.friedman(s, block="task_seed")
    assert (by_task.n_blocks, by_unit.n_blocks) == (3, 15)
    assert by_unit.p_value < 0.01
    two = stats.friedman(s[s["optimizer"].isin(["gp", "tpe"])])
    assert np.isnan(two.statistic) and "3 optimizers" in two.note
    one_task = stats.friedman(s[s["task"] == "task0"], block="task")
    assert np.isnan(one_task.p_value) and one_task.n_blocks == 1
    assert list(by_task.to_frame().columns) == [
        "statistic", "p_value", "iman_davenport_f", "iman_davenport_p", "n_blocks",
        "n_optimizers", "block", "nemenyi_q_alpha", "nemenyi_cd", "alpha", "note",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        stats.friedman(s, block="seed")


# ----------------------------------------------------------------------------- pairwise


def test_adjust_pvalues_holm_matches_statsmodels_and_is_monotone():
    p = np.array([0.01, 0.04, 0.03, 0.02, 0.5])
    adj = stats.adjust_pvalues(p, "holm")
    np.testing.assert_allclose(adj, multipletests(p, method="holm")[1])
    np.testing.assert_allclose(adj, [0.05, 0.09, 0.09, 0.08, 0.5])  # by hand
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0)
    assert np.all(adj >= p)
    np.testing.assert_allclose(stats.adjust_pvalues(p, "bh"), multipletests(p, method="fdr_bh")[1])
    np.testing.assert_allclose(stats.adjust_pvalues(p, "by"), multipletests(p, method="fdr_by")[1])
    with_nan = stats.adjust_pvalues([0.01, np.nan, 0.04], "holm")
    assert np.isnan(with_nan[1])
    np.testing.assert_allclose(with_nan[[0, 2]], [0.02, 0.04])
    with pytest.raises(ValueError):
        stats.adjust_pvalues(p, "bonferroni-ish")


def test_pairwise_detects_planted_effect():
    s = stats.normalised_scores(stats.study_scores(make_trials(effect={"gp": 20.0})))
    pw = stats.pairwise_wilcoxon(s, correction="holm", alpha=0.05)
    assert list(pw.columns) == [
        "pair", "optimizer_a", "optimizer_b", "n", "statistic", "p_value", "p_adjusted",
        "method", "family", "reject", "mean_diff", "p_a_better", "p_a_better_low",
        "p_a_better_high",
    ]  # fmt: skip
    assert len(pw) == 6 and (pw["n"] == 15).all()
    assert (pw["method"] == "holm").all()
    assert (
        pw["family"].iloc[0] == "all 6 pairs of 4 optimizers at budget t10 over 3 tasks × 5 seeds"
    )
    gp = pw[(pw["optimizer_a"] == "gp") | (pw["optimizer_b"] == "gp")]
    assert gp["reject"].all()
    gp_a = pw[pw["optimizer_a"] == "gp"]  # "cmaes" < "gp" < "random" < "tpe"
    assert (gp_a["mean_diff"] < 0).all() and (gp_a["p_a_better"] > 0.9).all()
    # significant in the sense of Bouthillier et al.: the interval excludes 1/2
    assert (gp_a["p_a_better_low"] > 0.5).all()
    assert (pw["p_a_better_low"] <= pw["p_a_better"]).all()
    assert (pw["p_a_better"] <= pw["p_a_better_high"]).all()
    assert (pw["p_adjusted"] >= pw["p_value"]).all()
    assert pw["pair"].iloc[0] == f"{pw['optimizer_a'].iloc[0]} vs {pw['optimizer_b'].iloc[0]}"


def test_pairwise_no_effect_not_rejected():
    # (over 150 such seeded tables, Holm rejected some pair in 1.3 % of them)
    s = stats.normalised_scores(stats.study_scores(make_trials(random_state=0)))
    for correction, method in (("holm", "holm"), ("bh", "fdr_bh"), ("by", "fdr_by")):
        pw = stats.pairwise_wilcoxon(s, correction=correction)
        assert not pw["reject"].any()
        assert (pw["method"] == method).all()


def test_pairwise_all_zero_differences_p_one():
    rows = [(t, o, s, 1.0 + (o == "c")) for t in "xy" for o in "abc" for s in range(3)]
    s = _scores(rows, opt=0.0)
    pw = stats.pairwise_wilcoxon(s, value="test_value").set_index(["optimizer_a", "optimizer_b"])
    assert pw.loc[("a", "b"), "p_value"] == 1.0
    assert pw.loc[("a", "b"), "p_a_better"] == 0.5
    assert pw.loc[("a", "c"), "p_a_better"] == 1.0


# ------------------------------------------------------------------------------ anytime


def test_anytime_step_function_by_hand():
    df = hand_table([0, 5, 7, 3, 4], ["failed", "complete", "complete", "complete", "pruned"])
    a = stats.anytime(df, "trials")
    assert a["x"].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(a["best"], [np.nan, 5, 5, 3, 3])
    s = stats.anytime(df, "seconds", grid=[1.0, 3.9, 4.0, 100.0])
    np.testing.assert_array_equal(s["best"], [np.nan, np.nan, 5, 3])
    assert list(a.columns)[-2:] == ["x", "best"]
    assert (a["currency"] == "trials").all()


def test_anytime_monotone_and_nan_before_first_complete():
    trials = make_trials(p_fail=0.3, random_state=5)
    curves = stats.anytime(trials, "trials")
    assert len(curves) == 3 * 4 * 5 * 10
    for (task, *_), g in curves.groupby(["task", "optimizer", "seed"]):
        b = g.sort_values("x")["best"].to_numpy()
        seen = np.isfinite(b)
        assert not np.any(~seen[np.argmax(seen) :])  # NaN only before the first value
        d = np.diff(b[seen])
        assert np.all(d <= 0) if task != "task1" else np.all(d >= 0)
    study = trials[(trials["task"] == "task0") & (trials["optimizer"] == "tpe")]
    for seed, g in study.groupby("seed"):
        first = g.loc[g["status"] == "complete", "cum_trials"].min()
        c = curves[(curves["task"] == "task0") & (curves["optimizer"] == "tpe")]
        c = c[c["seed"] == seed]
        assert c.loc[c["x"] < first, "best"].isna().all()
        assert c.loc[c["x"] >= first, "best"].notna().all()
    epochs = stats.anytime(trials, "epochs")
    assert epochs.groupby("task")["x"].nunique().eq(50).all()


def test_anytime_normalised():
    trials = make_trials()
    curves = stats.anytime(trials, "trials", normalise=True)
    assert curves["normalised"].all()
    final = curves[curves["x"] == 10]
    base = final[final["optimizer"] == "random"].groupby("task")["best"].mean()
    np.testing.assert_allclose(base, 1.0)
    assert (final["best"] >= 0).all()
    # normalised curves are non-increasing in every direction
    d = curves.sort_values("x").groupby(["task", "optimizer", "seed"])["best"].diff()
    assert (d.dropna() <= 1e-12).all()


# ------------------------------------------------------------------------ bootstrap band


def test_bootstrap_band_contains_mean_and_narrows():
    small = stats.anytime(make_trials(n_seeds=5, random_state=1), "trials")
    large = stats.anytime(make_trials(n_seeds=40, random_state=1), "trials")
    bs = stats.bootstrap_band(small, n_boot=400, random_state=0)
    bl = stats.bootstrap_band(large, n_boot=400, random_state=0)
    for b in (bs, bl):
        assert list(b.columns) == [
            "task", "optimizer", "x", "mean", "ci_low", "ci_high", "n_seeds", "direction",
            "currency", "normalised",
        ]  # fmt: skip
        ok = b["mean"].notna()
        assert (b.loc[ok, "ci_low"] <= b.loc[ok, "mean"] + 1e-12).all()
        assert (b.loc[ok, "mean"] <= b.loc[ok, "ci_high"] + 1e-12).all()
    assert (bs["n_seeds"] <= 5).all() and bl["n_seeds"].max() == 40
    width_s = (bs["ci_high"] - bs["ci_low"]).mean()
    width_l = (bl["ci_high"] - bl["ci_low"]).mean()
    assert width_l < 0.6 * width_s
    # the mean equals the plain mean over seeds
    g = small[(small["task"] == "task0") & (small["optimizer"] == "gp") & (small["x"] == 10)]
    row = bs[(bs["task"] == "task0") & (bs["optimizer"] == "gp") & (bs["x"] == 10)]
    assert row["mean"].iloc[0] == pytest.approx(g["best"].mean())
    again = stats.bootstrap_band(small, n_boot=400, random_state=0)
    pd.testing.assert_frame_equal(bs, again)


def test_bootstrap_band_fast():
    trials = make_trials(n_tasks=5, n_seeds=5, n_trials=100, random_state=2)  # 100 studies
    curves = stats.anytime(trials, "trials")
    assert curves["x"].nunique() == 100
    t0 = time.perf_counter()
    band = stats.bootstrap_band(curves, n_boot=1000)
    assert time.perf_counter() - t0 < 5.0
    assert len(band) == 5 * 4 * 100


# ------------------------------------------------- reference implementations, random tables


def _random_scores(rng: np.random.Generator, n_tasks: int, n_opt: int, n_seeds: int):
    """Continuous random test scores (no ties) in a mix of directions."""
    rows = [
        (f"t{t}", f"o{o}", s, float(rng.normal(o * 0.1, 1.0)))
        for t in range(n_tasks)
        for o in range(n_opt)
        for s in range(n_seeds)
    ]
    s = _scores(rows, opt=np.nan)
    s.loc[s["task"].isin(["t1", "t3"]), "direction"] = "maximize"
    return s


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_friedman_equals_scipy_on_random_tables(seed):
    rng = np.random.default_rng(seed)
    s = _random_scores(rng, n_tasks=4, n_opt=5, n_seeds=3)
    res = stats.friedman(s, block="task_seed")
    signed = np.where(s["direction"] == "maximize", -1.0, 1.0) * s["test_value"]
    wide = s.assign(v=signed).pivot_table(index=["task", "seed"], columns="optimizer", values="v")
    ref = sps.friedmanchisquare(*wide.to_numpy().T)
    assert abs(res.statistic - ref.statistic) < 1e-9
    assert abs(res.p_value - ref.pvalue) < 1e-9
    assert res.n_blocks == 12 and res.n_optimizers == 5


@pytest.mark.parametrize("seed", [0, 1])
def test_pairwise_wilcoxon_equals_scipy_on_random_tables(seed):
    rng = np.random.default_rng(seed)
    s = _random_scores(rng, n_tasks=3, n_opt=4, n_seeds=6)
    s["normalised"] = rng.normal(size=len(s)).round(1)  # rounding makes zeros and ties
    pw = stats.pairwise_wilcoxon(s, correction="holm", n_boot=50)
    wide = s.pivot_table(index=["task", "seed"], columns="optimizer", values="normalised")
    p_ref = []
    for row in pw.itertuples():
        d = (wide[row.optimizer_a] - wide[row.optimizer_b]).to_numpy()
        ref = sps.wilcoxon(d, zero_method="zsplit")
        assert abs(row.statistic - ref.statistic) < 1e-9
        assert abs(row.p_value - ref.pvalue) < 1e-9
        assert abs(row.mean_diff - d.mean()) < 1e-9
        p_ref.append(ref.pvalue)
    np.testing.assert_allclose(pw["p_adjusted"], multipletests(p_ref, method="holm")[1],
                               rtol=0, atol=1e-9)  # fmt: skip


@pytest.mark.parametrize("method", ["holm", "fdr_bh", "fdr_by"])
def test_corrections_equal_statsmodels_on_random_pvalues(method):
    rng = np.random.default_rng(3)
    for m in (1, 2, 7, 40):
        for _ in range(2):  # few: statsmodels' Holm runs gc.collect() on every call
            p = rng.random(m) ** 3
            if m > 2:
                p[1] = p[0]  # ties
            ref = multipletests(p, method=method)[1]
            np.testing.assert_allclose(stats.adjust_pvalues(p, method), ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_nemenyi_equals_scikit_posthocs(seed):
    sp = pytest.importorskip("scikit_posthocs")
    rng = np.random.default_rng(seed)
    s = _random_scores(rng, n_tasks=6, n_opt=4, n_seeds=2)
    nem = stats.nemenyi(s, block="task_seed")
    signed = np.where(s["direction"] == "maximize", -1.0, 1.0) * s["test_value"]
    wide = s.assign(v=signed).pivot_table(index=["task", "seed"], columns="optimizer", values="v")
    ref = sp.posthoc_nemenyi_friedman(wide.to_numpy())
    names = list(wide.columns)
    for row in nem.itertuples():
        i, j = names.index(row.optimizer_a), names.index(row.optimizer_b)
        assert abs(row.p_value - ref.iloc[i, j]) < 1e-9
    ranks = sps.rankdata(wide.to_numpy(), axis=1).mean(axis=0)
    cd = stats.cd_ranks(s, block="task_seed").set_index("optimizer")["mean_rank"]
    np.testing.assert_allclose(cd.loc[names].to_numpy(), ranks, rtol=0, atol=1e-12)


def test_nemenyi_critical_difference_demsar_table():
    # Demšar (2006), Table 5(a): q_0.05 = 1.960, 2.343, 2.569 for k = 2, 3, 4; and Sec. 3.2.2:
    # CD = 2.569 * sqrt(4 * 5 / (6 * 14)) = 1.25 for four methods on 14 data sets.
    for k, q in ((2, 1.960), (3, 2.343), (4, 2.569)):
        assert stats.nemenyi_critical_difference(k, 14)[0] == pytest.approx(q, abs=1e-3)
    assert stats.nemenyi_critical_difference(4, 14)[1] == pytest.approx(1.25, abs=5e-3)
    res = stats.friedman(stats.study_scores(make_trials(n_tasks=3)), alpha=0.05)
    q, cd = stats.nemenyi_critical_difference(4, 3)
    assert (res.nemenyi_q_alpha, res.nemenyi_cd, res.alpha) == (q, cd, 0.05)


def test_nemenyi_pair_with_large_rank_gap_rejected():
    # o0 always best, o3 always worst over 12 blocks: rank gap 3 > CD(4, 12) ≈ 1.35
    rows = [(f"t{t}", f"o{o}", 0, float(o)) for t in range(12) for o in range(4)]
    nem = stats.nemenyi(_scores(rows), block="task").set_index(["optimizer_a", "optimizer_b"])
    assert nem.loc[("o0", "o3"), "reject"]
    assert not nem.loc[("o0", "o1"), "reject"]
    cd = stats.nemenyi_critical_difference(4, 12)[1]
    assert nem.loc[("o0", "o3"), "cd"] == pytest.approx(cd)


def test_p_a_better_hand_fixture():
    # units: A < B (1), tie (1/2), A > B (0) → 1/2; all strata of one unit → CI = estimate
    wide = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 1.0], [np.nan, 0.0]])
    n, p, lo, hi = stats.pair_probabilities(wide, [(0, 1)], strata=np.arange(4), n_boot=200)[0]
    assert (n, p, lo, hi) == (3, 0.5, 0.5, 0.5)
    n, p, lo, hi = stats.pair_probabilities(wide, [(0, 1)], n_boot=2000, random_state=0)[0]
    assert p == 0.5 and 0.0 <= lo < 0.5 < hi <= 1.0
    better = np.array([[0.0, 1.0]] * 5)
    assert tuple(stats.pair_probabilities(better, [(0, 1)], n_boot=100)[0]) == (5, 1.0, 1.0, 1.0)


def test_design_power_by_hand():
    power = stats.design_power(8, 3, 0.05, 0.69)
    assert power.p_min == 2 / 256 and power.p_min_adjusted == pytest.approx(6 / 256)
    assert power.n_min == 7  # 3 · 2 / 2**7 = 0.047 <= 0.05 < 3 · 2 / 2**6
    # ((z_{1 - 0.05/6} / 2 + z_0.8 · sqrt(0.69 · 0.31)) / 0.19)² = 69.7
    assert power.n_needed == 70
    assert stats.design_power(8, 3, 0.05, 0.31).n_needed == 70  # symmetric in A and B
    assert np.isnan(stats.design_power(8, 3, 0.05, 0.5).n_needed)
    with pytest.raises(ValueError, match="0 < alpha < 1"):
        stats.design_power(8, 3, 1.5, 0.6)
