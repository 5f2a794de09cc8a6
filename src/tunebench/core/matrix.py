"""The experiment matrix: one :class:`StudyCell` per task × optimizer × budget × seed, and the
:class:`StudyChunk` s of cells that one tuning job runs in one process."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "AUTO_STUDIES_PER_JOB",
    "OWN_PROCESSES",
    "StudyCell",
    "StudyChunk",
    "cell_of",
    "chunk_cells",
    "expand_matrix",
    "group_chunks",
    "matrix_axes",
    "seeds_of",
    "studies_at_once",
    "study_dirs",
    "study_threads",
]

# ``studies_per_job: auto``: studies per tuning job by task kind (others: ``"default"``). A
# torch study may hold a GPU for hours; the others run in seconds, where the job's start-up
# (interpreter, imports) would dominate if every study paid it.
AUTO_STUDIES_PER_JOB: dict[str, int] = {"torch": 1, "default": 16}
OWN_PROCESSES = frozenset({"ray", "autopytorch"})
"""Frameworks whose studies start a runtime of worker processes of their own (a local Ray
cluster, Auto-PyTorch's Python 3.8 worker): ``studies_at_once: auto`` runs them one at a time."""


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


@dataclass(frozen=True)
class StudyChunk:
    """Studies that one tuning job runs one after another (each keeps its own directory).

    ``name`` is unique in the matrix and stable for the same config: ``{optimizer}.{budget}.{k}``
    with ``k`` counting the chunks of that optimizer and budget.
    """

    name: str
    cells: tuple[StudyCell, ...]

    def to_json(self) -> str:
        """The cells as a compact JSON list (what ``tunebench run-studies --cells`` takes)."""
        return "[" + ",".join(cell.to_json() for cell in self.cells) + "]"

    @staticmethod
    def cells_from_json(text: str) -> list[StudyCell]:
        """The inverse of :meth:`to_json`."""
        return [StudyCell(**fields) for fields in json.loads(text)]


def chunk_cells(config: Mapping[str, Any], cells: list[StudyCell]) -> list[StudyChunk]:
    """Group ``cells`` (in matrix order) into the chunks that tuning jobs run.

    A chunk holds studies of one optimizer, one budget and one task kind, at most
    ``studies_per_job`` of them (``auto``: :data:`AUTO_STUDIES_PER_JOB`), split evenly: 20
    studies at 16 per job make two jobs of 10. The chunking depends on the config only, so a
    rerun finds the jobs it made before.
    """
    setting = config.get("studies_per_job", "auto")
    groups: dict[tuple[str, str, str], list[StudyCell]] = {}
    for cell in cells:
        kind = str(cell.task_spec.get("kind", ""))
        groups.setdefault((cell.optimizer, cell.budget, kind), []).append(cell)
    per_group: dict[tuple[str, str], int] = {}
    chunks = []
    for (optimizer, budget, kind), members in groups.items():
        if setting == "auto":
            size = AUTO_STUDIES_PER_JOB.get(kind, AUTO_STUDIES_PER_JOB["default"])
        else:
            size = int(setting)
        n_chunks = -(-len(members) // size)
        bounds = [round(i * len(members) / n_chunks) for i in range(n_chunks + 1)]
        for lo, hi in itertools.pairwise(bounds):
            k = per_group.get((optimizer, budget), 0)
            per_group[(optimizer, budget)] = k + 1
            chunks.append(StudyChunk(f"{optimizer}.{budget}.{k}", tuple(members[lo:hi])))
    return chunks


def study_threads(cell: StudyCell) -> int:
    """The threads one study uses: the config's ``threads``, or its optimizer's worker count if
    that is more."""
    return max(cell.threads, int(cell.optimizer_spec.get("workers", 1)))


def studies_at_once(config: Mapping[str, Any], chunk: StudyChunk) -> int:
    """The most studies of ``chunk`` its job runs at once (``studies_at_once``; ``auto``: all
    of them, one at a time for :data:`OWN_PROCESSES`). The job runs fewer when it is given
    fewer threads (``tunebench.chunk``)."""
    setting = config.get("studies_at_once", "auto")
    if setting == "auto":
        framework = chunk.cells[0].optimizer_spec.get("framework")
        return 1 if framework in OWN_PROCESSES else len(chunk.cells)
    return max(1, min(int(setting), len(chunk.cells)))


def group_chunks(chunks: list[StudyChunk], max_studies: int = 256) -> list[list[StudyChunk]]:
    """Consecutive whole chunks with at most ``max_studies`` studies a group (a chunk larger than
    that is a group of its own): what one MLflow logging job logs."""
    groups: list[list[StudyChunk]] = [[]]
    for chunk in chunks:
        if groups[-1] and sum(len(c.cells) for c in groups[-1]) + len(chunk.cells) > max_studies:
            groups.append([])
        groups[-1].append(chunk)
    return groups if groups[0] else []


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
    optimizer_spec = dict(config["optimizers"][optimizer])
    optimizer_spec.pop("tasks", None)
    return StudyCell(
        experiment=config["name"],
        task=task,
        task_spec=task_spec,
        optimizer=optimizer,
        optimizer_spec=optimizer_spec,
        budget=budget,
        budget_spec=dict(config["budgets"][budget]),
        seed=int(seed),
        threads=int(config["threads"]),
        trial_timeout_s=None if timeout is None else float(timeout),
    )


def expand_matrix(config: Mapping[str, Any]) -> list[StudyCell]:
    """All cells of a validated config, in a stable order (an optimizer with ``tasks`` only on
    those)."""
    axes = matrix_axes(config)
    return [
        cell_of(config, task, optimizer, budget, seed)
        for task, optimizer, budget, seed in _coordinates(axes)
    ]


def matrix_axes(config: Mapping[str, Any]) -> dict[str, Any]:
    """The matrix as its axes (task, optimizer, budget names and seeds, and ``only``: the tasks
    of each optimizer that names them): short JSON for a job."""
    return {
        "tasks": list(config["tasks"]),
        "optimizers": list(config["optimizers"]),
        "budgets": list(config["budgets"]),
        "seeds": seeds_of(config),
        "only": {
            name: list(spec["tasks"])
            for name, spec in config["optimizers"].items()
            if spec.get("tasks") is not None
        },
    }


def _coordinates(axes: Mapping[str, Any]) -> list[tuple[str, str, str, int]]:
    """(task, optimizer, budget, seed) of every cell of the matrix with these axes."""
    only = axes.get("only", {})
    return [
        (task, optimizer, budget, seed)
        for task in axes["tasks"]
        for optimizer in axes["optimizers"]
        if optimizer not in only or task in only[optimizer]
        for budget in axes["budgets"]
        for seed in axes["seeds"]
    ]


def study_dirs(axes: Mapping[str, Any], results: str | Path = "results") -> list[Path]:
    """Every study directory of the matrix with these :func:`matrix_axes`, in matrix order."""
    return [_study_dir(results, *coordinates) for coordinates in _coordinates(axes)]
