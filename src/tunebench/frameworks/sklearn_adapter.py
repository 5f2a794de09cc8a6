"""scikit-learn's own searches: grid, random and successive-halving search.

``search``: ``grid`` (``GridSearchCV``), ``random`` (``RandomizedSearchCV``) or ``halving``
(``HalvingRandomSearchCV``). On scikit-learn tasks the search classes run on the task's
estimator and folds and each candidate becomes a trial (estimator path); on other tasks, and for
epochs budgets, the same candidates are drawn and evaluated one by one (sampler path).
Candidates come in a fixed order (a grid's does not depend on the seed), so a resumed study
skips the recorded ones. Details: docs/frameworks.md#sklearn.
"""

from __future__ import annotations

import itertools
import json
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from tunebench.core.space import CategoricalParam, FloatParam, IntParam, Param, SearchSpace
from tunebench.frameworks.base import Optimizer, OptimizerConfigError
from tunebench.harness.deadline import Deadline
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import TrialResult, TrialTimeout, evaluate_trial, timeout_error
from tunebench.tasks.base import Task

__all__ = [
    "SEARCHES",
    "SklearnSearchOptimizer",
    "grid_candidates",
    "grid_values",
    "to_distributions",
]

SEARCHES = ("grid", "random", "halving")
DEFAULT_GRID_POINTS = 5
MAX_GRID = 10**7  # candidates a grid may hold (its visiting order is materialised)
_GRID_ORDER_SEED = 0  # the one fixed order in which every grid is visited


def grid_values(param: Param, points: int) -> list[Any]:
    """The values of ``param`` on a grid with ``points`` values per numeric parameter."""
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    space = np.geomspace if param.log else np.linspace
    values = space(param.low, param.high, points)
    if isinstance(param, FloatParam):
        return [min(max(float(v), param.low), param.high) for v in values]
    return sorted({min(max(round(float(v)), param.low), param.high) for v in values})


def _grid_size(space: SearchSpace, points: int) -> int:
    return math.prod(len(grid_values(p, points)) for p in space)


def _auto_points(space: SearchSpace, trials: float | None) -> int:
    """The fewest points (≥ 2) per numeric parameter whose grid holds ``trials`` candidates."""
    if trials is None:
        return DEFAULT_GRID_POINTS
    points = 2
    # without floats, the grid stops growing once every integer parameter lists all its values
    floats = any(isinstance(p, FloatParam) for p in space)
    widest = max((p.high - p.low + 1 for p in space if isinstance(p, IntParam)), default=2)
    while _grid_size(space, points) < trials and (floats or points < widest):
        points += 1
    return points


def grid_candidates(space: SearchSpace, points: int) -> list[dict[str, Any]]:
    """Every grid point, in the one fixed order the grid search visits them."""
    from sklearn.model_selection import ParameterGrid

    grid = ParameterGrid({p.name: grid_values(p, points) for p in space})
    order = np.random.default_rng(_GRID_ORDER_SEED).permutation(len(grid))
    return [{name: grid[int(i)][name] for name in space.names} for i in order]


class _Domain:
    """A ``scipy.stats`` distribution for one parameter, drawing values of its type in its domain.

    ``ParameterSampler`` calls :meth:`rvs` with its ``RandomState``.
    """

    def __init__(self, param: Param) -> None:
        from scipy import stats

        self.param = param
        self.dist: Any = None
        if isinstance(param, FloatParam):
            width = param.high - param.low
            self.dist = (
                stats.loguniform(param.low, param.high)
                if param.log
                else stats.uniform(param.low, width)
            )
        elif isinstance(param, IntParam):
            self.dist = (
                stats.loguniform(param.low - 0.5, param.high + 0.5)
                if param.log
                else stats.randint(param.low, param.high + 1)
            )

    def rvs(self, random_state: Any = None) -> Any:
        """One value of the parameter's type inside its domain."""
        from sklearn.utils import check_random_state

        p = self.param
        if isinstance(p, CategoricalParam):
            return p.choices[check_random_state(random_state).randint(len(p.choices))]
        value = float(self.dist.rvs(random_state=random_state))
        if isinstance(p, FloatParam):
            return min(max(value, p.low), p.high)
        return min(max(round(value), p.low), p.high)

    def __repr__(self) -> str:
        return f"_Domain({self.param!r})"


def to_distributions(space: SearchSpace) -> dict[str, _Domain]:
    """The random search's distributions: one per parameter (see :class:`_Domain`)."""
    return {p.name: _Domain(p) for p in space}


