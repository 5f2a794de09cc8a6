"""The Ray-side half of the Ray Tune adapter (imports ``ray``; loaded only when a Ray study runs).

In the driver, :class:`HarnessSearcher` asks the search algorithm for a configuration and adds
the trial's number and epoch cap; in a Ray worker, :func:`trainable` evaluates it through
:func:`~tunebench.harness.trial.evaluate_trial`, relaying each epoch with ``tune.report`` so the
scheduler may stop it; back in the driver, :class:`RecordingCallback` hands the result to the
recorder. A trial Ray stops inside ``tune.report`` is recorded ``pruned`` from the epochs it
relayed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from ray import tune
from ray.tune.schedulers import AsyncHyperBandScheduler, MedianStoppingRule
from ray.tune.search import Searcher
from ray.tune.search.sample import Domain

from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.frameworks.base import OptimizerConfigError, job_threads
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import Reporter, TrialResult, evaluate_trial
from tunebench.tasks.base import Task

__all__ = [
    "HarnessSearcher",
    "RandomSearch",
    "RecordingCallback",
    "TuneSettings",
    "fit",
    "from_tune",
    "to_tune_space",
    "trainable",
]


class TuneSettings(Protocol):
    """What the Ray side reads of the adapter (:class:`~.ray_adapter.RayOptimizer` has it)."""

    name: str
    search: str
    scheduler: str
    search_options: dict[str, Any]
    scheduler_options: dict[str, Any]
    workers: int
    num_cpus: int | None
    reuse_actors: bool


def to_tune_space(space: SearchSpace) -> dict[str, Any]:
    """Translate the neutral space to Ray Tune domains.

    Tune's integer domains exclude their upper bound, so ``[low, high]`` becomes
    ``randint(low, high + 1)`` (``lograndint`` on a log scale).
    """
    out: dict[str, Any] = {}
    for p in space:
        if isinstance(p, FloatParam):
            out[p.name] = tune.loguniform(p.low, p.high) if p.log else tune.uniform(p.low, p.high)
        elif isinstance(p, IntParam):
            out[p.name] = (
                tune.lograndint(p.low, p.high + 1) if p.log else tune.randint(p.low, p.high + 1)
            )
        elif isinstance(p, CategoricalParam):
            out[p.name] = tune.choice(list(p.choices))
    return out


def from_tune(space: SearchSpace, config: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the neutral space declares them (plain ``int``/``float``), checked.

    Raises:
        SpaceError: A value is missing, of the wrong type or outside its domain.
    """
    out: dict[str, Any] = {}
    for p in space:
        value = config.get(p.name)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(p, IntParam) and isinstance(value, float) and value.is_integer():
            value = int(value)  # searchers that sample integers as integral floats
        elif isinstance(p, FloatParam) and type(value) is int:
            value = float(value)
        out[p.name] = value
    space.check(out)
    return out


META = "__tunebench__"  # config key carrying the trial number, epoch cap and time cap
METRIC = "value"  # the objective, in every result
TIME_ATTR = "epoch"  # the schedulers' clock: the task's epoch
FINAL = "tunebench_final"  # True on the result that carries the whole TrialResult
PAYLOAD = "tunebench"  # JSON: per-epoch points and timing, or the TrialResult (Ray's loggers
# skip strings, so they keep the scalars above and nothing warns about nested values)


def trainable(config: dict[str, Any], task: Task | None = None, seed: int = 0) -> dict[str, Any]:
    """Evaluate one trial in a Ray worker; per-epoch values go to Ray as they come.

    Returns the final result (``FINAL``), which Ray reports as the trial's last result. When the
    scheduler stops the trial, ``tune.report`` does not return (Ray ends the thread). Ray runs
    this in a thread of its worker, so the time cap is the watchdog of
    :mod:`~tunebench.harness.deadline`: a timed-out trial is recorded from its final result as
    failed.
    """
    assert task is not None, "tune.with_parameters passes the task"
    meta = config[META]
    params = from_tune(task.space, {k: v for k, v in config.items() if k != META})
    cap, fidelity = meta["cap"], task.max_fidelity
    t_start, t0 = time.time(), time.perf_counter()
    sent = 0

    def relay(epoch: int, value: float) -> bool:
        nonlocal sent
        done = reporter.epochs
        if (fidelity and done >= fidelity) or (cap and done >= cap):
            return False  # the trial's last epoch: nothing left for a scheduler to decide
        points, sent = reporter.curve[sent:], done
        elapsed = time.perf_counter() - t0
        payload = {"points": points, "t_start": t_start, "objective_s": elapsed}
        tune.report({METRIC: value, TIME_ATTR: epoch, FINAL: False, PAYLOAD: json.dumps(payload)})
        return False

    reporter = Reporter(relay, max_epochs=cap, timeout_s=meta["timeout_s"])
    result = evaluate_trial(task, meta["trial"], params, study_seed=seed, reporter=reporter)
    payload = json.dumps(asdict(result))
    return {METRIC: result.value, TIME_ATTR: result.epochs, FINAL: True, PAYLOAD: payload}


