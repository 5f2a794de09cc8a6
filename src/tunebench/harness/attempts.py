"""Trial attempts a killed job interrupted: noted as they start, charged what they ran.

The recorder notes each trial as it starts (a line of ``attempts.jsonl``: trial number, params,
start time), and a heartbeat thread writes the noted lines out, then the time into
``heartbeat``, every :data:`HEARTBEAT_S` seconds while the study runs. A resumed study finds
the trials that started and never finished: each is an *interrupted attempt*, charged the
seconds from its start to the last heartbeat, the last moment the killed job is known to have
run (at most :data:`HEARTBEAT_S` before the kill, so never the downtime; a trial killed before
the beat that would have written its start out is charged nothing, and run again all the
same). It is no trial of its own: the framework evaluates the trial again, and the trial's row
counts the attempt (``attempt``, ``interrupted_s``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from tunebench.harness.journal import JOURNALS, read_json_lines

__all__ = ["ATTEMPTS", "HEARTBEAT", "HEARTBEAT_S", "AttemptLog"]

ATTEMPTS = JOURNALS[2]
HEARTBEAT = "heartbeat"
HEARTBEAT_S = 0.5
"""Heartbeat interval: an interrupted attempt is charged up to this much less than it ran (more
while one C call holds the GIL and stalls the heartbeat thread)."""


class _Heartbeat:
    """A daemon thread that calls ``before()``, then overwrites ``path`` with the time, every
    ``interval_s`` seconds.

    The time goes into the file's content (a fixed-width ``pwrite``, no ``fsync``), not its
    mtime, so it comes from the same clock as the trials' start times even on a network file
    system that stamps mtimes with the server's clock.
    """

    def __init__(self, path: Path, interval_s: float, before: Callable[[], None]) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        self._before = before
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._beat()
        self._thread = threading.Thread(target=self._run, name="tunebench-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        self._before()
        os.pwrite(self._fd, b"%20.6f\n" % time.time(), 0)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._beat()

    def stop(self) -> None:
        """Beat once more and end the thread."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        self._beat()
        os.close(self._fd)


def _last_heartbeat(path: Path) -> float | None:
    """The time in a heartbeat file (``None``: no file, or not a time)."""
    try:
        return float(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


class AttemptLog:
    """The study's trial attempts: notes starts, finds those a killed job interrupted.

    Opening the log turns every noted start whose trial is not in ``finished`` (and is not
    already turned) into an interrupted attempt, appended to the file, then starts the
    heartbeat.

    Args:
        study_dir: The study directory (``attempts.jsonl`` and ``heartbeat`` live there).
        finished: Numbers of the trials the journal holds.

    Attributes:
        last_alive: When the job that wrote the log last ran (its last heartbeat; ``None`` if
            no job did).
        pending: Interrupted attempts of trials not yet recorded, by trial number (each an
            entry with ``params``, ``t_start``, ``t_alive`` and the ``seconds`` it is charged).
    """

    def __init__(self, study_dir: Path, finished: Iterable[int]) -> None:
        path = Path(study_dir) / ATTEMPTS
        entries = read_json_lines(path)
        finished = set(finished)
        self.last_alive = alive = _last_heartbeat(Path(study_dir) / HEARTBEAT)
        turned = {(e["trial"], e["t_start"]) for e in entries if e["event"] == "interrupted"}
        new = []
        for entry in entries:
            key = (entry["trial"], entry["t_start"])
            if entry["event"] != "start" or entry["trial"] in finished or key in turned:
                continue
            t_alive = max(entry["t_start"], alive if alive is not None else entry["t_start"])
            new.append(
                {
                    **entry,
                    "event": "interrupted",
                    "t_alive": t_alive,
                    "seconds": t_alive - entry["t_start"],
                }
            )
        self._file = path.open("ab")  # binary: its writes and flushes are thread-safe
        self._file.write(b"".join(json.dumps(e).encode() + b"\n" for e in new))
        self._file.flush()  # before the heartbeat moves on
        self.pending: dict[int, list[dict[str, Any]]] = {}
        for entry in [*entries, *new]:
            if entry["event"] == "interrupted" and entry["trial"] not in finished:
                self.pending.setdefault(entry["trial"], []).append(entry)
        self._heartbeat = _Heartbeat(Path(study_dir) / HEARTBEAT, HEARTBEAT_S, self._file.flush)

    @property
    def pending_seconds(self) -> float:
        """Seconds charged to the pending interrupted attempts."""
        return sum(e["seconds"] for entries in self.pending.values() for e in entries)

    def start(self, trial: int, params: Mapping[str, Any], t_start: float | None = None) -> None:
        """Note that ``trial`` starts with ``params`` now, or at ``t_start`` (a worker's clock
        on this machine); written out at the next beat."""
        t_start = time.time() if t_start is None else t_start
        entry = {"event": "start", "trial": trial, "params": dict(params), "t_start": t_start}
        self._file.write(json.dumps(entry).encode() + b"\n")

    def take(self, trial: int) -> list[dict[str, Any]]:
        """The pending interrupted attempts of ``trial``, which is being recorded now."""
        return self.pending.pop(trial, [])

    def close(self) -> None:
        """Stop the heartbeat and close the file."""
        self._heartbeat.stop()
        self._file.close()
