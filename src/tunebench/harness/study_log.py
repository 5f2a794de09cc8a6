"""MLflow logging of finished studies, read back from their files (``mlflow.logging: after``).

One job per experiment imports MLflow once and logs every study that is not in the store yet:
a run per study (tags, parameters, its data set as inputs, summary metrics, ``study.json`` and
``trials.parquet`` as artifacts) holding its trials either as nested child runs or as metrics at
step = trial (:func:`trials_mode`). Each study directory keeps a marker (:data:`MARKER`) with
its run id and a digest of the trial table it logged, so a rerun skips what is logged, and a
study that was rerun, extended or half-logged by a killed job has its old run deleted and is
logged afresh: every trial is in the store exactly once.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from tunebench.core.files import read_json, read_parquet, read_rows, write_json
from tunebench.core.tables import CURVE_KEYS
from tunebench.harness._sqlite_runs import DirectRuns, direct_store
from tunebench.harness._sqlite_store import disk_full_errors
from tunebench.harness.datasets import DATA_KINDS, dataset_inputs
from tunebench.harness.tracking import (
    MlflowTracker,
    TrackingTarget,
    param_texts,
    project_tags,
    step_metrics,
)

__all__ = [
    "MARKER",
    "NESTED_KINDS",
    "flat_params",
    "log_studies",
    "study_tags",
    "trials_digest",
    "trials_mode",
]

MARKER = "mlflow_run.json"
ARTIFACTS = ("study.json", "trials.parquet")  # of a study's run
# Task kinds whose trials take long enough (seconds) that a child run each (~40 ms) is cheap.
NESTED_KINDS = frozenset({"sklearn", "torch"})


def trials_mode(setting: str, task_kind: str) -> str:
    """``nested`` or ``steps`` for a study of ``task_kind`` under ``mlflow.trials: setting``."""
    if setting == "auto":
        return "nested" if task_kind in NESTED_KINDS else "steps"
    if setting not in ("nested", "steps"):
        raise ValueError(f"mlflow.trials: unknown mode {setting!r} (auto, nested or steps)")
    return setting


def trials_digest(study_dir: Path) -> str:
    """SHA-256 of the study's ``trials.parquet`` (what a marker says was logged)."""
    return hashlib.sha256((study_dir / "trials.parquet").read_bytes()).hexdigest()


def study_tags(
    key: Mapping[str, Any], study_dir: Path, provenance: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Tags of a study's run: its role, its key, its directory (absolute) and, from its
    ``study.json``, the git commit and the versions of tunebench and the frameworks."""
    tags = {
        "tunebench.role": "study",
        "tunebench.study_dir": str(study_dir.resolve()),
        **{k: str(v) for k, v in key.items()},
    }
    if provenance:
        commit = (provenance.get("git") or {}).get("commit")
        if commit:
            tags["mlflow.source.git.commit"] = str(commit)
        tags.update({f"version.{k}": str(v) for k, v in provenance.get("versions", {}).items()})
    return tags


def flat_params(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The study's cell as flat MLflow parameters (``task.model``, ``optimizer.sampler``, ...)."""
    flat: dict[str, Any] = {"seed": cell["seed"], "threads": cell["threads"]}
    if cell.get("trial_timeout_s") is not None:
        flat["trial_timeout_s"] = cell["trial_timeout_s"]
    for prefix in ("task", "optimizer", "budget"):
        flat.update({f"{prefix}.{k}": v for k, v in cell[f"{prefix}_spec"].items()})
    return flat


def _read_marker(study_dir: Path) -> dict[str, Any]:
    path = study_dir / MARKER
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _is_logged(marker: Mapping[str, Any], runs: Sequence[str], study_dir: Path) -> bool:
    """Whether the marker's run is one of the study's ``runs`` in the store and holds the
    study's trial table as it is now."""
    return (
        marker.get("complete") is True
        and marker.get("parent_run_id") in runs
        and marker.get("digest") == trials_digest(study_dir)
    )


def log_studies(
    target: TrackingTarget,
    study_dirs: Sequence[Path],
    *,
    trials: str = "auto",
    progress: TextIO | None = sys.stderr,
) -> dict[str, str]:
    """Log every study in ``study_dirs`` that the store does not hold as it is now.

    A study whose trials are steps and whose task has no data set is written straight into a
    SQLite store that :func:`~tunebench.harness._sqlite_runs.direct_store` accepts; the others go
    through MLflow's client. Returns ``{study_dir: run_id}`` for all of them (logged now or
    before).
    """
    db = direct_store(target.tracking_uri)
    direct = DirectRuns(db) if db is not None else None
    tracker: MlflowTracker | None = None

    def client() -> MlflowTracker:
        nonlocal tracker
        if tracker is None:
            tracker = MlflowTracker(target, background=False)
        return tracker

    if direct is not None:
        stale = direct.study_runs(target.experiment_id)
    else:
        stale = client().study_runs()  # study_dir -> run ids already in the experiment
    runs: dict[str, str] = {}
    logged = skipped = 0
    for study_dir in map(Path, study_dirs):
        marker = _read_marker(study_dir)
        absolute = str(study_dir.resolve())
        if _is_logged(marker, stale.get(absolute, []), study_dir):
            runs[str(study_dir)] = marker["parent_run_id"]
            skipped += 1
            continue
        summary = read_json(study_dir / "study.json")
        rows = read_rows(study_dir / "trials.parquet")
        for run_id in stale.get(absolute, []):
            if direct is not None:
                with disk_full_errors(direct.db):
                    direct.delete_run_tree(run_id)
            else:
                client().delete_study_run(run_id)
        mode = trials_mode(trials, str(summary["cell"]["task_spec"].get("kind", "")))
        if direct is not None and mode == "steps" and not _has_data(summary["cell"]):
            with disk_full_errors(direct.db):
                run_id = _log_direct(direct, target, study_dir, summary, rows)
        else:
            run_id = _log_client(client(), target, study_dir, summary, rows, mode)
        runs[str(study_dir)] = run_id
        logged += 1
    if progress is not None:
        print(f"MLflow: {logged} studies logged, {skipped} already logged", file=progress)
    return runs


def _has_data(cell: Mapping[str, Any]) -> bool:
    """Whether the study's run gets data set inputs (:func:`dataset_inputs`)."""
    spec = cell["task_spec"]
    return spec.get("kind") in DATA_KINDS and spec.get("dataset") is not None


def _mark(study_dir: Path, target: TrackingTarget, run_id: str) -> dict[str, Any]:
    """Write the marker of a study whose run ``run_id`` is being logged (not complete yet)."""
    marker = {
        "tracking_uri": target.tracking_uri,
        "experiment_id": target.experiment_id,
        "parent_run_id": run_id,
        "complete": False,
    }
    write_json(study_dir / MARKER, marker)
    return marker


def _complete(study_dir: Path, marker: dict[str, Any]) -> None:
    """Mark the study's run as logged, with the digest of the trial table it holds."""
    marker.update(complete=True, digest=trials_digest(study_dir))
    write_json(study_dir / MARKER, marker)


def _run_name(cell: Mapping[str, Any]) -> str:
    return f"{cell['task']}/{cell['optimizer']}/{cell['budget']}/seed{cell['seed']}"


def _summary_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in summary["results"].items() if k != "best_value"}