class SklearnSearchOptimizer(Optimizer):
    """scikit-learn's ``GridSearchCV``, ``RandomizedSearchCV`` or ``HalvingRandomSearchCV``.

    Args:
        name: The optimizer's config name.
        search: ``grid``, ``random`` or ``halving``.
        grid_points: Values per numeric parameter of the grid (``None``: sized to the budget).
        factor: Halving's η: the best 1/η of a rung's candidates go on to the next rung, with
            η times the resource.
        resource: What halving grows per rung: ``n_samples`` or an estimator parameter.
        max_resources: The resource of the last rung (required unless ``n_samples``).
        n_candidates: Candidates per halving bracket (``None``: the whole trials budget;
            ``factor³`` with a seconds budget).
    """

    framework = "sklearn"

    def __init__(
        self,
        *,
        name: str,
        search: str = "random",
        grid_points: int | None = None,
        factor: float = 3,
        resource: str = "n_samples",
        max_resources: int | None = None,
        n_candidates: int | None = None,
    ) -> None:
        prefix = f"optimizers.{name}"
        if search not in SEARCHES:
            raise OptimizerConfigError(
                f"{prefix}.search: unknown search {search!r} (choose from: {', '.join(SEARCHES)})"
            )
        for key, value, low in (
            ("grid_points", grid_points, 2),
            ("max_resources", max_resources, 1),
            ("n_candidates", n_candidates, 1),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < low
            ):
                raise OptimizerConfigError(
                    f"{prefix}.{key}: must be an integer >= {low}, got {value!r}"
                )
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 1:
            raise OptimizerConfigError(f"{prefix}.factor: must be a number > 1, got {factor!r}")
        if resource != "n_samples" and max_resources is None:
            raise OptimizerConfigError(
                f"{prefix}.max_resources: required when resource is {resource!r}"
            )
        self.name = name
        self.search = search
        self.grid_points = grid_points
        self.factor = factor
        self.resource = resource
        self.max_resources = max_resources
        self.n_candidates = n_candidates
        self.algorithm = search

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Search until the recorder's budget is spent (or the grid is done)."""
        from tunebench.tasks.tabular import SklearnTask

        if isinstance(task, SklearnTask) and recorder.budget.currency != "epochs":
            self._run_estimator(task, seed, recorder)
        else:
            self._run_sampler(task, seed, recorder)

    def _grid(self, space: SearchSpace, recorder: Recorder) -> list[dict[str, Any]]:
        points = self.grid_points
        if points is None:
            trials = recorder.budget.limit if recorder.budget.currency == "trials" else None
            points = _auto_points(space, trials)
        size = _grid_size(space, points)
        if size > MAX_GRID:
            raise OptimizerConfigError(
                f"optimizers.{self.name}.grid_points: {points} values per parameter make "
                f"{size} candidates (at most {MAX_GRID})"
            )
        return grid_candidates(space, points)

    def _run_sampler(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Draw candidates in their fixed order, skip recorded ones, evaluate one by one."""
        from sklearn.model_selection import ParameterSampler

        candidates: Iterator[dict[str, Any]]
        if self.search == "grid":
            candidates = iter(self._grid(task.space, recorder))
        else:
            sampler = ParameterSampler(
                to_distributions(task.space), n_iter=2**62, random_state=seed
            )
            candidates = iter(sampler)
        candidates = itertools.islice(candidates, recorder.n_trials, None)
        while not recorder.exhausted:
            t0 = time.perf_counter()
            params = next(candidates, None)
            draw_s = time.perf_counter() - t0
            if params is None:
                break  # the grid is done
            params = {name: params[name] for name in task.space.names}
            result = evaluate_trial(
                task, recorder.n_trials, params, study_seed=seed, reporter=recorder.reporter()
            )
            result.optimizer_s = draw_s
            recorder.record(result)

    def _run_estimator(self, task: Any, seed: int, recorder: Recorder) -> None:
        """Run the search class on the task's estimator, one chunk of candidates at a time."""
        from sklearn.model_selection import ParameterSampler

        n_jobs = task.threads or 1
        grid = self._grid(task.space, recorder) if self.search == "grid" else []
        distributions = {task.estimator_key(k): v for k, v in to_distributions(task.space).items()}
        rng = np.random.RandomState(seed)
        if self.search != "grid":  # continue the sampler's stream after the recorded trials
            for _ in ParameterSampler(distributions, n_iter=recorder.n_trials, random_state=rng):
                pass
        while not recorder.exhausted:
            if recorder.budget.currency == "trials":
                size = int(recorder.ledger.remaining(recorder.budget))
                if self.search == "halving" and self.n_candidates is not None:
                    size = min(size, self.n_candidates)
            elif self.search == "halving":
                size = self.n_candidates or round(self.factor**3)
            else:
                size = n_jobs
            if recorder.trial_timeout_s is not None and self.search != "halving":
                size = min(size, n_jobs)  # a call stopped at its cap loses n_jobs candidates
            if self.search == "grid":
                batch = grid[recorder.n_trials : recorder.n_trials + size]
                if not batch:
                    break  # the grid is done
                searcher = self._searcher(task, seed, n_jobs, batch=batch)
            else:
                searcher = self._searcher(
                    task, seed, n_jobs, distributions=distributions, size=size, rng=rng
                )
            # the call draws its candidates itself: a killed call is an attempt at its first
            recorder.start_trial(recorder.n_trials, {})
            results = _search(
                task,
                searcher,
                seed,
                rng,
                distributions,
                size,
                recorder.n_trials,
                timeout_s=recorder.trial_timeout_s,
            )
            for result in results:
                recorder.record(result)

    def _searcher(
        self,
        task: Any,
        seed: int,
        n_jobs: int,
        *,
        batch: Sequence[Mapping[str, Any]] = (),
        distributions: Mapping[str, Any] | None = None,
        size: int = 0,
        rng: Any = None,
    ) -> Any:
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import (
            GridSearchCV,
            HalvingRandomSearchCV,
            RandomizedSearchCV,
        )

        common = {
            "estimator": task.estimator({}, seed),
            "cv": list(task.data().folds),
            "n_jobs": n_jobs,
            "refit": False,
            "error_score": np.nan,
        }
        if self.search == "grid":
            points = [{task.estimator_key(k): [v] for k, v in c.items()} for c in batch]
            return GridSearchCV(param_grid=points, **common)
        if self.search == "random":
            return RandomizedSearchCV(
                param_distributions=distributions, n_iter=size, random_state=rng, **common
            )
        resource = self.resource
        if resource != "n_samples":
            if resource in task.space.names:
                raise OptimizerConfigError(
                    f"optimizers.{self.name}.resource: {resource!r} is tuned in the space; "
                    "halving cannot also grow it"
                )
            resource = task.estimator_key(resource)
        return HalvingRandomSearchCV(
            param_distributions=distributions,
            n_candidates=size,
            factor=self.factor,
            resource=resource,
            max_resources=self.max_resources or "auto",
            min_resources="exhaust",
            random_state=rng,
            **common,
        )


def _search(
    task: Any,
    searcher: Any,
    seed: int,
    rng: np.random.RandomState,
    distributions: Mapping[str, Any],
    size: int,
    first: int,
    *,
    timeout_s: float | None = None,
) -> list[TrialResult]:
    """Fit ``searcher`` on the dev rows; one trial per candidate, numbered from ``first``.

    ``timeout_s`` caps each candidate (see the module's docstring).
    """
    from sklearn.exceptions import FitFailedWarning

    data = task.data()
    names = {task.estimator_key(n): n for n in task.space.names}
    state = rng.get_state()
    n_candidates = len(searcher.param_grid) if hasattr(searcher, "param_grid") else size
    deadline = Deadline(None if timeout_s is None else timeout_s * n_candidates)
    failure = ""
    t_start = time.time()
    t0 = time.perf_counter()
    with task.thread_limit(), warnings.catch_warnings():
        # failures are recorded per trial; scikit-learn's summary warnings would repeat them
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", message="One or more of the test scores are non-finite")
        try:
            with deadline:
                searcher.fit(data.x_dev, data.y_dev)
        except TrialTimeout:
            pass  # recorded below, from deadline.expired
        except ValueError as exc:  # scikit-learn raises when every fit failed
            if "fits failed" not in str(exc):
                raise
            failure = f"ValueError: {str(exc).strip().splitlines()[0]}"
        if deadline.expired:
            assert timeout_s is not None
            failure = timeout_error(timeout_s)
            if n_candidates > 1:
                failure = (
                    f"timeout: the search of {n_candidates} candidates exceeded "
                    f"{n_candidates} x trial_timeout_s={timeout_s:g}"
                )
        if failure:
            trials = _all_failed(searcher, rng, state, distributions, size)
        else:
            trials = _candidates(searcher.cv_results_, searcher.n_splits_, list(names))
    wall = time.perf_counter() - t0
    n = len(trials)
    objective = [t["objective_s"] for t in trials] if not failure else [wall / n] * n
    busy = sum(objective)
    overhead = max(0.0, wall - busy / searcher.n_jobs) / n if not failure else 0.0
    results = []
    elapsed = 0.0
    for i, (trial, objective_s) in enumerate(zip(trials, objective, strict=True)):
        params = _neutral(task.space, {n: trial["params"][k] for k, n in names.items()})
        share = objective_s / busy if busy > 0 else 1 / n
        start = t_start + wall * elapsed
        elapsed += share
        status, value, error = trial["status"], trial["value"], ""
        if deadline.expired:
            status, value, error = "failed", math.nan, failure
        elif status == "failed" or not math.isfinite(value):
            status, value = "failed", math.nan
            error = _failure(task, params, seed, failure, timeout_s)
        elif timeout_s is not None and objective_s > timeout_s:
            status, value = "failed", math.nan
            error = f"{timeout_error(timeout_s)} (a search class cannot stop a fit: it took "
            error += f"{objective_s:.3g} s)"
        results.append(
            TrialResult(
                trial=first + i,
                params=params,
                status=status,
                value=value,
                epochs=_epochs(task, getattr(searcher, "resource", None), trial["curve"]),
                t_start=start,
                t_end=t_start + wall * elapsed,
                objective_s=objective_s,
                optimizer_s=overhead,
                error=error,
                curve=trial["curve"],
            )
        )
    return results


def _candidates(cv: Mapping[str, Any], n_splits: int, keys: Sequence[str]) -> list[dict[str, Any]]:
    """One entry per candidate from ``cv_results_``: params, status, value, seconds, rungs.

    Halving lists a candidate once per rung it reached (``iter``); candidates are those of
    rung 0, in order, and later rows are matched to them by their parameters (``keys``: the
    searched ones; a rung may add the halving resource).
    """
    rows = range(len(cv["params"]))
    rungs = cv.get("iter", [0] * len(cv["params"]))
    seconds = [(cv["mean_fit_time"][r] + cv["mean_score_time"][r]) * n_splits for r in rows]
    out: list[dict[str, Any]] = []
    for r in rows:
        if rungs[r] == 0:
            out.append({"params": cv["params"][r], "rows": [r]})
    last = max(rungs, default=0)
    for rung in range(1, last + 1):
        taken: set[int] = set()
        for r in (r for r in rows if rungs[r] == rung):
            key = _key(cv["params"][r], keys)
            match = next(
                i
                for i, c in enumerate(out)
                if i not in taken and len(c["rows"]) == rung and _key(c["params"], keys) == key
            )
            out[match]["rows"].append(r)
            taken.add(match)
    for c in out:
        scores = [float(cv["mean_test_score"][r]) for r in c["rows"]]
        c["value"] = scores[-1]
        c["status"] = "complete" if len(c["rows"]) == last + 1 else "pruned"
        c["objective_s"] = float(sum(seconds[r] for r in c["rows"]))
        c["curve"] = []
        if "iter" in cv:
            c["curve"] = [
                {"epoch": k + 1, "value": s, "n_resources": float(cv["n_resources"][r])}
                for k, (s, r) in enumerate(zip(scores, c["rows"], strict=True))
            ]
    return out


def _epochs(task: Any, resource: str | None, curve: Sequence[Mapping[str, float]]) -> int:
    """Epochs a candidate's fits trained: one fit per halving rung (``curve``), else one."""
    resources = [point["n_resources"] for point in curve if "n_resources" in point]
    if not resources:
        return task.fit_epochs(None, None)
    return sum(task.fit_epochs(resource, n) for n in resources)


def _key(params: Mapping[str, Any], keys: Sequence[str]) -> str:
    """The searched parameters as a comparable string."""
    return json.dumps({k: params[k] for k in keys}, sort_keys=True, default=repr)


def _all_failed(
    searcher: Any,
    rng: np.random.RandomState,
    state: Any,
    distributions: Mapping[str, Any],
    size: int,
) -> list[dict[str, Any]]:
    """The candidates of a search whose every fit failed (drawn again from the same state)."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    if hasattr(searcher, "param_grid"):
        candidates = list(ParameterGrid(searcher.param_grid))
    else:
        rng.set_state(state)
        candidates = list(ParameterSampler(distributions, n_iter=size, random_state=rng))
    return [
        {"params": c, "status": "failed", "value": math.nan, "objective_s": 0.0, "curve": []}
        for c in candidates
    ]


def _neutral(space: SearchSpace, params: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the neutral space declares them (plain Python types), in its order."""
    out: dict[str, Any] = {}
    for p in space:
        value = params[p.name]
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(p, FloatParam):
            value = float(value)
        elif isinstance(p, IntParam):
            value = round(value)
        out[p.name] = value
    return out


def _failure(
    task: Any, params: Mapping[str, Any], seed: int, fallback: str, timeout_s: float | None
) -> str:
    """The error a failed candidate raises when refitted on the task's folds (within the
    trial's time cap)."""
    data = task.data()
    deadline = Deadline(timeout_s)
    error = ""
    try:
        with deadline:
            for train, val in data.folds:
                try:
                    est = task.estimator(params, seed)
                    est.fit(data.x_dev[train], data.y_dev[train])
                    score = float(est.score(data.x_dev[val], data.y_dev[val]))
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
                    break
                if not math.isfinite(score):
                    error = f"objective returned {score}"
                    break
    except TrialTimeout:
        pass  # recorded below, from deadline.expired
    if deadline.expired:
        assert timeout_s is not None
        return timeout_error(timeout_s)
    return error or fallback or "the search scored this candidate NaN; refitting it succeeded"
