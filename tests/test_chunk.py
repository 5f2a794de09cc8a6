"""How many studies a tuning job runs at once (``tunebench.chunk``)."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from tests.helpers.studies import branin_cell
from tunebench import chunk
from tunebench.chunk import available_cpus, running_at_once

CELL = branin_cell("chunk")


@pytest.mark.parametrize(
    ("n_cells", "threads", "cpus", "study_threads", "expected"),
    [
        (15, 1, 8, 1, 1),  # --cores 1: one after another
        (15, 2, 8, 1, 2),
        (15, 8, 2, 1, 2),  # no more than the CPUs the job may use
        (3, 8, 8, 1, 3),  # no more than the studies
        (15, 8, 8, 2, 4),  # each study its threads
        (15, 3, 8, 2, 1),
        (15, 1, 8, 4, 1),  # fewer threads than one study asks for: still one
    ],
)
def test_studies_at_once_fit_the_threads_the_cpus_and_the_chunk(
    monkeypatch, n_cells, threads, cpus, study_threads, expected
) -> None:
    monkeypatch.setattr(chunk, "available_cpus", lambda: cpus)
    cells = [replace(CELL, seed=s, threads=study_threads) for s in range(n_cells)]
    assert running_at_once(cells, threads) == expected


def test_an_optimizers_workers_are_a_studys_threads(monkeypatch) -> None:
    monkeypatch.setattr(chunk, "available_cpus", lambda: 8)
    spec = {"framework": "optuna", "sampler": "tpe", "workers": 4}
    cells = [replace(CELL, seed=s, optimizer_spec=spec) for s in range(4)]
    assert running_at_once(cells, 8) == 2


def test_slurms_allocation_caps_the_cpus(monkeypatch) -> None:
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    machine = available_cpus()
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert available_cpus() == 1
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "not a number")
    assert available_cpus() == machine


def test_each_study_gets_its_own_threads_whatever_the_job_got(monkeypatch, tmp_path) -> None:
    seen = []
    monkeypatch.setattr(chunk, "_run_one", lambda *_: seen.append(os.environ["OMP_NUM_THREADS"]))
    monkeypatch.setenv("OMP_NUM_THREADS", "8")  # what Snakemake sets: the job's threads
    for name in chunk.THREAD_VARIABLES[1:]:
        monkeypatch.setenv(name, "8")
    cells = [replace(CELL, seed=s, threads=2) for s in range(3)]
    assert chunk.run_chunk(cells, tmp_path, threads=1) == []
    assert seen == ["2", "2", "2"]
    assert {os.environ[name] for name in chunk.THREAD_VARIABLES} == {"2"}
