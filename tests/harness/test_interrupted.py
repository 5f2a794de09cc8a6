"""A trial in flight when the job is killed: every framework that resumes runs it again, and the
study is charged what the interrupted attempt ran, never the downtime, nor a trial.

Each study runs in a child process on the quadratic task with a 1 s trial; the test kills it
(SIGKILL) 0.8 s into trial 1, waits, resumes it, and compares it with an uninterrupted study.
Optuna with two workers has two trials in flight at the kill: both are run again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.studies import ADAPTERS, params_of, run_quadratic
from tests.helpers.tasks import QuadraticTask
from tunebench.core.budget import Budget
from tunebench.harness.attempts import ATTEMPTS, HEARTBEAT_S

pytestmark = pytest.mark.xdist_group("interrupted")

# One algorithm per framework that resumes (docs/frameworks.md: "exact resume after a kill").
RESUMING = [
    "optuna-tpe",
    "hyperopt-tpe",
    "ray-random-fifo",
    "ax-sobol",
    "vizier-eagle",
    "sklearn-random",
    "smac-hpo",
    "nevergrad-ngopt",
    "synetune-random",
]
DELAY_S = 1.0  # each trial's objective
KILLED = 1  # the trial in flight at the kill
INTO_S = 0.8  # how far into it
DOWNTIME_S = 2.0
BUDGETS = {"seconds": Budget("s3", "seconds", 3.0), "trials": Budget("t3", "trials", 3)}
# Ray takes seconds between trials on a busy machine: a larger seconds budget lets the study
# reach trial KILLED. Its three studies take minutes here (a local cluster each): slow, and with
# a seconds budget only.
RAY_SECONDS = Budget("s15", "seconds", 15.0)
CASES = [
    pytest.param(optimizer, currency, marks=pytest.mark.slow)
    if optimizer.startswith("ray")
    else (optimizer, currency)
    for optimizer in RESUMING
    for currency in BUDGETS
    if not (optimizer.startswith("ray") and currency == "trials")
]

CHILD = """
import sys
sys.path.insert(0, {root!r})
from tests.helpers.studies import run_quadratic
from tests.helpers.tasks import QuadraticTask
from tunebench.core.budget import Budget
task, budget = QuadraticTask(delay_s={delay}), Budget(*{budget})
run_quadratic({optimizer!r}, {out!r}, task=task, budget=budget, spec={spec!r})
"""


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _kill_mid_trial(optimizer: str, out: Path, budget: Budget, spec: dict | None = None) -> float:
    """Run the study (``spec``: the adapter's, default its ADAPTERS entry) in a child process
    and SIGKILL it ``INTO_S`` into trial ``KILLED``; returns the time of the kill."""
    script = CHILD.format(
        root=str(Path(__file__).parents[2]),
        optimizer=optimizer,
        out=str(out),
        delay=DELAY_S,
        budget=(budget.name, budget.currency, budget.limit),
        spec=spec,
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while child.poll() is None and time.time() < deadline:
        started = [e for e in _lines(out / ATTEMPTS) if e["trial"] == KILLED]
        if started:
            time.sleep(max(0.0, started[0]["t_start"] + INTO_S - time.time()))
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return time.time()
        time.sleep(0.02)
    child.kill()
    raise AssertionError(f"the study never reached trial {KILLED}: {child.communicate()[1]!r}")


@pytest.mark.parametrize(("optimizer", "currency"), CASES)
def test_a_trial_interrupted_by_a_kill_is_run_again_and_charged_what_it_ran(
    optimizer, currency, tmp_path
):
    budget, task = BUDGETS[currency], QuadraticTask(delay_s=DELAY_S)
    if optimizer.startswith("ray") and currency == "seconds":
        budget = RAY_SECONDS
    out = tmp_path / "killed"
    killed_at = _kill_mid_trial(optimizer, out, budget)
    assert len(_lines(out / "journal.jsonl")) == KILLED, "the kill should land in the trial"
    time.sleep(DOWNTIME_S)
    resumed = run_quadratic(optimizer, out, task=task, budget=budget)
    uninterrupted = run_quadratic(optimizer, tmp_path / "straight", task=task, budget=budget)

    # the interrupted attempt is visible, and charged what it ran before the kill
    (attempt,) = [e for e in _lines(out / ATTEMPTS) if e["event"] == "interrupted"]
    ran = killed_at - attempt["t_start"]
    assert attempt["trial"] == KILLED
    assert ran - HEARTBEAT_S - 0.3 <= attempt["seconds"] <= ran < DOWNTIME_S
    row = resumed.set_index("trial").loc[KILLED]
    assert row["attempt"] == 2 and row["interrupted_s"] == pytest.approx(attempt["seconds"])
    assert set(resumed.drop(index=KILLED)["attempt"]) == {1}
    # it was run again, with the same params, and is one trial
    assert json.loads(row["params"]) == attempt["params"]
    assert row["status"] == "complete"
    assert resumed["trial"].tolist() == list(range(len(resumed)))
    assert resumed["cum_trials"].tolist() == list(range(1, len(resumed) + 1))
    # the ledger holds the trials' seconds plus the interrupted attempt's, not the downtime:
    # the objective's seconds are the uninterrupted study's plus the attempt's, and the rerun's
    # optimizer seconds no more than a trial's (the first of a run pays the framework's set-up)
    spent = resumed["objective_s"] + resumed["optimizer_s"] + resumed["interrupted_s"]
    assert np.allclose(resumed["cum_seconds"], spent.cumsum())
    ran_objective = resumed["objective_s"] + resumed["interrupted_s"]
    assert ran_objective.iloc[: KILLED + 1].sum() == pytest.approx(
        uninterrupted["objective_s"].iloc[: KILLED + 1].sum() + attempt["seconds"], abs=0.1
    )
    assert row["optimizer_s"] < uninterrupted["optimizer_s"].max() + DOWNTIME_S / 2
    # the framework continued as if never stopped (a seconds budget may end a trial earlier)
    n = min(len(resumed), len(uninterrupted))
    assert params_of(resumed)[:n] == params_of(uninterrupted)[:n]
    if currency == "trials":
        assert len(resumed) == len(uninterrupted) == budget.limit
    else:
        assert resumed["cum_seconds"].iloc[-2] < budget.limit <= resumed["cum_seconds"].iloc[-1]
    # the journal and the trial table agree
    journal = pd.DataFrame(_lines(out / "journal.jsonl"))
    assert journal["trial"].tolist() == resumed["trial"].tolist()
    assert journal["attempt"].tolist() == resumed["attempt"].tolist()
    assert journal["cum_seconds"].tolist() == resumed["cum_seconds"].tolist()


WORKERS = 2


@pytest.mark.parametrize("currency", list(BUDGETS))
def test_trials_in_flight_in_a_study_of_optuna_workers_are_run_again(currency, tmp_path):
    import optuna

    budget, task = BUDGETS[currency], QuadraticTask(delay_s=DELAY_S)
    spec = {**ADAPTERS["optuna-tpe"], "workers": WORKERS}
    out = tmp_path / "killed"
    killed_at = _kill_mid_trial("optuna-tpe", out, budget, spec)
    finished = len(_lines(out / "journal.jsonl"))
    time.sleep(DOWNTIME_S)
    resumed = run_quadratic("optuna-tpe", out, task=task, budget=budget, spec=spec)
    straight = run_quadratic("optuna-tpe", tmp_path / "s", task=task, budget=budget, spec=spec)

    # every trial in flight at the kill whose start was written out is an interrupted attempt,
    # charged what it ran; trial KILLED among them (the test saw its start)
    attempts = {e["trial"]: e for e in _lines(out / ATTEMPTS) if e["event"] == "interrupted"}
    assert KILLED in attempts and len(attempts) <= WORKERS
    for attempt in attempts.values():
        ran = killed_at - attempt["t_start"]
        assert ran - HEARTBEAT_S - 0.3 <= attempt["seconds"] <= ran < DOWNTIME_S
    # each was run again in place, as one trial, with its params, counting the attempt; except
    # one a worker finished just before the kill (Optuna has its result): that one is read back
    # as it finished, one attempt, charged nothing more
    rows = resumed.set_index("trial")
    again = rows[rows["attempt"] == 2]
    recovered = set(attempts) - set(again.index)
    assert set(again.index) <= set(attempts) and set(rows["attempt"]) <= {1, 2}
    assert (rows.loc[sorted(recovered), "interrupted_s"] == 0).all()
    attempts = {t: a for t, a in attempts.items() if t not in recovered}
    assert attempts, "the kill interrupted no trial"
    for trial, attempt in attempts.items():
        assert json.loads(again.loc[trial, "params"]) == attempt["params"]
        assert again.loc[trial, "interrupted_s"] == pytest.approx(attempt["seconds"])
    assert set(resumed["status"]) == {"complete"}
    assert sorted(resumed["trial"]) == list(range(len(resumed)))
    assert resumed["cum_trials"].tolist() == list(range(1, len(resumed) + 1))
    assert len(resumed) > finished
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(out / "optuna.journal"))
    )
    study = optuna.load_study(study_name="tunebench", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * len(resumed)
    # the ledger holds the trials' seconds and the attempts', not the downtime: every trial
    # took the objective's second, as in the uninterrupted study
    spent = resumed["objective_s"] + resumed["optimizer_s"] + resumed["interrupted_s"]
    assert resumed["cum_seconds"].iloc[-1] == pytest.approx(spent.sum())
    assert resumed["interrupted_s"].sum() == pytest.approx(
        sum(a["seconds"] for a in attempts.values())
    )
    assert np.allclose(resumed["objective_s"], straight["objective_s"].mean(), atol=0.15)
    # the budget stops both studies alike: a trials budget exactly, a seconds budget once
    # spent, overrun by at most the trials then in flight
    for trials in (resumed, straight):
        if currency == "trials":
            assert len(trials) == budget.limit
        else:
            assert trials["cum_seconds"].iloc[-WORKERS - 1] < budget.limit
            assert trials["cum_seconds"].iloc[-1] >= budget.limit
