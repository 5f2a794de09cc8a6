"""End to end: the real Snakemake workflow on the smoke config, in a fresh directory."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from tests.helpers.workflow import (
    BIN,
    ROOT,
    checkout,
    environment,
    logged_trials,
    snakemake,
    sorted_trials,
)
from tunebench.core.config import config_hash, load_config, validate_config
from tunebench.core.matrix import chunk_cells, expand_matrix
from tunebench.core.outputs import FIGURE_FILES, STATS_FILES, SUMMARY_FILE

pytestmark = pytest.mark.xdist_group("smoke")


SMOKE = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
SMOKE_CONFIG = validate_config(load_config(ROOT / "config" / "smoke.yaml"))
N_STUDIES = len(SMOKE["tasks"]) * len(SMOKE["optimizers"]) * SMOKE["seeds"]
N_TRIALS = SMOKE["budgets"]["t6"]["trials"]


@pytest.fixture(scope="module")
def local_smoke(tmp_path_factory):
    """The smoke experiment run locally with --cores 2 and its report built after the run (as
    ``make run`` does), once for this module."""
    work = checkout(tmp_path_factory.mktemp("local"))
    run = snakemake(
        work, "--cores", "2", "--configfile", "config/smoke.yaml", "--scheduler", "greedy",
        "--report", "results/report.html", "--report-after-run",
    )  # fmt: skip
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
    logged = logged_trials(client, "smoke")  # branin's trials as steps, the others nested
    assert len(logged) == n_studies and set(logged.values()) == {n_trials}
    nested = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(nested) == len(trials[trials["task"] != "branin"])
    (analysis,) = [r for r in runs if r.data.tags.get("tunebench.role") == "analysis"]
    artifacts = {
        f.path
        for folder in ("stats", "figures")
        for f in client.list_artifacts(analysis.info.run_id, folder)
    }
    assert {"stats/pairwise.csv", "figures/anytime_trials.png"} <= artifacts
    mean_ranks = pd.read_csv(results / "stats" / "mean_ranks.csv")
    assert {f"mean_rank.{o}" for o in mean_ranks["optimizer"]} <= set(analysis.data.metrics)
    summary_text = (results / SUMMARY_FILE).read_text()
    assert analysis.data.tags["mlflow.note.content"] == summary_text
    digest = config_hash(SMOKE_CONFIG)  # what Snakemake's validated config hashes to
    assert experiment.tags["tunebench.config_hash"] == digest
    assert analysis.data.tags["tunebench.config_hash"] == digest
    assert experiment.tags["tunebench.version"] == analysis.data.tags["tunebench.version"]
    studies = [r for r in runs if r.data.tags.get("tunebench.role") == "study"]
    inputs = {r.data.tags["task"]: r.inputs.dataset_inputs for r in studies}
    assert {i.dataset.name for i in inputs["cancer-svc"]} == {"breast_cancer"}
    assert {i.dataset.name for i in inputs["digits-mlp"]} == {"digits"}
    assert inputs["branin"] == []

    after_run = (results / "report.html").read_bytes()
    assert len(after_run) > 10_000 and b"anytime_trials.png" in after_run
    (results / "report.html").unlink()
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


def test_an_unreadable_default_config_is_one_line_in_a_dry_run(tmp_path):
    work = checkout(tmp_path)
    (work / "config" / "config.yaml").write_bytes("name: café\n".encode("latin-1"))
    run = snakemake(work, "-n", timeout=120)
    assert run.returncode != 0
    assert run.stderr.splitlines() == [
        "tunebench: invalid config: config/config.yaml: cannot read the config (not UTF-8 text)"
    ]


def test_an_unreadable_configfile_fails_in_snakemake_before_the_workflow(tmp_path):
    """Snakemake reads ``--configfile`` itself (``snakemake.common.configfile.load_configfile``,
    from ``ConfigSettings`` in ``snakemake.cli.args_to_api``) before it reads the Snakefile, so
    no workflow code can shorten its traceback: the README sends the user to ``tunebench
    validate``, whose error is one line. Fails if a Snakemake release changes either."""
    work = checkout(tmp_path)
    (work / "config" / "bad.yaml").write_bytes("name: café\n".encode("latin-1"))
    run = snakemake(work, "-n", "--configfile", "config/bad.yaml", timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "UnicodeDecodeError" in output and "invalid config" not in output
    assert "snakemake/settings/types.py" in output
    validate = subprocess.run(
        [str(BIN / "tunebench"), "validate", "config/bad.yaml"],
        cwd=work,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert validate.returncode == 2
    assert validate.stderr.splitlines() == [
        "tunebench validate: error: config/bad.yaml: cannot read the config (not UTF-8 text)"
    ]


def test_workflow_lints_clean():
    run = snakemake(ROOT, "--lint", timeout=120)
    assert run.returncode == 0 and "Lints for" not in run.stdout + run.stderr


def _slurm_node_idle(wait_s: float = 60) -> bool:
    """Whether the SLURM node is idle, waiting up to ``wait_s`` for the jobs of an earlier test
    to finish (a node with no SLURM at all answers at once)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
        except FileNotFoundError:
            return False
        if done.returncode == 0 and "idle" in done.stdout.split():
            return True
        if done.returncode != 0 or time.monotonic() > deadline:
            return False
        time.sleep(1)


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
        "slurm-overlay/experiment.yaml",  # live MLflow logging, the test SLURM's memory
        env=environment(MLFLOW_TRACKING_URI=mlflow_server),
        timeout=1200,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]

    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    chunks = {f"tune_{c.name}": c for c in chunk_cells(SMOKE_CONFIG, expand_matrix(SMOKE_CONFIG))}
    tuned = {re.search(r"rule_(tune_[^/]+)", path).group(1): job for job, path in submitted
             if "rule_tune_" in path}  # fmt: skip
    assert set(tuned) == set(chunks)  # every chunk of studies went through sbatch
    assert not [j for j in re.findall(r"localrule (\S+):", log) if j.startswith("tune_")]

    for rule, job in tuned.items():  # torch studies asked SLURM for a GPU, the others did not
        shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True)
        tres = re.search(r"TresPerJob=(\S+)", shown.stdout)
        wants_gpu = bool(tres and "gpu" in tres.group(1))
        torch = chunks[rule].cells[0].task_spec["kind"] == "torch"
        assert wants_gpu == torch, (rule, shown.stdout[-500:])

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


