"""Auto-PyTorch adapter: ``TabularClassificationTask.search`` on a scikit-learn task's data set.

Auto-PyTorch 0.2.1 needs Python 3.8, so it runs in a worker process of the venv that
``make install-autopytorch`` builds (:func:`venv_python`): the worker script
(``_autopytorch_worker.py``, no tunebench import) gets the task's dev and test rows as an
``.npz`` and streams one JSON line per configuration SMAC evaluates, which the adapter records as
it arrives. Auto-PyTorch searches its own pipeline space with SMAC and Hyperband (the task's
space is not used). Budgets, repeatability, resume and faults: docs/frameworks.md#autopytorch.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import math
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tunebench.frameworks.base import Optimizer, OptimizerConfigError, check_replayed
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import TrialResult
from tunebench.tasks.base import Task

__all__ = ["AutoPyTorchOptimizer", "status", "venv_python"]

BUDGET_KEY = "hyperband_epochs"
INSTALL = "make install-autopytorch"
WORKER = Path(__file__).with_name("_autopytorch_worker.py")
# SMAC run statuses that are results; the others (CRASHED, TIMEOUT, MEMOUT...) are failed trials.
OK_STATUSES = ("SUCCESS", "DONOTADVANCE")


def venv_path() -> Path:
    """The Auto-PyTorch venv: ``$AUTOPYTORCH_VENV``, else ``.venv-autopytorch`` in the checkout
    that holds this package."""
    default = Path(__file__).resolve().parents[3] / ".venv-autopytorch"
    return Path(os.environ.get("AUTOPYTORCH_VENV") or default)


def venv_python() -> Path:
    """The Auto-PyTorch venv's interpreter."""
    return venv_path() / "bin" / "python"


def status() -> tuple[bool, str]:
    """``(installed, version or install hint)`` of Auto-PyTorch in its venv, without running
    it (what ``tunebench frameworks`` shows)."""
    python = venv_python()
    if not python.exists():
        return False, f"not installed (no {python}): {INSTALL}"
    site = [str(p) for p in venv_path().glob("lib/python3*/site-packages")]
    for dist in importlib.metadata.distributions(path=site):
        if dist.metadata["Name"].lower() == "autopytorch":
            return True, dist.version
    return False, f"not installed (autoPyTorch missing in {venv_path()}): {INSTALL}"


