"""One writer per study: a second process stops at once, and a killed holder leaves no lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.studies import branin_cell
from tunebench.harness.study_lock import StudyLocked, study_lock

CELL = branin_cell("lock")
HOLD = """
import sys, time
from pathlib import Path
from tunebench.harness.study_lock import study_lock
with study_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def _holder(study: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(study)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    study = tmp_path / "seed0"
    holder = _holder(study)
    try:
        expected = f"already being run by pid {holder.pid} on "
        with pytest.raises(StudyLocked, match=expected), study_lock(study):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    study = tmp_path / "seed0"
    holder = _holder(study)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with study_lock(study):  # the OS released it with the process
        pass


def test_run_study_on_a_running_study_stops_with_one_line(tmp_path: Path) -> None:
    study = CELL.study_dir(tmp_path)
    holder = _holder(study)
    try:
        start = time.monotonic()
        command = [sys.executable, "-m", "tunebench.cli", "run-study", "--cell", CELL.to_json()]
        run = subprocess.run(
            [*command, "--out", str(study), "--no-mlflow"], capture_output=True, text=True
        )
        assert run.returncode == 2
        assert run.stderr.count("\n") == 1
        assert f"already being run by pid {holder.pid}" in run.stderr
        assert time.monotonic() - start < 30
        assert not (study / "journal.jsonl").exists()  # it wrote nothing
    finally:
        holder.kill()
        holder.wait()
