"""MLflow logging: one parent run per study, its trials as nested child runs or as steps.

The store is created once, by one process (:func:`init_experiment`): a fresh SQLite store opened
by several processes at once is corrupted for good. Other processes receive the tracking URI and
experiment id and only ever add runs: the job that logs finished studies
(:mod:`tunebench.harness.study_log`) or, with live logging, each tuning job. Live trial runs go
through a background thread when the store is a tracking server (the study's journal stays the
truth: a rerun logs whatever a killed job had not); a local SQLite store commits in WAL mode
(:mod:`tunebench.harness._sqlite_store`).

Every run is tagged with its project (``tunebench.project``: the absolute results directory) and
host (``tunebench.host``), so that projects sharing a store can be told apart. The handoff file
(:meth:`TrackingTarget.write`) names an embedded store and the project relative to itself, so a
copied or moved project logs into its own store.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tunebench.core.files import write_json
from tunebench.core.tables import incumbent_flags
from tunebench.harness._sqlite_runs import DirectRuns, direct_store
from tunebench.harness._sqlite_store import (
    database,
    disk_full_errors,
    enable_wal,
    fast_commits,
    relocate,
    seed_store,
    store_lock,
)

__all__ = [
    "MlflowTracker",
    "TrackingTarget",
    "default_tracking_uri",
    "experiment_tags",
    "init_experiment",
    "log_analysis_run",
    "param_texts",
    "project_tags",
    "redacted",
    "step_metrics",
    "writes_directly",
]

EXPERIMENT_NOTE = (
    "A tunebench experiment: every study (task × optimizer × budget × seed) is a run tagged "
    "with its task, optimizer, framework, budget and seed, its trials as nested runs or as "
    "steps; the comparison is the run named `analysis` (headline metrics, the summary as its "
    "note, tables and figures as artifacts), and results/report.html beside the store."
)
_MAX_METRICS_PER_BATCH = 1000
_MAX_PARAMS_PER_BATCH = 100
_MAX_PARAM_CHARS = 6000


@dataclass(frozen=True)
class TrackingTarget:
    """Where a study logs: a tracking URI and an existing experiment id, and the project (the
    absolute results directory; ``""``: not known) whose runs are logged there."""

    tracking_uri: str
    experiment_id: str
    experiment_name: str
    project: str = ""

    def write(self, path: Path) -> None:
        """Save as JSON (the handoff file from the store's creator to the other jobs).

        A SQLite store inside the file's folder and the project are written relative to the
        folder (``"relative": true``), so the file stays right when the project is copied or
        moved.
        """
        folder = Path(path).resolve().parent
        data: dict[str, Any] = asdict(self)
        db = database(self.tracking_uri)
        if db is not None and db.is_relative_to(folder):
            data.update(tracking_uri=f"sqlite:///{db.relative_to(folder)}", relative=True)
        if self.project:
            data["project"] = os.path.relpath(self.project, folder)
        write_json(path, data, indent=2)

    @classmethod
    def read(cls, path: Path) -> TrackingTarget:
        """Load what :meth:`write` saved; a relative SQLite store copied or moved with the
        project is first pointed at it (:func:`~tunebench.harness._sqlite_store.relocate`)."""
        folder = Path(path).resolve().parent
        data = json.loads(Path(path).read_text())
        if data.get("project"):
            data["project"] = str((folder / data["project"]).resolve())
        if data.pop("relative", False):
            db = (folder / data["tracking_uri"].removeprefix("sqlite:///")).resolve()
            data["tracking_uri"] = f"sqlite:///{db}"
            project = data.get("project")
            if project and db.exists() and db.is_relative_to(project):
                with disk_full_errors(db):
                    relocate(db, data["experiment_id"], db.parent / "artifacts", Path(project))
        return cls(**data)


class _Client:
    """An ``MlflowClient`` whose calls stop on a full SQLite store with one line
    (:func:`~tunebench.harness._sqlite_store.disk_full_errors`)."""

    def __init__(self, tracking_uri: str) -> None:
        from mlflow import MlflowClient

        self._client = MlflowClient(tracking_uri=tracking_uri)
        self._db = database(tracking_uri)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if self._db is None or not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            with disk_full_errors(self._db):
                return method(*args, **kwargs)

        return call


def project_tags(target: TrackingTarget) -> dict[str, str]:
    """The tags of every run that tell projects apart: ``tunebench.project`` (the results
    directory, when known) and ``tunebench.host``."""
    tags = {"tunebench.host": socket.gethostname()}
    if target.project:
        tags["tunebench.project"] = target.project
    return tags


def redacted(uri: str) -> str:
    """``uri`` without a password (``http://user:secret@host`` -> ``http://user:***@host``), for
    files and logs; MLflow's own ``MLFLOW_TRACKING_PASSWORD``/``_TOKEN`` are never recorded."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def default_tracking_uri(results_dir: Path, configured: str | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the configured URI, else SQLite under results."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    if configured:
        return configured
    db = (Path(results_dir) / "mlflow" / "mlflow.db").resolve()
    return f"sqlite:///{db}"


def experiment_tags(config_hash: str | None = None) -> dict[str, str]:
    """Provenance tags of this process: ``tunebench.version``, ``tunebench.git_commit`` (with
    ``-dirty`` if the work tree has changes) and ``tunebench.config_hash`` if given."""
    from tunebench import __version__
    from tunebench.harness.provenance import git_commit

    git = git_commit()
    tags = {"tunebench.version": __version__}
    if git["commit"]:
        tags["tunebench.git_commit"] = git["commit"] + ("-dirty" if git["dirty"] else "")
    if config_hash:
        tags["tunebench.config_hash"] = config_hash
    return tags


def init_experiment(
    name: str,
    tracking_uri: str,
    artifact_root: Path | None = None,
    config_hash: str | None = None,
    project: Path | None = None,
) -> TrackingTarget:
    """Create the store (if new) and the experiment ``name`` (if absent); return the target.

    Safe with concurrent callers: a SQLite store is created under :func:`store_lock`, and an
    experiment that another caller created first is reused. An existing experiment of a SQLite
    store copied or moved with ``project`` is pointed at it (:func:`relocate`). The experiment's
    :func:`experiment_tags` are set whether it is new or reused: they describe the latest
    workflow run that opened it (each run's own are on its ``analysis`` run).
    """
    db = database(tracking_uri)
    with store_lock(db) if db is not None else contextlib.nullcontext(), disk_full_errors(db):
        if db is not None:
            seed_store(db)
        direct = direct_store(tracking_uri) if artifact_root is not None else None
        runs = DirectRuns(direct) if direct is not None else _ClientExperiments(tracking_uri)
        experiment_id = runs.experiment_id(name)
        if experiment_id is not None:
            if db is not None and artifact_root is not None and project is not None:
                artifacts, where = Path(artifact_root).resolve(), Path(project).resolve()
                if artifacts.is_relative_to(where):
                    relocate(db, experiment_id, artifacts, where)
        else:
            location = Path(artifact_root).resolve().as_uri() if artifact_root else None
            experiment_id = runs.create_experiment(name, location)
            runs.set_experiment_tags(experiment_id, {"mlflow.note.content": EXPERIMENT_NOTE})
        runs.set_experiment_tags(experiment_id, experiment_tags(config_hash))
        enable_wal(tracking_uri)
    where = str(Path(project).resolve()) if project else ""
    return TrackingTarget(tracking_uri, experiment_id, name, where)


class _ClientExperiments:
    """:class:`~tunebench.harness._sqlite_runs.DirectRuns`' experiment methods through MLflow's
    client (any store)."""

    def __init__(self, tracking_uri: str) -> None:
        self._client = _Client(tracking_uri)

    def experiment_id(self, name: str) -> str | None:
        experiment = self._client.get_experiment_by_name(name)
        return None if experiment is None else experiment.experiment_id

    def create_experiment(self, name: str, artifact_location: str | None) -> str:
        """Create ``name``, or return its id where another project created it at the same
        moment."""
        from mlflow.exceptions import MlflowException

        try:
            return self._client.create_experiment(name, artifact_location=artifact_location)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return self._client.get_experiment_by_name(name).experiment_id

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self._client.set_experiment_tag(experiment_id, key, value)


def log_analysis_run(
    target: TrackingTarget,
    files: Sequence[Path],
    params: Mapping[str, Any],
    metrics: Mapping[str, float] | None = None,
    description: str = "",
    config_hash: str | None = None,
) -> str:
    """Log the comparison tables and figures as artifacts of one ``analysis`` run, with its
    headline ``metrics`` and ``description`` (the summary, shown as the run's note).

    The run and the experiment get this process's :func:`experiment_tags`, so the experiment's
    describe the latest analysis and every analysis run keeps its own.
    """
    provenance = experiment_tags(config_hash)
    tags = {"tunebench.role": "analysis", **provenance, **project_tags(target)}
    if description:
        limit = 7900  # MLflow keeps tag values up to 8,000 characters
        more = "\n\n… (the whole summary is the artifact stats/summary.md)"
        tags["mlflow.note.content"] = (
            description if len(description) <= limit else description[:limit] + more
        )
    now = int(time.time() * 1000)
    folders = {Path(path): "figures" if Path(path).suffix == ".png" else "stats" for path in files}
    db = direct_store(target.tracking_uri)
    if db is not None:
        runs = DirectRuns(db)
        run_id = DirectRuns.new_run_id()
        with disk_full_errors(db):
            runs.set_experiment_tags(target.experiment_id, provenance)
            runs.log_run(
                target.experiment_id,
                run_id=run_id,
                name="analysis",
                tags=tags,
                params=param_texts(params),
                metrics=[(k, float(v), now, 0) for k, v in (metrics or {}).items()],
                start_ms=now,
                end_ms=int(time.time() * 1000),
                artifacts={f"{folder}/{path.name}": path for path, folder in folders.items()},
            )
        return run_id
    from mlflow.entities import Metric, Param

    client = _Client(target.tracking_uri)
    for key, value in provenance.items():
        client.set_experiment_tag(target.experiment_id, key, value)
    run = client.create_run(target.experiment_id, tags=tags, run_name="analysis")
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        params=[Param(k, _param_text(v)) for k, v in params.items()],
        metrics=[Metric(k, float(v), now, 0) for k, v in (metrics or {}).items()],
    )
    for path, folder in folders.items():
        client.log_artifact(run_id, str(path), artifact_path=folder)
    client.set_terminated(run_id, status="FINISHED")
    return run_id


def writes_directly(tracking_uri: str) -> bool:
    """Whether finished studies and the analysis run are written straight into the store
    (:func:`~tunebench.harness._sqlite_runs.direct_store`), without importing MLflow."""
    return direct_store(tracking_uri) is not None


def step_metrics(
    rows: Sequence[Mapping[str, Any]], *, best_only: bool = False
) -> list[tuple[str, float, int, int]]:
    """A study's trials as ``(key, value, timestamp_ms, step)`` metrics at step = trial number.

    ``value`` (not for failed trials), ``best_value`` (the best so far: MLflow charts it as the
    anytime curve), ``objective_s`` and ``cum_seconds``, at the time each trial ended; with
    ``best_only`` (trials logged as child runs) just ``best_value``.
    """
    metrics: list[tuple[str, float, int, int]] = []
    best = math.nan
    values = [float(row["value"]) for row in rows]
    statuses = [str(row["status"]) for row in rows]
    direction = str(rows[0]["direction"]) if rows else "minimize"
    improved = incumbent_flags(values, statuses, direction)
    for row, value, new_best in zip(rows, values, improved, strict=True):
        step, at = int(row["trial"]), int(row["t_end"] * 1000)
        if row["status"] != "failed" and math.isfinite(value) and not best_only:
            metrics.append(("value", value, at, step))
        best = value if new_best else best
        if not math.isnan(best):
            metrics.append(("best_value", best, at, step))
        if not best_only:
            metrics += [
                ("objective_s", float(row["objective_s"]), at, step),
                ("cum_seconds", float(row["cum_seconds"]), at, step),
            ]
    return metrics


def param_texts(params: Mapping[str, Any]) -> dict[str, str]:
    """Parameters as MLflow keeps them: text (JSON for non-strings), at most 6,000 characters."""
    return {k: _param_text(v) for k, v in params.items()}


def _is_local_store(tracking_uri: str) -> bool:
    """Whether the store is a file or database on this machine (not a tracking server)."""
    return urlsplit(tracking_uri).scheme in ("", "file", "sqlite")


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_MAX_PARAM_CHARS]


