"""Trial tables for the statistics and report tests: synthetic, or written out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tunebench.core.tables import TRIAL_COLUMNS

OPTIMIZERS = ("random", "tpe", "cmaes", "gp")


def make_trials(
    n_tasks: int = 3,
    optimizers: tuple[str, ...] = OPTIMIZERS,
    n_seeds: int = 5,
    n_trials: int = 10,
    effect: dict[str, float] | None = None,
    *,
    maximize: tuple[int, ...] = (1,),
    known_optimum: bool = True,
    p_fail: float = 0.0,
    budget: str = "t10",
    random_state: int = 0,
) -> pd.DataFrame:
    """A tidy trial table with a controllable effect.

    Validation values are ``opt ± scale * (0.1 + Exp(1)) * factor`` where ``factor`` is
    ``1 / (1 + effect[optimizer])``; tasks whose index is in ``maximize`` are maximised.
    ``test_value`` (validation + small noise) is filled on incumbent rows only.
    """
    rng = np.random.default_rng(random_state)
    effect = effect or {}
    rows = []
    for t in range(n_tasks):
        direction = "maximize" if t in maximize else "minimize"
        sign = -1.0 if direction == "maximize" else 1.0
        opt, scale = float(t), 1.0 + t
        for o in optimizers:
            factor = 1.0 / (1.0 + effect.get(o, 0.0))
            for s in range(n_seeds):
                best = np.inf
                cum_e = cum_s = 0.0
                for i in range(n_trials):
                    failed = rng.random() < p_fail
                    v = opt + sign * scale * (0.1 + rng.exponential()) * factor
                    epochs = int(rng.integers(1, 5))
                    secs = float(rng.uniform(0.5, 2.0))
                    cum_e += epochs
                    cum_s += secs
                    value, test = (np.nan, np.nan) if failed else (v, np.nan)
                    if not failed and sign * v < best:
                        best = sign * v
                        test = v + sign * abs(rng.normal(0.0, 0.01 * scale))
                    rows.append(
                        {
                            "experiment": "exp",
                            "task": f"task{t}",
                            "optimizer": o,
                            "framework": "fw",
                            "algorithm": o,
                            "budget": budget,
                            "seed": s,
                            "trial": i,
                            "status": "failed" if failed else "complete",
                            "error": "boom" if failed else "",
                            "attempt": 1,
                            "value": value,
                            "test_value": test,
                            "params": "{}",
                            "epochs": epochs,
                            "t_start": 0.0,
                            "t_end": 0.0,
                            "objective_s": secs,
                            "optimizer_s": 0.0,
                            "interrupted_s": 0.0,
                            "cum_trials": i + 1,
                            "cum_epochs": cum_e,
                            "cum_seconds": cum_s,
                            "direction": direction,
                            "metric": "loss",
                            "known_optimum": opt if known_optimum else np.nan,
                        }
                    )
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def hand_table(
    values: list[float],
    statuses: list[str],
    direction: str = "minimize",
    *,
    test_values: list[float] | None = None,
    optimizer: str = "tpe",
    task: str = "t",
    seed: int = 0,
    known_optimum: float = np.nan,
) -> pd.DataFrame:
    """One study from explicit values and statuses (failed values become NaN)."""
    n = len(values)
    tv = test_values if test_values is not None else [np.nan] * n
    return pd.DataFrame(
        {
            "experiment": "e",
            "task": task,
            "optimizer": optimizer,
            "framework": "fw",
            "algorithm": "a",
            "budget": "b",
            "seed": seed,
            "trial": range(n),
            "status": statuses,
            "value": np.where(np.asarray(statuses) == "failed", np.nan, values),
            "test_value": tv,
            "epochs": 1,
            "cum_trials": range(1, n + 1),
            "cum_epochs": range(1, n + 1),
            "cum_seconds": np.arange(1, n + 1) * 2.0,
            "direction": direction,
            "known_optimum": known_optimum,
        }
    )
