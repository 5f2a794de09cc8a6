"""Optuna adapter: ask/tell over a journal-file storage, with optional epoch pruning.

``sampler``: ``tpe``, ``random``, ``cmaes``, ``gp`` or ``qmc``; ``pruner``: ``none``,
``median``, ``successive_halving`` or ``hyperband``, acting on the epochs a task reports. The
study lives in ``optuna.journal`` in the study directory and the sampler is re-seeded from the
study seed and the trial number before every trial, so a killed job resumes exactly with nothing
else saved (``gp``'s sampler is pickled too). ``workers: K`` runs K processes on the shared
journal (not repeatable). A trial a kill interrupted is run again in place, with one worker or
several. Details: docs/frameworks.md#optuna.
"""

from __future__ import annotations

import pickle
import queue
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from tunebench.core.files import write_atomic
from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.frameworks.base import Optimizer, OptimizerConfigError
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import Reporter, TrialResult, evaluate_trial
from tunebench.tasks.base import Task

__all__ = ["OptunaOptimizer", "to_distributions"]

SAMPLERS = ("tpe", "random", "cmaes", "gp", "qmc")
PRUNERS = ("none", "median", "successive_halving", "hyperband")
STORAGES = ("journal", "memory")
_PICKLED_SAMPLERS = ("gp",)
"""Samplers with state beyond their random states (GPSampler warm-starts from its last fit)."""
_STATE_OF_STATUS = {"complete": "COMPLETE", "pruned": "PRUNED", "failed": "FAIL"}


