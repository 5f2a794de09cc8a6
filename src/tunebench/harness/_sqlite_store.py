"""Cheaper commits for the embedded SQLite MLflow store, where that is safe.

MLflow's SQLite store commits every client call (three or more per trial run) through SQLite's
default rollback journal, which ``fsync``\\ s several times a commit. In WAL mode with
``synchronous=NORMAL`` a commit appends to the write-ahead log and ``fsync``\\ s only at
checkpoints: a killed process loses nothing, and a machine crash loses at most the last commits
(the study's journal is the truth; a rerun logs what MLflow lacks). WAL needs every writer on one
host with shared memory, so it is used only on local file systems (never NFS, Lustre, GPFS...)
and can be turned off with ``TUNEBENCH_SQLITE_WAL=0``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["enable_wal", "fast_commits"]

LOCAL_FILESYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "zfs", "f2fs", "overlay", "apfs", "hfs"}
)
_hooked: set[str] = set()


def _database(tracking_uri: str) -> Path | None:
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
    db = _database(tracking_uri)
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
    db = _database(tracking_uri)
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
