"""Ax/BoTorch adapter: the ax-platform 1.x ``Client``, asked for one trial at a time.

``method``: ``default`` (centre, Sobol, then BoTorch's GP) or ``sobol``. The neutral space
becomes range and choice parameters; ``Client(random_seed=seed)`` makes trials repeatable.
``early_stopping: percentile`` stops trials on their epochs through Ax's
``PercentileEarlyStoppingStrategy``. A study resumes from the ``ax_client.json`` snapshot and
the recorder's journal (:data:`SNAPSHOT_SHARE` bounds what the snapshot costs).
Details and costs: docs/frameworks.md#ax.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tunebench.core.files import write_atomic
from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.frameworks.base import Optimizer, OptimizerConfigError
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import evaluate_trial
from tunebench.tasks.base import Task

__all__ = ["AxOptimizer", "from_ax", "to_ax_parameters"]

METHODS = ("default", "sobol")
EARLY_STOPPING = ("none", "percentile")
ES_DEFAULTS = {"min_progression": 3}
"""Options of the percentile strategy that differ from Ax's defaults."""
SNAPSHOT = "ax_client.json"
LOG_FILE = "ax.log"
METRIC = "objective"
SNAPSHOT_SHARE = 0.25
"""Snapshot writes may take at most this share of the trial seconds between two writes."""


def to_ax_parameters(space: SearchSpace) -> list[Any]:
    """Translate the neutral space to Ax ``RangeParameterConfig``/``ChoiceParameterConfig``."""
    from ax import ChoiceParameterConfig, RangeParameterConfig

    out: list[Any] = []
    for p in space:
        if isinstance(p, FloatParam | IntParam):
            kind = "float" if isinstance(p, FloatParam) else "int"
            out.append(
                RangeParameterConfig(
                    name=p.name,
                    bounds=(p.low, p.high),
                    parameter_type=kind,
                    scaling="log" if p.log else "linear",
                )
            )
        else:
            out.append(
                ChoiceParameterConfig(
                    name=p.name, values=p.labels, parameter_type="str", is_ordered=False
                )
            )
    return out


def from_ax(space: SearchSpace, params: Mapping[str, Any]) -> dict[str, Any]:
    """Ax's parameterisation as the neutral space declares it (types, bounds, choices)."""
    return space.from_native(params, CategoricalParam.choice_of)


class AxOptimizer(Optimizer):
    """Ax's ``Client``: ``get_next_trials(1)``, evaluate, ``complete_trial``; the harness
    enforces the budget.

    Args:
        name: The optimizer's config name.
        method: ``default`` (centre, Sobol, then BoTorch GP) or ``sobol``.
        initialization_budget: Trials before the GP takes over with ``default`` (centre and
            Sobol; ``None``: Ax's default, 5). Ignored by ``sobol``.
        early_stopping: ``none`` or ``percentile`` (Ax's ``PercentileEarlyStoppingStrategy``).
        early_stopping_options: Keyword arguments of the strategy.
    """

    framework = "ax"

    def __init__(
        self,
        *,
        name: str,
        method: str = "default",
        initialization_budget: int | None = None,
        early_stopping: str = "none",
        early_stopping_options: Mapping[str, Any] | None = None,
    ) -> None:
        for key, value, allowed in (
            ("method", method, METHODS),
            ("early_stopping", early_stopping, EARLY_STOPPING),
        ):
            if value not in allowed:
                raise OptimizerConfigError(
                    f"optimizers.{name}.{key}: unknown {key} {value!r} "
                    f"(choose from: {', '.join(allowed)})"
                )
        if initialization_budget is not None and (
            isinstance(initialization_budget, bool)
            or not isinstance(initialization_budget, int)
            or initialization_budget < 1
        ):
            raise OptimizerConfigError(
                f"optimizers.{name}.initialization_budget: must be a positive integer, "
                f"got {initialization_budget!r}"
            )
        self.name = name
        self.method = method
        self.initialization_budget = initialization_budget
        self.early_stopping = early_stopping
        self.early_stopping_options = {**ES_DEFAULTS, **(early_stopping_options or {})}
        self.algorithm = method if early_stopping == "none" else f"{method}+{early_stopping}"

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Ask, evaluate, tell until the recorder's budget is spent."""
        with _ax_logging(recorder.study_dir / LOG_FILE):
            self._run(task, seed, recorder)

    def _new_client(self, task: Task, seed: int) -> Any:
        from ax import Client

        client = Client(random_seed=seed)
        client.configure_experiment(parameters=to_ax_parameters(task.space), name="tunebench")
        sign = "-" if task.direction == "minimize" else ""
        client.configure_optimization(objective=f"{sign}{METRIC}")
        if self.method == "sobol":
            client.configure_generation_strategy(
                method="random_search",
                initialization_random_seed=seed,
                initialize_with_center=False,
            )
        else:
            client.configure_generation_strategy(
                method="fast",
                initialization_budget=self.initialization_budget,
                initialization_random_seed=seed,
            )
        if self.early_stopping == "percentile":
            from ax.early_stopping.strategies import PercentileEarlyStoppingStrategy

            try:
                strategy = PercentileEarlyStoppingStrategy(**self.early_stopping_options)
            except (TypeError, ValueError) as exc:
                raise OptimizerConfigError(
                    f"optimizers.{self.name}.early_stopping_options: {exc}"
                ) from None
            client.set_early_stopping_strategy(strategy)
        return client

    def _should_stop(self, client: Any, index: int, task: Task) -> Any:
        """The reporter's stop rule for Ax trial ``index`` (``None`` without early stopping)."""
        if self.early_stopping == "none" or not task.max_fidelity:
            return None

        def should_stop(epoch: int, value: float) -> bool:
            client.attach_data(trial_index=index, raw_data={METRIC: value}, progression=epoch)
            return bool(client.should_stop_trial_early(trial_index=index))

        return should_stop

    def _run(self, task: Task, seed: int, recorder: Recorder) -> None:
        snapshot = recorder.study_dir / SNAPSHOT
        client, snapshot_trials = None, []
        if snapshot.exists() and recorder.rows:
            client, snapshot_trials = _restore(snapshot, seed)
        if client is None:
            client = self._new_client(task, seed)
        pending = _reconcile(client, snapshot_trials, task.space, recorder)
        save_s, since_save = 0.0, 0.0
        while not recorder.exhausted:
            t0 = time.perf_counter()
            if pending is not None:
                (index, params), pending = pending, None
            else:
                proposed = client.get_next_trials(max_trials=1)
                if not proposed:  # the generation strategy cannot propose any more
                    break
                ((index, params),) = proposed.items()
            ask_s = time.perf_counter() - t0
            since_save += ask_s
            if save_s <= SNAPSHOT_SHARE * since_save:  # with this trial running
                t_save = time.perf_counter()
                _save(client, snapshot)
                save_s, since_save = time.perf_counter() - t_save, 0.0
            result = evaluate_trial(
                task,
                recorder.n_trials,
                from_ax(task.space, params),
                study_seed=seed,
                reporter=recorder.reporter(self._should_stop(client, index, task)),
            )
            t1 = time.perf_counter()
            _tell(client, index, result.status, result.value, result.error, result.epochs)
            result.optimizer_s = ask_s + time.perf_counter() - t1
            since_save += result.objective_s + result.optimizer_s - ask_s
            recorder.record(result)
        _save(client, snapshot)