def to_distributions(space: SearchSpace) -> dict[str, Any]:
    """Translate the neutral space to Optuna distributions."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for p in space:
        if isinstance(p, FloatParam):
            out[p.name] = FloatDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, IntParam):
            out[p.name] = IntDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, CategoricalParam):
            out[p.name] = CategoricalDistribution(p.choices)
    return out


def _suggesters(space: SearchSpace) -> dict[str, Callable[[Any], Any]]:
    """One ``trial.suggest_*`` call per parameter (cheaper than ``ask(distributions)``, which
    returns the values only through ``trial.params``, a deep copy)."""

    def suggester(p: Any) -> Callable[[Any], Any]:
        if isinstance(p, FloatParam):
            return lambda trial: trial.suggest_float(p.name, p.low, p.high, log=p.log)
        if isinstance(p, IntParam):
            return lambda trial: trial.suggest_int(p.name, p.low, p.high, log=p.log)
        return lambda trial: trial.suggest_categorical(p.name, p.choices)

    return {p.name: suggester(p) for p in space}


class OptunaOptimizer(Optimizer):
    """Optuna through ``study.ask``/``study.tell``; the harness enforces the budget."""

    framework = "optuna"

    def __init__(
        self,
        *,
        name: str,
        sampler: str = "tpe",
        pruner: str = "none",
        sampler_options: Mapping[str, Any] | None = None,
        pruner_options: Mapping[str, Any] | None = None,
        storage: str = "journal",
        workers: int = 1,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise OptimizerConfigError(
                f"optimizers.{name}.workers: must be a positive integer, got {workers!r}"
            )
        if workers > 1 and storage != "journal":
            raise OptimizerConfigError(
                f"optimizers.{name}.workers: {workers} workers need the shared journal storage, "
                f"not storage: {storage}"
            )
        for key, value, allowed in (
            ("sampler", sampler, SAMPLERS),
            ("pruner", pruner, PRUNERS),
            ("storage", storage, STORAGES),
        ):
            if value not in allowed:
                raise OptimizerConfigError(
                    f"optimizers.{name}.{key}: unknown {key} {value!r} "
                    f"(choose from: {', '.join(allowed)})"
                )
        self.name = name
        self.sampler = sampler
        self.pruner = pruner
        self.sampler_options = dict(sampler_options or {})
        self.pruner_options = dict(pruner_options or {})
        self.storage = storage
        self.workers = workers
        self.algorithm = sampler if pruner == "none" else f"{sampler}+{pruner}"

    def _make_sampler(self, seed: int) -> Any:
        import optuna

        cls = {
            "tpe": optuna.samplers.TPESampler,
            "random": optuna.samplers.RandomSampler,
            "cmaes": optuna.samplers.CmaEsSampler,
            "gp": optuna.samplers.GPSampler,
            "qmc": optuna.samplers.QMCSampler,
        }[self.sampler]
        try:
            return cls(seed=seed, **self.sampler_options)
        except TypeError as exc:
            raise OptimizerConfigError(f"optimizers.{self.name}.sampler_options: {exc}") from None

    def _make_pruner(self, max_epochs: int | None) -> Any:
        import optuna

        cls = {
            "none": optuna.pruners.NopPruner,
            "median": optuna.pruners.MedianPruner,
            "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
            "hyperband": optuna.pruners.HyperbandPruner,
        }[self.pruner]
        options = dict(self.pruner_options)
        if self.pruner == "hyperband" and max_epochs:
            options.setdefault("max_resource", max_epochs)
        try:
            return cls(**options)
        except TypeError as exc:
            raise OptimizerConfigError(f"optimizers.{self.name}.pruner_options: {exc}") from None

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Ask, evaluate, tell until the recorder's budget is spent."""
        import optuna

        from tunebench.frameworks._optuna_state import SingleWriterJournal

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        journal = sampler_file = None
        if self.storage == "journal":
            path = recorder.study_dir / "optuna.journal"
            journal = SingleWriterJournal(path)
            if self.sampler in _PICKLED_SAMPLERS:
                sampler_file = recorder.study_dir / "optuna_sampler.pkl"
        try:
            self._run(task, seed, recorder, journal, sampler_file)
        finally:
            if journal is not None:
                journal.close()

    def _run(
        self,
        task: Task,
        seed: int,
        recorder: Recorder,
        journal: Any,
        sampler_file: Path | None,
    ) -> None:
        import optuna
        from optuna.storages import JournalStorage

        from tunebench.frameworks._optuna_state import Reseeder

        sampler = _load_sampler(sampler_file) or self._make_sampler(seed)
        study = optuna.create_study(
            storage=None if journal is None else JournalStorage(journal),
            study_name="tunebench",  # one study per journal file (per study directory)
            direction=task.direction,
            sampler=sampler,
            pruner=self._make_pruner(task.max_fidelity),
            load_if_exists=True,
        )
        interrupted = _reconcile(study, recorder)
        if self.workers > 1:
            journal.close()  # the workers write the file from here, through Optuna's file lock
            self._run_workers(task, seed, recorder, [t._trial_id for t in interrupted])
            return
        suggesters = _suggesters(task.space)
        prune = self.pruner != "none" and task.max_fidelity is not None
        reseed = Reseeder(sampler, seed)
        number = len(study.get_trials(deepcopy=False))  # the next trial's
        while not recorder.exhausted:
            t0 = time.perf_counter()
            if interrupted:  # run again where it stands in Optuna's history, as asked then
                frozen = interrupted.pop(0)
                reseed(frozen.number)
                trial = optuna.trial.Trial(study, frozen._trial_id)
            else:
                reseed(number)
                trial = study.ask()
                number = trial.number + 1
            params = {name: suggest(trial) for name, suggest in suggesters.items()}
            ask_s = time.perf_counter() - t0
            reporter = recorder.reporter(_pruning_callback(trial) if prune else None)
            result = evaluate_trial(task, trial.number, params, study_seed=seed, reporter=reporter)
            t1 = time.perf_counter()
            state = optuna.trial.TrialState[_STATE_OF_STATUS[result.status]]
            values = result.value if result.status == "complete" else None
            study.tell(trial, values, state=state)
            if journal is not None:
                journal.flush()
            if sampler_file is not None:
                _save_sampler(sampler, sampler_file)
            result.optimizer_s = ask_s + time.perf_counter() - t1
            recorder.record(result)

    def _run_workers(
        self, task: Task, seed: int, recorder: Recorder, interrupted: list[int]
    ) -> None:
        """Hand trials to ``workers`` processes one at a time; record what they finish.

        The trials of ``interrupted`` (Optuna's trial ids) are handed out first, to be run again
        in place; a worker's start note goes to the recorder before its result.
        """
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        tickets, results = context.Queue(), context.Queue()
        journal = str(recorder.study_dir / "optuna.journal")
        timeout_s = recorder.trial_timeout_s
        processes = [
            context.Process(
                target=_worker,
                args=(self, task, seed, index, journal, timeout_s, tickets, results),
                daemon=True,
            )
            for index in range(self.workers)
        ]
        for process in processes:
            process.start()
        in_flight = 0

        def may_start() -> bool:
            if recorder.exhausted:
                return False
            if recorder.budget.currency == "trials":
                return in_flight < recorder.ledger.remaining(recorder.budget)
            return True

        def hand_out() -> None:
            nonlocal in_flight
            rerun = interrupted.pop(0) if interrupted else None
            tickets.put(_Ticket(recorder.epoch_cap(), rerun))
            in_flight += 1

        try:
            while in_flight < self.workers and may_start():
                hand_out()
            while in_flight:
                message = _next_result(results, processes)
                if isinstance(message, _Started):
                    recorder.start_trial(*message)
                    continue
                in_flight -= 1
                if isinstance(message, str):
                    raise RuntimeError(f"optimizers.{self.name}: a worker failed:\n{message}")
                recorder.record(message)
                if may_start():
                    hand_out()
        finally:
            for _ in processes:
                tickets.put(_STOP)
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()


_STOP = "stop"


