"""SMAC3 adapter: a facade driven through ``ask``/``tell``; the harness enforces the budget.

``facade``: ``hpo`` (random forest), ``bb`` (Gaussian process), ``random`` or ``hyperband``
(multi-fidelity over epochs); ``n_initial`` sizes the initial design. Seeded with
``Scenario(seed=seed, deterministic=True)``, and repeatable only under a fixed
``PYTHONHASHSEED`` (docs/frameworks.md#smac). A resumed study replays the journal into a fresh
facade. SMAC's output goes to ``<study>/smac/<facade>/<seed>``, its INFO log to
``<study>/smac.log``. Details: docs/frameworks.md#smac.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tunebench.core.budget import Budget
from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.frameworks.base import Optimizer, OptimizerConfigError, job_threads
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import evaluate_trial
from tunebench.tasks.base import Task

__all__ = ["SmacOptimizer", "from_config", "to_configspace"]

FACADES = ("hpo", "bb", "random", "hyperband")
OUTPUT_DIR = "smac"
LOG_FILE = "smac.log"
N_TRIALS = 10**9
"""``Scenario.n_trials``: SMAC's own trial limit, never reached (``ask`` does not check it)."""
SMAC_DEFAULT_N_TRIALS = 100
"""``Scenario.n_trials``'s default: what SMAC scales its initial design to without a trials
budget."""


def to_configspace(space: SearchSpace, seed: int) -> Any:
    """Translate the neutral space to a ConfigSpace ``ConfigurationSpace``."""
    from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

    hyperparameters: list[Any] = []
    for p in space:
        if isinstance(p, FloatParam):
            hyperparameters.append(Float(p.name, (p.low, p.high), log=p.log))
        elif isinstance(p, IntParam):
            hyperparameters.append(Integer(p.name, (p.low, p.high), log=p.log))
        else:
            hyperparameters.append(Categorical(p.name, p.labels))
    configspace = ConfigurationSpace(seed=seed)
    configspace.add(hyperparameters)
    return configspace


def from_config(space: SearchSpace, config: Mapping[str, Any]) -> dict[str, Any]:
    """A SMAC configuration as the neutral space declares it (types, bounds, choices)."""
    return space.from_native(config, CategoricalParam.choice_of)


def _to_config(space: SearchSpace, configspace: Any, params: Mapping[str, Any]) -> Any:
    """The inverse of :func:`from_config` (for telling SMAC a journaled trial)."""
    from ConfigSpace import Configuration

    return Configuration(configspace, values=space.labelled(params))


def _default_initial(facade: type, n_params: int, budget: Budget) -> int:
    """SMAC's initial design size for ``facade``: ``n_configs_per_hyperparameter`` per
    parameter, at most ``max_ratio`` (a quarter) of ``n_trials``, here the trials budget."""
    defaults = inspect.signature(facade.get_initial_design).parameters
    per_param = defaults["n_configs_per_hyperparameter"].default * n_params
    n_trials = budget.limit if budget.currency == "trials" else SMAC_DEFAULT_N_TRIALS
    return int(max(1, min(per_param, defaults["max_ratio"].default * n_trials)))


def _epochs(budget: float) -> int:
    """Epochs for a Hyperband budget: SMAC's budgets are floats (``max / eta**k``)."""
    return math.ceil(round(budget, 9))


