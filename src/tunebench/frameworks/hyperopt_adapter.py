"""Hyperopt adapter: ``fmin`` owns the loop; the budget is enforced through ``early_stop_fn``.

Algorithms: ``tpe`` (tpe.suggest), ``random`` (rand.suggest), ``anneal`` (anneal.suggest).
Hyperopt has no pruning: trials always train to their full fidelity. ``fmin`` is seeded with
``rstate=np.random.default_rng(seed)``, so the same seed repeats the same trials. A resumed study
rebuilds hyperopt's ``Trials`` from the recorder's journal (the one source of truth, so a kill
between recording a trial and hyperopt saving it loses nothing) and advances the generator past
the seeds of those trials, so it proposes exactly what an uninterrupted study would have.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from typing import Any

import numpy as np

from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.frameworks.base import Optimizer, OptimizerConfigError
from tunebench.harness.recorder import Recorder
from tunebench.harness.trial import evaluate_trial
from tunebench.tasks.base import Task

__all__ = ["HyperoptOptimizer", "from_hyperopt", "to_hyperopt_space"]

ALGORITHMS = ("tpe", "random", "anneal")


def to_hyperopt_space(space: SearchSpace) -> dict[str, Any]:
    """Translate the neutral space to a hyperopt ``hp`` dictionary.

    Integers use ``quniform`` on ``[low - 0.5, high + 0.5]`` so that every integer, the bounds
    included, has the same probability (``hp.uniformint`` gives the bounds half weight).
    """
    from hyperopt import hp

    out: dict[str, Any] = {}
    for p in space:
        if isinstance(p, FloatParam):
            out[p.name] = (
                hp.loguniform(p.name, math.log(p.low), math.log(p.high))
                if p.log
                else hp.uniform(p.name, p.low, p.high)
            )
        elif isinstance(p, IntParam):
            lo, hi = p.low - 0.5, p.high + 0.5
            out[p.name] = (
                hp.qloguniform(p.name, math.log(lo), math.log(hi), 1)
                if p.log
                else hp.quniform(p.name, lo, hi, 1)
            )
        elif isinstance(p, CategoricalParam):
            out[p.name] = hp.choice(p.name, list(p.choices))
    return out


def from_hyperopt(space: SearchSpace, sample: dict[str, Any]) -> dict[str, Any]:
    """Values as the neutral space declares them: ints as ``int``, floats as ``float``."""
    out: dict[str, Any] = {}
    for p in space:
        value = sample[p.name]
        if isinstance(p, IntParam):
            value = min(max(round(value), p.low), p.high)
        elif isinstance(p, FloatParam):
            value = float(value)
        out[p.name] = value
    return out


class HyperoptOptimizer(Optimizer):
    """Hyperopt's ``fmin`` with one of its suggest algorithms."""

    framework = "hyperopt"

    def __init__(self, *, name: str, algo: str = "tpe") -> None:
        if algo not in ALGORITHMS:
            raise OptimizerConfigError(
                f"optimizers.{name}.algo: unknown algo {algo!r} "
                f"(choose from: {', '.join(ALGORITHMS)})"
            )
        self.name = name
        self.algorithm = algo

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Run ``fmin`` until the recorder's budget is spent."""
        import hyperopt

        if recorder.exhausted:
            return
        suggest = {
            "tpe": hyperopt.tpe.suggest,
            "random": hyperopt.rand.suggest,
            "anneal": hyperopt.anneal.suggest,
        }[self.algorithm]
        sign = 1.0 if task.direction == "minimize" else -1.0
        last_end = time.perf_counter()

        def objective(sample: dict[str, Any]) -> dict[str, Any]:
            nonlocal last_end
            optimizer_s = time.perf_counter() - last_end
            params = from_hyperopt(task.space, sample)
            result = evaluate_trial(
                task, recorder.n_trials, params, study_seed=seed, reporter=recorder.reporter()
            )
            result.optimizer_s = optimizer_s
            recorder.record(result)
            last_end = time.perf_counter()
            if result.status == "failed":
                return {"status": hyperopt.STATUS_FAIL, "error": result.error}
            return {"status": hyperopt.STATUS_OK, "loss": sign * result.value}

        def budget_spent(trials: Any, *args: Any) -> tuple[bool, Any]:
            return recorder.exhausted, args

        history = _history(task.space, recorder.rows, sign)
        done = len(history)
        remaining = recorder.ledger.remaining(recorder.budget)
        cap = int(remaining) if recorder.budget.currency == "trials" else 10**9
        # fmin looks for a best trial after its loop: all-failed studies are recorded, not errors
        with contextlib.suppress(hyperopt.exceptions.AllTrialsFailed):
            hyperopt.fmin(
                objective,
                to_hyperopt_space(task.space),
                algo=suggest,
                max_evals=done + cap,
                trials=history,
                rstate=_rstate_after(seed, done),
                early_stop_fn=budget_spent,
                show_progressbar=False,
                return_argmin=False,
            )


def _rstate_after(seed: int, done: int) -> np.random.Generator:
    """The generator fmin would hold after ``done`` trials: it draws one seed per trial."""
    rstate = np.random.default_rng(seed)
    for _ in range(done):
        rstate.integers(2**31 - 1)
    return rstate


def _history(space: SearchSpace, rows: list[dict[str, Any]], sign: float) -> Any:
    """Hyperopt ``Trials`` holding the recorded trials as finished documents."""
    from hyperopt import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK, Trials

    trials = Trials()
    docs = []
    for tid, row in enumerate(rows):
        params = json.loads(row["params"])
        vals = {
            p.name: [
                p.choices.index(params[p.name])
                if isinstance(p, CategoricalParam)
                else float(params[p.name])
            ]
            for p in space
        }
        ok = row["status"] == "complete"
        result = (
            {"status": STATUS_OK, "loss": sign * row["value"]} if ok else {"status": STATUS_FAIL}
        )
        misc = {
            "tid": tid,
            "cmd": ("domain_attachment", "FMinIter_Domain"),
            "workdir": None,
            "idxs": {name: [tid] for name in vals},
            "vals": vals,
        }
        (doc,) = trials.new_trial_docs([tid], [None], [result], [misc])
        doc["state"] = JOB_STATE_DONE
        docs.append(doc)
    trials.insert_trial_docs(docs)
    trials.refresh()
    return trials
