"""The Optuna adapter: the contract, the native space, pruners and workers sharing a study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import adapters_of, run_quadratic
from tests.helpers.tasks import MIXED_SPACE, AlwaysFails, QuadraticTask
from tunebench.core.budget import Budget
from tunebench.core.space import SearchSpace
from tunebench.frameworks import OptimizerConfigError, build_optimizer

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


class TestOptunaContract(AdapterContract):
    @pytest.fixture(params=adapters_of("optuna"))
    def optimizer(self, request: pytest.FixtureRequest) -> str:
        return request.param


def test_optuna_native_space_round_trip():
    import optuna

    from tunebench.frameworks.optuna_adapter import to_distributions

    space = SearchSpace.from_config(MIXED_SPACE)
    distributions = to_distributions(space)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(500):
        trial = study.ask(distributions)
        space.check(trial.params)
        for name, dist in distributions.items():
            assert dist._contains(dist.to_internal_repr(trial.params[name]))
        study.tell(trial, 0.0)
    assert {t.params["n"] for t in study.trials} == set(range(1, 7))


@pytest.mark.parametrize(
    ("pruner", "options"),
    [
        ("median", {"n_startup_trials": 3}),
        ("successive_halving", {}),
        ("hyperband", {}),
    ],
)
def test_optuna_pruners_prune_on_epochs(pruner, options, tmp_path):
    spec = {
        "framework": "optuna",
        "sampler": "random",
        "pruner": pruner,
        "pruner_options": options,
    }
    task = QuadraticTask(max_epochs=6)
    trials = run_quadratic("optuna-random", tmp_path, trials=20, task=task, spec=spec)
    curves = pd.read_parquet(tmp_path / "curves.parquet")
    pruned = trials[trials["status"] == "pruned"]
    assert len(pruned) >= 3
    assert (pruned["epochs"] < 6).all() and (pruned["error"] == "").all()
    assert (trials.loc[trials["status"] == "complete", "epochs"] == 6).all()
    assert len(curves) == trials["epochs"].sum()
    assert trials["cum_epochs"].iloc[-1] == trials["epochs"].sum()
    last = curves.groupby("trial")["value"].last()
    assert np.allclose(pruned.set_index("trial")["value"], last[pruned["trial"]])


@pytest.mark.parametrize(
    ("budget", "check"),
    [
        (Budget("t", "trials", 11), lambda t: len(t) == 11),
        (Budget("e", "epochs", 20), lambda t: 20 <= t["epochs"].sum() <= 20 + 2 * 4),
    ],
)
def test_optuna_workers_share_one_study(budget, check, tmp_path):
    import optuna

    spec = {"framework": "optuna", "sampler": "tpe", "workers": 3}
    task = QuadraticTask(failing=True, max_epochs=4)
    trials = run_quadratic("optuna-tpe", tmp_path, task=task, spec=spec, budget=budget)
    assert check(trials)
    assert sorted(trials["trial"]) == list(range(len(trials)))  # Optuna's numbers, each once
    assert trials["cum_trials"].tolist() == list(range(1, len(trials) + 1))
    assert trials["cum_epochs"].iloc[-1] == trials["epochs"].sum()
    study = optuna.load_study(
        study_name="tunebench",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna.journal"))
        ),
    )
    assert len(study.trials) == len(trials)
    assert all(t.state.is_finished() for t in study.trials)
    failed = trials[trials["status"] == "failed"]
    assert failed["error"].str.match("RuntimeError|objective returned nan").all()


def test_optuna_workers_need_the_journal():
    with pytest.raises(OptimizerConfigError, match=r"optimizers\.o\.workers: 2 workers need"):
        build_optimizer("o", {"framework": "optuna", "storage": "memory", "workers": 2})


def test_all_failed_study_completes(tmp_path):
    trials = run_quadratic("optuna-tpe", tmp_path, trials=4, task=AlwaysFails())
    assert trials["status"].tolist() == ["failed"] * 4
    assert trials["test_value"].isna().all()
