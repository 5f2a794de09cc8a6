"""Run one study (one cell of the matrix) from start, or from where a killed job stopped.

Outputs in the study directory: ``trials.parquet``, ``curves.parquet``, ``study.json`` (the
cell's config, seed, provenance, timings and MLflow ids), plus the resume state (``journal.jsonl``
and the framework's own storage), which later runs reuse.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from tunebench.core.budget import Budget
from tunebench.core.files import write_json
from tunebench.core.matrix import StudyCell
from tunebench.frameworks import build_optimizer
from tunebench.harness.datasets import dataset_inputs
from tunebench.harness.provenance import provenance
from tunebench.harness.recorder import Recorder, StudyKey
from tunebench.harness.study_lock import study_lock
from tunebench.harness.study_log import MARKER, flat_params, study_tags, trials_digest
from tunebench.harness.tracking import MlflowTracker, TrackingTarget, redacted
from tunebench.tasks import SPEC_KEYS, build_task

__all__ = ["run_study"]

CELL_STATE = "cell.json"


def _prepare_study_dir(cell: StudyCell, out_dir: Path, progress: TextIO | None) -> None:
    """Keep the resume state only if it was written for the same study.

    A changed task, optimizer or seed makes earlier trials meaningless for this study, so the
    directory is emptied; a changed budget limit keeps them (the study is extended or cut), and
    so does a changed trial time cap (it applies to the trials still to run).
    """
    saved = out_dir / CELL_STATE
    current = {**asdict(cell), "budget": None, "budget_spec": None}
    del current["trial_timeout_s"]
    if saved.exists() and json.loads(saved.read_text()) != current:
        shutil.rmtree(out_dir)
        if progress is not None:
            print(f"{out_dir}: the study's config changed; starting afresh", file=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(current, sort_keys=True))


def _summary(trials: list[dict[str, Any]]) -> dict[str, float]:
    final = [row for row in trials if not math.isnan(row["test_value"])]
    statuses = [row["status"] for row in trials]
    return {
        "n_trials": len(trials),
        "n_complete": statuses.count("complete"),
        "n_pruned": statuses.count("pruned"),
        "n_failed": statuses.count("failed"),
        "best_value": float(final[-1]["value"]) if final else math.nan,
        "test_value": float(final[-1]["test_value"]) if final else math.nan,
        "cum_epochs": float(max(row["cum_epochs"] for row in trials)) if trials else 0.0,
        "cum_seconds": float(max(row["cum_seconds"] for row in trials)) if trials else 0.0,
    }


def run_study(
    cell: StudyCell,
    out_dir: str | Path,
    *,
    tracking: TrackingTarget | None = None,
    progress: TextIO | None = sys.stderr,
) -> dict[str, Any]:
    """Tune ``cell`` into ``out_dir``; returns the study summary written to ``study.json``.

    Raises:
        StudyLocked: Another process is running the same study.
    """
    out_dir = Path(out_dir)
    with study_lock(out_dir):
        return _run_study(cell, out_dir, tracking, progress)


def _run_study(
    cell: StudyCell, out_dir: Path, tracking: TrackingTarget | None, progress: TextIO | None
) -> dict[str, Any]:
    started = time.time()
    if cell.threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(cell.threads))
    spec = dict(cell.task_spec)
    if "threads" in SPEC_KEYS[spec["kind"]]:
        spec.setdefault("threads", cell.threads)
    task = build_task(cell.task, spec)
    task.prepare()  # loading data is charged to no trial, afresh or resumed
    optimizer = build_optimizer(cell.optimizer, cell.optimizer_spec)
    budget = Budget.from_config(cell.budget, cell.budget_spec, n_params=len(task.space))
    key = StudyKey(
        experiment=cell.experiment,
        task=cell.task,
        optimizer=cell.optimizer,
        framework=optimizer.framework,
        algorithm=optimizer.algorithm,
        budget=cell.budget,
        seed=cell.seed,
    )
    tracker = MlflowTracker(tracking) if tracking is not None else None
    _prepare_study_dir(cell, out_dir, progress)
    marker = out_dir / MARKER
    recorder = Recorder(
        out_dir,
        key,
        task,
        budget,
        tracker=None,
        progress=progress,
        trial_timeout_s=cell.trial_timeout_s,
    )
    if tracker is not None:
        previous = json.loads(marker.read_text()) if marker.exists() else {}
        same_store = previous.get("tracking_uri") == tracking.tracking_uri
        resume_run_id = previous.get("parent_run_id") if same_store else None
        if resume_run_id is None:  # a run of a deleted or moved study directory is replaced
            for run_id in tracker.study_runs(out_dir).get(str(out_dir.resolve()), []):
                tracker.delete_study_run(run_id)
        tracker.start_study(
            key.label,
            tags=study_tags(asdict(key), out_dir, provenance()),
            params=flat_params(asdict(cell)),
            resume_run_id=resume_run_id,
        )
        if tracker.parent_run_id != previous.get("parent_run_id"):
            tracker.log_inputs(dataset_inputs(cell.task_spec))
        state = {
            "tracking_uri": tracking.tracking_uri,
            "experiment_id": tracking.experiment_id,
            "parent_run_id": tracker.parent_run_id,
            "complete": False,
        }
        write_json(marker, state)
        recorder.tracker = tracker
        recorder.sync_tracker()
    resumed_from = recorder.n_trials
    tuning_started = time.time()
    try:
        optimizer.run(task, cell.seed, recorder)
    except BaseException:
        recorder.close()  # a chunk's next study runs in this process: stop this one's heartbeat
        raise
    tuning_s = time.time() - tuning_started
    trials = recorder.finalize()
    summary = {
        "cell": asdict(cell),
        "study": asdict(key),
        "algorithm": optimizer.algorithm,
        "direction": task.direction,
        "metric": task.metric,
        "known_optimum": task.known_optimum,
        "resumed_from_trial": resumed_from,
        "timings": {
            "started": started,
            "finished": time.time(),
            "tuning_s": tuning_s,
            "total_s": time.time() - started,
        },
        "results": _summary(trials),
        "mlflow": None,
        **provenance(),
    }
    if tracker is not None:
        summary["mlflow"] = {
            "tracking_uri": redacted(tracking.tracking_uri),
            "experiment_id": tracking.experiment_id,
            "experiment_name": tracking.experiment_name,
            "parent_run_id": tracker.parent_run_id,
        }
    study_json = out_dir / "study.json"
    write_json(study_json, summary, indent=2, default=str)
    if tracker is not None:
        tracker.finish_study(
            summary["results"], artifacts=[study_json, out_dir / "trials.parquet"]
        )
        write_json(marker, {**state, "complete": True, "digest": trials_digest(out_dir)})
    return summary
