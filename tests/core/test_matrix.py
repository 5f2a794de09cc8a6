"""Tests of the experiment matrix and of its chunks (the studies one tuning job runs)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tunebench.core.config import validate_config
from tunebench.core.matrix import (
    AUTO_STUDIES_PER_JOB,
    OWN_PROCESSES,
    StudyChunk,
    chunk_cells,
    expand_matrix,
    group_chunks,
    studies_at_once,
    study_threads,
)


def _config(seeds: int, studies_per_job: object = "auto") -> dict:
    return validate_config(
        {
            "seeds": seeds,
            "studies_per_job": studies_per_job,
            "tasks": {
                "branin": {"kind": "synthetic", "function": "branin"},
                "rosen": {"kind": "synthetic", "function": "rosenbrock"},
                "mlp": {"kind": "torch", "model": "mlp", "dataset": "digits", "max_epochs": 2},
                "svc": {"kind": "sklearn", "model": "svc", "dataset": "breast_cancer"},
            },
            "optimizers": {
                "tpe": {"framework": "optuna", "sampler": "tpe"},
                "rs": {"framework": "optuna", "sampler": "random"},
            },
            "budgets": {"t10": {"trials": 10}, "t20": {"trials": 20}},
        }
    )


def test_every_study_in_exactly_one_chunk_of_one_optimizer_budget_and_kind() -> None:
    config = _config(seeds=5)
    cells = expand_matrix(config)
    chunks = chunk_cells(config, cells)
    flat = [cell for chunk in chunks for cell in chunk.cells]
    assert sorted(map(repr, flat)) == sorted(map(repr, cells))
    assert len({chunk.name for chunk in chunks}) == len(chunks)
    for chunk in chunks:
        assert len({(c.optimizer, c.budget, c.task_spec["kind"]) for c in chunk.cells}) == 1


def test_auto_runs_torch_alone_and_cheap_studies_together() -> None:
    config = _config(seeds=5)
    chunks = chunk_cells(config, expand_matrix(config))
    sizes = {}
    for chunk in chunks:
        sizes.setdefault(chunk.cells[0].task_spec["kind"], set()).add(len(chunk.cells))
    assert sizes["torch"] == {AUTO_STUDIES_PER_JOB["torch"]}
    assert sizes["synthetic"] == {10}  # branin and rosen × 5 seeds: one job per optimizer, budget
    assert sizes["sklearn"] == {5}


@pytest.mark.parametrize(("n", "per_job", "expected"), [(20, 16, [10, 10]), (33, 16, [11] * 3)])
def test_chunks_are_split_evenly(n: int, per_job: int, expected: list[int]) -> None:
    config = _config(seeds=n, studies_per_job=per_job)
    config["tasks"] = {"branin": config["tasks"]["branin"]}
    config["optimizers"] = {"tpe": config["optimizers"]["tpe"]}
    config["budgets"] = {"t10": config["budgets"]["t10"]}
    chunks = chunk_cells(config, expand_matrix(config))
    assert [len(c.cells) for c in chunks] == expected
    assert [c.name for c in chunks] == [f"tpe.t10.{k}" for k in range(len(expected))]
    assert [c.seed for chunk in chunks for c in chunk.cells] == list(range(n))


def test_chunking_depends_on_the_config_only() -> None:
    config = _config(seeds=3, studies_per_job=2)
    first = chunk_cells(config, expand_matrix(config))
    again = chunk_cells(_config(seeds=3, studies_per_job=2), expand_matrix(config))
    assert first == again
    assert all(len(c.cells) <= 2 for c in first)


def test_chunk_json_round_trip() -> None:
    config = _config(seeds=2)
    chunk = chunk_cells(config, expand_matrix(config))[0]
    assert tuple(StudyChunk.cells_from_json(chunk.to_json())) == chunk.cells


@pytest.mark.parametrize("bad", [0, -1, "all", 1.5])
def test_bad_studies_per_job_is_refused(bad: object) -> None:
    from tunebench.core.config import ConfigError

    with pytest.raises(ConfigError, match="studies_per_job"):
        _config(seeds=2, studies_per_job=bad)


def test_logging_groups_hold_whole_chunks_up_to_the_limit() -> None:
    config = _config(seeds=40, studies_per_job=16)
    chunks = chunk_cells(config, expand_matrix(config))
    groups = group_chunks(chunks, max_studies=50)
    assert [c for group in groups for c in group] == chunks
    assert all(sum(len(c.cells) for c in group) <= 50 for group in groups)
    assert group_chunks([]) == []
    (alone,) = group_chunks(chunks[:1], max_studies=2)  # larger than the limit: on its own
    assert alone == chunks[:1]


@pytest.mark.parametrize(("setting", "expected"), [("auto", 10), (2, 2), (12, 10), (1, 1)])
def test_studies_at_once_is_the_setting_within_the_chunk(setting: object, expected: int) -> None:
    config = {**_config(seeds=5), "studies_at_once": setting}
    (chunk,) = [c for c in chunk_cells(config, expand_matrix(config)) if c.name == "tpe.t10.0"]
    assert len(chunk.cells) == 10  # branin and rosen, 5 seeds each
    assert studies_at_once(config, chunk) == expected


@pytest.mark.parametrize("framework", sorted(OWN_PROCESSES))
def test_frameworks_with_worker_processes_of_their_own_run_one_study_at_a_time(
    framework: str,
) -> None:
    config = _config(seeds=5)
    (chunk,) = [c for c in chunk_cells(config, expand_matrix(config)) if c.name == "tpe.t10.0"]
    spec = {"framework": framework}
    own = StudyChunk(chunk.name, tuple(replace(c, optimizer_spec=spec) for c in chunk.cells))
    assert studies_at_once(config, own) == 1
    assert studies_at_once({**config, "studies_at_once": 3}, own) == 3  # as the user says


def test_a_studys_threads_are_the_configs_or_its_workers() -> None:
    (cell, *_) = expand_matrix({**_config(seeds=1), "threads": 2})
    assert study_threads(cell) == 2
    workers = {**cell.optimizer_spec, "workers": 3}
    assert study_threads(replace(cell, optimizer_spec=workers)) == 3
