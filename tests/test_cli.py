"""The ``tunebench`` command: running a chunk of studies in one process."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from tunebench.core.matrix import StudyCell, StudyChunk

CELL = StudyCell(
    experiment="cli",
    task="branin",
    task_spec={"kind": "synthetic", "function": "branin"},
    optimizer="rs",
    optimizer_spec={"framework": "optuna", "sampler": "random"},
    budget="t5",
    budget_spec={"trials": 5},
    seed=0,
)


def _run_studies(cells: list[StudyCell], results: Path) -> subprocess.CompletedProcess:
    chunk = StudyChunk("rs.t5.0", tuple(cells))
    command = [sys.executable, "-m", "tunebench.cli", "run-studies", "--cells", chunk.to_json()]
    return subprocess.run(
        [*command, "--results", str(results)], capture_output=True, text=True, timeout=300
    )


def test_run_studies_runs_every_study_of_the_chunk(tmp_path: Path) -> None:
    cells = [CELL, replace(CELL, seed=1), replace(CELL, task="rosen", seed=0)]
    cells[2] = replace(cells[2], task_spec={"kind": "synthetic", "function": "rosenbrock"})
    run = _run_studies(cells, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    for cell in cells:
        trials = pd.read_parquet(cell.study_dir(tmp_path) / "trials.parquet")
        assert len(trials) == 5 and set(trials["seed"]) == {cell.seed}
    assert len(run.stdout.splitlines()) == 3
    assert not (tmp_path / "mlflow").exists()  # MLflow is logged after tuning, not here


def test_a_failing_study_does_not_stop_the_chunk(tmp_path: Path) -> None:
    broken = replace(CELL, seed=1, optimizer_spec={"framework": "optuna", "sampler": "nope"})
    run = _run_studies([broken, replace(CELL, seed=2)], tmp_path)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        f"tunebench run-studies: 1 of 2 studies failed: {broken.study_dir(tmp_path)}"
    )
    assert (replace(CELL, seed=2).study_dir(tmp_path) / "trials.parquet").exists()
    assert not (broken.study_dir(tmp_path) / "trials.parquet").exists()
