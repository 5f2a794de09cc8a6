"""Suites in the config: expansion into tasks, clashes, unknown suites, bounds, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tunebench.cli import main
from tunebench.core.config import ConfigError, load_config, validate_config
from tunebench.core.matrix import expand_matrix
from tunebench.tasks.suites import SUITES, expand_suites, int_selection

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "optimizers": {"random": {"framework": "optuna", "sampler": "random"}},
    "budgets": {"d10": {"trials_per_dim": 10}},
    "seeds": 2,
}


def _config(**sections: object) -> dict:
    return {**BASE, **sections}


def test_suites_expand_into_tasks_merged_with_hand_written_ones() -> None:
    raw = _config(
        tasks={"branin": {"kind": "synthetic", "function": "branin"}},
        suites={
            "low": {"suite": "bbob", "functions": [1, 2], "dimensions": 2},
            "high": {"suite": "bbob", "functions": "1-2", "dimensions": [5], "instances": "1-2"},
        },
    )
    expanded = expand_suites(raw)
    assert "suites" not in expanded and "suites" in raw  # the input is left as it was
    assert list(expanded["tasks"]) == [
        "branin",
        "bbob-f1-d2-i0",
        "bbob-f2-d2-i0",
        "bbob-f1-d5-i1",
        "bbob-f2-d5-i1",
        "bbob-f1-d5-i2",
        "bbob-f2-d5-i2",
    ]
    config = validate_config(expanded)
    assert len(expand_matrix(config)) == 7 * 2
    assert config["tasks"]["bbob-f1-d2-i0"] == {
        "kind": "bbob",
        "function": 1,
        "dimension": 2,
        "instance": 0,
    }


def test_a_config_without_suites_is_unchanged() -> None:
    raw = _config(tasks={"branin": {"kind": "synthetic", "function": "branin"}})
    assert expand_suites(raw) == raw


def test_unexpanded_suites_are_refused_by_validation() -> None:
    raw = _config(suites={"b": {"suite": "bbob", "dimensions": 2}})
    with pytest.raises(ConfigError, match=r"^suites: expand the suites into tasks"):
        validate_config(raw)


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        (
            {
                "tasks": {"bbob-f1-d2-i0": {"kind": "synthetic", "function": "branin"}},
                "suites": {"b": {"suite": "bbob", "functions": 1, "dimensions": 2}},
            },
            r"^suites\.b: makes task 'bbob-f1-d2-i0', which tasks\.bbob-f1-d2-i0 already names",
        ),
        (
            {
                "suites": {
                    "a": {"suite": "bbob", "functions": "1-3", "dimensions": 2},
                    "b": {"suite": "bbob", "functions": 3, "dimensions": [2, 3]},
                }
            },
            r"^suites\.b: makes task 'bbob-f3-d2-i0', which suites\.a already names",
        ),
        ({"suites": {"b": {"suite": "cocoex"}}}, r"^suites\.b\.suite: unknown suite 'cocoex'"),
        (
            {"suites": {"b": {"dimensions": 2}}},
            r"^suites\.b: must be a mapping with a 'suite' key",
        ),
        ({"suites": {"b": [1]}}, r"^suites\.b: must be a mapping with a 'suite' key"),
        ({"suites": []}, r"^suites: must map entry names to suite selections"),
        (
            {"suites": {"b": {"suite": "bbob", "dimensions": 2, "dims": 3}}},
            r"^suites\.b\.dims: unknown key for suite bbob \(allowed: functions, dimensions, ",
        ),
        (
            {"suites": {"b": {"suite": "bbob", "dimensions": [2, 200]}}},
            r"^suites\.b\.dimensions: 200 is outside 2\.\.100$",
        ),
    ],
)
def test_mistakes_are_one_line_naming_the_key_path(sections: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        expand_suites(_config(**sections))
    assert "\n" not in str(info.value)


def test_a_suite_whose_module_is_missing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SUITES, "gone", "tunebench.tasks.no_such_suite")
    expected = (
        r"^suites\.g\.suite: suite 'gone' is not available "
        r"\(tunebench\.tasks\.no_such_suite is not in this installation\)$"
    )
    with pytest.raises(ConfigError, match=expected):
        expand_suites(_config(suites={"g": {"suite": "gone"}}))


def test_bounds_apply_to_the_expanded_matrix_before_it_is_built() -> None:
    raw = _config(
        seeds=1000,
        suites={"b": {"suite": "bbob", "dimensions": "2-100", "instances": "0-9"}},
    )
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        expand_suites(raw)
    assert str(info.value).startswith(
        "max_studies: the matrix has 23,760,000 studies (23760 × 1 × 1 × 1000 tasks"
    )
    # Building the 23.76 M studies takes minutes; refusing them first takes milliseconds (the
    # bound is loose so that a loaded machine cannot fail it).
    assert time.perf_counter() - start < 10.0
    raw["max_studies"] = 30_000_000
    assert len(expand_suites(raw)["tasks"]) == 23760


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, [3]),
        ([4, 1], [4, 1]),
        ("2-4", [2, 3, 4]),
        (" 7 - 7 ", [7]),
        ("all", [1, 2, 3, 4, 5, 6, 7, 8]),
    ],
)
def test_int_selection_forms(value: object, expected: list[int]) -> None:
    assert int_selection("s", "k", value, 1, 8) == expected


@pytest.mark.parametrize("value", ["", "1-", "a-b", "1..3", [], None, True, 2.0, {"a": 1}])
def test_int_selection_refuses_other_forms(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^s\.k: must be an integer, a list of integers"):
        int_selection("s", "k", value, 1, 8)


def test_validate_prints_the_expanded_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "config" / "bbob.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "suites.bbob-2-5: bbob, 48 tasks"
    assert lines[1].endswith("valid: 48 tasks × 5 optimizers × 1 budgets × 5 seeds = 1200 studies")
    shipped = yaml.safe_load((ROOT / "config" / "bbob.yaml").read_text())
    assert set(shipped["suites"]) == {"bbob-2-5"}


def test_validate_names_a_bad_selection_in_one_line(tmp_path: Path) -> None:
    config = load_config(ROOT / "config" / "bbob.yaml")
    config["suites"]["bbob-2-5"]["functions"] = "1-25"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    out = subprocess.run(
        [sys.executable, "-m", "tunebench.cli", "validate", str(path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr == (
        "tunebench validate: error: suites.bbob-2-5.functions: 25 is outside 1..24\n"
    )


def test_an_epochs_budget_names_a_few_of_the_suite_tasks() -> None:
    raw = _config(budgets={"e9": {"epochs": 9}}, suites={"b": {"suite": "bbob", "dimensions": 2}})
    with pytest.raises(ConfigError) as info:
        validate_config(expand_suites(raw))
    assert str(info.value) == (
        "budgets.e9: an epochs budget needs tasks that train in epochs; ['bbob-f1-d2-i0', "
        "'bbob-f2-d2-i0', 'bbob-f3-d2-i0', 'bbob-f4-d2-i0', 'bbob-f5-d2-i0'] and 19 more do not "
        "(use trials or seconds, or a separate config)"
    )


def suite_tasks(prefix: str, selection: dict) -> dict[str, dict]:
    """A suite module's entry point (this test module stands in for one)."""
    raise ValueError(f"{prefix}.size: must be small, got {selection['size']!r}")


def test_a_suite_modules_value_error_becomes_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(SUITES, "fake", __name__)
    with pytest.raises(ConfigError, match=r"^suites\.f\.size: must be small, got 'huge'$"):
        expand_suites(_config(suites={"f": {"suite": "fake", "size": "huge"}}))


def test_run_study_finds_a_suite_task_of_the_config(tmp_path: Path) -> None:
    out = tmp_path / "study"
    argv = ["run-study", "--config", str(ROOT / "config" / "bbob.yaml"), "--task", "bbob-f7-d5-i0"]
    argv += ["--optimizer", "random", "--budget", "d20", "--seed", "1", "--no-mlflow"]
    assert main([*argv, "--out", str(out)]) == 0
    study = json.loads((out / "study.json").read_text())
    assert study["results"]["n_trials"] == 100  # 20 trials per dimension × 5
    assert study["cell"]["task_spec"] == {
        "kind": "bbob",
        "function": 7,
        "dimension": 5,
        "instance": 0,
    }
