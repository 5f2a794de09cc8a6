"""The adapter contract, run over every framework adapter and algorithm.

Every adapter must respect the declared domain and types, spend its budget exactly, record
failures and carry on, repeat itself for the same seed, and resume a stopped study. The checks
read the trial table the study wrote, so they hold for frameworks that evaluate trials in other
processes too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import ADAPTERS, MIXED_SPACE, QuadraticTask, params_of, run_quadratic

from tunebench.budget import Budget
from tunebench.frameworks import OptimizerConfigError, build_optimizer
from tunebench.space import SearchSpace
from tunebench.tables import TRIAL_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_domain_and_types_respected(optimizer, tmp_path):
    trials = run_quadratic(optimizer, tmp_path, trials=14)
    space = SearchSpace.from_config(MIXED_SPACE)
    assert len(trials) == 14
    for params in params_of(trials):
        space.check(params)  # raises on a wrong type or an out-of-domain value
        assert type(params["n"]) is int and type(params["width"]) is int
        assert type(params["x"]) is float and type(params["lr"]) is float


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_budget_respected_exactly(optimizer, tmp_path):
    trials = run_quadratic(optimizer, tmp_path, trials=7)
    assert list(trials.columns) == list(TRIAL_COLUMNS)
    assert pd.read_parquet(tmp_path / "trials.parquet").equals(trials)
    assert len(trials) == 7
    assert trials["trial"].tolist() == list(range(7))
    assert trials["cum_trials"].tolist() == list(range(1, 8))
    assert trials["cum_seconds"].is_monotonic_increasing
    assert (trials["optimizer_s"] >= 0).all() and (trials["objective_s"] >= 0).all()


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_failures_recorded_and_study_continues(optimizer, tmp_path):
    trials = run_quadratic(optimizer, tmp_path, trials=10, task=QuadraticTask(failing=True))
    assert len(trials) == 10
    xs = np.array([p["x"] for p in params_of(trials)])
    raised, nan = xs > 1.5, xs < -1.0
    assert (raised | nan).any(), "the seed should hit a failing region"
    status = trials["status"].to_numpy()
    assert (status[raised | nan] == "failed").all() and (
        status[~(raised | nan)] == "complete"
    ).all()
    assert trials["value"].isna().to_numpy().tolist() == (raised | nan).tolist()
    errors = trials["error"].to_numpy()
    assert all(e == "RuntimeError: planted failure: x > 1.5" for e in errors[raised])
    assert all(e == "objective returned nan" for e in errors[nan])
    assert (errors[~(raised | nan)] == "").all()


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_same_seed_same_trials(optimizer, tmp_path):
    first = params_of(run_quadratic(optimizer, tmp_path / "a", seed=3))
    again = params_of(run_quadratic(optimizer, tmp_path / "b", seed=3))
    other = params_of(run_quadratic(optimizer, tmp_path / "c", seed=4))
    assert first == again
    assert first != other


# Adapters whose resumed study proposes other trials than an uninterrupted one would, and why.
RESUME_DIVERGES: dict[str, str] = {}


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_resume_keeps_finished_trials(optimizer, tmp_path):
    before = run_quadratic(optimizer, tmp_path / "resumed", trials=5, seed=1)
    after = run_quadratic(optimizer, tmp_path / "resumed", trials=9, seed=1)
    assert len(after) == 9 and after["trial"].tolist() == list(range(9))
    cols = ["trial", "status", "value", "params", "t_start"]
    pd.testing.assert_frame_equal(after[cols].head(5), before[cols])
    assert (after["t_start"].iloc[5:] > before["t_end"].max()).all()  # only new trials ran
    uninterrupted = run_quadratic(optimizer, tmp_path / "straight", trials=9, seed=1)
    same = params_of(after) == params_of(uninterrupted)
    assert same is (optimizer not in RESUME_DIVERGES), RESUME_DIVERGES.get(optimizer)


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_incumbents_get_test_scores(optimizer, tmp_path):
    trials = run_quadratic(optimizer, tmp_path, trials=10)
    scored = trials[trials["test_value"].notna()]
    assert scored["trial"].iloc[0] == trials.loc[trials["status"] == "complete", "trial"].iloc[0]
    assert scored["value"].is_monotonic_decreasing  # each incumbent improved on the last
    assert np.allclose(scored["test_value"], scored["value"])  # the quadratic has no noise


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_epoch_budget_is_spent_exactly(optimizer, tmp_path):
    task = QuadraticTask(max_epochs=4)
    budget = Budget("e10", "epochs", 10)
    trials = run_quadratic(optimizer, tmp_path, task=task, budget=budget)
    assert trials["cum_epochs"].iloc[-1] == 10
    assert trials["epochs"].sum() == 10
    last = trials.iloc[-1]
    if last["epochs"] < 4 and last["error"].startswith("cut"):
        assert last["status"] == "pruned"
        assert last["error"] == f"cut after {last['epochs']} epochs: the epoch budget is spent"


def test_hyperopt_native_space_round_trip():
    from hyperopt.pyll import stochastic

    from tunebench.frameworks.hyperopt_adapter import from_hyperopt, to_hyperopt_space

    space = SearchSpace.from_config(MIXED_SPACE)
    native = to_hyperopt_space(space)
    rng = np.random.default_rng(0)
    samples = [from_hyperopt(space, stochastic.sample(native, rng=rng)) for _ in range(2000)]
    for sample in samples:
        space.check(sample)
    ints = [s["n"] for s in samples]
    assert set(ints) == set(range(1, 7))  # both bounds are reachable
    assert min(ints.count(k) for k in range(1, 7)) > 2000 / 6 * 0.8  # and about as likely
    assert {s["act"] for s in samples} == {"relu", "tanh", "gelu"}


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


def test_optuna_median_pruner_prunes_on_epochs(tmp_path):
    spec = {
        "framework": "optuna",
        "sampler": "random",
        "pruner": "median",
        "pruner_options": {"n_startup_trials": 3},
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


def test_epoch_budget_cuts_the_last_trial(tmp_path):
    task = QuadraticTask(max_epochs=4)
    trials = run_quadratic("optuna-tpe", tmp_path, task=task, budget=Budget("e", "epochs", 10))
    assert trials["epochs"].tolist() == [4, 4, 2]
    assert trials["cum_epochs"].tolist() == [4, 8, 10]
    assert trials["status"].tolist() == ["complete", "complete", "pruned"]
    assert trials["error"].iloc[-1] == "cut after 2 epochs: the epoch budget is spent"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"framework": "optuna", "sampler": "bayes"}, "optimizers.o.sampler: unknown sampler"),
        ({"framework": "hyperopt", "algo": "atpe2"}, "optimizers.o.algo: unknown algo 'atpe2'"),
        ({"framework": "nevergrad2"}, "optimizers.o.framework: unknown framework 'nevergrad2'"),
        ({"framework": "optuna", "colour": "red"}, "optimizers.o:"),
    ],
)
def test_bad_optimizer_entries_are_one_line_errors(spec, message):
    with pytest.raises(OptimizerConfigError) as error:
        build_optimizer("o", spec)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_all_failed_study_completes(tmp_path):
    class AlwaysFails(QuadraticTask):
        def evaluate(self, params, seed, reporter):
            raise ValueError("diverged")

    for optimizer in ("optuna-tpe", "hyperopt-tpe"):
        trials = run_quadratic(optimizer, tmp_path / optimizer, trials=4, task=AlwaysFails())
        assert trials["status"].tolist() == ["failed"] * 4
        assert trials["test_value"].isna().all()
