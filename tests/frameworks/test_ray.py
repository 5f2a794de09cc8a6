"""Ray Tune adapter: its space translation, schedulers, resume and what it leaves behind.

TestRayContract runs the adapter contract (tests/helpers/adapter_contract.py) over the ``ray-*``
entries of ADAPTERS; the other tests cover what is particular to Ray. Each study starts a local
Ray cluster (seconds).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import adapters_of, check_timeouts, run_quadratic
from tests.helpers.tasks import MIXED_SPACE, FaultyTask, QuadraticTask
from tunebench.core.space import SearchSpace
from tunebench.frameworks import OptimizerConfigError, build_optimizer

pytest.importorskip("ray.tune", reason="Ray Tune is not installed: pip install 'tunebench[ray]'")

SPACE = SearchSpace.from_config(MIXED_SPACE)


class TestRayContract(AdapterContract):
    @pytest.fixture(params=adapters_of("ray"))
    def optimizer(self, request: pytest.FixtureRequest) -> str:
        return request.param


def test_ray_native_space_round_trip():
    from tunebench.frameworks._ray_tune import from_tune, to_tune_space

    native = to_tune_space(SPACE)
    rng = np.random.default_rng(0)
    samples = [
        from_tune(SPACE, {k: d.sample(random_state=rng) for k, d in native.items()})
        for _ in range(3000)
    ]
    for sample in samples:
        SPACE.check(sample)  # types and domains
    assert {s["n"] for s in samples} == set(range(1, 7))  # tune.randint excludes its upper bound
    assert min(s["width"] for s in samples) == 4 and max(s["width"] for s in samples) == 256
    assert min(s["lr"] for s in samples) < 2e-4 and max(s["lr"] for s in samples) > 5e-2
    assert {s["act"] for s in samples} == {"relu", "tanh", "gelu"}


def test_ray_searchers_translate_the_bounds():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from ray.tune.search.optuna import OptunaSearch

    from tunebench.frameworks._ray_tune import to_tune_space

    assert OptunaSearch.convert_search_space(to_tune_space(SPACE)) == {
        "x": FloatDistribution(-2.0, 3.0),
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
        "n": IntDistribution(1, 6),
        "width": IntDistribution(4, 256, log=True),
        "act": CategoricalDistribution(["relu", "tanh", "gelu"]),
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"search": "ax"}, "optimizers.o.search: unknown search 'ax'"),
        ({"scheduler": "pbt"}, "optimizers.o.scheduler: unknown scheduler 'pbt'"),
        (
            {"scheduler": "asha", "scheduler_options": {"max_t": 9}},
            "optimizers.o.scheduler_options: asha does not take ['max_t']",
        ),
        ({"search_options": {"n_startup_trials": 2}}, "optimizers.o.search_options: random"),
        ({"workers": 0}, "optimizers.o.workers: must be >= 1"),
    ],
)
def test_ray_bad_entries_are_one_line_errors(spec, message):
    with pytest.raises(OptimizerConfigError) as error:
        build_optimizer("o", {"framework": "ray", **spec})
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("scheduler", ["asha", "hyperband", "median"])
def test_ray_schedulers_prune_on_epochs(scheduler, tmp_path):
    import ray

    spec = {"framework": "ray", "search": "random", "scheduler": scheduler}
    task = QuadraticTask(max_epochs=6)
    trials = run_quadratic("ray-random-fifo", tmp_path, trials=16, task=task, spec=spec)
    assert not ray.is_initialized()  # shut down after the study
    curves = pd.read_parquet(tmp_path / "curves.parquet")
    pruned = trials[trials["status"] == "pruned"]
    assert len(pruned) >= 3
    assert (pruned["epochs"] < 6).all() and (pruned["error"] == "").all()
    assert (trials.loc[trials["status"] == "complete", "epochs"] == 6).all()
    assert len(curves) == trials["epochs"].sum() == trials["cum_epochs"].iloc[-1]
    last = curves.groupby("trial")["value"].last()
    assert np.allclose(pruned.set_index("trial")["value"], last[pruned["trial"]])
    assert trials["algorithm"].iloc[0] == f"random+{scheduler}"


def test_ray_epoch_budget_cuts_the_last_trial(tmp_path):
    from tunebench.core.budget import Budget

    task = QuadraticTask(max_epochs=4)
    budget = Budget("e", "epochs", 10)
    trials = run_quadratic("ray-random-fifo", tmp_path, task=task, budget=budget)
    assert trials["epochs"].tolist() == [4, 4, 2]
    assert trials["status"].tolist() == ["complete", "complete", "pruned"]
    assert trials["error"].iloc[-1] == "cut after 2 epochs: the epoch budget is spent"


@pytest.mark.parametrize(
    ("spec", "max_epochs"),
    [
        ({"search": "optuna", "search_options": {"n_startup_trials": 2}}, None),
        ({"search": "random", "scheduler": "asha"}, 4),
    ],
    ids=["optuna-tpe", "random-asha"],
)
def test_ray_resume_continues_the_search(spec, max_epochs, tmp_path):
    """A resumed study replays its trials through the searcher (TPE after 2 random trials, so the
    history matters) and the scheduler (ASHA's rungs): it runs what an uninterrupted one would."""
    spec = {"framework": "ray", **spec}
    task = QuadraticTask(max_epochs=max_epochs)
    cols = ["params", "status", "epochs"]
    run_quadratic("ray-x", tmp_path / "a", trials=5, seed=1, spec=spec, task=task)
    resumed = run_quadratic("ray-x", tmp_path / "a", trials=10, seed=1, spec=spec, task=task)
    straight = run_quadratic("ray-x", tmp_path / "b", trials=10, seed=1, spec=spec, task=task)
    pd.testing.assert_frame_equal(resumed[cols], straight[cols])
    if max_epochs:
        assert (straight["status"].iloc[5:] == "pruned").any()  # the rungs carried over


def test_ray_leaves_home_and_tmp_clean(tmp_path):
    """A study with HOME pointing at an empty directory leaves it empty (Ray's auth token, usage
    stats and results stay out of it) and removes its Ray temp dir."""
    home, study = tmp_path / "home", tmp_path / "study"
    home.mkdir()
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parents[2])!r})
        from tests.helpers.studies import run_quadratic
        from tests.helpers.tasks import QuadraticTask
        trials = run_quadratic("ray-optuna-asha", {str(study)!r}, trials=4,
                               task=QuadraticTask(max_epochs=3))
        print(len(trials))
        """
    )
    # a private, short TMPDIR: other tests' Ray studies may run meanwhile in the shared /tmp
    tmp = Path(tempfile.mkdtemp(prefix="tbray", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    # MLflow (imported by tunebench) writes ~/.config/mlflow/telemetry.json unless told not to
    env.update(HOME=str(home), MLFLOW_DISABLE_TELEMETRY="true", TMPDIR=str(tmp))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "4"
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []
    assert not (study / "ray_tmp").exists()
    assert (study / "ray_results").is_dir()
    # the short temp dir Ray got instead (the study dir is too deep for its sockets) is gone
    assert list(tmp.glob("tunebench-ray-*")) == []
    shutil.rmtree(tmp, ignore_errors=True)
    rows = [json.loads(line) for line in (study / "journal.jsonl").read_text().splitlines()]
    assert [r["trial"] for r in rows] == [0, 1, 2, 3]


def test_ray_workers_run_trials_together_within_the_budget(tmp_path):
    from tunebench.core.budget import Budget

    spec = {"framework": "ray", "search": "random", "workers": 2, "num_cpus": 2}
    task = QuadraticTask(max_epochs=4)
    trials = run_quadratic("ray-x", tmp_path / "t", trials=7, spec=spec, task=task)
    assert len(trials) == 7 and sorted(trials["trial"]) == list(range(7))
    budget = Budget("e", "epochs", 18)
    trials = run_quadratic("ray-x", tmp_path / "e", spec=spec, task=task, budget=budget)
    assert trials["epochs"].sum() == trials["cum_epochs"].iloc[-1]
    assert 18 * 0.9 <= trials["epochs"].sum() <= 18 + 4  # at most one trial in flight over


def test_ray_trials_time_out_in_their_worker_thread(tmp_path):
    """Ray runs a trial in a thread of its worker: the watchdog stops it at the cap."""
    t0 = time.perf_counter()
    trials = run_quadratic(
        "ray-random-fifo", tmp_path, trials=4, task=FaultyTask("hang"), trial_timeout_s=1
    )
    check_timeouts(trials, time.perf_counter() - t0, n=4, slack=60)  # Ray starts a cluster
