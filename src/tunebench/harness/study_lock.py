"""One writer per study: an OS lock held by the process that runs it.

The lock is ``flock`` on a file beside the study directory (``.seed0.lock`` for ``seed0``), so it
dies with its holder: a killed process never leaves a stale lock, and a second process on the
same study (a hand-run ``run-study`` beside Snakemake, a run started after ``snakemake --unlock``)
stops at once, naming the holder, instead of appending to the same journal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["StudyLocked", "study_lock"]


class StudyLocked(RuntimeError):
    """Another process is running the study."""


@contextlib.contextmanager
def study_lock(study_dir: Path) -> Iterator[None]:
    """Hold the study's lock for the ``with`` block; raise :class:`StudyLocked` if it is held."""
    study_dir = Path(study_dir)
    path = study_dir.with_name(f".{study_dir.name}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 300, 0).decode(errors="replace").strip() or "another process"
            raise StudyLocked(
                f"{study_dir}: already being run by {holder}; wait for it to end or stop it"
            ) from None
        since = time.strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
