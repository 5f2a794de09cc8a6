"""BBOB tasks: bounds and optima from ioh, naming, errors, and values equal to bare ioh calls."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import ioh
import numpy as np
import pandas as pd
import pytest

from tests.helpers.studies import suite_cell
from tunebench.study import run_study
from tunebench.tasks import build_task
from tunebench.tasks.bbob import BBOBTask, suite_tasks, task_name


def _bare(function: int, dimension: int, instance: int) -> ioh.iohcpp.problem.BBOB:
    return ioh.get_problem(function, instance, dimension, problem_class=ioh.ProblemClass.BBOB)


pytestmark = pytest.mark.usefixtures("offline")  # every test here runs offline


@pytest.mark.parametrize(
    ("function", "dimension", "instance"), [(1, 2, 0), (12, 5, 3), (24, 3, 1)]
)
def test_space_and_optimum_come_from_ioh(function: int, dimension: int, instance: int) -> None:
    name = task_name(function, dimension, instance)
    spec = {"kind": "bbob", "function": function, "dimension": dimension, "instance": instance}
    task = build_task(name, spec)
    bare = _bare(function, dimension, instance)
    assert isinstance(task, BBOBTask)
    assert (task.direction, task.max_fidelity) == ("minimize", None)
    assert task.space.names == [f"x{i}" for i in range(dimension)]
    assert [(p.low, p.high) for p in task.space] == [(-5.0, 5.0)] * dimension
    assert task.known_optimum == bare.optimum.y
    # the minimiser attains the optimum: regret 0
    assert task.test_score(task.minimiser, 0) == pytest.approx(task.known_optimum, abs=1e-9)
    assert task.evaluate(task.minimiser, 0, None) == task.test_score(task.minimiser, 0)


def test_instance_defaults_to_0_and_instances_differ() -> None:
    base = {"kind": "bbob", "function": 3, "dimension": 2}
    default = build_task("a", base)
    assert default.instance == 0
    assert default.known_optimum == _bare(3, 2, 0).optimum.y
    other = build_task("b", {**base, "instance": 1})
    assert other.known_optimum != default.known_optimum
    point = {"x0": 0.5, "x1": -1.5}
    assert other.test_score(point, 0) != default.test_score(point, 0)


def test_values_are_repeatable_and_free_of_ioh_state() -> None:
    task = build_task("t", {"kind": "bbob", "function": 15, "dimension": 4})
    rng = np.random.default_rng(0)
    points = [dict(zip(task.space.names, rng.uniform(-5, 5, 4), strict=True)) for _ in range(50)]
    first = [task.evaluate(p, seed, None) for seed, p in enumerate(points)]
    # again, in reverse order, with other seeds, and through a pickled copy (what Ray ships)
    again = [task.test_score(p, 99) for p in reversed(points)][::-1]
    copy = pickle.loads(pickle.dumps(task))
    assert first == again == [copy.evaluate(p, 0, None) for p in points]
    bare = _bare(15, 4, 0)
    assert first == [bare([p[f"x{i}"] for i in range(4)]) for p in points]


@pytest.mark.parametrize("function", [1, 4, 12, 18, 21, 24])
@pytest.mark.parametrize("instance", [1, 2, 15])
def test_instances_are_cocos(function: int, instance: int) -> None:
    """Instance I of function F is COCO's: the BBOB-2009 reference code gives the same optimum
    and values (cma.bbobbenchmarks, N. Hansen's Python port of it)."""
    bbobbenchmarks = pytest.importorskip("cma.bbobbenchmarks")
    reference, fopt = bbobbenchmarks.instantiate(function, iinstance=instance)
    task = build_task(
        "t", {"kind": "bbob", "function": function, "dimension": 3, "instance": instance}
    )
    assert task.known_optimum == fopt
    for x in ([0.3, -1.2, 2.0], [4.9, -4.9, 0.0]):
        value = task.test_score({"x0": x[0], "x1": x[1], "x2": x[2]}, 0)
        assert value == pytest.approx(float(reference(np.array(x))), rel=1e-12)


def test_name_is_the_canonical_form() -> None:
    assert task_name(12, 2, 0) == "bbob-f12-d2-i0"


@pytest.mark.parametrize(
    ("spec", "path", "bad"),
    [
        ({"function": 25, "dimension": 2}, "tasks.t.function", "25"),
        ({"function": 0, "dimension": 2}, "tasks.t.function", "0"),
        ({"function": True, "dimension": 2}, "tasks.t.function", "True"),
        ({"dimension": 2}, "tasks.t.function", "None"),
        ({"function": 1, "dimension": 1}, "tasks.t.dimension", "1"),
        ({"function": 1, "dimension": 101}, "tasks.t.dimension", "101"),
        ({"function": 1, "dimension": 2.0}, "tasks.t.dimension", "2.0"),
        ({"function": 1, "dimension": 2, "instance": -1}, "tasks.t.instance", "-1"),
        ({"function": 1, "dimension": 2, "instance": 2**31}, "tasks.t.instance", "2147483648"),
    ],
)
def test_bad_entries_name_the_key(spec: dict, path: str, bad: str) -> None:
    with pytest.raises(ValueError) as info:
        build_task("t", {"kind": "bbob", **spec})
    message = str(info.value)
    assert message.startswith(f"{path}: ") and bad in message and "\n" not in message


def test_a_space_cannot_be_given() -> None:
    spec = {"kind": "bbob", "function": 1, "dimension": 2, "space": {"x0": {"type": "float"}}}
    with pytest.raises(ValueError, match=r"^tasks\.t: unknown key\(s\) \['space'\] for kind"):
        build_task("t", spec)


def test_building_other_tasks_does_not_import_ioh() -> None:
    code = (
        "import sys\n"
        "from tunebench.tasks import build_task\n"
        "from tunebench.tasks.suites import expand_suites\n"
        "build_task('a', {'kind': 'synthetic', 'function': 'branin'})\n"
        "expand_suites({'suites': {'b': {'suite': 'bbob', 'dimensions': [2]}}})\n"
        "assert 'ioh' not in sys.modules, 'ioh imported'\n"
        "build_task('b', {'kind': 'bbob', 'function': 1, 'dimension': 2})\n"
        "assert 'ioh' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_suite_tasks_are_the_product_functions_fastest() -> None:
    tasks = suite_tasks("suites.s", {"functions": "23-24", "dimensions": [2, 5], "instances": 1})
    assert list(tasks) == ["bbob-f23-d2-i1", "bbob-f24-d2-i1", "bbob-f23-d5-i1", "bbob-f24-d5-i1"]
    assert tasks["bbob-f24-d5-i1"] == {
        "kind": "bbob",
        "function": 24,
        "dimension": 5,
        "instance": 1,
    }
    every = suite_tasks("suites.s", {"dimensions": 3})
    assert len(every) == 24 and all(spec["instance"] == 0 for spec in every.values())


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"functions": "1-3"}, r"^suites\.s\.dimensions: required for suite bbob"),
        ({"dimensions": [2], "function": 1}, r"^suites\.s\.function: unknown key for suite bbob"),
        ({"dimensions": "all"}, r"^suites\.s\.dimensions: must be an integer, a list"),
        ({"dimensions": [2], "functions": "0-3"}, r"^suites\.s\.functions: 0 is outside 1\.\.24$"),
        ({"dimensions": [2], "functions": "5-3"}, r"^suites\.s\.functions: empty range '5-3'$"),
        ({"dimensions": [2, 2]}, r"^suites\.s\.dimensions: repeated values in \[2, 2\]$"),
        ({"dimensions": [2], "instances": "0-999999"}, r"^suites\.s\.instances: the range"),
        ({"dimensions": [2], "instances": [0.5]}, r"^suites\.s\.instances: must be .* got 0\.5"),
    ],
)
def test_bad_selections_name_the_key(selection: dict, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        suite_tasks("suites.s", selection)


def test_an_entry_too_large_is_refused_before_it_is_built() -> None:
    selection = {"dimensions": "2-100", "instances": "0-99999"}
    with pytest.raises(ValueError, match=r"^suites\.s: selects 237,600,000 tasks, more than"):
        suite_tasks("suites.s", selection)


@pytest.mark.parametrize(
    "optimizer_spec",
    [{"framework": "optuna", "sampler": "tpe"}, {"framework": "hyperopt", "algo": "random"}],
    ids=["optuna-tpe", "hyperopt-random"],
)
def test_recorded_values_are_ioh_values(tmp_path: Path, optimizer_spec: dict) -> None:
    """A study through tunebench records exactly what a bare loop over ioh returns."""
    function, dimension, instance = 21, 3, 0
    cell = suite_cell(
        task_name(function, dimension, instance),
        {"kind": "bbob", "function": function, "dimension": dimension},
        budget={"trials_per_dim": 4},
        seed=3,
        optimizer_spec=optimizer_spec,
    )
    summary = run_study(cell, tmp_path / "study", progress=None)
    trials = pd.read_parquet(tmp_path / "study" / "trials.parquet")
    assert len(trials) == 4 * dimension  # the per-dimension budget: 4 × 3 trials
    assert (trials["status"] == "complete").all()
    bare = _bare(function, dimension, instance)
    points = [json.loads(p) for p in trials["params"]]
    xs = [[p[f"x{i}"] for i in range(dimension)] for p in points]
    assert len({tuple(x) for x in xs}) == len(xs)  # the optimizer proposed distinct points
    assert trials["value"].tolist() == [bare(x) for x in xs]
    incumbents = trials[trials["test_value"].notna()]
    assert incumbents["test_value"].tolist() == incumbents["value"].tolist()
    assert summary["known_optimum"] == bare.optimum.y
    assert summary["results"]["best_value"] == min(bare(x) for x in xs)