@dataclass(frozen=True)
class _ReplayedTrial:
    """Stands in for a recorded trial when it is replayed to a scheduler."""

    trial_id: str


@dataclass
class _Live:
    """A trial the driver has handed to Ray and not yet recorded."""

    number: int
    params: dict[str, Any]
    cap: int | None
    points: list[dict[str, float]] = field(default_factory=list)
    value: float = math.nan
    t_start: float = field(default_factory=time.time)
    objective_s: float = 0.0
    cut: str = ""


class StudyState:
    """The driver's view of one Ray study: numbers trials, builds their results, records them.

    Ray pickles its configs (``tuner.pkl``, experiment checkpoints), and with them the
    callback, stopper and searcher that hold this state; a pickled copy is empty, since the
    recorder lives in the driver only and a study resumes from its journal, not from Ray's.
    """

    def __init__(self, task: Task, recorder: Recorder, scheduler: Any = None) -> None:
        self.task = task
        self.recorder = recorder
        self.scheduler = scheduler
        self.next_trial = recorder.n_trials
        self.live: dict[str, _Live] = {}
        self.recorded: dict[str, str] = {}  # Ray trial id -> recorded status
        self.ending = ""  # why the study is ending, once its budget is spent
        self.mark = 0.0  # when the driver last recorded, or handed out its first trial
        self.begun_at = 0.0  # the wall time it handed out its first trial

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def exhausted(self) -> bool:
        """Whether the budget is spent."""
        return self.recorder.exhausted

    def begin(self, trial_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Number a new trial and cap its epochs; returns what the worker needs to know."""
        if not self.live and not self.recorded:  # Tune's start-up (and replay) is not charged
            self.mark, self.begun_at = time.perf_counter(), time.time()
        live = _Live(self.next_trial, params, self._epoch_cap())
        self.next_trial += 1
        self.live[trial_id] = live
        self.recorder.start_trial(live.number, params)
        return {"trial": live.number, "cap": live.cap, "timeout_s": self.recorder.trial_timeout_s}

    def _epoch_cap(self) -> int | None:
        """What is left of an epoch budget when it is less than a full trial (as the recorder's
        reporter caps an ask/tell framework's trial)."""
        budget, fidelity = self.recorder.budget, self.task.max_fidelity or 0
        if budget.currency != "epochs":
            return None
        left = int(self.recorder.ledger.remaining(budget))
        return left if left < fidelity else None

    def replay_scheduler(self) -> None:
        """Show a resumed study's recorded trials to the scheduler as it saw them when they ran
        (each relayed epoch, then the final result), so its rungs (ASHA) or running averages
        (median rule) continue where they stopped."""
        if self.scheduler is None:
            return
        fidelity = self.task.max_fidelity or 0
        rows, curves = self.recorder.rows, self.recorder.curves
        for i, (row, curve) in enumerate(zip(rows, curves, strict=True)):
            trial = _ReplayedTrial(f"replay_{i:05d}")
            self.scheduler.on_trial_add(None, trial)
            cut = row["error"].startswith("cut after")
            last: dict[str, float] | None = None
            for k, point in enumerate(curve, 1):
                if (
                    k < fidelity
                    and not (cut and k >= row["epochs"])
                    and math.isfinite(point["value"])
                ):
                    last = {METRIC: point["value"], TIME_ATTR: point["epoch"]}
                    self.scheduler.on_trial_result(None, trial, last)
            if row["status"] != "pruned" or row["error"]:  # it ran to its end: its final result
                last = {METRIC: row["value"], TIME_ATTR: row["epochs"]}
                self.scheduler.on_trial_result(None, trial, last)
            if last is not None:
                self.scheduler.on_trial_complete(None, trial, last)

    def status(self, trial_id: str) -> str | None:
        """The recorded status of a Ray trial (``None`` until recorded)."""
        return self.recorded.get(trial_id)

    def should_cut(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        """Whether running trials together would overrun an epoch budget (``workers`` > 1;
        one trial at a time is capped in its worker and never reaches this)."""
        live = self.live.get(trial_id)
        if live is None or result.get(FINAL) or self.recorder.budget.currency != "epochs":
            return False
        running = sum(len(t.points) for t in self.live.values())
        running += len(json.loads(result[PAYLOAD])["points"])
        if self.recorder.ledger.epochs + running < self.recorder.budget.limit:
            return False
        live.cut = "cut after {} epochs: the epoch budget is spent"
        return True

    def on_result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        """A result from a worker: the final one is recorded, the others kept until then."""
        live = self.live.get(trial_id)
        if live is None or trial_id in self.recorded:
            return
        payload = json.loads(result[PAYLOAD])
        if result.get(FINAL):
            self._record(trial_id, TrialResult(**payload))
            return
        live.points.extend(payload["points"])
        live.value = float(result[METRIC])
        live.t_start = payload["t_start"]
        live.objective_s = payload["objective_s"]

    def on_end(self, trial_id: str, error: str | None = None) -> None:
        """A trial ended without its final result: stopped by Ray, or its worker failed."""
        live = self.live.get(trial_id)
        if live is None or trial_id in self.recorded:
            return
        if error is None and not live.points:  # a pending trial, stopped before it ran
            del self.live[trial_id]
            return
        epochs = len(live.points)
        if error is not None:
            status, value, message = "failed", math.nan, error
        else:
            status, value = "pruned", live.value
            message = (live.cut or self.ending).format(epochs)
        self._record(
            trial_id,
            TrialResult(
                trial=live.number,
                params=live.params,
                status=status,  # type: ignore[arg-type]
                value=value,
                epochs=epochs,
                t_start=live.t_start,
                t_end=live.t_start + live.objective_s,
                objective_s=live.objective_s,
                error=message,
                curve=live.points,
            ),
        )

    def _record(self, trial_id: str, result: TrialResult) -> None:
        self.live.pop(trial_id)
        # time since the last trial ended that was not the objective: suggest/tell and Ray's
        # scheduling (with trials in parallel, the driver's share of the gap)
        now = time.perf_counter()
        # nor, for the run's first trial, its worker's start: each run pays it, a resumed one again
        setup = max(0.0, result.t_start - self.begun_at) if not self.recorded else 0.0
        result.optimizer_s = max(0.0, now - self.mark - result.objective_s - setup)
        self.recorder.record(result)
        self.recorded[trial_id] = result.status
        self.mark = time.perf_counter()


class HarnessSearcher(Searcher):
    """Wraps Ray's search algorithm: numbers and caps trials, replays a resumed study, and
    stops suggesting when the budget is spent.

    A failed trial is told to the search algorithm as an error (Optuna: ``FAIL``, Hyperopt:
    ``JOB_STATE_ERROR``); a trial stopped by the scheduler is told with its last result, as
    Ray does (Optuna and Hyperopt see it as complete with its last value).
    """

    def __init__(self, inner: Searcher, study: StudyState, space: SearchSpace) -> None:
        super().__init__()
        self._inner = inner
        self._study = study
        self._space = space

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """Pass the space on to the search algorithm, then replay the recorded trials."""
        if not self._inner.set_search_properties(metric, mode, config, **spec):
            return False
        self._metric, self._mode = metric, mode
        self._replay()
        return True

    def _replay(self) -> None:
        """Feed a resumed study's recorded trials to the search algorithm, in order.

        The algorithm is asked for each recorded trial again; with the same seed it proposes
        the same parameters, and is then told the recorded outcome, so it continues as if the
        study had never stopped. Where it proposes something else, the proposal is dropped
        (told as an error) and the recorded point is added where Ray allows it
        (``add_evaluated_point``: ``OptunaSearch``); elsewhere the algorithm does without it.
        """
        for i, row in enumerate(self._study.recorder.rows):
            trial_id = f"replay_{i:05d}"
            params = json.loads(row["params"])
            failed = row["status"] == "failed"
            outcome = {METRIC: row["value"], TIME_ATTR: row["epochs"]}
            config = self._inner.suggest(trial_id)
            if isinstance(config, dict) and _same(self._space, config, params):
                self._inner.on_trial_complete(trial_id, None if failed else outcome, failed)
                continue
            if isinstance(config, dict):
                self._inner.on_trial_complete(trial_id, None, True)
            with contextlib.suppress(NotImplementedError):  # not every algorithm takes them
                self._inner.add_evaluated_point(
                    params, row["value"], error=failed, pruned=row["status"] == "pruned"
                )

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        """The next configuration, with the trial's number and epoch cap under ``META``."""
        if self._study.exhausted:
            return Searcher.FINISHED
        config = self._inner.suggest(trial_id)
        if not isinstance(config, dict):
            return config
        params = from_tune(self._space, config)
        return {**config, META: self._study.begin(trial_id, params)}

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """Per-epoch results go to the search algorithm; the final one is its completion."""
        if not result.get(FINAL):
            self._inner.on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Tell the search algorithm; a trial recorded as failed is told as an error."""
        failed = error or self._study.status(trial_id) == "failed"
        self._inner.on_trial_complete(trial_id, None if failed else result, failed)

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: a study resumes from the recorder's journal, not Ray's state."""

    def restore(self, checkpoint_path: str) -> None:
        """Nothing to restore (see :meth:`save`)."""


def _same(space: SearchSpace, config: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    try:
        return from_tune(space, config) == params
    except ValueError:
        return False


class RandomSearch(Searcher):
    """Random search: tune's sampling of each domain (``Domain.sample``) from a seeded generator.

    The same sampling as Ray's ``BasicVariantGenerator``, as a ``Searcher`` so that the harness
    can wrap it like every other search algorithm.
    """

    def __init__(self, seed: int) -> None:
        super().__init__()
        self._rng = np.random.default_rng(seed)
        self._domains: dict[str, Domain] | None = None

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """Take the domains of the space."""
        if self._domains is not None:
            return False
        self._domains = {k: v for k, v in config.items() if isinstance(v, Domain)}
        self._metric, self._mode = metric, mode
        return True

    def suggest(self, trial_id: str) -> dict[str, Any]:
        """One independent draw per domain, in the space's order."""
        assert self._domains is not None, "set_search_properties comes first"
        return {k: d.sample(random_state=self._rng) for k, d in self._domains.items()}

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Random search learns nothing."""


class SeededAsyncHyperBand(AsyncHyperBandScheduler):
    """Ray's asynchronous HyperBand with each trial's bracket drawn from a seeded generator
    (Ray draws it from NumPy's global generator)."""

    def __init__(self, *, seed: int, **options: Any) -> None:
        super().__init__(**options)
        self._rng = np.random.default_rng(seed)

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        """Assign ``trial`` to a bracket, favouring those with more rungs (as Ray does)."""
        if not self._metric or not self._metric_op:
            raise ValueError(f"{type(self).__name__}: metric and mode must be set")
        sizes = np.array([len(b._rungs) for b in self._brackets])
        probs = np.exp(sizes - sizes.max())
        index = self._rng.choice(len(self._brackets), p=probs / probs.sum())
        self._trial_info[trial.trial_id] = self._brackets[index]


class RecordingCallback(tune.Callback):
    """Hands every trial's result to the study state, in the driver."""

    def __init__(self, study: StudyState) -> None:
        self._study = study

    def setup(self, **info: Any) -> None:
        """Before the first trial: replay a resumed study to the scheduler."""
        self._study.replay_scheduler()

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any):
        """Keep a per-epoch result, or record a final one."""
        self._study.on_result(trial.trial_id, result)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Record a trial that Ray stopped (it has no final result)."""
        self._study.on_end(trial.trial_id)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Record a trial whose worker failed outside the task (the task's errors are caught)."""
        self._study.on_end(trial.trial_id, error=_error_of(trial))


class BudgetStopper(tune.Stopper):
    """Ends the study when the budget is spent; cuts parallel trials at an epoch budget."""

    def __init__(self, study: StudyState) -> None:
        self._study = study

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        """Whether ``trial_id`` must stop now."""
        return self._study.should_cut(trial_id, result)

    def stop_all(self) -> bool:
        """Whether the whole study must stop."""
        if self._study.exhausted and not self._study.ending:
            self._study.ending = "stopped after {} epochs: the budget is spent"
        return self._study.exhausted


def _error_of(trial: Any) -> str:
    """The last line of Ray's error file for ``trial`` (the exception), for the trial table."""
    path = trial.error_file
    lines: list[str] = []
    if path and Path(path).exists():
        lines = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    return f"ray: {lines[-1]}"[:500] if lines else "ray: the trial's worker failed"


def _trial_dirname(trial: Any) -> str:
    return f"trial{trial.config[META]['trial']}_{trial.trial_id}"


def make_searcher(optimizer: TuneSettings, seed: int) -> Searcher:
    """The configured search algorithm, seeded."""
    options = optimizer.search_options
    try:
        if optimizer.search == "random":
            return RandomSearch(seed)
        if optimizer.search == "optuna":
            import optuna
            from ray.tune.search.optuna import OptunaSearch

            return OptunaSearch(sampler=optuna.samplers.TPESampler(seed=seed, **options))
        from ray.tune.search.hyperopt import HyperOptSearch

        return HyperOptSearch(random_state_seed=seed, **options)
    except TypeError as exc:
        raise OptimizerConfigError(f"optimizers.{optimizer.name}.search_options: {exc}") from None


def make_scheduler(optimizer: TuneSettings, task: Task, seed: int) -> Any:
    """The configured trial scheduler (``None``: FIFO), with the task's epochs as its clock."""
    if optimizer.scheduler == "fifo" or not task.max_fidelity:
        return None
    options = optimizer.scheduler_options
    prefix = f"optimizers.{optimizer.name}.scheduler_options"
    try:
        if optimizer.scheduler == "median":
            defaults = {"grace_period": 1, "min_samples_required": 3}
            # never pause a trial (that would restart it: tasks have no checkpoints)
            never_pause = {"hard_stop": True, "min_time_slice": math.inf}
            return MedianStoppingRule(
                time_attr=TIME_ATTR, **{**defaults, **options, **never_pause}
            )
        defaults = {"grace_period": 1, "reduction_factor": 4}
        if optimizer.scheduler == "hyperband":
            defaults["brackets"] = 3
        return SeededAsyncHyperBand(
            seed=seed, time_attr=TIME_ATTR, max_t=task.max_fidelity, **{**defaults, **options}
        )
    except (TypeError, AssertionError) as exc:
        raise OptimizerConfigError(f"{prefix}: {exc or 'invalid value'}") from None


def fit(optimizer: TuneSettings, task: Task, seed: int, recorder: Recorder) -> None:
    """Run one study with ``Tuner.fit`` (Ray is initialised by the caller)."""
    scheduler = make_scheduler(optimizer, task, seed)
    study = StudyState(task, recorder, scheduler)
    searcher = HarnessSearcher(make_searcher(optimizer, seed), study, task.space)
    budget = recorder.budget
    remaining = recorder.ledger.remaining(budget)
    cpus = max(1, (optimizer.num_cpus or job_threads()) // optimizer.workers)
    run = tune.with_resources(tune.with_parameters(trainable, task=task, seed=seed), {"cpu": cpus})
    tuner = tune.Tuner(
        run,
        param_space=to_tune_space(task.space),
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="min" if task.direction == "minimize" else "max",
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=math.ceil(remaining) if budget.currency == "trials" else -1,
            max_concurrent_trials=optimizer.workers,
            reuse_actors=optimizer.reuse_actors,
            trial_dirname_creator=_trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=f"from_trial_{recorder.n_trials}",
            storage_path=str(recorder.study_dir.resolve() / "ray_results"),
            verbose=0,
            callbacks=[RecordingCallback(study)],
            stop=BudgetStopper(study),
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )
    # Ray's per-trial CSV/JSON/TensorBoard loggers duplicate the recorder's tables and cost
    # time per trial; without them, the result grid Tune builds at the end finds no metrics
    # files and would warn once per trial.
    with (
        _environment(TUNE_DISABLE_AUTO_CALLBACK_LOGGERS="1"),
        _quiet("ray.tune.analysis.experiment_analysis"),
    ):
        tuner.fit()


@contextlib.contextmanager
def _environment(**variables: str) -> Iterator[None]:
    """Set environment variables that Tune reads when ``fit`` starts; restore them after."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Only errors from logger ``name`` while the block runs."""
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)
