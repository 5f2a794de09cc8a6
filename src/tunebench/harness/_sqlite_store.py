"""The embedded SQLite MLflow store: cheaper commits where safe, safe creation, relocation.

MLflow's SQLite store commits every client call (three or more per trial run) through SQLite's
default rollback journal, which ``fsync``\\ s several times a commit. In WAL mode with
``synchronous=NORMAL`` a commit appends to the write-ahead log and ``fsync``\\ s only at
checkpoints: a killed process loses nothing, and a machine crash loses at most the last commits
(the study's journal is the truth; a rerun logs what MLflow lacks). WAL needs every writer on one
host with shared memory, so it is used only on local file systems (never NFS, Lustre, GPFS...)
and can be turned off with ``TUNEBENCH_SQLITE_WAL=0``.

A new store is created by MLflow's schema migrations (~70 of them, about 2 s), which fail (or
leave a broken store) when two processes run them at once: :func:`store_lock` serialises creation
with a lock beside the database, and :func:`seed_store` copies a store that MLflow migrated once
per MLflow version into the user's cache (:func:`template_path`) instead of migrating again.
A project copied or moved with its store keeps its runs, whose artifact locations and
directory tags still name the old place: :func:`relocate` rewrites them.

A store whose disk fills stops with one line (:func:`disk_full_errors`): SQLite's error
reaches the caller as :class:`~tunebench.core.files.DiskFull` naming the database, and MLflow's
log of the chained traceback is left out.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tunebench.core.files import DiskFull, write_atomic

__all__ = [
    "database",
    "disk_full_errors",
    "enable_wal",
    "fast_commits",
    "relocate",
    "seed_store",
    "store_lock",
    "template_path",
]

# Run tags holding a path inside the project (rewritten by relocate).
PATH_TAGS = ("tunebench.study_dir", "tunebench.project")

LOCAL_FILESYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "zfs", "f2fs", "overlay", "apfs", "hfs"}
)
_hooked: set[str] = set()
_FULL_ERRORS = frozenset({"SQLITE_FULL", "SQLITE_IOERR_SHMSIZE"})
"""SQLite's errors for a full disk: no room for a page, or for the WAL's shared-memory index."""
_MLFLOW_DB_LOGGER = "mlflow.store.db.utils"
"""Logs every SQLAlchemy error's traceback before MLflow re-raises it."""


def _full(error: BaseException | None) -> bool:
    """Whether ``error``, or one it was raised from or while handling, is SQLite's full disk."""
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        if getattr(error, "sqlite_errorname", None) in _FULL_ERRORS:
            return True
        seen.append(error)
        error = error.__cause__ or error.__context__
    return False


def _not_full(record: logging.LogRecord) -> bool:
    return not (record.exc_info and _full(record.exc_info[1]))


@contextlib.contextmanager
def disk_full_errors(db: Path | None) -> Iterator[None]:
    """Raise a full disk under the SQLite store ``db`` in the ``with`` block (through MLflow
    and SQLAlchemy, or :mod:`sqlite3`) as :class:`~tunebench.core.files.DiskFull` naming ``db``,
    with MLflow's log of it left out (``db`` ``None``: not a SQLite store, nothing changes)."""
    if db is None:
        yield
        return
    logger = logging.getLogger(_MLFLOW_DB_LOGGER)
    if _not_full not in logger.filters:
        logger.addFilter(_not_full)
    try:
        yield
    except Exception as exc:
        if _full(exc):
            raise DiskFull.at(db) from None
        raise


