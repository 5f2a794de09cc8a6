"""End to end: the real Snakemake workflow on the smoke config, in a fresh directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from tests.helpers.workflow import ROOT, checkout, environment, snakemake, sorted_trials
from tunebench.core.outputs import FIGURE_FILES, STATS_FILES, SUMMARY_FILE

pytestmark = pytest.mark.xdist_group("smoke")


SMOKE = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
N_STUDIES = len(SMOKE["tasks"]) * len(SMOKE["optimizers"]) * SMOKE["seeds"]
N_TRIALS = SMOKE["budgets"]["t6"]["trials"]


@pytest.fixture(scope="module")
def local_smoke(tmp_path_factory):
    """The smoke experiment run locally with --cores 2, once for this module."""
    work = checkout(tmp_path_factory.mktemp("local"))
    run = snakemake(
        work, "--cores", "2", "--configfile", "config/smoke.yaml", "--scheduler", "greedy"
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return work


@pytest.mark.slow
def test_smoke_workflow_end_to_end(local_smoke):
    work = local_smoke
    n_studies, n_trials = N_STUDIES, N_TRIALS

    results = work / "results"
    expected = ["trials.parquet", "curves.parquet", SUMMARY_FILE]
    expected += [f"stats/{name}" for name in STATS_FILES]
    expected += [f"figures/{name}" for name in FIGURE_FILES]
    for name in expected:
        assert (results / name).exists(), name
    for name in FIGURE_FILES:
        assert (results / "figures" / name).stat().st_size > 5_000, name
    models = pd.read_csv(results / "stats" / "models.csv")
    assert set(models["model"]) == {"digits-mlp", "digits-svc"}

    trials = pd.read_parquet(results / "trials.parquet")
    assert len(trials) == n_studies * n_trials
    per_study = trials.groupby(["task", "optimizer", "seed"]).size()
    assert len(per_study) == n_studies and set(per_study) == {n_trials}
    assert set(trials["status"]) <= {"complete", "pruned", "failed"}
    curves = pd.read_parquet(results / "curves.parquet")
    mlp = trials[trials["task"] == "digits-mlp"]
    assert len(curves[curves["task"] == "digits-mlp"]) == mlp["epochs"].sum() > 0

    scores = pd.read_csv(results / "stats" / "scores.csv")
    assert len(scores) == n_studies and scores["test_value"].notna().all()
    pairwise = pd.read_csv(results / "stats" / "pairwise.csv")
    assert len(pairwise) == 3 and set(pairwise["method"]) == {"holm"}

    study = json.loads(next(results.glob("studies/*/*/*/seed0/study.json")).read_text())
    assert study["versions"]["mlflow"] and "commit" in study["git"] and study["host"]

    client = MlflowClient(f"sqlite:///{results / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("smoke")
    runs = client.search_runs([experiment.experiment_id], max_results=10000)
    parents = [r for r in runs if r.data.tags.get("tunebench.role") == "study"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == n_studies
    assert len(children) == n_studies * n_trials
    (analysis,) = [r for r in runs if r.data.tags.get("tunebench.role") == "analysis"]
    logged = {
        f.path
        for folder in ("stats", "figures")
        for f in client.list_artifacts(analysis.info.run_id, folder)
    }
    assert {"stats/pairwise.csv", "figures/anytime_trials.png"} <= logged

    report = snakemake(
        work, "--configfile", "config/smoke.yaml", "--report", "results/report.html"
    )
    assert report.returncode == 0, report.stderr[-3000:]
    assert (results / "report.html").stat().st_size > 10_000

    again = snakemake(work, "-n", "--configfile", "config/smoke.yaml")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_bad_config_stops_the_workflow_before_any_job(tmp_path):
    work = checkout(tmp_path)
    bad = yaml.safe_load((work / "config" / "smoke.yaml").read_text())
    bad["tasks"]["branin"]["space"] = {"x0": {"type": "float", "low": 3.0, "high": 1.0}}
    (work / "config" / "bad.yaml").write_text(yaml.safe_dump(bad))
    run = snakemake(work, "--cores", "1", "--configfile", "config/bad.yaml", timeout=120)
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if "invalid config" in line]
    assert lines == [
        "tunebench: invalid config: tasks.branin.space.x0: low=3.0 must be < high=1.0"
    ]
    assert not (work / "results").exists()


def test_workflow_lints_clean():
    run = snakemake(ROOT, "--lint", timeout=120)
    assert run.returncode == 0 and "Lints for" not in run.stdout + run.stderr


def _slurm_node_idle() -> bool:
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    except FileNotFoundError:
        return False
    return done.returncode == 0 and "idle" in done.stdout.split()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def slurm():
    """A running SLURM (scripts/ci/slurm-up.sh); required where TUNEBENCH_REQUIRE_SLURM=1."""
    if not _slurm_node_idle():
        if os.environ.get("TUNEBENCH_REQUIRE_SLURM") == "1":
            pytest.fail("TUNEBENCH_REQUIRE_SLURM=1 but no idle SLURM node: scripts/ci/slurm-up.sh")
        pytest.skip("no SLURM node here (scripts/ci/slurm-up.sh starts one; CI does)")


@pytest.fixture
def mlflow_server(tmp_path):
    """An MLflow tracking server on 127.0.0.1 (scripts/mlflow-server.sh)."""
    script, store, port = ROOT / "scripts" / "mlflow-server.sh", tmp_path / "server", _free_port()
    up = subprocess.run(
        [str(script), "start", str(store), str(port)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert up.returncode == 0, up.stderr
    yield f"http://127.0.0.1:{port}"
    subprocess.run([str(script), "stop", str(store)], env=environment(), timeout=60)


@pytest.mark.slow
def test_smoke_workflow_through_slurm(slurm, mlflow_server, local_smoke, tmp_path):
    work = checkout(tmp_path / "slurm")
    shutil.copytree(Path(__file__).parent / "slurm-overlay", work / "slurm-overlay")
    run = snakemake(
        work,
        "--profile",
        "profiles/slurm",
        "--workflow-profile",
        "slurm-overlay",
        "--configfile",
        "config/smoke.yaml",
        env=environment(MLFLOW_TRACKING_URI=mlflow_server),
        timeout=1200,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]

    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    studies = [(job, path) for job, path in submitted if "rule_tune_study" in path]
    assert len({path.rsplit("/", 2)[-2] for _, path in studies}) == N_STUDIES
    local_jobs = re.findall(r"localrule (\w+)", log)
    assert "tune_study" not in local_jobs  # every study went through sbatch

    for job, path in studies:  # torch studies asked SLURM for a GPU, the others did not
        shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True)
        tres = re.search(r"TresPerJob=(\S+)", shown.stdout)
        wants_gpu = bool(tres and "gpu" in tres.group(1))
        assert wants_gpu == ("digits-mlp" in path), (path, shown.stdout[-500:])

    columns = ["task", "optimizer", "seed", "trial", "status", "params", "epochs"]
    ours = sorted_trials(work / "results")
    theirs = sorted_trials(local_smoke / "results")
    pd.testing.assert_frame_equal(ours[columns], theirs[columns])
    assert ours["value"].tolist() == pytest.approx(theirs["value"].tolist())

    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("smoke")
    runs = client.search_runs([experiment.experiment_id], max_results=10000)
    assert sum(r.data.tags.get("tunebench.role") == "study" for r in runs) == N_STUDIES
    assert sum("mlflow.parentRunId" in r.data.tags for r in runs) == N_STUDIES * N_TRIALS
    assert not (work / "results" / "mlflow" / "mlflow.db").exists()
