"""Faults: trials that hang past ``trial_timeout_s`` or run out of memory are recorded as failed
with the reason and the study completes its budget (Ray Tune: ``tests/frameworks/test_ray.py``);
a framework that crashes mid-study leaves a journal that the rerun continues without losing or
repeating a trial."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.studies import ADAPTERS, check_timeouts, params_of, run_quadratic
from tests.helpers.tasks import FAULT_X, FaultyTask
from tunebench.core.config import ConfigError, validate_config
from tunebench.core.matrix import expand_matrix
from tunebench.harness.deadline import Deadline, TrialTimeout
from tunebench.harness.trial import Reporter, evaluate_trial

TIMEOUT_ERROR = "timeout: exceeded trial_timeout_s=1"
TRIALS = 8


@pytest.mark.parametrize("optimizer", ["optuna-tpe", "hyperopt-tpe", "sklearn-random"])
def test_hanging_trials_time_out_and_the_study_completes(optimizer, tmp_path):
    t0 = time.perf_counter()
    trials = run_quadratic(
        optimizer, tmp_path, trials=TRIALS, task=FaultyTask("hang"), trial_timeout_s=1
    )
    check_timeouts(trials, time.perf_counter() - t0, n=TRIALS)


def test_a_trial_timed_out_mid_training_keeps_its_curve(tmp_path):
    task = FaultyTask("hang", max_epochs=4, hang_after=2)
    t0 = time.perf_counter()
    trials = run_quadratic("optuna-random", tmp_path, trials=TRIALS, task=task, trial_timeout_s=1)
    check_timeouts(trials, time.perf_counter() - t0, n=TRIALS, epochs=2)
    curves = pd.read_parquet(tmp_path / "curves.parquet")
    hung = trials.loc[trials["error"] == TIMEOUT_ERROR, "trial"]
    for trial in hung:
        assert curves.loc[curves["trial"] == trial, "epoch"].tolist() == [1, 2]


MEMORY_STUDY = """
import json, sys
sys.path.insert(0, {root!r})
from tests.helpers.studies import run_quadratic
from tests.helpers.tasks import FaultyTask
trials = run_quadratic("optuna-random", {out!r}, trials={trials}, task=FaultyTask("memory"))
print(json.dumps(trials[["params", "status", "error"]].to_dict("records")))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs resource limits (POSIX)")
def test_trials_that_exhaust_memory_fail_and_the_study_completes(tmp_path):
    import resource

    limit = 3 * 2**30  # the 16 GiB trials cannot fit; the rest of the study does

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    script = MEMORY_STUDY.format(root=str(Path(__file__).parents[2]), out=str(tmp_path), trials=12)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_memory,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(rows) == 12
    big = [r for r in rows if json.loads(r["params"])["x"] > FAULT_X]
    assert big, "the seed must draw at least one trial that allocates too much"
    for row in big:
        assert row["status"] == "failed"
        assert row["error"].startswith("MemoryError: Unable to allocate 16.0 GiB")
    assert {r["status"] for r in rows if r not in big} == {"complete"}


class InjectedFault(RuntimeError):
    """FAULT INJECTION: planted in a framework's own code to crash a study mid-way."""


def _crash_on_call(monkeypatch, owner, name: str, call: int) -> None:
    """FAULT INJECTION: ``owner.name`` raises :class:`InjectedFault` on its ``call``-th call."""
    original = getattr(owner, name)
    calls = 0

    def crashing(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == call:
            raise InjectedFault(f"injected fault in {name} (call {call})")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, crashing)


