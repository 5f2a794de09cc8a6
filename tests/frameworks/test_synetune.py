"""The Syne Tune adapter beyond the contract: its space, options, seeding and resume."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import (
    adapters_of,
    assert_killed_study_resumes_exactly,
    params_of,
    run_quadratic,
)
from tests.helpers.tasks import MIXED_SPACE, QuadraticTask
from tunebench.core.config import load_config, load_schema, validate_config
from tunebench.core.space import SearchSpace
from tunebench.frameworks import OptimizerConfigError, build_optimizer


class TestSynetuneContract(AdapterContract):
    @pytest.fixture(params=adapters_of("synetune"))
    def optimizer(self, request: pytest.FixtureRequest) -> str:
        return request.param


def test_native_space_round_trip():
    from syne_tune.optimizer.schedulers.searchers.random_searcher import RandomSearcher

    from tunebench.frameworks.synetune_adapter import from_synetune, to_config_space

    space = SearchSpace.from_config(
        {**MIXED_SPACE, "mixed": {"type": "categorical", "choices": [2, "2", True, 0.5]}}
    )
    config_space = to_config_space(space)
    assert repr(config_space["lr"]) == "loguniform(0.0001, 0.1)"
    assert repr(config_space["width"]) == "lograndint(4, 256)"
    np.random.seed(0)  # Syne Tune's random draws come from NumPy's global generator
    searcher = RandomSearcher(config_space, random_seed=0)
    samples = [from_synetune(space, searcher.suggest()) for _ in range(3000)]
    for sample in samples:
        space.check(sample)
    ns = [s["n"] for s in samples]
    assert min(ns.count(k) for k in range(1, 7)) > 3000 / 6 * 0.85  # randint: both bounds
    widths = [s["width"] for s in samples]
    assert min(widths) == 4 and max(widths) == 256
    assert np.median(widths) == pytest.approx(32, rel=0.2)  # log-uniform
    mixed = [s["mixed"] for s in samples]
    for choice in (2, "2", True, 0.5):
        assert sum(type(m) is type(choice) and m == choice for m in mixed) > 600


def test_schema_branch_matches_the_adapter():
    from tunebench.frameworks.synetune_adapter import SEARCHERS, SyneTuneOptimizer

    branches = {
        b["if"]["properties"]["framework"]["const"]: b["then"]["properties"]
        for b in load_schema()["$defs"]["optimizer"]["allOf"]
    }
    assert tuple(branches["synetune"]["searcher"]["enum"]) == SEARCHERS
    keywords = set(inspect.signature(SyneTuneOptimizer).parameters) - {"name"}
    assert set(branches["synetune"]) - {"framework", "tasks"} == keywords
    config = load_config(Path(__file__).parents[2] / "config" / "smoke.yaml")
    config["optimizers"] = {"o": {"framework": "synetune"}}
    spec = validate_config(config)["optimizers"]["o"]  # the schema fills in the defaults
    assert build_optimizer("o", spec).algorithm == "random"


def test_bad_entries_are_one_line_errors(tmp_path):
    with pytest.raises(OptimizerConfigError) as error:
        build_optimizer("o", {"framework": "synetune", "searcher": "bohb"})
    assert str(error.value).startswith("optimizers.o.searcher: unknown searcher 'bohb'")
    spec = {"framework": "synetune", "searcher": "tpe", "searcher_options": {"colour": 1}}
    with pytest.raises(OptimizerConfigError) as error:
        run_quadratic("synetune-tpe", tmp_path, trials=2, spec=spec)
    assert str(error.value).startswith("optimizers.synetune-tpe.searcher_options: ")
    assert "colour" in str(error.value) and "\n" not in str(error.value)


def test_tpe_is_random_search_until_its_kdes_have_more_points_than_parameters(tmp_path):
    # the KDEs need more complete trials than the 5 parameters in the best 15 % and the rest
    spec = {"framework": "synetune", "searcher": "tpe"}
    default = params_of(run_quadratic("synetune-tpe", tmp_path / "d", trials=16, spec=spec))
    early = params_of(run_quadratic("synetune-tpe", tmp_path / "e", trials=16))  # 6 points
    random = params_of(run_quadratic("synetune-random", tmp_path / "r", trials=16))
    assert default == random  # by default until trial 40
    assert early[:12] == random[:12] and early[12:] != random[12:]


def test_objective_draws_do_not_change_the_trials_nor_the_callers_generator(tmp_path):
    class Drawing(QuadraticTask):
        def evaluate(self, params, seed, reporter):
            np.random.rand(params["n"])  # the objective uses NumPy's global generator
            return super().evaluate(params, seed, reporter)

    np.random.seed(7)
    plain = run_quadratic("synetune-tpe", tmp_path / "a", trials=10)
    assert np.random.rand() == np.random.RandomState(7).rand()  # Syne Tune drew from its own
    drawing = run_quadratic("synetune-tpe", tmp_path / "b", trials=10, task=Drawing())
    assert params_of(plain) == params_of(drawing)


def test_killed_tpe_study_resumes_exactly(tmp_path):
    # killed while trial 14 ran: past the 12 random trials TPE starts with here
    assert_killed_study_resumes_exactly(
        "synetune-tpe", QuadraticTask(), tmp_path, trials=17, kill_at=15
    )


def test_replay_that_differs_from_the_journal_is_a_clear_error(tmp_path):
    run_quadratic("synetune-random", tmp_path, trials=3, seed=1)
    with pytest.raises(RuntimeError, match=r"^Syne Tune cannot resume this study: it proposes"):
        run_quadratic("synetune-random", tmp_path, trials=5, seed=2)


@pytest.mark.parametrize("optimizer", ["synetune-random", "synetune-tpe"])
def test_all_failed_study_completes(optimizer, tmp_path, caplog):
    class AlwaysFails(QuadraticTask):
        def evaluate(self, params, seed, reporter):
            raise ValueError("diverged")

    with caplog.at_level(logging.DEBUG):
        trials = run_quadratic(optimizer, tmp_path, trials=4, task=AlwaysFails())
    assert trials["status"].tolist() == ["failed"] * 4
    assert (trials["error"] == "ValueError: diverged").all()
    syne = [r for r in caplog.records if r.name.startswith("syne_tune")]
    assert syne and all(r.levelno >= logging.WARNING for r in syne)  # one per failed trial


def test_bo_fits_its_gp_after_three_trials_and_resumes_exactly(tmp_path, caplog):
    spec = {"framework": "synetune", "searcher": "bo"}  # Syne Tune's defaults
    trials = assert_killed_study_resumes_exactly(
        "synetune-bo", QuadraticTask(), tmp_path, trials=6, kill_at=6, spec=spec
    )  # the replay refits the GP of trials 3 and 4
    opt = trials["optimizer_s"].to_numpy()
    assert opt[3:].min() > 10 * opt[:3].max()  # random draws, then a GP fit per trial
    assert "sampling randomly" not in caplog.text  # BoTorch's fallback when a fit fails