def _study_spans(results: Path) -> list[tuple[float, float]]:
    """(started, finished) of every study, in order of start."""
    spans = []
    for path in results.glob("studies/*/*/*/*/study.json"):
        timings = json.loads(path.read_text())["timings"]
        spans.append((timings["started"], timings["finished"]))
    return sorted(spans)


@pytest.mark.slow
@pytest.mark.parametrize("cpus", [1, 2])
def test_a_slurm_job_runs_as_many_studies_at_once_as_it_has_cpus(slurm, tmp_path, cpus):
    """One tuning job of 4 studies through the real SLURM, given ``cpus_per_task`` CPUs: with
    2, its studies overlap in time; with 1, they run one after another."""
    work = checkout(tmp_path)
    shutil.copytree(Path(__file__).parent / "slurm-overlay", work / "slurm-overlay")
    experiment = {
        "name": "cpus",
        "seeds": 4,
        "tasks": {"branin": {"kind": "synthetic", "function": "branin"}},
        "optimizers": {"tpe": {"framework": "optuna", "sampler": "tpe"}},
        "budgets": {"t40": {"trials": 40}},
        "tune_resources": {"mem_mb": 1500, "runtime": 30, "cpus_per_task": cpus},
        "analysis": {"baseline": "tpe"},
    }
    (work / "cpus.yaml").write_text(yaml.safe_dump(experiment))
    run = snakemake(
        work, "--profile", "profiles/slurm", "--workflow-profile", "slurm-overlay",
        "--configfile", "cpus.yaml", "--omit-from", "analyse", timeout=600,
    )  # fmt: skip
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    assert len(re.findall(r"rule_tune_[^/]+/\d+\.log", log)) == 1  # one job, through sbatch
    spans = _study_spans(work / "results")
    assert len(spans) == 4
    overlaps = [b[0] < a[1] for a, b in itertools.pairwise(spans)]
    assert any(overlaps) == (cpus == 2), spans