def _log_direct(
    direct: DirectRuns,
    target: TrackingTarget,
    study_dir: Path,
    summary: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> str:
    """Write the study's run in one transaction (:class:`DirectRuns`), trials as steps."""
    cell, timings = summary["cell"], summary["timings"]
    run_id = DirectRuns.new_run_id()
    marker = _mark(study_dir, target, run_id)
    now = int(time.time() * 1000)
    direct.log_run(
        target.experiment_id,
        run_id=run_id,
        name=_run_name(cell),
        tags={**project_tags(target), **study_tags(summary["study"], study_dir, summary)},
        params=param_texts(flat_params(cell)),
        metrics=[
            *step_metrics(rows),
            *((k, v, now, 0) for k, v in _summary_metrics(summary).items()),
        ],
        start_ms=int(timings["started"] * 1000),
        end_ms=int(timings["finished"] * 1000),
        artifacts={name: study_dir / name for name in ARTIFACTS},
    )
    _complete(study_dir, marker)
    return run_id


def _log_client(
    tracker: MlflowTracker,
    target: TrackingTarget,
    study_dir: Path,
    summary: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    mode: str,
) -> str:
    """Log the study's run through MLflow's client: trials as child runs or as steps."""
    cell, timings = summary["cell"], summary["timings"]
    run_id = tracker.start_study(
        _run_name(cell),
        tags=study_tags(summary["study"], study_dir, summary),
        params=flat_params(cell),
        start_time_ms=int(timings["started"] * 1000),
    )
    tracker.log_inputs(dataset_inputs(cell["task_spec"]))
    marker = _mark(study_dir, target, run_id)
    if mode == "nested":
        curves = read_parquet(study_dir / "curves.parquet")
        by_trial = {t: g for t, g in curves.groupby("trial")} if len(curves) else {}
        extra = [c for c in curves.columns if c not in CURVE_KEYS or c in ("epoch", "value")]
        for row in rows:
            points = by_trial.get(row["trial"])
            tracker.log_trial(row, [] if points is None else points[extra].to_dict("records"))
    # the study's run charts the best value so far per trial; its history ends at the summary's
    tracker.log_trial_steps(rows, best_only=mode == "nested")
    tracker.finish_study(
        _summary_metrics(summary),
        artifacts=[study_dir / name for name in ARTIFACTS],
        end_time_ms=int(timings["finished"] * 1000),
    )
    _complete(study_dir, marker)
    return run_id
