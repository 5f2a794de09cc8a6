"""Interrupted attempts: a trial noted as started and never recorded is charged the seconds to
the last heartbeat, once, as no trial; its rerun's row counts it (end to end with every
framework: tests/harness/test_interrupted.py)."""

from __future__ import annotations

import json
import time

import pytest

from tests.helpers.tasks import QuadraticTask
from tunebench.core.budget import Budget
from tunebench.harness.attempts import ATTEMPTS, HEARTBEAT, AttemptLog
from tunebench.harness.recorder import Recorder, StudyKey
from tunebench.harness.trial import TrialResult

PARAMS = {"x": 0.5, "lr": 0.01, "n": 3, "width": 16, "act": "relu"}


def _killed_after(study_dir, trial: int, ran_s: float) -> float:
    """Leave ``study_dir`` as a job killed ``ran_s`` into ``trial`` would; returns its start."""
    log = AttemptLog(study_dir, [])
    log.start(trial, PARAMS)
    log.close()
    (entry,) = [json.loads(line) for line in (study_dir / ATTEMPTS).read_text().splitlines()]
    (study_dir / HEARTBEAT).write_text(f"{entry['t_start'] + ran_s:20.6f}\n")
    return entry["t_start"]


def test_a_started_trial_never_recorded_is_charged_to_its_last_heartbeat_once(tmp_path):
    t_start = _killed_after(tmp_path, 3, 0.7)
    log = AttemptLog(tmp_path, [0, 1, 2])
    (attempt,) = log.pending[3]
    assert attempt["seconds"] == pytest.approx(0.7)
    assert attempt["t_start"] == t_start and attempt["params"] == PARAMS
    assert log.last_alive == pytest.approx(t_start + 0.7)
    log.close()
    again = AttemptLog(tmp_path, [0, 1, 2])  # killed again before the rerun: still one attempt
    assert [a["seconds"] for a in again.pending[3]] == pytest.approx([0.7])
    again.close()
    done = AttemptLog(tmp_path, [0, 1, 2, 3])  # the rerun was recorded: nothing pending
    assert done.pending == {}
    done.close()


@pytest.mark.parametrize("heartbeat", ["older", "missing"])
def test_no_heartbeat_since_the_start_charges_nothing(tmp_path, heartbeat):
    _killed_after(tmp_path, 0, -5.0)
    if heartbeat == "missing":
        (tmp_path / HEARTBEAT).unlink()
    log = AttemptLog(tmp_path, [])
    assert [a["seconds"] for a in log.pending[0]] == [0.0]
    log.close()


def test_the_heartbeat_runs_while_the_log_is_open(tmp_path):
    log = AttemptLog(tmp_path, [])
    first = float((tmp_path / HEARTBEAT).read_text())
    time.sleep(1.2)
    assert float((tmp_path / HEARTBEAT).read_text()) >= first + 0.5
    log.close()


def _recorder(study_dir, budget: Budget) -> Recorder:
    task = QuadraticTask()
    key = StudyKey("e", task.name, "o", "fw", "a", budget.name, 0)
    return Recorder(study_dir, key, task, budget, progress=None)


def _result(trial: int, seconds: float) -> TrialResult:
    now = time.time()
    return TrialResult(trial, PARAMS, "complete", 1.0, 0, now, now + seconds, seconds)


@pytest.mark.parametrize("recovered", [False, True])
def test_the_rerun_counts_the_attempt_and_the_ledger_its_seconds(tmp_path, recovered):
    _killed_after(tmp_path, 0, 2.0)
    recorder = _recorder(tmp_path, Budget("s", "seconds", 10))
    assert (recorder.ledger.trials, recorder.ledger.seconds) == (0, pytest.approx(2.0))
    row = recorder.record(_result(0, 1.0), recovered=recovered)
    if recovered:  # the framework had finished that very attempt: not an interrupted one
        assert (row["attempt"], row["interrupted_s"], row["cum_seconds"]) == (1, 0.0, 1.0)
    else:
        assert (row["attempt"], row["interrupted_s"]) == (2, pytest.approx(2.0))
        assert row["cum_seconds"] == pytest.approx(3.0)
    assert row["cum_trials"] == 1
    recorder.finalize()
    reloaded = _recorder(tmp_path, Budget("s", "seconds", 10))  # from the journal
    assert reloaded.ledger.seconds == pytest.approx(row["cum_seconds"])
    assert reloaded.ledger.trials == 1
    reloaded.finalize()