def _journal(study_dir: Path) -> list[dict]:
    lines = (study_dir / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_optuna_crash_leaves_the_journal_consistent_and_the_rerun_completes(tmp_path, monkeypatch):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    reference = params_of(run_quadratic("optuna-random", tmp_path / "ref", trials=TRIALS))
    study_dir = tmp_path / "crashed"
    with monkeypatch.context() as patch:
        _crash_on_call(patch, optuna.study.Study, "tell", 4)  # after trial 3 ran, before it is
        with pytest.raises(InjectedFault):  # recorded: Optuna holds it as RUNNING
            run_quadratic("optuna-random", study_dir, trials=TRIALS)
    journal = _journal(study_dir)
    assert [row["trial"] for row in journal] == [0, 1, 2]
    assert [json.loads(row["params"]) for row in journal] == reference[:3]

    trials = run_quadratic("optuna-random", study_dir, trials=TRIALS)
    assert trials["trial"].tolist() == list(range(TRIALS))  # none lost, none twice
    # trial 3, RUNNING in Optuna's storage, is run again in place: a second attempt, not a
    # failed trial; the sampler is re-seeded from the trial number, so the study proposes
    # what the uninterrupted one did
    assert params_of(trials) == reference
    assert set(trials["status"]) == {"complete"}
    assert trials["attempt"].tolist() == [1, 1, 1, 2, 1, 1, 1, 1]
    assert len(_journal(study_dir)) == TRIALS
    storage = JournalStorage(JournalFileBackend(str(study_dir / "optuna.journal")))
    stored = optuna.load_study(study_name="tunebench", storage=storage).get_trials()
    assert [t.state.name for t in stored] == ["COMPLETE"] * TRIALS  # no FAIL left behind


def test_hyperopt_crash_leaves_the_journal_consistent_and_the_rerun_completes(
    tmp_path, monkeypatch
):
    import hyperopt

    reference = params_of(run_quadratic("hyperopt-tpe", tmp_path / "ref", trials=TRIALS))
    study_dir = tmp_path / "crashed"
    with monkeypatch.context() as patch:
        _crash_on_call(patch, hyperopt.tpe, "suggest", 5)  # while proposing trial 4
        with pytest.raises(InjectedFault):
            run_quadratic("hyperopt-tpe", study_dir, trials=TRIALS)
    journal = _journal(study_dir)
    assert [row["trial"] for row in journal] == [0, 1, 2, 3]

    trials = run_quadratic("hyperopt-tpe", study_dir, trials=TRIALS)
    assert trials["trial"].tolist() == list(range(TRIALS))
    assert params_of(trials) == reference  # the rerun proposes what an unbroken study did
    assert len(_journal(study_dir)) == TRIALS


def test_deadline_interrupts_a_sleep_in_the_main_thread_and_restores_the_handler():
    previous = signal.getsignal(signal.SIGALRM)
    deadline = Deadline(0.2)
    t0 = time.perf_counter()
    with pytest.raises(TrialTimeout), deadline:
        time.sleep(30)
    assert deadline.expired
    assert time.perf_counter() - t0 < 1.0
    assert signal.getsignal(signal.SIGALRM) == previous
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_deadline_interrupts_a_loop_in_another_thread():
    outcome: dict[str, object] = {}

    def trial() -> None:
        reporter = Reporter(timeout_s=0.3)
        task = FaultyTask("hang")
        params = _hanging_params()
        outcome["result"] = evaluate_trial(task, 0, params, study_seed=0, reporter=reporter)

    worker = threading.Thread(target=trial)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive()
    result = outcome["result"]
    assert result.status == "failed"
    assert result.error == "timeout: exceeded trial_timeout_s=0.3"
    assert 0.3 <= result.objective_s < 1.0


def test_the_cap_waits_while_an_epoch_is_relayed_to_the_framework():
    relayed: list[int] = []

    def slow_framework(epoch: int, value: float) -> bool:
        time.sleep(0.3)  # the cap passes while the framework handles the epoch
        relayed.append(epoch)
        return False

    task = FaultyTask("hang", max_epochs=3, hang_after=3)
    reporter = Reporter(slow_framework, timeout_s=0.1)
    result = evaluate_trial(task, 0, _hanging_params(), study_seed=0, reporter=reporter)
    assert relayed == [1]  # epoch 1 was relayed whole, then the trial stopped
    assert result.error == "timeout: exceeded trial_timeout_s=0.1"
    assert result.epochs == 1


def test_a_trial_that_ends_in_time_leaves_no_timer_behind():
    task = FaultyTask("hang")
    params = {**_hanging_params(), "x": 0.0}
    result = evaluate_trial(task, 0, params, study_seed=0, reporter=Reporter(timeout_s=0.2))
    assert result.status == "complete"
    time.sleep(0.3)  # a stray alarm would raise here
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def _hanging_params() -> dict:
    return {"x": FAULT_X + 1, "lr": 0.01, "n": 3, "width": 16, "act": "relu"}


BASE_CONFIG = {
    "seeds": 1,
    "tasks": {
        "fast": {"kind": "synthetic", "function": "branin"},
        "slow": {"kind": "synthetic", "function": "branin", "trial_timeout_s": 30},
        "free": {"kind": "synthetic", "function": "branin", "trial_timeout_s": None},
    },
    "optimizers": {"random": {"framework": "optuna", "sampler": "random"}},
    "budgets": {"t5": {"trials": 5}},
}


def test_trial_timeout_s_is_top_level_with_a_per_task_override():
    config = validate_config({**BASE_CONFIG, "trial_timeout_s": 2})
    caps = {cell.task: cell.trial_timeout_s for cell in expand_matrix(config)}
    assert caps == {"fast": 2.0, "slow": 30.0, "free": None}
    assert all("trial_timeout_s" not in cell.task_spec for cell in expand_matrix(config))
    default = validate_config(BASE_CONFIG)
    assert default["trial_timeout_s"] is None


@pytest.mark.parametrize("bad", [0, -1, "1h", True, [1]])
def test_bad_trial_timeouts_are_one_line_errors(bad):
    with pytest.raises(ConfigError, match=r"^trial_timeout_s: [^\n]+$"):
        validate_config({**BASE_CONFIG, "trial_timeout_s": bad})
    task = {"kind": "synthetic", "function": "branin", "trial_timeout_s": bad}
    with pytest.raises(ConfigError, match=r"^tasks\.t\.trial_timeout_s: [^\n]+$"):
        validate_config({**BASE_CONFIG, "tasks": {"t": task}})


def test_no_cap_costs_nothing_and_changes_nothing(tmp_path):
    spec = ADAPTERS["optuna-random"]
    capped = run_quadratic("optuna-random", tmp_path / "a", spec=spec, trial_timeout_s=30)
    free = run_quadratic("optuna-random", tmp_path / "b", spec=spec)
    assert params_of(capped) == params_of(free)
    assert capped["value"].tolist() == free["value"].tolist()
    assert not math.isnan(capped["value"].min())


CAPPED_CALL = "timeout: the search of 4 candidates exceeded 4 x trial_timeout_s=0.001"


def _cancer_svc():
    from tunebench.tasks import build_task

    spec = {"kind": "sklearn", "model": "svc", "dataset": "breast_cancer"}
    return build_task("cancer-svc", spec)


@pytest.mark.parametrize(
    ("optimizer", "budget", "error"),
    [
        ("sklearn-random", ("trials", 4), "timeout: exceeded trial_timeout_s=0.001"),
        ("sklearn-random", ("seconds", 0.02), "timeout: exceeded trial_timeout_s=0.001"),
        ("sklearn-halving", ("trials", 4), CAPPED_CALL),
    ],
    ids=["random-trials", "random-seconds", "halving-trials"],
)
def test_sklearn_search_classes_are_capped(optimizer, budget, error, tmp_path):
    from tunebench.core.budget import Budget

    trials = run_quadratic(
        optimizer,
        tmp_path,
        task=_cancer_svc(),
        budget=Budget("b", *budget),
        trial_timeout_s=0.001,  # below any fit: every search call runs past its cap
    )
    assert len(trials) == 4 if budget[0] == "trials" else len(trials) >= 1
    assert set(trials["status"]) == {"failed"}
    assert set(trials["error"]) == {error}


def test_a_cap_does_not_change_sklearn_candidates(tmp_path):
    task = _cancer_svc()
    capped = run_quadratic("sklearn-random", tmp_path / "a", task=task, trial_timeout_s=60)
    free = run_quadratic("sklearn-random", tmp_path / "b", task=task)
    assert params_of(capped) == params_of(free)
    assert set(capped["status"]) == {"complete"}
