"""End to end: two Bayesmark problems through the real Snakemake workflow."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from tests.helpers.workflow import checkout, snakemake

CONFIG = {
    "name": "bayesmark-e2e",
    "seeds": 2,
    "tasks": {
        "kNN_iris_acc": {"kind": "bayesmark", "model": "kNN", "dataset": "iris", "metric": "acc"},
        "linear_diabetes_mse": {
            "kind": "bayesmark",
            "model": "linear",
            "dataset": "diabetes",
            "metric": "mse",
        },
    },
    "optimizers": {
        "random": {"framework": "optuna", "sampler": "random"},
        "optuna-tpe": {"framework": "optuna", "sampler": "tpe"},
    },
    "budgets": {"t4": {"trials": 4}},
    "analysis": {"n_boot": 100},
}


@pytest.mark.slow
def test_bayesmark_tasks_run_through_the_workflow(tmp_path):
    work = checkout(tmp_path)
    (work / "config" / "bm.yaml").write_text(yaml.safe_dump(CONFIG))
    run = snakemake(work, "results/summary.md", "--cores", "2", "--configfile", "config/bm.yaml")
    assert run.returncode == 0, run.stderr[-4000:]
    results = work / "results"

    trials = pd.read_parquet(results / "trials.parquet")
    assert len(trials) == 2 * 2 * 2 * 4 and set(trials["status"]) == {"complete"}
    knn = trials[trials["task"] == "kNN_iris_acc"]
    linear = trials[trials["task"] == "linear_diabetes_mse"]
    assert set(knn["direction"]) == {"maximize"} and knn["value"].between(0.3, 1).all()
    assert set(linear["direction"]) == {"minimize"} and (linear["value"] > 1000).all()
    assert set(trials["metric"]) == {"acc", "mse"}

    scores = pd.read_csv(results / "stats" / "scores.csv")
    assert len(scores) == 8 and scores["test_value"].notna().all()
    bayesmark = pd.read_csv(results / "stats" / "bayesmark.csv")
    assert set(bayesmark["task"]) == set(CONFIG["tasks"])
    assert sorted(set(bayesmark["t"])) == [1, 2, 3, 4]
    summary = pd.read_csv(results / "stats" / "bayesmark_summary.csv")
    random = summary[summary["optimizer"] == "random"]
    assert random["normalised_mean_score"].dropna().eq(1.0).all()
    validation = summary[summary["objective"] == "validation"]
    assert (validation["n_tasks"] == 2).all() and validation["mean_score"].between(0, 1).all()
