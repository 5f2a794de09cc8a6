"""Config validation: good configs pass with defaults; each kind of mistake is one clear line."""

from __future__ import annotations

import copy
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tunebench.cli import main
from tunebench.core.config import ConfigError, load_config, load_schema, validate_config
from tunebench.core.matrix import StudyCell, expand_matrix, matrix_axes, study_dirs

ROOT = Path(__file__).resolve().parents[2]
SMOKE = load_config(ROOT / "config" / "smoke.yaml")


def _mutated(path: str, value: object) -> dict:
    config = copy.deepcopy(SMOKE)
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return config


_DELETE = object()


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml"])
def test_shipped_configs_are_valid(name):
    config = validate_config(load_config(ROOT / "config" / name))
    assert config["analysis"]["correction"] == "holm"  # a default was filled in
    assert len(expand_matrix(config)) >= 12


def test_primary_budget_may_be_a_spend_in_any_currency():
    config = validate_config(_mutated("analysis.primary_budget", {"seconds": 2.5}))
    assert config["analysis"]["primary_budget"] == {"seconds": 2.5}


def test_defaults_are_filled_and_input_not_modified():
    raw = copy.deepcopy(SMOKE)
    config = validate_config(raw)
    assert raw == SMOKE
    assert config["optimizers"]["random"]["pruner"] == "none"
    assert config["optimizers"]["hyperopt-tpe"]["algo"] == "tpe"
    assert config["mlflow"] == {"tracking_uri": None, "logging": "after", "trials": "auto"}
    assert config["threads"] == 1
    assert config["studies_per_job"] == "auto"
    assert config["tune_resources"] == {"mem_mb": 4000, "runtime": 120}


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("budgets", {"t6": {"trails": 6}}, "budgets.t6: Additional properties"),
        ("seeds", "five", "seeds: 'five' is not valid"),
        ("seeds", 0, "seeds: 0 is less than the minimum of 1"),
        ("optimizers.random.framework", "nevergrad2", "optimizers.random.framework: 'nevergrad2'"),
        ("optimizers.random.sampler", "bayes", "optimizers.random.sampler: 'bayes' is not one of"),
        ("tasks.branin.function", "ackley", "tasks.branin.function: 'ackley' is not one of"),
        ("tasks.branin.space", {}, "tasks.branin.space: {} should be non-empty"),
        (
            "tasks.branin.space",
            {"x0": {"type": "float", "low": 5.0, "high": 1.0}},
            "tasks.branin.space.x0: low=5.0 must be < high=1.0",
        ),
        (
            "tasks.branin.space",
            {"x0": {"type": "float", "low": 0.0, "high": 1.0, "log": True}},
            "tasks.branin.space.x0.low: log scale needs low > 0",
        ),
        (
            "tasks.branin.space",
            {"x0": {"type": "int", "low": 1.5, "high": 3}},
            "tasks.branin.space.x0.low: 1.5 is not of type 'integer'",
        ),
        ("budgets.t6", {"trials": 5, "seconds": 10}, "budgets.t6: {'trials': 5, 'seconds': 10}"),
        ("budgets.t6", {"trials": 0}, "budgets.t6.trials: 0 is less than the minimum of 1"),
        ("tasks", _DELETE, "<config>: 'tasks' is a required property"),
        ("analysis.primary_budget", "t99", "analysis.primary_budget: 't99' is not a budget"),
        (
            "analysis.primary_budget",
            {"budget": "t99", "epochs": 5},
            "analysis.primary_budget: 't99' is not a budget",
        ),
        ("analysis.primary_budget", {"epochs": 5, "seconds": 2}, "analysis.primary_budget: {"),
        ("colour", "red", "<config>: Additional properties are not allowed ('colour'"),
        (
            "sedes",
            3,
            "<config>: Additional properties are not allowed ('sedes' was unexpected) "
            "(did you mean 'seeds'?)",
        ),
        (
            "analysis.baseline",
            "randm",
            "analysis.baseline: 'randm' is not an optimizer of the "
            "config (did you mean 'random'?)",
        ),
        ("budgets.t6", {"epochs": 30}, "budgets.t6: an epochs budget needs tasks that train"),
        ("studies_per_job", 0, "studies_per_job: 0 is less than the minimum of 1"),
        ("mlflow", {"logging": "sometimes"}, "mlflow.logging: 'sometimes' is not one of"),
        ("mlflow", {"logging": "live", "trials": "steps"}, "mlflow.trials: steps needs"),
        ("tune_resources", {"mem_mb": 1.5}, "tune_resources.mem_mb: 1.5 is not of type 'integer'"),
    ],
)
def test_mistakes_are_one_line_errors_naming_the_key(path, value, expected):
    with pytest.raises(ConfigError) as error:
        validate_config(_mutated(path, value))
    message = str(error.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_duplicate_keys_and_non_mappings_are_rejected(tmp_path):
    dup = tmp_path / "dup.yaml"
    dup.write_text("tasks: {}\nseeds: 2\nseeds: 3\n")
    with pytest.raises(ConfigError, match="seeds: duplicate key"):
        load_config(dup)
    lst = tmp_path / "list.yaml"
    lst.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(lst)


def test_yaml_is_data_not_code(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match=r"^name: YAML tag '.*python/object/apply:os.system'"):
        load_config(evil)


def test_yte_templates_are_rejected(tmp_path):
    """``__use_yte__: true`` would make a config file code (YTE evaluates ``?`` expressions)."""
    marker = tmp_path / "evaluated"
    evil = tmp_path / "yte.yaml"
    evil.write_text(f"__use_yte__: true\nname: ?open({str(marker)!r}, 'w').name\n")
    with pytest.raises(ConfigError, match=r"^__use_yte__: YTE templates run Python code"):
        load_config(evil)
    done = subprocess.run(
        [sys.executable, "-m", "tunebench.cli", "validate", str(evil)],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "__use_yte__" in done.stderr and "Traceback" not in done.stderr
    assert not marker.exists()


def test_schema_enums_match_the_registries():
    from tunebench.frameworks import FRAMEWORKS
    from tunebench.frameworks.hyperopt_adapter import ALGORITHMS
    from tunebench.frameworks.optuna_adapter import PRUNERS, SAMPLERS
    from tunebench.frameworks.ray_adapter import SCHEDULERS, SEARCHES, RayOptimizer
    from tunebench.tasks import SKLEARN_MODELS, SYNTHETIC_FUNCTIONS, TORCH_MODELS

    defs = load_schema()["$defs"]
    then = {
        branch["if"]["properties"]["framework"]["const"]: branch["then"]["properties"]
        for branch in defs["optimizer"]["allOf"]
    }
    assert set(then) == set(FRAMEWORKS)
    assert tuple(then["optuna"]["sampler"]["enum"]) == SAMPLERS
    assert tuple(then["optuna"]["pruner"]["enum"]) == PRUNERS
    assert tuple(then["hyperopt"]["algo"]["enum"]) == ALGORITHMS
    assert tuple(then["ray"]["search"]["enum"]) == SEARCHES
    assert tuple(then["ray"]["scheduler"]["enum"]) == SCHEDULERS
    ray_keywords = set(inspect.signature(RayOptimizer).parameters) - {"name"}
    assert set(then["ray"]) - {"framework", "tasks"} == ray_keywords
    from tunebench.frameworks.ax_adapter import METHODS, AxOptimizer
    from tunebench.frameworks.sklearn_adapter import SEARCHES as SK_SEARCHES
    from tunebench.frameworks.sklearn_adapter import SklearnSearchOptimizer
    from tunebench.frameworks.smac_adapter import FACADES, SmacOptimizer

    assert tuple(then["ax"]["method"]["enum"]) == METHODS
    assert tuple(then["sklearn"]["search"]["enum"]) == SK_SEARCHES
    from tunebench.frameworks.autopytorch_adapter import AutoPyTorchOptimizer
    from tunebench.frameworks.vizier_adapter import ALGORITHMS as VIZIER_ALGORITHMS
    from tunebench.frameworks.vizier_adapter import VizierOptimizer

    assert tuple(then["vizier"]["algorithm"]["enum"]) == VIZIER_ALGORITHMS
    assert set(defs["optimizer"]["properties"]["framework"]["enum"]) == set(FRAMEWORKS)
    assert tuple(then["smac"]["facade"]["enum"]) == FACADES
    for framework, cls in (
        ("ax", AxOptimizer),
        ("sklearn", SklearnSearchOptimizer),
        ("smac", SmacOptimizer),
        ("vizier", VizierOptimizer),
        ("autopytorch", AutoPyTorchOptimizer),
    ):
        keywords = set(inspect.signature(cls).parameters) - {"name"}
        assert set(then[framework]) - {"framework", "tasks"} == keywords
    kinds = {
        branch["if"]["properties"]["kind"]["const"]: branch["then"]["properties"]
        for branch in defs["task"]["allOf"]
    }
    assert set(kinds["synthetic"]["function"]["enum"]) == set(SYNTHETIC_FUNCTIONS)
    assert set(kinds["sklearn"]["model"]["enum"]) == set(SKLEARN_MODELS)
    assert set(kinds["torch"]["model"]["enum"]) == set(TORCH_MODELS)


def test_cells_round_trip_through_json():
    for cell in expand_matrix(validate_config(SMOKE)):
        assert StudyCell.from_json(cell.to_json()) == cell


def test_cell_json_is_compact_and_key_sorted():
    cell = expand_matrix(validate_config(SMOKE))[0]
    text = cell.to_json()
    assert text.startswith('{"budget":"t6","budget_spec":{"trials":6},"experiment":"smoke",')
    assert " " not in text and json.loads(text)["task_spec"] == cell.task_spec


def test_matrix_axes_give_every_study_dir_in_matrix_order():
    config = validate_config(SMOKE)
    axes = json.loads(json.dumps(matrix_axes(config)))  # as the aggregate job receives them
    cells = expand_matrix(config)
    assert study_dirs(axes, "res") == [cell.study_dir("res") for cell in cells]


def test_cli_aggregate_reads_the_studies_of_the_matrix(tmp_path):
    import pandas as pd

    config = validate_config(SMOKE)
    for i, study in enumerate(study_dirs(matrix_axes(config), tmp_path)):
        study.mkdir(parents=True)
        pd.DataFrame({"study": [i]}).to_parquet(study / "trials.parquet")
        pd.DataFrame({"study": [i, i]}).to_parquet(study / "curves.parquet")
    out = tmp_path / "out"
    args = ["--trials-out", str(out / "t.parquet"), "--curves-out", str(out / "c.parquet")]
    matrix = ["--matrix", json.dumps(matrix_axes(config)), "--results", str(tmp_path)]
    assert main(["aggregate", *matrix, *args]) == 0
    n = len(expand_matrix(config))
    assert pd.read_parquet(out / "t.parquet")["study"].tolist() == list(range(n))
    assert len(pd.read_parquet(out / "c.parquet")) == 2 * n
    assert main(["aggregate", *args]) == 2  # neither study directories nor a matrix


def test_cli_validate_prints_one_line_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_mutated("optimizers.random.sampler", "bayes")))
    done = subprocess.run(
        [sys.executable, "-m", "tunebench.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "tunebench validate: error: optimizers.random.sampler: 'bayes' is not one of "
        "['tpe', 'random', 'cmaes', 'gp', 'qmc']"
    ]


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"framework": "ax"}, None),
        ({"framework": "ax", "method": "sobol"}, None),
        ({"framework": "ax", "initialization_budget": 8}, None),
        ({"framework": "sklearn", "search": "grid", "grid_points": 4}, None),
        ({"framework": "sklearn", "search": "halving", "factor": 2, "n_candidates": 9}, None),
        ({"framework": "ax", "method": "saasbo"}, "optimizers.o.method: 'saasbo' is not one of"),
        ({"framework": "sklearn", "grid_points": 1}, "optimizers.o.grid_points: 1 is less than"),
        ({"framework": "sklearn", "factor": 1}, "optimizers.o.factor: 1 is less than or equal"),
    ],
)
def test_ax_and_sklearn_entries(entry, error):
    from tunebench.frameworks import build_optimizer

    config = _mutated("optimizers", {"o": entry})
    if error is not None:
        with pytest.raises(ConfigError) as raised:
            validate_config(config)
        assert str(raised.value).startswith(error)
        return
    spec = validate_config(config)["optimizers"]["o"]
    optimizer = build_optimizer("o", spec)
    assert optimizer.algorithm == spec.get("method", spec.get("search"))


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"framework": "smac"}, None),
        ({"framework": "smac", "facade": "hyperband", "eta": 2}, None),
        ({"framework": "smac", "facade": "bb", "n_initial": 8}, None),
        ({"framework": "smac", "facade": "smbo"}, "optimizers.o.facade: 'smbo' is not one of"),
        ({"framework": "smac", "eta": 1}, "optimizers.o.eta: 1 is less than the minimum of 2"),
        ({"framework": "smac", "n_trials": 9}, "optimizers.o: Additional properties"),
    ],
)
def test_smac_entries(entry, error):
    from tunebench.frameworks import build_optimizer

    config = _mutated("optimizers", {"o": entry})
    if error is not None:
        with pytest.raises(ConfigError) as raised:
            validate_config(config)
        assert str(raised.value).startswith(error)
        return
    spec = validate_config(config)["optimizers"]["o"]
    assert build_optimizer("o", spec).algorithm == spec["facade"]


