"""OSS Vizier beyond the adapter contract: the native space, the GP phase, Eagle's moves."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import adapters_of, params_of, run_quadratic
from tests.helpers.tasks import MIXED_SPACE, QuadraticTask
from tunebench.core.space import SearchSpace
from tunebench.frameworks import OptimizerConfigError, build_optimizer

pytest.importorskip("vizier")


class TestVizierContract(AdapterContract):
    @pytest.fixture(params=adapters_of("vizier"))
    def optimizer(self, request: pytest.FixtureRequest) -> str:
        return request.param


def _branin():
    from tunebench.tasks import build_task

    return build_task("branin", {"kind": "synthetic", "function": "branin"})


def test_vizier_native_space_round_trip():
    from vizier import pyvizier as vz
    from vizier._src.algorithms.designers.quasi_random import QuasiRandomDesigner
    from vizier._src.algorithms.designers.random import RandomDesigner

    from tunebench.frameworks.vizier_adapter import from_vizier, to_problem

    space = SearchSpace.from_config(
        {**MIXED_SPACE, "mixed": {"type": "categorical", "choices": [2, "2", True, 0.5]}}
    )
    problem = to_problem(space, "maximize")
    configs = {p.name: p for p in problem.search_space.parameters}
    assert configs["lr"].type == vz.ParameterType.DOUBLE
    assert configs["lr"].scale_type == vz.ScaleType.LOG
    assert configs["width"].type == vz.ParameterType.INTEGER
    assert configs["width"].scale_type == vz.ScaleType.LOG
    assert configs["n"].bounds == (1, 6) and configs["n"].scale_type == vz.ScaleType.LINEAR
    assert configs["act"].feasible_values == ["gelu", "relu", "tanh"]  # Vizier sorts them
    assert len(configs["mixed"].feasible_values) == 4  # "2" and 2 stay apart
    assert problem.metric_information.item().goal == vz.ObjectiveMetricGoal.MAXIMIZE
    for choice in (2, "2", True, 0.5):
        params = {"x": 3.0, "lr": 1e-4, "n": 6, "width": 4, "act": "gelu", "mixed": choice}
        trial = vz.Trial(parameters=space.labelled(params))
        back = from_vizier(space, trial.parameters)
        assert back == params and type(back["mixed"]) is type(choice)
    for designer in (
        RandomDesigner(problem.search_space, seed=0),
        QuasiRandomDesigner(problem.search_space, seed=0),
    ):
        samples = [from_vizier(space, s.parameters) for s in designer.suggest(3000)]
        for sample in samples:
            space.check(sample)
        assert {s["n"] for s in samples} == set(range(1, 7))  # both bounds are reachable
        widths = [s["width"] for s in samples]
        assert min(widths) == 4 and max(widths) == 256
        # documented caveat: these two draw an INTEGER's values uniformly, LOG scale or not
        assert np.median(widths) == pytest.approx(130, rel=0.1)
        assert {repr(s["mixed"]) for s in samples} == {"2", "'2'", "True", "0.5"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"algorithm": "gp"}, "optimizers.o.algorithm: unknown algorithm 'gp' (choose from:"),
        ({"algorithm": "eagle", "num_seed_trials": 3}, "optimizers.o.num_seed_trials: only for"),
        ({"num_seed_trials": 0}, "optimizers.o.num_seed_trials: must be a positive integer"),
        ({"seed_trials": 3}, "optimizers.o:"),
    ],
)
def test_vizier_bad_options_are_one_line_errors(spec, message):
    with pytest.raises(OptimizerConfigError) as error:
        build_optimizer("o", {"framework": "vizier", **spec})
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_vizier_gp_same_seed_resume_and_quiet(tmp_path, capfd):
    """Two GP trials after two seed trials; resumed with the saved key and without it."""
    spec = {"framework": "vizier", "algorithm": "gp_bandit", "num_seed_trials": 2}
    kw = {"task": _branin(), "spec": spec, "seed": 3}
    straight = run_quadratic("vizier-gp_bandit", tmp_path / "a", trials=4, **kw)
    assert capfd.readouterr() == ("", "")  # absl and JAX are silent
    opt = straight["optimizer_s"]
    assert opt.iloc[2:].min() > 100 * opt.iloc[1]  # the GP runs from trial 2 on (1: Halton)
    state = json.loads((tmp_path / "a" / "vizier_state.json").read_text())
    assert state["trials"] == 4 and len(state["rng"]) == 2

    run_quadratic("vizier-gp_bandit", tmp_path / "k", trials=3, **kw)  # one GP trial
    shutil.copytree(tmp_path / "k", tmp_path / "nokey")
    (tmp_path / "nokey" / "vizier_state.json").unlink()
    resumed = run_quadratic("vizier-gp_bandit", tmp_path / "k", trials=4, **kw)
    assert params_of(resumed) == params_of(straight)  # same seed, same GP trials; exact resume
    assert resumed["optimizer_s"].iloc[3] > 100 * opt.iloc[1]
    # without the key every recorded trial is suggested again, the GP trial included
    replayed = run_quadratic("vizier-gp_bandit", tmp_path / "nokey", trials=4, **kw)
    assert params_of(replayed) == params_of(straight)


def test_vizier_eagle_moves_stay_in_the_domain_and_resume_exactly(tmp_path):
    # 16 flies on the 5-parameter space: trials past 16 are Eagle's moves, with infeasible flies
    trials = run_quadratic(
        "vizier-eagle", tmp_path / "m", trials=40, task=QuadraticTask(failing=True)
    )
    space = SearchSpace.from_config(MIXED_SPACE)
    moves = params_of(trials)[16:]
    for params in moves:
        space.check(params)
    assert len({json.dumps(p, sort_keys=True) for p in moves}) > 10
    assert (trials["status"] == "failed").any()
    # 12 flies on branin: the study is interrupted after Eagle has started moving them
    straight = run_quadratic("vizier-eagle", tmp_path / "s", trials=30, task=_branin())
    run_quadratic("vizier-eagle", tmp_path / "r", trials=20, task=_branin())
    resumed = run_quadratic("vizier-eagle", tmp_path / "r", trials=30, task=_branin())
    assert params_of(resumed) == params_of(straight)


@pytest.mark.parametrize("algorithm", ["eagle", "random", "quasi_random"])
def test_vizier_all_failed_study_completes(algorithm, tmp_path):
    class AlwaysFails(QuadraticTask):
        def evaluate(self, params, seed, reporter):
            raise ValueError("diverged")

    spec = {"framework": "vizier", "algorithm": algorithm}
    trials = run_quadratic("v", tmp_path, trials=20, task=AlwaysFails(), spec=spec)
    assert trials["status"].tolist() == ["failed"] * 20
    assert (trials["error"] == "ValueError: diverged").all()
    assert pd.isna(trials["test_value"]).all()