def database(tracking_uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI (``None`` for anything else)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///")).resolve()


def filesystem_type(path: Path) -> str | None:
    """The type of the file system holding ``path``, from ``/proc/mounts`` (``None``: unknown)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, fstype = "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        inside = str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype = mount, fields[2]
    return fstype


def _wal_allowed(db: Path) -> bool:
    if os.environ.get("TUNEBENCH_SQLITE_WAL", "1") == "0":
        return False
    return filesystem_type(db.parent) in LOCAL_FILESYSTEMS


def enable_wal(tracking_uri: str) -> bool:
    """Switch a local SQLite store to WAL mode (persistent; run once, before any job writes).

    Returns whether the store is now in WAL mode.
    """
    db = database(tracking_uri)
    if db is None or not db.exists() or not _wal_allowed(db):
        return False
    connection = sqlite3.connect(db, timeout=20)
    try:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    except sqlite3.OperationalError:  # another process holds the store: keep its journal mode
        return False
    finally:
        connection.close()
    return str(mode).lower() == "wal"


def fast_commits(tracking_uri: str) -> None:
    """In this process, open connections to the store (if it is a SQLite store in WAL mode)
    with ``synchronous=NORMAL`` (a per-connection setting)."""
    db = database(tracking_uri)
    if db is None or str(db) in _hooked or not _wal_allowed(db):
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(connection: Any, _record: Any) -> None:
        if not isinstance(connection, sqlite3.Connection):
            return
        files = {str(Path(row[2]).resolve()) for row in connection.execute("PRAGMA database_list")}
        if str(db) not in files:
            return
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() == "wal":
            connection.execute("PRAGMA synchronous=NORMAL")

    event.listen(Engine, "connect", on_connect)
    _hooked.add(str(db))


def template_path() -> Path:
    """Where the migrated empty store of the installed MLflow is kept:
    ``$TUNEBENCH_CACHE_DIR`` or ``$XDG_CACHE_HOME/tunebench`` (default ``~/.cache/tunebench``),
    file ``mlflow-<version>-store.db``."""
    from importlib.metadata import version

    root = os.environ.get("TUNEBENCH_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "tunebench"
    )
    return Path(root, f"mlflow-{version('mlflow')}-store.db")


def _migrate(path: Path) -> None:
    """Create MLflow's tables in the new SQLite file ``path`` and run its migrations."""
    import sqlalchemy
    from mlflow.store.db.utils import _initialize_tables

    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    try:
        _initialize_tables(engine)
    finally:
        engine.dispose()


def seed_store(db: Path) -> bool:
    """Create the new store ``db`` as a copy of the migrated template (built first if the cache
    lacks it; concurrent builders each write their own file, then move it into place).

    Call under :func:`store_lock`. Returns ``False``, leaving ``db`` absent for MLflow to
    create, where ``db`` exists or the template cannot be built.
    """
    if db.exists():
        return False
    template = template_path()
    if not template.exists():
        try:
            write_atomic(template, _migrate)
        except Exception:  # e.g. a read-only cache folder: MLflow migrates the store itself
            return False
    write_atomic(db, lambda tmp: shutil.copyfile(template, tmp))
    return True


@contextlib.contextmanager
def store_lock(db: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<db>.lock`` (waiting for it) for the ``with`` block."""
    db.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(db.with_name(f"{db.name}.lock"), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def relocate(db: Path, experiment_id: str, artifacts: Path, project: Path) -> str | None:
    """Point the experiment of a copied or moved store at this project.

    ``artifacts`` (the experiment's artifact root) lies inside ``project`` (the results
    directory). If the experiment's artifact root is the same folder of another project, the
    experiment, its runs' artifact locations and the path tags (:data:`PATH_TAGS`) are rewritten
    from that project to this one, in one transaction. Returns the old project (``None``: there
    was nothing to rewrite).
    """
    wanted = artifacts.as_uri()
    suffix = "/" + artifacts.relative_to(project).as_posix()
    connection = sqlite3.connect(db, timeout=60, isolation_level=None)
    try:
        query = "SELECT artifact_location FROM experiments WHERE experiment_id = ?"
        row = connection.execute(query, (int(experiment_id),)).fetchone()
        if row is None or row[0] == wanted:
            return None
        connection.execute("BEGIN IMMEDIATE")
        (current,) = connection.execute(query, (int(experiment_id),)).fetchone()
        old_path = unquote(urlsplit(current).path)
        ours = urlsplit(current).scheme == "file" and old_path.endswith(suffix)
        if current == wanted or not ours:
            connection.execute("ROLLBACK")
            return None
        old_project = old_path.removesuffix(suffix)
        connection.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
            (wanted, int(experiment_id)),
        )
        connection.execute(
            "UPDATE runs SET artifact_uri = ? || substr(artifact_uri, ?)"
            " WHERE experiment_id = ? AND substr(artifact_uri, 1, ?) = ?",
            (wanted, len(current) + 1, int(experiment_id), len(current), current),
        )
        connection.execute(
            f"UPDATE tags SET value = ? || substr(value, ?) WHERE key IN "
            f"({', '.join('?' * len(PATH_TAGS))}) AND (value = ? OR substr(value, 1, ?) = ?)"
            " AND run_uuid IN (SELECT run_uuid FROM runs WHERE experiment_id = ?)",
            (
                str(project),
                len(old_project) + 1,
                *PATH_TAGS,
                old_project,
                len(old_project) + 1,
                old_project + "/",
                int(experiment_id),
            ),
        )
        connection.execute("COMMIT")
        return old_project
    finally:
        connection.close()