class SmacOptimizer(Optimizer):
    """One SMAC3 facade, asked for one trial at a time.

    Args:
        name: The optimizer's config name.
        facade: ``hpo``, ``bb``, ``random`` or ``hyperband``.
        n_initial: Configurations in the initial design (``None``: SMAC's default size).
        eta: Hyperband's halving rate (``hyperband`` only; ``None``: SMAC's 3).
    """

    framework = "smac"

    def __init__(
        self,
        *,
        name: str,
        facade: str = "hpo",
        n_initial: int | None = None,
        eta: int | None = None,
    ) -> None:
        if facade not in FACADES:
            raise OptimizerConfigError(
                f"optimizers.{name}.facade: unknown facade {facade!r} "
                f"(choose from: {', '.join(FACADES)})"
            )
        for key, value, low in (("n_initial", n_initial, 1), ("eta", eta, 2)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < low
            ):
                raise OptimizerConfigError(
                    f"optimizers.{name}.{key}: must be an integer >= {low}, got {value!r}"
                )
        if n_initial is not None and facade == "random":
            raise OptimizerConfigError(
                f"optimizers.{name}.n_initial: the random facade has no initial design"
            )
        if eta is not None and facade != "hyperband":
            raise OptimizerConfigError(
                f"optimizers.{name}.eta: only the hyperband facade uses eta, not {facade}"
            )
        self.name = name
        self.facade = facade
        self.n_initial = n_initial
        self.eta = eta
        self.algorithm = facade

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Ask, evaluate, tell until the recorder's budget is spent."""
        with _smac_logging(recorder.study_dir / LOG_FILE):
            self._run(task, seed, recorder)

    def _new_facade(self, task: Task, seed: int, recorder: Recorder) -> Any:
        from smac import (
            BlackBoxFacade,
            HyperparameterOptimizationFacade,
            MultiFidelityFacade,
            RandomFacade,
            Scenario,
        )
        from smac.model.random_forest import RandomForest

        cls = {
            "hpo": HyperparameterOptimizationFacade,
            "bb": BlackBoxFacade,
            "random": RandomFacade,
            "hyperband": MultiFidelityFacade,
        }[self.facade]
        budget = recorder.budget
        fidelity: dict[str, int] = {}
        if self.facade == "hyperband":
            fidelity = {"min_budget": 1, "max_budget": task.max_fidelity or 1}
        scenario = Scenario(
            to_configspace(task.space, seed),
            name=self.facade,
            output_directory=recorder.study_dir / OUTPUT_DIR,
            deterministic=True,
            seed=seed,
            n_trials=N_TRIALS,
            **fidelity,
        )
        components: dict[str, Any] = {}
        if self.facade != "random":
            n_initial = self.n_initial or _default_initial(cls, len(task.space), budget)
            components["initial_design"] = cls.get_initial_design(scenario, n_configs=n_initial)
        if self.eta is not None:
            components["intensifier"] = cls.get_intensifier(scenario, eta=self.eta)
        model = cls.get_model(scenario)
        if isinstance(model, RandomForest):
            # SMAC's scikit-learn forest (2.4+) predicts with n_jobs=-1, every core of the node;
            # the facades do not expose it
            model._rf_opts["n_jobs"] = job_threads()
            components["model"] = model
        encoder_cls = type(cls.get_runhistory_encoder(scenario))
        imputing = type(f"Imputing{encoder_cls.__name__}", (_ImputeCrashCosts, encoder_cls), {})
        components["runhistory_encoder"] = imputing(scenario)
        # overwrite: never SMAC's interactive prompt; a resumed study replays the journal instead
        return cls(scenario, logging_level=False, overwrite=True, **components)

    def _run(self, task: Task, seed: int, recorder: Recorder) -> None:
        sign = 1.0 if task.direction == "minimize" else -1.0
        smac = self._new_facade(task, seed, recorder)
        if recorder.rows and not _replay(smac, task.space, recorder.rows, sign):
            logging.getLogger("smac").warning(
                "tunebench: SMAC proposed other trials than the journal holds; "
                "warm-starting a fresh SMAC with the %d journaled trials",
                len(recorder.rows),
            )
            smac = self._new_facade(task, seed, recorder)
            _warm_start(smac, task, seed, recorder.rows, sign)
        while not recorder.exhausted:
            t0 = time.perf_counter()
            info = _ask(smac)
            if info is None:
                logging.getLogger("smac").warning("tunebench: SMAC proposes no more trials")
                break
            ask_s = time.perf_counter() - t0
            should_stop = _budget_stop(info.budget, task.max_fidelity)
            result = evaluate_trial(
                task,
                recorder.n_trials,
                from_config(task.space, info.config),
                study_seed=seed,
                reporter=recorder.reporter(should_stop),
            )
            t1 = time.perf_counter()
            smac.tell(info, _trial_value(smac, vars(result), sign))
            result.optimizer_s = ask_s + time.perf_counter() - t1
            recorder.record(result)


class _ImputeCrashCosts:
    """Encoder mixin: crashed trials' infinite cost becomes the worst successful cost.

    SMAC 2.4.1 passes ``crash_cost`` (inf) to the surrogate, whose fit then fails on NaN
    ("Input y contains NaN"); SMAC3 PR #1312 (after 2.4.1) imputes the same way.
    """

    runhistory: Any

    def _build_matrix(self, trials: Mapping[Any, Any], store_statistics: bool = False) -> Any:
        bounds = self.runhistory.objective_bounds
        worst = bounds[0][1] if bounds and math.isfinite(bounds[0][1]) else 0.0
        finite = {
            key: value if math.isfinite(value.cost) else dataclasses.replace(value, cost=worst)
            for key, value in trials.items()
        }
        return super()._build_matrix(finite, store_statistics)  # type: ignore[misc]


