"""Many writers, one MLflow store: 8 concurrent studies × 25 trials, nothing lost or doubled.

Each study is its own ``tunebench run-study`` process, as Snakemake runs them. They write to
(a) the default embedded SQLite store and (b) a tracking server started by
``scripts/mlflow-server.sh`` on 127.0.0.1. Counted back through the MLflow client: 8 parent runs,
200 child runs, each (study, trial) exactly once, with the value the study's own table holds.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.helpers.workflow import ROOT, environment
from tunebench.core.matrix import StudyCell
from tunebench.harness.tracking import TrackingTarget, default_tracking_uri, init_experiment

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]

N_STUDIES, N_TRIALS = 8, 25
OPTIMIZERS = {
    "optuna-tpe": {"framework": "optuna", "sampler": "tpe"},
    "optuna-random": {"framework": "optuna", "sampler": "random"},
    "hyperopt-tpe": {"framework": "hyperopt", "algo": "tpe"},
    "hyperopt-random": {"framework": "hyperopt", "algo": "random"},
}


def _cells() -> list[StudyCell]:
    """8 studies of branin: 4 optimizers × 2 seeds."""
    return [
        StudyCell(
            experiment="concurrency",
            task="branin",
            task_spec={"kind": "synthetic", "function": "branin"},
            optimizer=name,
            optimizer_spec=spec,
            budget=f"t{N_TRIALS}",
            budget_spec={"trials": N_TRIALS},
            seed=seed,
        )
        for name, spec in OPTIMIZERS.items()
        for seed in (0, 1)
    ]


def _run_concurrently(target: TrackingTarget, tmp: Path) -> dict[str, Path]:
    """Start all studies at once; returns study label -> study directory."""
    handoff = tmp / "experiment.json"
    target.write(handoff)
    procs = {}
    for i, cell in enumerate(_cells()):
        out, log = tmp / f"study{i}", (tmp / f"study{i}.log").open("w")
        command = [sys.executable, "-m", "tunebench.cli", "run-study", "--cell", cell.to_json()]
        command += ["--out", str(out), "--mlflow", str(handoff)]
        label = f"{cell.task}/{cell.optimizer}/{cell.budget}/seed{cell.seed}"
        procs[label] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), out)
    for proc, out in procs.values():
        assert proc.wait(timeout=240) == 0, (tmp / f"{out.name}.log").read_text()[-3000:]
    return {label: out for label, (_, out) in procs.items()}


def _assert_nothing_lost_or_doubled(target: TrackingTarget, studies: dict[str, Path]) -> None:
    client = MlflowClient(target.tracking_uri)
    runs = client.search_runs([target.experiment_id], max_results=5000)
    parents = {r.info.run_id: r for r in runs if r.data.tags.get("tunebench.role") == "study"}
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == N_STUDIES
    assert len(children) == N_STUDIES * N_TRIALS
    assert len(runs) == len(parents) + len(children)  # no stray or half-made runs
    assert sorted(r.info.run_name for r in parents.values()) == sorted(studies)
    assert all(r.info.status == "FINISHED" for r in runs)

    keys = Counter(
        (r.data.tags["mlflow.parentRunId"], int(r.data.tags["trial"])) for r in children
    )
    assert max(keys.values()) == 1  # no (study, trial) twice
    for run_id, parent in parents.items():
        assert {t for p, t in keys if p == run_id} == set(range(N_TRIALS))  # none missing
        assert parent.data.metrics["n_trials"] == N_TRIALS
        table = pd.read_parquet(studies[parent.info.run_name] / "trials.parquet")
        assert len(table) == N_TRIALS
        logged = {
            int(r.data.tags["trial"]): r.data.metrics["value"]
            for r in children
            if r.data.tags["mlflow.parentRunId"] == run_id
        }
        assert [logged[t] for t in table["trial"]] == pytest.approx(table["value"].tolist())


def test_concurrent_studies_on_the_embedded_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = default_tracking_uri(tmp_path / "results")
    assert uri.startswith("sqlite:///")
    target = init_experiment("concurrency", uri, tmp_path / "results" / "mlflow" / "artifacts")
    _assert_nothing_lost_or_doubled(target, _run_concurrently(target, tmp_path))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def tracking_server(tmp_path):
    """``scripts/mlflow-server.sh`` on a free port of 127.0.0.1; stopped (whole group) after."""
    script, store, port = ROOT / "scripts" / "mlflow-server.sh", tmp_path / "server", _free_port()
    run = {"env": environment(), "capture_output": True, "text": True}
    up = subprocess.run([str(script), "start", str(store), str(port)], timeout=240, **run)
    try:
        assert up.returncode == 0, up.stderr + (store / "server.log").read_text()[-2000:]
        yield f"http://127.0.0.1:{port}", store
    finally:
        down = subprocess.run([str(script), "stop", str(store)], timeout=120, **run)
        assert down.returncode == 0, down.stderr


def _listening_on(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of the sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_concurrent_studies_on_a_tracking_server(tracking_server, tmp_path):
    uri, _ = tracking_server
    if Path("/proc/net/tcp").exists():
        assert _listening_on(int(uri.rsplit(":", 1)[1])) == {"0100007F"}  # 127.0.0.1 only
    target = init_experiment("concurrency", uri)
    _assert_nothing_lost_or_doubled(target, _run_concurrently(target, tmp_path / "studies"))
