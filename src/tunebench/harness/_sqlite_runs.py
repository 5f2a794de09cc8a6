"""Finished studies written straight into a SQLite MLflow store whose run tables tunebench knows.

A process that logs through MLflow pays about 3 s before its first run: importing ``mlflow``
and its SQLAlchemy store, and checking the store's schema against ~70 migration scripts. For a
sweep of cheap studies that is most of the sweep. A study's run is a handful of rows (the run,
its tags, parameters, metric history and latest metrics) and its artifact files, so for a local
SQLite store whose run tables are the ones tunebench knows (:data:`KNOWN_SCHEMAS`) the logging
job writes those rows itself with :mod:`sqlite3`, as MLflow's client writes them
(``tests/harness/test_sqlite_runs.py`` logs the same studies both ways and compares what MLflow's
client reads back), one transaction a run: a killed job leaves no half-written run. Any other
store (a tracking server, another database, other run tables, ``TUNEBENCH_MLFLOW_DIRECT=0``)
goes through MLflow's client (:class:`tunebench.harness.tracking.MlflowTracker`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tunebench.harness._sqlite_store import database

__all__ = ["KNOWN_SCHEMAS", "RUN_TABLES", "DirectRuns", "direct_store", "schema_fingerprint"]

# The tables this module reads or writes, and their columns ``PRAGMA table_info`` reports
# (name, type, not null, default, primary key position) in the MLflow schemas it was checked
# against (MLflow 3.17). A store whose tables differ goes through MLflow's client; a new MLflow
# whose tables differ needs its fingerprint added here once the tests pass with it.
RUN_TABLES = (
    "experiments",
    "experiment_tags",
    "runs",
    "tags",
    "params",
    "metrics",
    "latest_metrics",
    "assessments",
)
KNOWN_SCHEMAS = frozenset({"13058a030c09b64080aac9bf1c7546b71e8df0458ba1115087dc69f96a2808d1"})
_MAX_FLOAT = 1.7976931348623157e308
_SOURCE_RUN = '"mlflow.assessment.sourceRunId": "{}"'


def schema_fingerprint(db: Path) -> str | None:
    """SHA-256 of the columns of :data:`RUN_TABLES` in the SQLite store ``db`` (``None``: not
    readable as an MLflow store)."""
    try:
        connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=60)
    except sqlite3.Error:
        return None
    try:
        columns = {
            table: connection.execute(f"PRAGMA table_info({table})").fetchall()
            for table in RUN_TABLES
        }
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    if not all(columns.values()):
        return None
    return hashlib.sha256(json.dumps(columns, sort_keys=True).encode()).hexdigest()


def direct_store(tracking_uri: str) -> Path | None:
    """The database file if runs can be written into it directly (an existing local SQLite
    store whose run tables are as :data:`KNOWN_SCHEMAS` says, MLflow's workspaces off,
    ``TUNEBENCH_MLFLOW_DIRECT`` not ``0``), else ``None``."""
    db = database(tracking_uri)
    if db is None or os.environ.get("TUNEBENCH_MLFLOW_DIRECT", "1") == "0" or not db.exists():
        return None
    if os.environ.get("MLFLOW_ENABLE_WORKSPACES", "").lower() in ("1", "true"):
        return None  # runs belong to the workspace MLflow picks: its client knows which
    return db if schema_fingerprint(db) in KNOWN_SCHEMAS else None


def _metric_value(value: float) -> tuple[float, int]:
    """(stored value, is_nan) as MLflow's SQL store keeps a metric: NaN as 0, ±inf clipped."""
    if math.isnan(value):
        return 0.0, 1
    if math.isinf(value):
        return math.copysign(_MAX_FLOAT, value), 0
    return value, 0


def _now_ms() -> int:
    return int(time.time() * 1000)


