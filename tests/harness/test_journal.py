"""Journals: a cut-short last line is dropped; a corrupt line stops the study with one line that
names the file, the line and the repair; ``tunebench repair`` keeps what came before it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.studies import branin_cell
from tunebench.harness.journal import JournalCorrupt, read_json_lines, repair_journals

CELL = branin_cell("journal", trials=8, seed=3, sampler="tpe")


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tunebench.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_a_cut_short_last_line_is_dropped_and_cut(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3')
    assert read_json_lines(path) == [{"a": 1}, {"a": 2}]
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'


@pytest.mark.parametrize("bad", ['{"a": "x\x01"}', "[1, 2]", "\xff\xfe"])
def test_a_corrupt_line_names_file_line_and_repair(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"a": 1}\n' + bad.encode("latin-1") + b'\n{"a": 3}\n')
    with pytest.raises(JournalCorrupt) as error:
        read_json_lines(path)
    message = str(error.value)
    assert message.startswith(f"{path}: line 2 is corrupt (")
    assert f"`tunebench repair {tmp_path}` keeps the 1 lines before it" in message
    assert "\n" not in message
    (done,) = repair_journals(tmp_path)
    assert done.startswith(f"{path}: kept 1 lines before line 2")
    assert read_json_lines(path) == [{"a": 1}]
    (backup,) = tmp_path.glob("journal.jsonl.*.bak")
    assert backup.read_bytes().count(b"\n") == 3


def test_a_study_with_a_corrupt_journal_stops_then_resumes_after_repair(tmp_path: Path) -> None:
    study = CELL.study_dir(tmp_path)
    first = _cli("run-study", "--cell", CELL.to_json(), "--out", str(study), "--no-mlflow")
    assert first.returncode == 0, first.stderr[-2000:]
    complete = pd.read_parquet(study / "trials.parquet")
    journal = study / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4][:20] + b"\x00" + lines[4][21:]
    journal.write_bytes(b"".join(lines))

    stopped = _cli("run-study", "--cell", CELL.to_json(), "--out", str(study), "--no-mlflow")
    assert stopped.returncode == 2
    (line,) = stopped.stderr.splitlines()
    assert f"{journal}: line 5 is corrupt" in line and f"tunebench repair {study}" in line

    repaired = _cli("repair", str(study))
    assert repaired.returncode == 0 and f"{journal}: kept 4 lines" in repaired.stdout
    resumed = _cli("run-study", "--cell", CELL.to_json(), "--out", str(study), "--no-mlflow")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    trials = pd.read_parquet(study / "trials.parquet")
    assert trials["trial"].tolist() == list(range(8))
    assert trials["params"].tolist() == complete["params"].tolist()  # Optuna resumes exactly
