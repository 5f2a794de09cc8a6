"""End to end with every framework: config/frameworks-smoke.yaml (one algorithm of each) through
the real Snakemake workflow lands in one trial table, in MLflow and in the comparison."""

from __future__ import annotations

import copy
import json
import os

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from tests.helpers.workflow import ROOT, checkout, logged_trials, snakemake
from tunebench.core.tables import TRIAL_COLUMNS
from tunebench.frameworks import FRAMEWORKS, framework_status

pytestmark = pytest.mark.xdist_group("frameworks-smoke")

CONFIG = yaml.safe_load((ROOT / "config" / "frameworks-smoke.yaml").read_text())


@pytest.mark.slow
def test_every_framework_runs_end_to_end(tmp_path):
    installed = {name for name in FRAMEWORKS if framework_status(name)[0]}
    config = copy.deepcopy(CONFIG)
    configured = {spec["framework"] for spec in config["optimizers"].values()}
    assert configured == set(FRAMEWORKS)  # one entry per framework
    work = checkout(tmp_path)
    left_out = ""
    if "autopytorch" not in installed:  # its own venv: make install-autopytorch
        left_out = f"Auto-PyTorch is {framework_status('autopytorch')[1]}"
        if os.environ.get("TUNEBENCH_REQUIRE_AUTOPYTORCH") == "1":
            pytest.fail(f"TUNEBENCH_REQUIRE_AUTOPYTORCH=1 but {left_out}")
        del config["optimizers"]["autopytorch"]
        configured.remove("autopytorch")
        (work / "config" / "frameworks-smoke.yaml").write_text(yaml.safe_dump(config))
    assert configured <= installed, "make install installs every framework"

    run = snakemake(
        work, "--cores", "2", "--configfile", "config/frameworks-smoke.yaml", timeout=1800
    )
    assert run.returncode == 0, run.stderr[-4000:]
    results = work / "results"

    n_trials = config["budgets"]["t5"]["trials"]
    n_tasks = {  # Auto-PyTorch runs on the scikit-learn task only
        name: len(spec.get("tasks", config["tasks"])) * config["seeds"]
        for name, spec in config["optimizers"].items()
    }
    n_studies = sum(n_tasks.values())
    studies = sorted(results.glob("studies/*/*/*/seed*/trials.parquet"))
    assert len(studies) == n_studies
    for path in studies:  # identical columns, the budget spent, whichever framework ran it
        table = pd.read_parquet(path)
        assert list(table.columns) == list(TRIAL_COLUMNS), path
        assert len(table) == n_trials, path
    trials = pd.read_parquet(results / "trials.parquet")
    assert set(trials["framework"]) == configured
    assert set(trials["status"]) <= {"complete", "pruned", "failed"}
    sgd = trials[(trials["task"] == "cancer-sgd") & (trials["status"] != "failed")]
    assert (sgd["epochs"] > 0).all() and sgd["cum_epochs"].notna().all()

    client = MlflowClient(f"sqlite:///{results / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(config["name"])
    runs = client.search_runs([experiment.experiment_id], max_results=10000)
    parents = [r for r in runs if r.data.tags.get("tunebench.role") == "study"]
    logged = logged_trials(client, config["name"])  # nested or steps, by task kind
    assert len(parents) == len(logged) == n_studies and set(logged.values()) == {n_trials}
    assert {r.data.tags["framework"] for r in parents} == configured
    per_optimizer = pd.Series([r.data.tags["optimizer"] for r in parents]).value_counts()
    assert per_optimizer.to_dict() == n_tasks

    optimizers = set(config["optimizers"])
    for table in ("scores", "aggregates", "anytime", "cost"):
        frame = pd.read_csv(results / "stats" / f"{table}.csv")
        assert set(frame["optimizer"]) == optimizers, table  # the figures draw these tables
    # an optimizer limited to some tasks (Auto-PyTorch: the scikit-learn one) is left out of
    # the ranks, which need every optimizer in every block
    family = json.loads((results / "stats" / "family.json").read_text())
    limited = {name for name, spec in config["optimizers"].items() if "tasks" in spec}
    assert set(family["restricted"]) == limited
    ranked = set(pd.read_csv(results / "stats" / "mean_ranks.csv")["optimizer"])
    assert ranked == optimizers - limited
    pairwise = pd.read_csv(results / "stats" / "pairwise.csv")
    assert len(pairwise) == len(optimizers) * (len(optimizers) - 1) // 2
    for name in ("aggregates.png", "ranks.png", "anytime_trials.png", "cost.png"):
        assert (results / "figures" / name).stat().st_size > 5_000, name
    if left_out:
        pytest.skip(f"ran every framework but Auto-PyTorch: {left_out}")