def _tell(client: Any, index: int, status: str, value: float, error: str, epochs: int) -> None:
    """Hand one trial's outcome to Ax (at progression ``epochs`` when the task has epochs)."""
    progression = epochs or None
    if status == "complete":
        client.complete_trial(trial_index=index, raw_data={METRIC: value}, progression=progression)
    elif status == "pruned":
        client.attach_data(trial_index=index, raw_data={METRIC: value}, progression=progression)
        client.mark_trial_early_stopped(trial_index=index)
    else:
        client.mark_trial_failed(trial_index=index, failed_reason=error or None)


def _save(client: Any, path: Path) -> None:
    """Write the client's snapshot atomically (a kill never leaves half a file)."""
    write_atomic(path, lambda tmp: client.save_to_json_file(str(tmp)))


def _restore(path: Path, seed: int) -> tuple[Any, list[tuple[int, bool, dict[str, Any]]]]:
    """The client saved at ``path`` with ``random_seed=seed`` and its trials in index order.

    ``Client.load_from_json_file`` does not restore the seed, so the snapshot is decoded here
    (as ``load_from_json_file`` does) into a client built with it. Trials are
    ``(index, running, parameters)``.
    """
    from ax import Client
    from ax.core.trial_status import TrialStatus
    from ax.storage.json_store.decoder import generation_strategy_from_json, object_from_json

    saved = json.loads(path.read_text())
    experiment = object_from_json(saved["experiment"])
    client = Client(random_seed=seed)
    client.set_experiment(experiment)
    if saved.get("generation_strategy") is not None:
        strategy = generation_strategy_from_json(saved["generation_strategy"], experiment)
        client.set_generation_strategy(strategy)
    trials = [
        (index, trial.status == TrialStatus.RUNNING, dict(trial.arm.parameters))
        for index, trial in sorted(experiment.trials.items())
    ]
    return client, trials


def _reconcile(
    client: Any,
    snapshot_trials: list[tuple[int, bool, dict[str, Any]]],
    space: SearchSpace,
    recorder: Recorder,
) -> tuple[int, dict[str, Any]] | None:
    """Bring a restored client up to the recorder; return a proposed, unrecorded trial.

    Recorded trial ``i`` is Ax trial ``i``. Results recorded while Ax still had the trial
    running (the job was killed before the next snapshot) are told now; recorded trials
    missing from the snapshot are attached and told.
    """
    for number, row in enumerate(recorder.rows):
        value = float(row["value"])
        if number < len(snapshot_trials):
            index, running, _ = snapshot_trials[number]
            if not running:
                continue
        else:
            params = space.labelled(json.loads(row["params"]))
            index = client.attach_trial(parameters=params)
        _tell(client, index, row["status"], value, row["error"], int(row["epochs"]))
    unrecorded = snapshot_trials[recorder.n_trials :]
    if unrecorded and unrecorded[0][1]:
        index, _, params = unrecorded[0]
        return index, params
    return None


@contextlib.contextmanager
def _ax_logging(path: Path) -> Iterator[None]:
    """Ax's INFO lines to ``path``; only warnings and errors reach stderr (the rule log)."""
    from ax.utils.common.logger import ROOT_LOGGER, ROOT_STREAM_HANDLER

    level = ROOT_STREAM_HANDLER.level
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(ROOT_STREAM_HANDLER.formatter)
    handler.setLevel(logging.INFO)
    ROOT_STREAM_HANDLER.setLevel(logging.WARNING)
    ROOT_LOGGER.addHandler(handler)
    try:
        yield
    finally:
        ROOT_LOGGER.removeHandler(handler)
        handler.close()
        ROOT_STREAM_HANDLER.setLevel(level)
