"""End to end: a slice of config/bbob.yaml (a BBOB suite, a per-dimension budget) through the real
Snakemake workflow, from tuning to the report."""

from __future__ import annotations

import json

import ioh
import pandas as pd
import pytest
import yaml

from tests.helpers.workflow import checkout, snakemake
from tunebench.core.outputs import FIGURE_FILES, STATS_FILES, SUMMARY_FILE

SLICE = {
    "suites": {"bbob-2-3": {"suite": "bbob", "functions": [1, 21], "dimensions": [2, 3]}},
    "optimizers": {
        "random": {"framework": "optuna", "sampler": "random"},
        "optuna-tpe": {"framework": "optuna", "sampler": "tpe"},
    },
    "budgets": {"d3": {"trials_per_dim": 3}},
    "seeds": 2,
    "analysis": {"n_boot": 200},
}


@pytest.mark.slow
def test_bbob_suite_slice_end_to_end(tmp_path):
    work = checkout(tmp_path)
    shipped = yaml.safe_load((work / "config" / "bbob.yaml").read_text())
    config = {**shipped, **SLICE, "name": "bbob-slice"}
    (work / "config" / "slice.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    run = snakemake(work, "--cores", "2", "--configfile", "config/slice.yaml")
    assert run.returncode == 0, run.stderr[-4000:]
    results = work / "results"
    for name in [SUMMARY_FILE, *(f"stats/{n}" for n in STATS_FILES)]:
        assert (results / name).exists(), name
    for name in FIGURE_FILES:
        assert (results / "figures" / name).stat().st_size > 5_000, name

    trials = pd.read_parquet(results / "trials.parquet")
    tasks = ["bbob-f1-d2-i0", "bbob-f21-d2-i0", "bbob-f1-d3-i0", "bbob-f21-d3-i0"]
    assert sorted(trials["task"].unique()) == sorted(tasks)
    per_study = trials.groupby(["task", "optimizer", "seed"]).size()
    assert len(per_study) == 4 * 2 * 2
    for task, n in per_study.groupby(level="task").first().items():  # 3 trials per dimension
        assert n == 3 * int(task.split("-d")[1].split("-")[0])

    scores = pd.read_csv(results / "stats" / "scores.csv")
    assert len(scores) == 16
    for row in scores.itertuples():
        f, d, i = (int(part[1:]) for part in row.task.split("-")[1:])
        optimum = ioh.get_problem(f, i, d, problem_class=ioh.ProblemClass.BBOB).optimum.y
        assert row.known_optimum == optimum
        assert row.regret == pytest.approx(row.test_value - optimum) and row.regret >= 0

    study = json.loads(
        next(results.glob("studies/bbob-f21-d3-i0/*/d3/seed0/study.json")).read_text()
    )
    assert study["cell"]["budget_spec"] == {"trials_per_dim": 3}
    assert study["results"]["n_trials"] == 9