class DirectRuns:
    """Experiments and runs of the SQLite MLflow store ``db`` (see :func:`direct_store`)."""

    def __init__(self, db: Path) -> None:
        self.db = db

    @contextlib.contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: a write one (``BEGIN IMMEDIATE``: it waits for other writers), or a
        read one that lets writers on."""
        connection = sqlite3.connect(self.db, timeout=60, isolation_level=None)
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def experiment_id(self, name: str) -> str | None:
        """The id of the active or deleted experiment ``name`` in the default workspace."""
        with self._transaction(write=False) as connection:
            row = connection.execute(
                "SELECT experiment_id FROM experiments WHERE name = ? AND workspace = 'default'",
                (name,),
            ).fetchone()
        return None if row is None else str(row[0])

    def create_experiment(self, name: str, artifact_location: str) -> str:
        """Create the experiment ``name`` (and MLflow's ``Default`` experiment, id 0, in a store
        without experiments, as MLflow does when it opens one) and return its id."""
        now = _now_ms()
        with self._transaction() as connection:
            insert = (
                "INSERT INTO experiments (experiment_id, name, artifact_location,"
                " lifecycle_stage, creation_time, last_update_time, workspace)"
                " VALUES (?, ?, ?, 'active', ?, ?, 'default')"
            )
            if connection.execute("SELECT COUNT(*) FROM experiments").fetchone()[0] == 0:
                default = str(Path.cwd() / "mlruns" / "0")  # MLflow's ./mlruns, resolved
                connection.execute(insert, (0, "Default", default, now, now))
            cursor = connection.execute(insert, (None, name, artifact_location, now, now))
        return str(cursor.lastrowid)

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        """Set (add or overwrite) experiment tags."""
        with self._transaction() as connection:
            connection.executemany(
                "INSERT OR REPLACE INTO experiment_tags (key, value, experiment_id)"
                " VALUES (?, ?, ?)",
                [(k, v, int(experiment_id)) for k, v in tags.items()],
            )

    def study_runs(self, experiment_id: str) -> dict[str, list[str]]:
        """Active runs tagged ``tunebench.role = study`` by their ``tunebench.study_dir``."""
        query = (
            "SELECT d.value, r.run_uuid FROM runs r"
            " JOIN tags role ON role.run_uuid = r.run_uuid AND role.key = 'tunebench.role'"
            " JOIN tags d ON d.run_uuid = r.run_uuid AND d.key = 'tunebench.study_dir'"
            " WHERE r.experiment_id = ? AND r.lifecycle_stage = 'active'"
            " AND role.value = 'study' ORDER BY r.start_time DESC, r.run_uuid"
        )
        found: dict[str, list[str]] = {}
        with self._transaction(write=False) as connection:
            for study_dir, run_id in connection.execute(query, (int(experiment_id),)):
                found.setdefault(study_dir, []).append(run_id)
        return found

    def delete_run_tree(self, run_id: str) -> None:
        """Mark a run and its child runs deleted (as ``MlflowClient.delete_run`` does)."""
        with self._transaction() as connection:
            children = [
                row[0]
                for row in connection.execute(
                    "SELECT run_uuid FROM tags WHERE key = 'mlflow.parentRunId' AND value = ?",
                    (run_id,),
                )
            ]
            for run in [*children, run_id]:
                connection.execute(
                    "DELETE FROM assessments WHERE assessment_metadata LIKE ?",
                    (f"%{_SOURCE_RUN.format(run)}%",),
                )
                connection.execute(
                    "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ?"
                    " WHERE run_uuid = ? AND lifecycle_stage = 'active'",
                    (_now_ms(), run),
                )

    def log_run(
        self,
        experiment_id: str,
        *,
        run_id: str,
        name: str,
        tags: Mapping[str, str],
        params: Mapping[str, str],
        metrics: Iterable[tuple[str, float, int, int]],
        start_ms: int,
        end_ms: int,
        artifacts: Mapping[str, Path] | None = None,
        status: str = "FINISHED",
    ) -> None:
        """Write a finished run: its row, ``tags`` (with ``mlflow.runName``), ``params``,
        ``metrics`` as ``(key, value, timestamp_ms, step)`` with their latest values, and copies
        of the ``artifacts`` files (by their path in the run's artifacts), in one transaction
        (the files are copied before it ends)."""
        with self._transaction() as connection:
            (location,) = connection.execute(
                "SELECT artifact_location FROM experiments WHERE experiment_id = ?",
                (int(experiment_id),),
            ).fetchone()
            artifact_uri = f"{location.rstrip('/')}/{run_id}/artifacts"
            connection.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
                " user_id, status, start_time, end_time, source_version, lifecycle_stage,"
                " artifact_uri, experiment_id, deleted_time)"
                " VALUES (?, ?, 'UNKNOWN', '', '', ?, ?, ?, ?, '', 'active', ?, ?, NULL)",
                (
                    run_id,
                    name,
                    tags.get("mlflow.user", "unknown"),
                    status,
                    start_ms,
                    end_ms,
                    artifact_uri,
                    int(experiment_id),
                ),
            )
            connection.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v, run_id) for k, v in {**tags, "mlflow.runName": name}.items()],
            )
            connection.executemany(
                "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v, run_id) for k, v in params.items()],
            )
            rows = [(key, *_metric_value(v), t, step) for key, v, t, step in metrics]
            connection.executemany(
                "INSERT OR IGNORE INTO metrics (key, value, is_nan, timestamp, step, run_uuid)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(*row, run_id) for row in rows],
            )
            latest: dict[str, tuple[str, float, int, int, int]] = {}
            for row in rows:  # MLflow's order: step, then timestamp, then value
                key, value, _, t, step = row
                old = latest.get(key)
                if old is None or (step, t, value) > (old[4], old[3], old[1]):
                    latest[key] = row
            connection.executemany(
                "INSERT INTO latest_metrics (key, value, is_nan, timestamp, step, run_uuid)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(*row, run_id) for row in latest.values()],
            )
            folder = Path(unquote(urlsplit(artifact_uri).path))
            for name, path in (artifacts or {}).items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, folder / name)

    @staticmethod
    def new_run_id() -> str:
        """A run id as MLflow makes them (32 hex digits)."""
        return uuid.uuid4().hex
