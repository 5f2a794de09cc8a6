"""JSON-lines journals (the recorder's, Optuna's, the trial attempts'): reading them back, and
repairing a bad line.

A journal is appended one line at a time, so a kill can only cut its last line short: that line
never finished being written, and reading drops it and cuts it from the file. Any other line that
is not JSON (a disk fault, a hand edit) is corruption: reading stops with one line naming the
file, the line and the command that repairs it (:func:`repair_journals`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

__all__ = ["FSYNC_INTERVAL_S", "JOURNALS", "JournalCorrupt", "read_json_lines", "repair_journals"]

# The journals a study directory may hold.
JOURNALS = ("journal.jsonl", "optuna.journal", "attempts.jsonl")
# Journals are flushed after every entry and fsync'd at most this often (a machine crash loses at
# most the last interval's entries, which the rerun repeats; a killed process loses nothing).
FSYNC_INTERVAL_S = 1.0


class JournalCorrupt(ValueError):
    """A journal line other than a cut-short last one is not a JSON object."""


def _valid_prefix(path: Path) -> tuple[list[dict[str, Any]], int, int | None, str]:
    """The entries before the first bad line, their size in bytes, that line's number (None if
    every complete line is good) and what is wrong with it."""
    entries: list[dict[str, Any]] = []
    good_bytes = 0
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.endswith(b"\n"):
                break  # cut short by a kill
            try:
                entry = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                return entries, good_bytes, number, getattr(exc, "msg", None) or str(exc)
            if not isinstance(entry, dict):
                return entries, good_bytes, number, f"a {type(entry).__name__}, not an object"
            entries.append(entry)
            good_bytes += len(line)
    return entries, good_bytes, None, ""


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The entries of a JSON-lines journal (none if it does not exist).

    Raises:
        JournalCorrupt: A complete line is not a JSON object.
    """
    if not path.exists():
        return []
    entries, good_bytes, bad, why = _valid_prefix(path)
    if bad is not None:
        raise JournalCorrupt(
            f"{path}: line {bad} is corrupt ({why}); `tunebench repair {path.parent}` keeps the "
            f"{bad - 1} lines before it (with a backup of the file), and the study then reruns "
            "the trials after them"
        )
    os.truncate(path, good_bytes)
    return entries


def repair_journals(study_dir: Path) -> list[str]:
    """Cut each journal of ``study_dir`` before its first corrupt line, keeping a backup.

    Returns one line per journal that was repaired.
    """
    done = []
    for name in JOURNALS:
        path = Path(study_dir) / name
        if not path.exists():
            continue
        entries, good_bytes, bad, why = _valid_prefix(path)
        if bad is None:
            continue
        backup = path.with_name(f"{name}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        shutil.copy2(path, backup)
        os.truncate(path, good_bytes)
        done.append(
            f"{path}: kept {len(entries)} lines before line {bad} ({why}); backup {backup}"
        )
    return done
