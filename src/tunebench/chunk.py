"""Run a chunk of studies (one tuning job): one after another, or several at once.

A job given more threads than one study uses (rule ``tune_*`` asks for a study's threads ×
``studies_at_once``, and Snakemake lowers that to ``--cores``) forks that many processes
before anything heavy is imported; each takes the chunk's next study not yet taken, so a long
study does not hold the others back, and dies with the job. Every study keeps its own
directory, journal and lock, so what a killed job leaves resumes the same way either way.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunebench.core.matrix import StudyCell, study_threads

__all__ = ["available_cpus", "run_chunk", "running_at_once"]

THREAD_VARIABLES = (
    "OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
)  # fmt: skip
"""What Snakemake sets to a job's threads; each study gets its own (:func:`study_threads`)."""


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, capped by SLURM's allocation."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "")
    if slurm.isdigit() and int(slurm) > 0:
        cpus = min(cpus, int(slurm))
    return max(1, cpus)


def running_at_once(cells: Sequence[StudyCell], threads: int) -> int:
    """How many studies of ``cells`` a job with ``threads`` threads runs at once: as many as
    the threads (and the CPUs it may use) hold studies of :func:`study_threads` each."""
    per_study = study_threads(cells[0])
    return max(1, min(len(cells), min(threads, available_cpus()) // per_study))


def run_chunk(
    cells: Sequence[StudyCell], results: Path, *, mlflow: Path | None = None, threads: int = 1
) -> list[str]:
    """Run every study of ``cells`` (:func:`running_at_once` at a time) into ``results``.

    Args:
        cells: The chunk's studies.
        results: The results directory (each study in its ``study_dir``).
        mlflow: The experiment file of live MLflow logging, if any.
        threads: The job's threads.

    Returns:
        The directories of the studies that failed or did not finish (each said why on
        stderr); a failing study does not stop the others.
    """
    # each study its own threads, however many the job got (Snakemake set these to the job's)
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(study_threads(cells[0]))))
    at_once = running_at_once(cells, threads)
    if at_once == 1:
        return [d for cell in cells if (d := _run_one(cell, results, mlflow)) is not None]
    return _run_forked(cells, results, mlflow, at_once)


def _run_one(cell: StudyCell, results: Path, mlflow: Path | None) -> str | None:
    """Run one study; ``None``, or its directory if it failed (having said why on stderr)."""
    from tunebench.core.files import DiskFull
    from tunebench.harness.journal import JournalCorrupt
    from tunebench.harness.study_lock import StudyLocked
    from tunebench.harness.tracking import TrackingTarget
    from tunebench.study import run_study

    out = cell.study_dir(results)
    try:
        target = TrackingTarget.read(mlflow) if mlflow else None
        res = run_study(cell, out, tracking=target)["results"]
    except (StudyLocked, JournalCorrupt) as exc:  # a user's matter: one line, not a trace
        print(f"tunebench run-studies: {exc}", file=sys.stderr)
        return str(out)
    except Exception as exc:  # the chunk's other studies still run; the job fails at the end
        full = DiskFull.found_in(exc, out)
        if full is None:
            traceback.print_exc()
        else:
            print(f"tunebench run-studies: {full}", file=sys.stderr)
        return str(out)
    print(
        f"{out}: {res['n_trials']} trials ({res['n_failed']} failed, {res['n_pruned']} pruned), "
        f"best {res['best_value']:.6g}, test {res['test_value']:.6g}",
        flush=True,
    )
    return None


def _run_forked(
    cells: Sequence[StudyCell], results: Path, mlflow: Path | None, at_once: int
) -> list[str]:
    """:func:`run_chunk` in ``at_once`` forked processes."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    claimed = context.Value("i", 0)  # the next study not yet taken
    running = context.Array("i", [-1] * at_once)  # each process's study, -1 when none
    failed = context.Array("b", len(cells))
    workers = [
        context.Process(
            target=_work,
            args=(k, os.getpid(), cells, results, mlflow, claimed, running, failed),
        )
        for k in range(at_once)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    lost = []  # the studies of the processes that died in them
    for k, worker in enumerate(workers):
        if worker.exitcode == 0:
            continue
        if running[k] >= 0:
            lost.append(running[k])
            where = f"the process running {cells[running[k]].study_dir(results)}"
            then = "; a rerun resumes it from its journal"
        else:
            where, then = "a study process", " between studies"
        print(
            f"tunebench run-studies: {where} died (exit code {worker.exitcode}){then}",
            file=sys.stderr,
        )
    with claimed.get_lock():
        unstarted = range(claimed.value, len(cells))  # every process died before taking them
    bad = sorted({*(i for i in range(len(cells)) if failed[i]), *lost, *unstarted})
    return [str(cells[i].study_dir(results)) for i in bad]


def _work(
    k: int, parent: int, cells: Sequence[StudyCell], results: Path, mlflow: Path | None,
    claimed: Any, running: Any, failed: Any,
) -> None:  # fmt: skip
    """One forked process: take the next study not yet taken until none is left."""
    _die_with(parent)
    while True:
        with claimed.get_lock():
            i = claimed.value
            if i >= len(cells):
                break
            claimed.value = i + 1
        running[k] = i
        failed[i] = _run_one(cells[i], results, mlflow) is not None
        running[k] = -1


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), so that a killed job
    leaves no study running that a rerun would find locked."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (AttributeError, OSError):  # no prctl: the study lock still refuses a second runner
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
