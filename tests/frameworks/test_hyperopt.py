"""The Hyperopt adapter: the contract and the native space."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import adapters_of, run_quadratic
from tests.helpers.tasks import MIXED_SPACE, AlwaysFails
from tunebench.core.space import SearchSpace


class TestHyperoptContract(AdapterContract):
    @pytest.fixture(params=adapters_of("hyperopt"))
    def optimizer(self, request: pytest.FixtureRequest) -> str:
        return request.param


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


def test_all_failed_study_completes(tmp_path):
    trials = run_quadratic("hyperopt-tpe", tmp_path, trials=4, task=AlwaysFails())
    assert trials["status"].tolist() == ["failed"] * 4
    assert trials["test_value"].isna().all()