def test_a_yaml_error_gives_the_parsers_message_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nseeds: 2\ntasks:\n  branin: {kind: synthetic\noptimizers: {}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert message == (
        f"{path}: not valid YAML: while parsing a flow mapping (line 4, column 11), "
        "expected ',' or '}', but got ':' (line 5, column 11)"
    )


def test_an_alias_bomb_is_refused_in_well_under_a_second(tmp_path):
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        levels.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\nseeds: [" + ", ".join(["*h"] * 10) + "]\n")
    start = time.perf_counter()
    expected = r"expands to 1,234,567,\d{3} values .* more than 200,000"
    with pytest.raises(ConfigError, match=expected):
        load_config(path)
    assert time.perf_counter() - start < 1.0


def test_merge_keys_and_modest_aliases_still_load(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        "defaults: &d {kind: synthetic, function: rosenbrock}\n"
        "tasks:\n  r2: {<<: *d, dim: 2}\n  r3: {<<: *d, dim: 3}\n"
    )
    assert load_config(path)["tasks"]["r3"] == {
        "kind": "synthetic",
        "function": "rosenbrock",
        "dim": 3,
    }


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("seeds", 1_000_000_000, "seeds: 1000000000 is greater than the maximum of 100000"),
        ("budgets.t6", {"trials": 10**29}, "budgets.t6.trials: 1000000000000000000000000000"),
        ("seeds", 60_000, "max_studies: the matrix has 720,000 studies (4 × 3 × 1 × 60000 "),
    ],
)
def test_configs_are_bounded_before_anything_is_allocated(path, value, expected):
    start = time.perf_counter()
    with pytest.raises(ConfigError) as error:
        validate_config(_mutated(path, value))
    assert str(error.value).startswith(expected), str(error.value)
    assert time.perf_counter() - start < 1.0