class _Ticket(NamedTuple):
    """A worker's next trial: its epoch cap, and the Optuna trial id to run again in place
    (``None``: a new trial)."""

    max_epochs: int | None
    rerun: int | None


class _Started(NamedTuple):
    """A worker's note that a trial starts (the study's process notes the attempt)."""

    trial: int
    params: dict[str, Any]
    t_start: float


def _next_result(results: Any, processes: list[Any]) -> TrialResult | _Started | str:
    """The next start note or finished trial, or why there will be none (a worker's traceback
    or death)."""
    while True:
        try:
            return results.get(timeout=1.0)
        except queue.Empty:
            for index, process in enumerate(processes):
                if not process.is_alive():  # workers only leave when told to stop
                    return f"worker {index} exited with code {process.exitcode}"


def _worker(
    optimizer: OptunaOptimizer,
    task: Task,
    seed: int,
    index: int,
    journal: str,
    timeout_s: float | None,
    tickets: Any,
    results: Any,
) -> None:
    """One worker of a ``workers: K`` study: ask, evaluate, tell on the shared journal."""
    try:
        import numpy as np
        import optuna
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        worker_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0] >> 1)
        study = optuna.load_study(
            study_name="tunebench",
            storage=JournalStorage(JournalFileBackend(journal)),
            sampler=optimizer._make_sampler(worker_seed),
            pruner=optimizer._make_pruner(task.max_fidelity),
        )
        suggesters = _suggesters(task.space)
        prune = optimizer.pruner != "none" and task.max_fidelity is not None

        def note_start(trial: int, params: dict[str, Any]) -> None:
            results.put(_Started(trial, params, time.time()))

        while (ticket := tickets.get()) != _STOP:
            t0 = time.perf_counter()
            if ticket.rerun is None:
                trial = study.ask()
            else:  # as asked by the killed job: the storage holds its params
                trial = optuna.trial.Trial(study, ticket.rerun)
            params = {name: suggest(trial) for name, suggest in suggesters.items()}
            ask_s = time.perf_counter() - t0
            stop = _pruning_callback(trial) if prune else None
            reporter = Reporter(
                stop, max_epochs=ticket.max_epochs, timeout_s=timeout_s, on_start=note_start
            )
            result = evaluate_trial(task, trial.number, params, study_seed=seed, reporter=reporter)
            t1 = time.perf_counter()
            state = optuna.trial.TrialState[_STATE_OF_STATUS[result.status]]
            study.tell(trial, result.value if result.status == "complete" else None, state=state)
            result.optimizer_s = ask_s + time.perf_counter() - t1
            results.put(result)
    except BaseException:  # the study's process reports it and stops the other workers
        results.put(traceback.format_exc())


def _load_sampler(path: Path | None) -> Any:
    """The sampler saved after the last trial, with its random state (None if there is none)."""
    if path is None or not path.exists():
        return None
    with path.open("rb") as handle:
        return pickle.load(handle)


def _save_sampler(sampler: Any, path: Path) -> None:
    """Pickle the sampler (its RNG state included) so a resumed study continues identically."""
    write_atomic(path, lambda tmp: tmp.write_bytes(pickle.dumps(sampler)))


def _pruning_callback(trial: Any) -> Any:
    def should_stop(epoch: int, value: float) -> bool:
        trial.report(value, epoch)
        return trial.should_prune()

    return should_stop


def _reconcile(study: Any, recorder: Recorder) -> list[Any]:
    """Bring the recorder and Optuna's storage into agreement after a killed job.

    Trials Optuna finished and the recorder lacks are recorded from Optuna's storage. Returns
    the trials the job was running (``RUNNING`` in the storage, with their params), to be run
    again in place.
    """
    import optuna

    states = optuna.trial.TrialState
    recorded = {row["trial"] for row in recorder.rows}
    running = []
    for frozen in study.get_trials(deepcopy=False):
        if frozen.number in recorded:
            continue
        if frozen.state == states.RUNNING:
            running.append(frozen)
            continue
        status = {v: k for k, v in _STATE_OF_STATUS.items()}[frozen.state.name]
        value = frozen.value if status == "complete" else float("nan")
        if status == "pruned" and frozen.intermediate_values:
            value = frozen.intermediate_values[max(frozen.intermediate_values)]
        error = "" if status != "failed" else "failed before the job was killed"
        end = frozen.datetime_complete.timestamp()
        start = frozen.datetime_start.timestamp() if frozen.datetime_start else end
        curve = [{"epoch": e, "value": v} for e, v in sorted(frozen.intermediate_values.items())]
        recorder.record(
            TrialResult(
                trial=frozen.number,
                params=dict(frozen.params),
                status=status,  # type: ignore[arg-type]
                value=value,
                epochs=len(curve),
                t_start=start,
                t_end=end,
                objective_s=end - start,
                error=error,
                curve=curve,
            ),
            recovered=True,
        )
    return running
