"""The experiment matrix: one :class:`StudyCell` per task × optimizer × budget × seed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["StudyCell", "cell_of", "expand_matrix", "matrix_axes", "seeds_of", "study_dirs"]


@dataclass(frozen=True)
class StudyCell:
    """Everything one tuning job needs to know about its study, and nothing else.

    ``trial_timeout_s`` is the task's time cap per trial (``None``: none), the same for every
    optimizer on the task.
    """

    experiment: str
    task: str
    task_spec: dict[str, Any]
    optimizer: str
    optimizer_spec: dict[str, Any]
    budget: str
    budget_spec: dict[str, Any]
    seed: int
    threads: int = 1
    trial_timeout_s: float | None = None

    def to_json(self) -> str:
        """Compact, key-sorted JSON (stable, so Snakemake sees unchanged params as unchanged).

        Snakemake calls this once per study job: ``vars`` rather than ``asdict`` (which deep-copies
        every spec) keeps it cheap on a 10,000-study matrix; the fields are plain JSON values.
        """
        return json.dumps(vars(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> StudyCell:
        """The inverse of :meth:`to_json`."""
        return cls(**json.loads(text))

    def study_dir(self, results: str | Path = "results") -> Path:
        """``results/studies/{task}/{optimizer}/{budget}/seed{seed}``."""
        return _study_dir(results, self.task, self.optimizer, self.budget, self.seed)


def _study_dir(results: str | Path, task: str, optimizer: str, budget: str, seed: int) -> Path:
    return Path(results, "studies", task, optimizer, budget, f"seed{seed}")


def seeds_of(config: Mapping[str, Any]) -> list[int]:
    """``seeds: n`` means ``0..n-1``; a list is taken as it is."""
    seeds = config["seeds"]
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


def cell_of(
    config: Mapping[str, Any], task: str, optimizer: str, budget: str, seed: int
) -> StudyCell:
    """The cell of a validated config at the given coordinates (KeyError names a bad one).

    The task entry's ``trial_timeout_s`` (else the top-level one) becomes the cell's time cap.
    """
    for section, name in (("tasks", task), ("optimizers", optimizer), ("budgets", budget)):
        if name not in config[section]:
            raise KeyError(f"{section}.{name}: not in the config")
    task_spec = dict(config["tasks"][task])
    timeout = task_spec.pop("trial_timeout_s", config.get("trial_timeout_s"))
    return StudyCell(
        experiment=config["name"],
        task=task,
        task_spec=task_spec,
        optimizer=optimizer,
        optimizer_spec=dict(config["optimizers"][optimizer]),
        budget=budget,
        budget_spec=dict(config["budgets"][budget]),
        seed=int(seed),
        threads=int(config["threads"]),
        trial_timeout_s=None if timeout is None else float(timeout),
    )


def expand_matrix(config: Mapping[str, Any]) -> list[StudyCell]:
    """All cells of a validated config, in a stable order."""
    return [
        cell_of(config, task, optimizer, budget, seed)
        for task in config["tasks"]
        for optimizer in config["optimizers"]
        for budget in config["budgets"]
        for seed in seeds_of(config)
    ]


def matrix_axes(config: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The matrix as its axes (task, optimizer, budget names and seeds): short JSON for a job."""
    return {
        "tasks": list(config["tasks"]),
        "optimizers": list(config["optimizers"]),
        "budgets": list(config["budgets"]),
        "seeds": seeds_of(config),
    }


def study_dirs(axes: Mapping[str, Any], results: str | Path = "results") -> list[Path]:
    """Every study directory of the matrix with these :func:`matrix_axes`, in matrix order."""
    return [
        _study_dir(results, task, optimizer, budget, seed)
        for task in axes["tasks"]
        for optimizer in axes["optimizers"]
        for budget in axes["budgets"]
        for seed in axes["seeds"]
    ]
