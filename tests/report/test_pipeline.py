"""Tests of tunebench.report: the files compare writes, the figures plot writes, the summary."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.helpers.trials import make_trials
from tunebench import report, stats
from tunebench.core import outputs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _trials() -> pd.DataFrame:
    main = make_trials(effect={"gp": 20.0}, n_seeds=6)
    u = np.random.default_rng(0).random((len(main), 2))
    main["params"] = [json.dumps({"a": float(a), "b": float(b)}) for a, b in u]
    # a second budget (ignored by the optimizer comparison, used by the model comparison)
    return pd.concat([main, make_trials(budget="t20", n_trials=20)], ignore_index=True)


@pytest.fixture(scope="module")
def stats_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("stats")
    written = report.compare(
        _trials(), out, budget="t10", n_boot=200, comparisons={"ds": ["task0", "task2"]}
    )
    return out, written


@pytest.fixture(scope="module")
def fig_dir(stats_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    return out, report.plot(stats_dir[0], out, jobs=2)  # exercises the worker processes


def test_compare_writes_all_files(stats_dir):
    out, written = stats_dir
    assert list(written) == [outputs.stem(n) for n in outputs.STATS_FILES]
    for path in written.values():
        assert path.parent == out and path.stat().st_size > 0
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 72 and (scores["budget"] == "t10").all()
    for col in ("test_value", "regret", "normalised", "normaliser", "cum_seconds"):
        assert col in scores.columns
    assert list(pd.read_csv(out / "ranks.csv").columns) == [
        "budget", "task", "seed", "optimizer", "test_value", "rank",
    ]  # fmt: skip
    omnibus = pd.read_csv(out / "omnibus.csv")
    assert len(omnibus) == 1 and omnibus["n_blocks"].iloc[0] == 3
    assert omnibus["nemenyi_cd"].iloc[0] == pytest.approx(
        stats.nemenyi_critical_difference(4, 3)[1]
    )
    pw = pd.read_csv(out / "pairwise.csv")
    assert len(pw) == 6 and list(pw.columns) == list(stats.PAIRWISE_COLUMNS)
    assert pw.loc[pw["pair"].str.contains("gp"), "reject"].all()
    agg = pd.read_csv(out / "aggregates.csv")
    assert set(agg["aggregate"]) == {"median", "iqm", "mean"} and len(agg) == 12
    band = pd.read_csv(out / "anytime.csv")
    assert set(band["currency"]) == {"trials", "epochs", "seconds"}
    assert {"task", "optimizer", "x", "mean", "ci_low", "ci_high"} <= set(band.columns)
    br = pd.read_csv(out / "budget_ranks.csv")
    assert sorted(br["fraction"].unique()) == [0.25, 0.5, 1.0]
    density = pd.read_csv(out / "density.csv")
    assert len(density) == 72 and density["normalised"].notna().all()
    assert (density["dim"] == 2).all() and density["discrepancy_rel"].notna().all()
    base = density[density["optimizer"] == "random"].groupby("task")["discrepancy_rel"].mean()
    np.testing.assert_allclose(base, 1.0)
    models = pd.read_csv(out / "models.csv")
    assert set(models["budget"]) == {"t10", "t20"}  # all budgets of the table
    family = json.loads((out / "family.json").read_text())
    assert family["budget"] == "t10" and family["n_pairs"] == 6
    assert family["seeds"] == list(range(6)) and family["correction"] == "holm"
    assert family["alpha"] == 0.05 and len(family["pairs"]) == 6
    assert family["comparisons"] == {"ds": ["task0", "task2"]}
    assert len(family["model_comparison"]) == 2 * 4 * 3  # budgets × optimizers × fractions


def test_compare_without_comparisons_writes_headers_only(tmp_path):
    written = report.compare(make_trials(n_tasks=2, n_seeds=3), tmp_path, n_boot=20)
    for name in ("models", "model_pairwise", "model_expected_max"):
        table = pd.read_csv(written[name])
        assert table.empty and len(table.columns) > 5


def test_compare_budget_errors(tmp_path):
    trials = pd.concat([make_trials(n_tasks=1), make_trials(n_tasks=1, budget="t20")])
    with pytest.raises(ValueError, match=r"t10.*t20"):
        report.compare(trials, tmp_path)
    with pytest.raises(ValueError, match="budgets present"):
        report.compare(trials, tmp_path, budget="t99")
    with pytest.raises(ValueError, match="correction"):
        report.compare(trials, tmp_path, budget="t10", correction="bonferroni")
    with pytest.raises(ValueError, match=r"comparisons\.g"):
        report.compare(trials, tmp_path, budget="t10", comparisons={"g": ["task0"]})


@pytest.mark.parametrize(("currency", "limit"), [("epochs", 12), ("seconds", 6.0), ("trials", 4)])
def test_compare_at_a_spend_in_any_currency(currency, limit, tmp_path):
    trials = make_trials(n_tasks=2, n_seeds=3)
    written = report.compare(trials, tmp_path, n_boot=20, at=(currency, limit))
    family = json.loads(written["family"].read_text())
    assert family["budget"] == f"t10 at {currency}={limit:g}"
    assert family["slice"] == {"currency": currency, "limit": limit}
    sliced = report.slice_at(trials, currency, limit)
    assert (sliced[f"cum_{currency}"] <= limit).all()
    assert len(sliced) < len(trials)
    expected = stats.study_scores(sliced).set_index(["task", "optimizer", "seed"])["test_value"]
    scores = pd.read_csv(written["scores"]).set_index(["task", "optimizer", "seed"])
    assert np.allclose(scores["test_value"], expected.reindex(scores.index), equal_nan=True)
    whole = stats.study_scores(trials).set_index(["task", "optimizer", "seed"])["test_value"]
    assert not np.allclose(scores["test_value"], whole.reindex(scores.index), equal_nan=True)


def test_compare_at_rejects_bad_slices(tmp_path):
    trials = make_trials(n_tasks=1, n_seeds=2)
    with pytest.raises(ValueError, match="currency must be one of"):
        report.compare(trials, tmp_path, at=("hours", 2))
    with pytest.raises(ValueError, match=r"no study of budget 't10' spent within seconds=0\.01"):
        report.compare(trials, tmp_path, at=("seconds", 0.01))


def test_plot_writes_every_figure(fig_dir):
    out, figs = fig_dir
    assert list(figs) == [outputs.stem(n) for n in outputs.FIGURE_FILES]
    for name, path in figs.items():
        data = path.read_bytes()
        assert path.parent == out and data.startswith(PNG_MAGIC), name
        assert len(data) > 8_000, name


def test_the_figure_workers_draw_what_one_process_draws(stats_dir, fig_dir, tmp_path):
    alone = report.plot(stats_dir[0], tmp_path, jobs=1)
    shared = fig_dir[1]
    different = [k for k, path in alone.items() if path.read_bytes() != shared[k].read_bytes()]
    assert not different


def test_summary_reads_like_an_appendix(stats_dir, tmp_path):
    out, _ = stats_dir
    path = report.summarise(out, tmp_path / "summary.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Summary: optimizers at budget t10\n\n**Verdict:** at budget t10")
    verdict = text.splitlines()[2]
    # gp is planted best: the verdict names it against every other optimizer, first
    assert "**gp** is better than cmaes, random, tpe" in verdict
    ranks = pd.read_csv(out / "mean_ranks.csv").sort_values(["mean_rank", "optimizer"])
    assert "| task | " + " | ".join(ranks["optimizer"]) + " |" in text  # by mean rank
    assert text.splitlines()[4 + 0].startswith("4 optimizers tuned")
    assert "**Power:** with n = 18 paired (task, seed) units" in text
    assert "| mean rank (1 = best) |" in text
    assert "Friedman test over 3 tasks" in text and "Nemenyi critical difference" in text
    # gp is planted best: each of its pairs is a sentence naming the test and the correction
    assert text.count("**gp** achieved better normalised test scores than") == 3
    assert "Holm-adjusted p" in text and "P(gp better than" in text
    assert "## Model comparison" in text


def test_summary_states_which_normaliser_defined_one(stats_dir, tmp_path):
    out, _ = stats_dir
    family = json.loads((out / "family.json").read_text())
    assert family["normalisers"] == ["baseline=random"]
    text = report.summarise(out, tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "1 = mean of the random baseline;" in text

    absent = tmp_path / "absent"
    report.compare(_trials(), absent, budget="t10", n_boot=20, baseline="sobol")
    family = json.loads((absent / "family.json").read_text())
    assert all(n.startswith("worst-mean=") for n in family["normalisers"])
    text = report.summarise(absent, tmp_path / "absent.md").read_text(encoding="utf-8")
    assert "1 = mean of the worst optimizer on each task where the sobol baseline did not" in text


def test_an_optimizer_limited_to_some_tasks_is_left_out_of_the_ranks(tmp_path):
    trials = make_trials(effect={"gp": 20.0}, n_seeds=6)
    limited = trials[(trials["optimizer"] != "gp") | (trials["task"] == "task0")]
    report.compare(limited, tmp_path, budget="t10", n_boot=50)
    family = json.loads((tmp_path / "family.json").read_text())
    assert family["restricted"] == {"gp": ["task1", "task2"]}
    for name in ("ranks.csv", "mean_ranks.csv", "cd_ranks.csv", "budget_ranks.csv"):
        assert "gp" not in set(pd.read_csv(tmp_path / name)["optimizer"]), name
    omnibus = pd.read_csv(tmp_path / "omnibus.csv").iloc[0]
    assert omnibus["n_optimizers"] == trials["optimizer"].nunique() - 1
    pairwise = pd.read_csv(tmp_path / "pairwise.csv")
    with_gp = pairwise[(pairwise["optimizer_a"] == "gp") | (pairwise["optimizer_b"] == "gp")]
    assert len(with_gp) and (with_gp["n"] == 6).all()  # task0's six seeds, shared with gp
    text = report.summarise(tmp_path, tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "**Limited optimizers:** gp has no study on 2 of the 3 tasks." in text
