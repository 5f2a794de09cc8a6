"""The adapter contract, run over every framework adapter and algorithm.

Every adapter must respect the declared domain and types, spend its trial budget exactly,
record failures and carry on, repeat itself for the same seed, and resume a stopped study.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import ADAPTERS, MIXED_SPACE, QuadraticTask, run_quadratic

from tunebench.frameworks import OptimizerConfigError, build_optimizer
from tunebench.space import SearchSpace
from tunebench.tables import TRIAL_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_domain_and_types_respected(optimizer, tmp_path):
    recorder, task = run_quadratic(optimizer, tmp_path, trials=14)
    assert len(task.calls) == 14
    for params in task.calls:
        task.space.check(params)  # raises on a wrong type or an out-of-domain value
        assert type(params["n"]) is int and type(params["width"]) is int
        assert type(params["x"]) is float and type(params["lr"]) is float
    for row in recorder.rows:
        task.space.check(json.loads(row["params"]))


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_budget_respected_exactly(optimizer, tmp_path):
    _recorder, _ = run_quadratic(optimizer, tmp_path, trials=7)
    trials = pd.read_parquet(tmp_path / "trials.parquet")
    assert list(trials.columns) == list(TRIAL_COLUMNS)
    assert len(trials) == 7
    assert trials["trial"].tolist() == list(range(7))
    assert trials["cum_trials"].tolist() == list(range(1, 8))
    assert trials["cum_seconds"].is_monotonic_increasing
    assert (trials["optimizer_s"] >= 0).all() and (trials["objective_s"] >= 0).all()


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_failures_recorded_and_study_continues(optimizer, tmp_path):
    task = QuadraticTask(fail_every=4)
    _recorder, _ = run_quadratic(optimizer, tmp_path, trials=10, task=task)
    trials = pd.read_parquet(tmp_path / "trials.parquet")
    assert len(trials) == 10
    failed = trials[trials["status"] == "failed"]
    assert failed["trial"].tolist() == [3, 4, 7, 8]
    assert failed["value"].isna().all()
    assert failed["error"].iloc[0] == "RuntimeError: planted failure at call 4"
    assert failed["error"].iloc[1] == "objective returned nan"
    assert (trials.loc[trials["status"] == "complete", "error"] == "").all()


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_same_seed_same_trials(optimizer, tmp_path):
    _, first = run_quadratic(optimizer, tmp_path / "a", seed=3)
    _, again = run_quadratic(optimizer, tmp_path / "b", seed=3)
    _, other = run_quadratic(optimizer, tmp_path / "c", seed=4)
    assert first.calls == again.calls
    assert first.calls != other.calls


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_resume_keeps_finished_trials(optimizer, tmp_path):
    _first, _ = run_quadratic(optimizer, tmp_path, trials=5, seed=1)
    before = pd.read_parquet(tmp_path / "trials.parquet")
    _resumed, task = run_quadratic(optimizer, tmp_path, trials=9, seed=1)
    after = pd.read_parquet(tmp_path / "trials.parquet")
    assert len(task.calls) == 4  # only the missing trials were evaluated
    assert len(after) == 9 and after["trial"].tolist() == list(range(9))
    cols = ["trial", "status", "value", "params", "t_start"]
    pd.testing.assert_frame_equal(after[cols].head(5), before[cols])


@pytest.mark.parametrize("optimizer", ADAPTERS)
def test_incumbents_get_test_scores(optimizer, tmp_path):
    run_quadratic(optimizer, tmp_path, trials=10)
    trials = pd.read_parquet(tmp_path / "trials.parquet")
    scored = trials[trials["test_value"].notna()]
    assert scored["trial"].iloc[0] == trials.loc[trials["status"] == "complete", "trial"].iloc[0]
    assert scored["value"].is_monotonic_decreasing  # each incumbent improved on the last
    assert np.allclose(scored["test_value"], scored["value"])  # the quadratic has no noise


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
    _recorder, _ = run_quadratic("optuna-random", tmp_path, trials=20, task=task, spec=spec)
    trials = pd.read_parquet(tmp_path / "trials.parquet")
    curves = pd.read_parquet(tmp_path / "curves.parquet")
    pruned = trials[trials["status"] == "pruned"]
    assert len(pruned) >= 3
    assert (pruned["epochs"] < 6).all()
    assert (trials.loc[trials["status"] == "complete", "epochs"] == 6).all()
    assert len(curves) == trials["epochs"].sum()
    assert trials["cum_epochs"].iloc[-1] == trials["epochs"].sum()
    last = curves.groupby("trial")["value"].last()
    assert np.allclose(pruned.set_index("trial")["value"], last[pruned["trial"]])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"framework": "optuna", "sampler": "bayes"},
            "optimizers.o.sampler: unknown sampler 'bayes'",
        ),
        ({"framework": "hyperopt", "algo": "atpe2"}, "optimizers.o.algo: unknown algo 'atpe2'"),
        ({"framework": "nevergrad"}, "optimizers.o.framework: unknown framework 'nevergrad'"),
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
        recorder, _ = run_quadratic(optimizer, tmp_path / optimizer, trials=4, task=AlwaysFails())
        assert [r["status"] for r in recorder.rows] == ["failed"] * 4
        assert all(math.isnan(r["test_value"]) for r in recorder.rows)


@pytest.mark.parametrize("optimizer", ["optuna-tpe", "hyperopt-tpe"])
def test_epoch_budget_cuts_the_last_trial(optimizer, tmp_path):
    from tunebench.budget import Budget
    from tunebench.recorder import Recorder, StudyKey

    task = QuadraticTask(max_epochs=4)
    adapter = build_optimizer(optimizer, ADAPTERS[optimizer])
    key = StudyKey("test", "quadratic", optimizer, adapter.framework, adapter.algorithm, "e", 0)
    recorder = Recorder(tmp_path, key, task, Budget("e", "epochs", 10), progress=None)
    adapter.run(task, 0, recorder)
    trials = recorder.finalize()
    assert trials["epochs"].tolist() == [4, 4, 2]
    assert trials["cum_epochs"].tolist() == [4, 8, 10]
    assert trials["status"].tolist() == ["complete", "complete", "pruned"]
    assert trials["error"].iloc[-1] == "cut after 2 epochs: the epoch budget is spent"
