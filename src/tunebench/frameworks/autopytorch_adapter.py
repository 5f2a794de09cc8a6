"""Auto-PyTorch adapter: ``TabularClassificationTask.search`` on a scikit-learn task's data set.

Auto-PyTorch searches its own pipeline space with SMAC and Hyperband (the task's space is not
used) on the task's dev rows, with the test rows as ``X_test``/``y_test``; the adapter records
every evaluated pipeline after the search, from ``get_search_results()``. Importable only where
``autoPyTorch`` imports, which it does not beside tunebench: written against Auto-PyTorch
0.2.1's source, untested. Budgets, records and why: docs/frameworks.md#autopytorch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from tunebench.frameworks.base import Optimizer
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import TrialResult
from tunebench.tasks.base import Task

__all__ = ["AutoPyTorchOptimizer"]

BUDGET_KEY = "hyperband_epochs"


class AutoPyTorchOptimizer(Optimizer):
    """Auto-PyTorch's tabular classification search, recorded trial by trial afterwards.

    Args:
        name: The optimizer's config name.
        total_walltime_limit: Seconds for the whole search with a trials budget (a seconds
            budget sets it instead).
        func_eval_time_limit_secs: Seconds for one pipeline (``None``: Auto-PyTorch's default,
            half the walltime limit).
        enable_traditional_pipeline: Also fit LightGBM, CatBoost, forests, k-NN and SVM first
            (seconds budgets only).
        min_budget: Smallest Hyperband budget in epochs.
        max_budget: Largest Hyperband budget in epochs.
        memory_limit: Megabytes per pipeline.
    """

    framework = "autopytorch"
    algorithm = "smac-hyperband"

    def __init__(
        self,
        *,
        name: str,
        total_walltime_limit: int = 3600,
        func_eval_time_limit_secs: int | None = None,
        enable_traditional_pipeline: bool = False,
        min_budget: int = 5,
        max_budget: int = 50,
        memory_limit: int = 4096,
    ) -> None:
        self.name = name
        self.total_walltime_limit = total_walltime_limit
        self.func_eval_time_limit_secs = func_eval_time_limit_secs
        self.enable_traditional_pipeline = enable_traditional_pipeline
        self.min_budget = min_budget
        self.max_budget = max_budget
        self.memory_limit = memory_limit

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Search once for the whole budget, then record every evaluated pipeline."""
        from autoPyTorch.api.tabular_classification import TabularClassificationTask

        if recorder.rows:
            raise ValueError(
                f"optimizers.{self.name}: Auto-PyTorch cannot resume a search; remove "
                f"{recorder.study_dir} to run the study again"
            )
        data_of = getattr(task, "data", None)
        if data_of is None:
            raise ValueError(
                f"optimizers.{self.name}: Auto-PyTorch needs a task with a data set "
                f"(kind: sklearn); {task.name!r} has none"
            )
        data = data_of()
        currency = recorder.budget.currency  # trials or seconds: the task has no epochs
        remaining = recorder.ledger.remaining(recorder.budget)
        walltime = int(remaining) if currency == "seconds" else self.total_walltime_limit
        scenario = {"runcount_limit": int(remaining)} if currency == "trials" else None
        api = TabularClassificationTask(seed=seed, ensemble_size=0)
        api.search(
            optimize_metric="accuracy",
            X_train=data.x_dev,
            y_train=data.y_dev,
            X_test=data.x_test,
            y_test=data.y_test,
            budget_type="epochs",
            min_budget=self.min_budget,
            max_budget=self.max_budget,
            total_walltime_limit=walltime,
            func_eval_time_limit_secs=self.func_eval_time_limit_secs,
            enable_traditional_pipeline=self.enable_traditional_pipeline and scenario is None,
            memory_limit=self.memory_limit,
            smac_scenario_args=scenario,
            load_models=False,
        )
        test_values = {}
        for result, test_value in _results(api.get_search_results(), self.max_budget):
            if recorder.exhausted:
                break
            result.trial = recorder.n_trials
            test_values[json_key(result.params)] = test_value
            recorder.record(result)
        recorder.task = _ScoredTask(task, test_values)


def json_key(params: Mapping[str, Any]) -> str:
    """The key the recorder's params column gives a configuration."""
    return json.dumps(params, sort_keys=True)


def _results(results: Any, max_budget: float) -> list[tuple[TrialResult, float]]:
    """Trial results and test accuracies of Auto-PyTorch's ``SearchResults``, in start order."""
    from smac.tae import StatusType

    out: list[tuple[TrialResult, float]] = []
    previous_end = None
    for i, config in enumerate(results.configs):
        status = results.status_types[i]
        end = float(results.end_times[i])
        fit_s = float(results.fit_times[i])
        start = end - fit_s
        ok = status in (StatusType.SUCCESS, StatusType.DONOTADVANCE)
        budget = float(results.budgets[i])
        value = float(results.opt_scores[i]) if ok else math.nan
        params = {k: _plain(v) for k, v in config.get_dictionary().items()}
        params[BUDGET_KEY] = budget  # a configuration may run at several Hyperband budgets
        result = TrialResult(
            trial=i,
            params=params,
            status="failed" if not ok else ("complete" if budget >= max_budget else "pruned"),
            value=value,
            epochs=0,
            t_start=start,
            t_end=end,
            objective_s=fit_s,
            optimizer_s=max(0.0, start - previous_end) if previous_end is not None else 0.0,
            error="" if ok else f"Auto-PyTorch run {status.name}",
        )
        previous_end = end
        out.append((result, float(results.test_scores[i]) if ok else math.nan))
    return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


class _ScoredTask(Task):
    """The task as the recorder sees it after an Auto-PyTorch search: its incumbents' test
    scores are Auto-PyTorch's own (the configurations are not the task's parameters)."""

    def __init__(self, task: Task, test_values: Mapping[str, float]) -> None:
        self._task = task
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
        return self._test_values[json_key(params)]