class AutoPyTorchOptimizer(Optimizer):
    """Auto-PyTorch's tabular classification search (SMAC with Hyperband over epochs).

    Args:
        name: The optimizer's config name.
        total_walltime_limit: Seconds for the whole search with a trials or epochs budget (a
            seconds budget sets it instead).
        func_eval_time_limit_secs: Seconds for one pipeline (``None``: Auto-PyTorch's default,
            half the walltime limit); a pipeline past it is a failed trial.
        min_budget: Smallest Hyperband budget in epochs.
        max_budget: Largest Hyperband budget in epochs.
        memory_limit: Megabytes per pipeline (``None``: no limit).
        include_components: Auto-PyTorch's ``include_components`` (pipeline step -> the
            components it may use): restricts the searched space.
        exclude_components: Auto-PyTorch's ``exclude_components``.
    """

    framework = "autopytorch"
    algorithm = "smac-hyperband"

    def __init__(
        self,
        *,
        name: str,
        total_walltime_limit: int = 3600,
        func_eval_time_limit_secs: int | None = None,
        min_budget: int = 5,
        max_budget: int = 50,
        memory_limit: int | None = 4096,
        include_components: Mapping[str, list[str]] | None = None,
        exclude_components: Mapping[str, list[str]] | None = None,
    ) -> None:
        if not 1 <= min_budget <= max_budget:
            raise OptimizerConfigError(
                f"optimizers.{name}.min_budget: must be between 1 and max_budget "
                f"({max_budget}), got {min_budget}"
            )
        self.name = name
        self.total_walltime_limit = total_walltime_limit
        self.func_eval_time_limit_secs = func_eval_time_limit_secs
        self.min_budget = min_budget
        self.max_budget = max_budget
        self.memory_limit = memory_limit
        self.include_components = dict(include_components) if include_components else None
        self.exclude_components = dict(exclude_components) if exclude_components else None

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Search in the worker, recording each configuration as it is evaluated.

        A resumed study runs the search again from the start (Auto-PyTorch cannot resume):
        the journaled trials must come back as recorded (:func:`check_replayed`) and are not
        recorded twice.
        """
        data_of = getattr(task, "data", None)
        if data_of is None:
            raise ValueError(
                f"optimizers.{self.name}: Auto-PyTorch needs a task with a data set "
                f"(kind: sklearn); {task.name!r} has none (optimizers.{self.name}.tasks lists "
                "the tasks it runs on)"
            )
        work = recorder.study_dir / "autopytorch"
        shutil.rmtree(work, ignore_errors=True)  # what a killed run left
        work.mkdir()
        data = data_of()
        np.savez(
            work / "data.npz",
            x_dev=data.x_dev,
            y_dev=data.y_dev,
            x_test=data.x_test,
            y_test=data.y_test,
        )
        settings = work / "settings.json"
        settings.write_text(json.dumps(self._settings(seed, recorder, work / "search")))
        log = recorder.study_dir / "autopytorch.log"
        try:
            test_values = self._stream(settings, log, recorder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        recorder.task = _ScoredTask(task, test_values)

    def _settings(self, seed: int, recorder: Recorder, work: Path) -> dict[str, Any]:
        """The worker's settings: ``search``'s arguments for this study's budget."""
        budget = recorder.budget
        walltime = self.total_walltime_limit
        scenario: dict[str, Any] = {}
        if budget.currency == "trials":
            scenario["runcount_limit"] = int(budget.limit)
        elif budget.currency == "seconds":
            walltime = max(1, math.ceil(budget.limit))
        return {
            "work_dir": str(work),
            "data": str(work.parent / "data.npz"),
            "seed": seed,
            "min_budget": self.min_budget,
            "max_budget": self.max_budget,
            "total_walltime_limit": walltime,
            "func_eval_time_limit_secs": self.func_eval_time_limit_secs,
            "memory_limit": self.memory_limit,
            "include_components": self.include_components,
            "exclude_components": self.exclude_components,
            "smac_scenario_args": scenario or None,
            "stop_epochs": budget.limit if budget.currency == "epochs" else None,
        }

    def _stream(self, settings: Path, log: Path, recorder: Recorder) -> dict[str, float]:
        """Run the worker and record its trials; returns the test value by params key."""
        python = venv_python()
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        env.pop("PYTHONPATH", None)  # tunebench's packages are not Auto-PyTorch's
        replayed = len(recorder.rows)
        test_values: dict[str, float] = {}
        with log.open("w") as err:
            try:
                process = subprocess.Popen(
                    [str(python), str(WORKER), str(settings)],
                    stdout=subprocess.PIPE,
                    stderr=err,
                    env=env,
                    text=True,
                    start_new_session=True,  # its own process group: stopped as one
                )
            except OSError as exc:
                raise RuntimeError(
                    f"optimizers.{self.name}: cannot start Auto-PyTorch's worker ({exc}): "
                    f"{INSTALL}"
                ) from None
            try:
                previous_end = time.time()
                number = 0
                assert process.stdout is not None
                for line in process.stdout:
                    entry = json.loads(line)
                    if entry["event"] != "trial":
                        continue
                    result, test_value = self._result(entry, number, previous_end)
                    previous_end = result.t_end
                    if number < replayed:
                        row = recorder.rows[number]
                        check_replayed("Auto-PyTorch", number, result.params, row)
                    else:
                        recorder.record(result)
                    test_values[_key(result.params)] = test_value
                    number += 1
                    if number >= replayed and recorder.exhausted:
                        break
                done = number >= replayed and recorder.exhausted
            finally:
                _stop(process)
        if process.returncode == 0 and number < replayed:
            raise RuntimeError(
                f"Auto-PyTorch cannot resume this study: its search ended after {number} "
                f"trials, the journal holds {replayed}; start the study afresh"
            )
        if not done and process.returncode != 0:
            lines = log.read_text(errors="replace").strip().splitlines()
            last = lines[-1] if lines else "no output"
            raise RuntimeError(
                f"optimizers.{self.name}: Auto-PyTorch's worker failed (exit "
                f"{process.returncode}): {last} (log: {log}; venv: {INSTALL})"
            )
        return test_values

    def _result(
        self, entry: Mapping[str, Any], number: int, previous_end: float
    ) -> tuple[TrialResult, float]:
        """A trial result and its test value from one of the worker's lines."""
        ok = entry["status"] in OK_STATUSES
        budget = entry["budget"]
        epochs = int(budget) if float(budget).is_integer() else budget
        params = {**entry["params"], BUDGET_KEY: epochs}  # a config may run at several budgets
        status = "failed" if not ok else "complete" if budget >= self.max_budget else "pruned"
        result = TrialResult(
            trial=number,
            params=params,
            status=status,
            value=entry["value"] if ok else math.nan,
            epochs=int(budget) if ok else 0,
            t_start=entry["t_start"],
            t_end=entry["t_end"],
            objective_s=max(0.0, entry["t_end"] - entry["t_start"]),
            optimizer_s=max(0.0, entry["t_start"] - previous_end),
            error="" if ok else f"Auto-PyTorch {entry['status']}: {entry['error']}".rstrip(": "),
        )
        test_value = entry["test_value"]
        return result, math.nan if test_value is None else float(test_value)


def _stop(process: subprocess.Popen[str]) -> None:
    """Stop the worker's process group (Auto-PyTorch's pipelines run in children)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # pipelines the worker left behind
    process.wait()


def _key(params: Mapping[str, Any]) -> str:
    """The key the recorder's params column gives a configuration."""
    return json.dumps(params, sort_keys=True)


class _ScoredTask(Task):
    """The task as the recorder sees it after an Auto-PyTorch search: its incumbents' test
    scores are Auto-PyTorch's own (the configurations are not the task's parameters)."""

    def __init__(self, task: Task, test_values: Mapping[str, float]) -> None:
        self._test_values = dict(test_values)
        self.name = task.name
        self.metric = task.metric
        self.direction = task.direction
        self.space = task.space
        self.max_fidelity = task.max_fidelity
        self.known_optimum = task.known_optimum

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: Any) -> float:
        raise NotImplementedError("Auto-PyTorch evaluates its own pipelines")

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        return self._test_values[_key(params)]