def _budget_stop(
    budget: float | None, max_fidelity: int | None
) -> Callable[[int, float], bool] | None:
    """Stop a trial at its Hyperband budget, unless that is the task's full training."""
    if budget is None or max_fidelity is None or _epochs(budget) >= max_fidelity:
        return None
    epochs = _epochs(budget)

    def should_stop(epoch: int, value: float) -> bool:
        return epoch >= epochs

    return should_stop


def _ask(smac: Any) -> Any:
    """SMAC's next trial (``TrialInfo``), or ``None`` when it proposes no more."""
    from smac.main.exceptions import ConfigurationSpaceExhaustedException

    try:
        return smac.ask()
    except (StopIteration, ConfigurationSpaceExhaustedException):
        return None


def _trial_value(smac: Any, outcome: Mapping[str, Any], sign: float) -> Any:
    """A trial's outcome (a trial-table row or result) as SMAC's ``TrialValue``; SMAC
    minimises ``cost``."""
    from smac.runhistory import StatusType, TrialValue

    timing = {
        "time": outcome["objective_s"],
        "starttime": outcome["t_start"],
        "endtime": outcome["t_end"],
    }
    if outcome["status"] == "failed":
        return TrialValue(
            cost=smac.scenario.crash_cost,
            status=StatusType.CRASHED,
            additional_info={"error": outcome["error"]},
            **timing,
        )
    return TrialValue(cost=sign * float(outcome["value"]), status=StatusType.SUCCESS, **timing)


def _replay(smac: Any, space: SearchSpace, rows: list[dict[str, Any]], sign: float) -> bool:
    """Ask SMAC again for each journaled trial and tell it the recorded outcome.

    Returns ``False`` at the first proposal that is not the journaled trial (other parameters,
    or a Hyperband budget below the epochs it ran); ``smac`` is then half-replayed and must be
    discarded.
    """
    for row in rows:
        info = _ask(smac)
        if (
            info is None
            or from_config(space, info.config) != json.loads(row["params"])
            or (info.budget is not None and row["epochs"] > _epochs(info.budget))
        ):
            return False
        smac.tell(info, _trial_value(smac, row, sign), save=False)
    smac.optimizer.save()
    return True


def _warm_start(smac: Any, task: Task, seed: int, rows: list[dict[str, Any]], sign: float) -> None:
    """Tell a fresh facade every journaled trial without asking (SMAC's warm start).

    Hyperband trials get the smallest of SMAC's budgets that covers the epochs they ran.
    """
    from smac.runhistory import TrialInfo

    budgets = _hyperband_budgets(smac)
    for row in rows:
        budget = None
        if budgets:
            budget = next((b for b in budgets if _epochs(b) >= row["epochs"]), budgets[-1])
        info = TrialInfo(
            config=_to_config(task.space, smac.scenario.configspace, json.loads(row["params"])),
            seed=seed,
            budget=budget,
        )
        smac.tell(info, _trial_value(smac, row, sign), save=False)
    smac.optimizer.save()


def _hyperband_budgets(smac: Any) -> list[float]:
    """Hyperband's budgets, smallest first, as SMAC computes them (empty without budgets)."""
    from smac.intensifier.hyperband import Hyperband

    intensifier = smac.intensifier
    if not isinstance(intensifier, Hyperband):
        return []
    scenario = smac.scenario
    eta = intensifier._eta
    s_max = Hyperband._get_max_iterations(eta, scenario.max_budget, scenario.min_budget)
    budgets, _ = Hyperband._compute_configs_and_budgets_for_stages(eta, scenario.max_budget, s_max)
    return budgets


@contextlib.contextmanager
def _smac_logging(path: Path) -> Iterator[None]:
    """SMAC's INFO lines to ``path``; only warnings and errors reach stderr (the rule log)."""
    logger = logging.getLogger("smac")
    saved = logger.level, logger.propagate
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setLevel(logging.INFO)
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setLevel(logging.WARNING)
    for handler in (to_file, to_stderr):
        handler.setFormatter(logging.Formatter("[%(levelname)s][%(name)s] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        for handler in (to_file, to_stderr):
            logger.removeHandler(handler)
        to_file.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