def test_max_studies_can_be_raised():
    config = validate_config({**_mutated("seeds", 60_000), "max_studies": 1_000_000})
    assert config["seeds"] == 60_000


def test_an_optimizer_with_tasks_runs_on_those_only():
    config = validate_config(_mutated("optimizers.random.tasks", ["cancer-svc", "digits-svc"]))
    cells = expand_matrix(config)
    random = {(c.task, c.seed) for c in cells if c.optimizer == "random"}
    assert random == {(t, s) for t in ("cancer-svc", "digits-svc") for s in (0, 1)}
    assert len(cells) == (4 * 2 + 2) * 2  # two full optimizers, random on 2 of 4 tasks
    assert all("tasks" not in c.optimizer_spec for c in cells)  # not an adapter option
    axes = json.loads(json.dumps(matrix_axes(config)))
    assert axes["only"] == {"random": ["cancer-svc", "digits-svc"]}
    assert study_dirs(axes, "res") == [cell.study_dir("res") for cell in cells]


def test_an_optimizers_unknown_task_is_a_one_line_error():
    with pytest.raises(ConfigError) as error:
        validate_config(_mutated("optimizers.random.tasks", ["cancer-svc", "nope"]))
    assert str(error.value) == (
        "optimizers.random.tasks: unknown task(s) ['nope'] "
        "(choose from: branin, cancer-svc, digits-mlp, digits-svc)"
    )