class MlflowTracker:
    """Logs one study to MLflow through the client API, one batch per trial.

    Args:
        target: The store and experiment.
        background: Log trial runs from a worker thread (``log_trial`` only queues them);
            :meth:`flush` and :meth:`finish_study` wait for the queue, and re-raise the first
            error the worker met. ``None`` (default): for a remote store (a tracking server),
            whose round trips a thread overlaps with the next trial; not for a local store,
            whose cost is MLflow's own Python, which the GIL does not let a thread overlap
            (measured: ``benchmarks/mlflow_cost.py --variants``).
    """

    def __init__(self, target: TrackingTarget, *, background: bool | None = None) -> None:
        if background is None:
            background = not _is_local_store(target.tracking_uri)
        fast_commits(target.tracking_uri)
        self.target = target
        self._project_tags = project_tags(target)
        self._client = _Client(target.tracking_uri)
        self.parent_run_id: str | None = None
        self._queue: queue.Queue[tuple[dict[str, Any], list[Any]] | None] | None = None
        self._error: BaseException | None = None
        if background:
            self._queue = queue.Queue()
            threading.Thread(target=self._drain, name="mlflow-trials", daemon=True).start()

    def _drain(self) -> None:
        trials = self._queue
        assert trials is not None
        while True:
            item = trials.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    self._log_trial_now(*item)
            except BaseException as exc:  # re-raised in the study's thread by flush()
                self._error = exc
            finally:
                trials.task_done()

    def flush(self) -> None:
        """Wait until every queued trial is logged; raise the logging error, if there was one."""
        if self._queue is not None:
            self._queue.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError(f"MLflow logging failed: {error}") from error

    def start_study(
        self,
        run_name: str,
        tags: Mapping[str, str],
        params: Mapping[str, Any],
        resume_run_id: str | None = None,
        start_time_ms: int | None = None,
    ) -> str:
        """Open the study's parent run (or reopen ``resume_run_id``) and return its id."""
        if resume_run_id is not None:
            self._client.update_run(resume_run_id, status="RUNNING")
            self.parent_run_id = resume_run_id
            return resume_run_id
        run = self._client.create_run(
            self.target.experiment_id,
            start_time=start_time_ms,
            tags={**self._project_tags, **tags},
            run_name=run_name,
        )
        self.parent_run_id = run.info.run_id
        self._log_batch(self.parent_run_id, metrics=[], params=params, tags={})
        return self.parent_run_id

    def log_inputs(self, datasets: Sequence[Any]) -> None:
        """Add ``mlflow.entities.DatasetInput`` s (:mod:`tunebench.harness.datasets`) to the
        study's run."""
        assert self.parent_run_id is not None, "start_study() first"
        if datasets:
            self._client.log_inputs(self.parent_run_id, datasets=list(datasets))

    def logged_trials(self) -> set[int]:
        """Trials fully logged under the parent (used on resume).

        A child run left ``RUNNING`` by a killed job is half-logged: it is deleted, so that the
        trial is logged again, once.
        """
        self.flush()
        found: set[int] = set()
        for run in list(self._runs(f"tags.`mlflow.parentRunId` = '{self.parent_run_id}'")):
            if "trial" not in run.data.tags:
                continue
            if run.info.status == "RUNNING":
                self._client.delete_run(run.info.run_id)
            else:
                found.add(int(run.data.tags["trial"]))
        return found

    def _runs(self, filter_string: str) -> Iterator[Any]:
        """Every run of the experiment that matches ``filter_string``, page by page."""
        token = None
        while True:
            page = self._client.search_runs(
                [self.target.experiment_id],
                filter_string=filter_string,
                max_results=1000,
                page_token=token,
            )
            yield from page
            token = page.token
            if not token:
                return

    def study_runs(self, study_dir: Path | None = None) -> dict[str, list[str]]:
        """The study runs of the experiment (or of ``study_dir`` only) by study directory (tag
        ``tunebench.study_dir``, absolute)."""
        found: dict[str, list[str]] = {}
        query = "tags.`tunebench.role` = 'study'"
        if study_dir is not None:
            query += f" and tags.`tunebench.study_dir` = '{Path(study_dir).resolve()}'"
        for run in self._runs(query):
            study_dir = run.data.tags.get("tunebench.study_dir")
            if study_dir is not None:
                found.setdefault(study_dir, []).append(run.info.run_id)
        return found

    def delete_study_run(self, run_id: str) -> None:
        """Delete a study's run and its trial runs (before the study is logged again)."""
        for child in list(self._runs(f"tags.`mlflow.parentRunId` = '{run_id}'")):
            self._client.delete_run(child.info.run_id)
        self._client.delete_run(run_id)

    def log_trial_steps(
        self, rows: Sequence[Mapping[str, Any]], *, best_only: bool = False
    ) -> None:
        """Log trials as metrics of the study's run at step = trial (:func:`step_metrics`)."""
        from mlflow.entities import Metric

        assert self.parent_run_id is not None, "start_study() first"
        metrics = [Metric(*m) for m in step_metrics(rows, best_only=best_only)]
        self._log_batch(self.parent_run_id, metrics=metrics)

    def log_trial(self, row: Mapping[str, Any], curve: Sequence[Mapping[str, float]]) -> None:
        """Log the trial as a child run (queued for the worker thread, if there is one)."""
        assert self.parent_run_id is not None, "start_study() first"
        if self._queue is None:
            self._log_trial_now(row, curve)
            return
        if self._error is not None:
            self.flush()
        self._queue.put((dict(row), list(curve)))

    def _log_trial_now(self, row: Mapping[str, Any], curve: Sequence[Mapping[str, float]]) -> str:
        """Create the trial's child run with params, metrics, per-epoch curve and status."""
        from mlflow.entities import Metric

        assert self.parent_run_id is not None
        t_start_ms, t_end_ms = int(row["t_start"] * 1000), int(row["t_end"] * 1000)
        tags = {
            **self._project_tags,
            "mlflow.parentRunId": self.parent_run_id,
            "trial": str(row["trial"]),
            "status": row["status"],
            **{k: str(row[k]) for k in ("task", "optimizer", "framework", "budget", "seed")},
        }
        if row["error"]:
            tags["error"] = row["error"]
        attempt = int(row.get("attempt", 1))
        if attempt > 1:  # earlier attempts were interrupted by a kill (harness/attempts.py)
            tags["attempt"] = str(attempt)
        run = self._client.create_run(
            self.target.experiment_id,
            start_time=t_start_ms,
            tags=tags,
            run_name=f"trial-{row['trial']:04d}",
        )
        metrics = [
            Metric(key, float(row[key]), t_end_ms, 0)
            for key in ("objective_s", "optimizer_s", "epochs", "cum_seconds")
        ]
        if row["status"] != "failed":
            metrics.append(Metric("value", float(row["value"]), t_end_ms, 0))
        if attempt > 1:
            metrics.append(Metric("interrupted_s", float(row["interrupted_s"]), t_end_ms, 0))
        for point in curve:
            step = int(point["epoch"])
            for key, val in point.items():
                if key != "epoch":
                    name = row["metric"] if key == "value" else key
                    metrics.append(Metric(name, float(val), t_start_ms, step))
        self._log_batch(run.info.run_id, metrics=metrics, params=json.loads(row["params"]))
        status = {"complete": "FINISHED", "pruned": "KILLED", "failed": "FAILED"}[row["status"]]
        self._client.set_terminated(run.info.run_id, status=status, end_time=t_end_ms)
        return run.info.run_id

    def finish_study(
        self,
        metrics: Mapping[str, float],
        artifacts: Sequence[Path] = (),
        status: str = "FINISHED",
        end_time_ms: int | None = None,
    ) -> None:
        """Wait for the queued trials, log the study's summary metrics and artifacts and close
        the parent run."""
        from mlflow.entities import Metric

        assert self.parent_run_id is not None, "start_study() first"
        self.flush()
        if self._queue is not None:
            self._queue.put(None)
            self._queue = None
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
        self._log_batch(self.parent_run_id, metrics=batch)
        for path in artifacts:
            self._client.log_artifact(self.parent_run_id, str(path))
        self._client.set_terminated(self.parent_run_id, status=status, end_time=end_time_ms)

    def _log_batch(
        self,
        run_id: str,
        metrics: Sequence[Any],
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        from mlflow.entities import Param, RunTag

        param_list = [Param(k, _param_text(v)) for k, v in (params or {}).items()]
        tag_list = [RunTag(k, v) for k, v in (tags or {}).items()]
        metric_chunks = list(_chunks(list(metrics), _MAX_METRICS_PER_BATCH)) or [[]]
        param_chunks = list(_chunks(param_list, _MAX_PARAMS_PER_BATCH)) or [[]]
        for i in range(max(len(metric_chunks), len(param_chunks))):
            self._client.log_batch(
                run_id,
                metrics=metric_chunks[i] if i < len(metric_chunks) else [],
                params=param_chunks[i] if i < len(param_chunks) else [],
                tags=tag_list if i == 0 else [],
            )
