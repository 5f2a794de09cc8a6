"""Running a study in a test: the adapter table, one call per study, and checks on its trials."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.helpers.tasks import FAULT_X, KilledAt, QuadraticTask
from tunebench.core.budget import Budget
from tunebench.core.matrix import StudyCell
from tunebench.frameworks import build_optimizer
from tunebench.harness.recorder import Recorder, StudyKey
from tunebench.tasks.base import Task


def suite_cell(
    task: str,
    task_spec: dict[str, Any],
    *,
    budget: dict[str, Any],
    seed: int,
    optimizer_spec: dict[str, Any] | None = None,
) -> StudyCell:
    """A study cell of one suite task (Optuna's random sampler unless ``optimizer_spec``), for
    the exactness tests that compare a study's values with the suite package's own."""
    spec = optimizer_spec or {"framework": "optuna", "sampler": "random"}
    ((kind, limit),) = budget.items()
    return StudyCell(
        experiment="exact",
        task=task,
        task_spec=task_spec,
        optimizer=spec["framework"],
        optimizer_spec=spec,
        budget=f"{kind}{limit}",
        budget_spec=budget,
        seed=seed,
    )


def branin_cell(
    experiment: str, *, trials: int = 5, seed: int = 0, sampler: str = "random"
) -> StudyCell:
    """A cheap study cell: Optuna's ``sampler`` on branin for ``trials`` trials (optimizer
    ``rs`` for random search, else the sampler's name)."""
    return StudyCell(
        experiment=experiment,
        task="branin",
        task_spec={"kind": "synthetic", "function": "branin"},
        optimizer="rs" if sampler == "random" else sampler,
        optimizer_spec={"framework": "optuna", "sampler": sampler},
        budget=f"t{trials}",
        budget_spec={"trials": trials},
        seed=seed,
    )


# One entry per adapter configuration: each framework's test module (tests/frameworks) runs the
# adapter contract over its entries.
ADAPTERS: dict[str, dict[str, Any]] = {
    "optuna-tpe": {"framework": "optuna", "sampler": "tpe"},
    "optuna-random": {"framework": "optuna", "sampler": "random"},
    "optuna-cmaes": {"framework": "optuna", "sampler": "cmaes"},
    "optuna-gp": {"framework": "optuna", "sampler": "gp"},
    "optuna-qmc": {"framework": "optuna", "sampler": "qmc"},
    "hyperopt-tpe": {"framework": "hyperopt", "algo": "tpe"},
    "hyperopt-random": {"framework": "hyperopt", "algo": "random"},
    "hyperopt-anneal": {"framework": "hyperopt", "algo": "anneal"},
    # Ray starts a local cluster per study (seconds): three entries cover its searchers.
    "ray-random-fifo": {"framework": "ray", "search": "random", "scheduler": "fifo"},
    "ray-optuna-asha": {"framework": "ray", "search": "optuna", "scheduler": "asha"},
    "ray-hyperopt-fifo": {"framework": "ray", "search": "hyperopt", "scheduler": "fifo"},
    # Ax's GP takes 10-30 s per trial on the mixed space: 13 centre/Sobol trials first keep the
    # contract fast; the 14-trial study still runs a GP trial (test_ax_gp_* covers the GP more).
    "ax-default": {"framework": "ax", "method": "default", "initialization_budget": 13},
    "ax-sobol": {"framework": "ax", "method": "sobol"},
    # Vizier's GP step takes 20-45 s here (JAX recompiles it for every new trial count): 13
    # centre/Halton trials first keep the contract fast; the 14-trial study still runs a GP step
    # (test_vizier_gp_* covers the GP more).
    "vizier-gp_bandit": {"framework": "vizier", "algorithm": "gp_bandit", "num_seed_trials": 13},
    "vizier-eagle": {"framework": "vizier", "algorithm": "eagle"},
    "vizier-random": {"framework": "vizier", "algorithm": "random"},
    "vizier-quasi_random": {"framework": "vizier", "algorithm": "quasi_random"},
    "sklearn-grid": {"framework": "sklearn", "search": "grid"},
    "sklearn-random": {"framework": "sklearn", "search": "random"},
    "sklearn-halving": {"framework": "sklearn", "search": "halving"},
    "nevergrad-ngopt": {"framework": "nevergrad", "optimizer": "NGOpt"},
    "nevergrad-oneplusone": {"framework": "nevergrad", "optimizer": "OnePlusOne"},
    "nevergrad-random": {"framework": "nevergrad", "optimizer": "RandomSearch"},
    "synetune-random": {"framework": "synetune", "searcher": "random"},
    # Syne Tune's TPE is random search for its first 40 trials on this space by default; with
    # num_min_data_points 6 its KDEs take over at trial 12.
    "synetune-tpe": {
        "framework": "synetune",
        "searcher": "tpe",
        "searcher_options": {"num_min_data_points": 6},
    },
    # Syne Tune's GP takes 5-25 s per trial here on 2 busy cores: 10 random trials first keep
    # the contract fast; the 12- and 14-trial studies still run GP trials (and
    # tests/frameworks/test_synetune.py resumes a study through GP trials).
    "synetune-bo": {
        "framework": "synetune",
        "searcher": "bo",
        "searcher_options": {"num_init_random": 10},
    },
    # SMAC's GP (bb) takes seconds per trial: 13 Sobol trials first keep the contract fast;
    # tests/frameworks/test_smac.py covers the GP. hpo and hyperband keep SMAC's initial design
    # (a quarter of the trials budget), so the random forest proposes from the second to fourth
    # trial on.
    "smac-hpo": {"framework": "smac", "facade": "hpo"},
    "smac-bb": {"framework": "smac", "facade": "bb", "n_initial": 13},
    "smac-random": {"framework": "smac", "facade": "random"},
    "smac-hyperband": {"framework": "smac", "facade": "hyperband"},
    # Auto-PyTorch tunes its own pipelines on a data set, not the quadratic task: its contract
    # subclass skips, and tests/frameworks/test_autopytorch.py checks the promises on its studies.
    "autopytorch": {"framework": "autopytorch"},
}

# Adapters whose candidates do not depend on the seed (a grid is one fixed design).
SEED_INDEPENDENT: frozenset[str] = frozenset({"sklearn-grid"})


def adapters_of(framework: str) -> list[str]:
    """The ADAPTERS entries of one framework, in table order."""
    return [name for name, spec in ADAPTERS.items() if spec["framework"] == framework]


def run_quadratic(
    optimizer: str,
    study_dir: Path,
    *,
    trials: int = 12,
    seed: int = 0,
    task: QuadraticTask | None = None,
    spec: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
    trial_timeout_s: float | None = None,
) -> pd.DataFrame:
    """Run one study of ``optimizer`` (a key of ADAPTERS) on the quadratic task.

    Returns the trial table the study wrote (``trials.parquet``).
    """
    task = task or QuadraticTask()
    spec = dict(spec or ADAPTERS[optimizer])
    adapter = build_optimizer(optimizer, spec)
    budget = budget or Budget("b", "trials", trials)
    key = StudyKey(
        "test", task.name, optimizer, adapter.framework, adapter.algorithm, budget.name, seed
    )
    recorder = Recorder(
        study_dir, key, task, budget, progress=None, trial_timeout_s=trial_timeout_s
    )
    try:
        adapter.run(task, seed, recorder)
    except BaseException:
        recorder.close()
        raise
    recorder.finalize()
    return pd.read_parquet(Path(study_dir) / "trials.parquet")


def params_of(trials: pd.DataFrame) -> list[dict[str, Any]]:
    """The parameters of each trial, in trial order."""
    return [json.loads(p) for p in trials.sort_values("trial")["params"]]


def check_timeouts(
    trials: pd.DataFrame, wall: float, *, n: int, epochs: int = 0, slack: float = 30
) -> None:
    """A :class:`FaultyTask` ``"hang"`` study under ``trial_timeout_s=1``: every trial in the
    fault region failed at the cap, with its seconds counted; the others completed; the study
    spent its budget of ``n`` trials in bounded time (``slack``: what is not the trials')."""
    assert len(trials) == n
    hung = trials[[p["x"] > FAULT_X for p in params_of(trials)]]
    assert len(hung) >= 1, "the seed must draw at least one hanging trial"
    assert set(hung["status"]) == {"failed"}
    assert set(hung["error"]) == {"timeout: exceeded trial_timeout_s=1"}
    assert hung["value"].isna().all()
    assert hung["objective_s"].between(1.0, 1.5).all()
    assert (hung["epochs"] == epochs).all()
    assert set(trials.drop(hung.index)["status"]) == {"complete"}
    assert trials["cum_seconds"].max() >= hung["objective_s"].sum()
    assert wall < len(hung) * 1.5 + slack


def assert_killed_study_resumes_exactly(
    optimizer: str,
    task: Task,
    tmp_path: Path,
    *,
    trials: int = 10,
    kill_at: int = 7,
    spec: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A study killed while trial ``kill_at - 1`` ran resumes as if never stopped.

    Returns the uninterrupted study's trial table.
    """
    uninterrupted = run_quadratic(
        optimizer, tmp_path / "u", trials=trials, seed=2, task=task, spec=spec
    )
    with pytest.raises(KeyboardInterrupt):
        killed = KilledAt(task, kill_at)
        run_quadratic(optimizer, tmp_path / "k", trials=trials, seed=2, task=killed, spec=spec)
    journal = pd.read_json(tmp_path / "k" / "journal.jsonl", lines=True)
    assert len(journal) == kill_at - 1
    resumed = run_quadratic(optimizer, tmp_path / "k", trials=trials, seed=2, task=task, spec=spec)
    assert resumed["t_start"].head(kill_at - 1).tolist() == journal["t_start"].tolist()
    assert params_of(resumed) == params_of(uninterrupted)
    return uninterrupted
