"""Property test: every malformed config is rejected with one line naming its key path.

Each example takes the valid smoke config (plus a search space), breaks it in exactly one way
(a wrong type, a missing or unknown key, an empty or inverted range, an unknown framework,
algorithm or task, a budget with zero or two limits, a negative seed, a duplicate name or YAML
key, a non-mapping document, a ``!!python`` tag), writes it as YAML and loads and validates it
as ``tunebench validate`` and the Snakefile do. Only :class:`ConfigError` may come out, its
message one line that starts with the broken key's path (or an enclosing entry's path).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tunebench.core.config import ConfigError, load_config, load_schema, validate_config

ROOT = Path(__file__).resolve().parents[2]
BASE = load_config(ROOT / "config" / "smoke.yaml")
BASE["tasks"]["branin"]["space"] = {
    "x0": {"type": "float", "low": -5.0, "high": 10.0},
    "x1": {"type": "float", "low": 0.0, "high": 15.0},
    "k": {"type": "int", "low": 1, "high": 8, "log": True},
    "c": {"type": "categorical", "choices": ["a", "b"]},
}
SENTINEL = "tunebench-fuzz-evaluated"


def _schema_keys(node: Any) -> set[str]:
    """Every property name the schema declares anywhere (an unknown key is none of these)."""
    if isinstance(node, list):
        return set().union(*map(_schema_keys, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    own = set(node["properties"]) if isinstance(node.get("properties"), dict) else set()
    return own.union(*map(_schema_keys, node.values()))


SCHEMA_KEYS = _schema_keys(load_schema())

Path_ = tuple[Any, ...]
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Leaves and branches of BASE with the JSON type they must have.
TYPED: dict[Path_, str] = {
    ("name",): "string",
    ("seeds",): "seeds",
    ("threads",): "integer",
    ("tasks",): "object",
    ("tasks", "branin"): "object",
    ("tasks", "branin", "kind"): "string",
    ("tasks", "branin", "function"): "string",
    ("tasks", "branin", "space"): "object",
    ("tasks", "branin", "space", "x0"): "object",
    ("tasks", "branin", "space", "x0", "low"): "number",
    ("tasks", "branin", "space", "k", "high"): "integer",
    ("tasks", "branin", "space", "k", "log"): "boolean",
    ("tasks", "branin", "space", "c", "choices"): "array",
    ("tasks", "cancer-svc", "dataset"): "string",
    ("tasks", "digits-mlp", "max_epochs"): "integer",
    ("optimizers",): "object",
    ("optimizers", "random", "framework"): "string",
    ("optimizers", "optuna-tpe", "pruner"): "string",
    ("optimizers", "hyperopt-tpe", "algo"): "string",
    ("budgets",): "object",
    ("budgets", "t6"): "object",
    ("budgets", "t6", "trials"): "integer",
    ("comparisons",): "object",
    ("comparisons", "digits"): "array",
    ("analysis",): "object",
    ("analysis", "n_boot"): "integer",
    ("analysis", "alpha"): "number",
}
# Mappings with a fixed set of keys, and the keys they require.
FIXED: dict[Path_, tuple[str, ...]] = {
    (): ("tasks", "optimizers", "budgets"),
    ("tasks", "branin"): ("kind", "function"),
    ("tasks", "cancer-svc"): ("kind", "model", "dataset"),
    ("tasks", "digits-mlp"): ("kind", "model", "dataset"),
    ("tasks", "branin", "space", "x0"): ("type", "low", "high"),
    ("tasks", "branin", "space", "c"): ("type", "choices"),
    ("optimizers", "random"): ("framework",),
    ("optimizers", "hyperopt-tpe"): ("framework",),
    ("analysis",): (),
    ("mlflow",): (),
}
# Enumerated values: (path, what may not be there)
ENUMS: dict[Path_, str] = {
    ("optimizers", "random", "framework"): "framework",
    ("optimizers", "random", "sampler"): "sampler",
    ("optimizers", "optuna-tpe", "pruner"): "pruner",
    ("optimizers", "hyperopt-tpe", "algo"): "algo",
    ("tasks", "branin", "kind"): "kind",
    ("tasks", "branin", "function"): "function",
    ("tasks", "cancer-svc", "model"): "model",
    ("tasks", "cancer-svc", "dataset"): "dataset",
    ("analysis", "correction"): "correction",
    ("analysis", "block"): "block",
}
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6), NAMES
)
NON_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf"), 10**400])


def _not(kind: str) -> st.SearchStrategy[Any]:
    """Values of any type but ``kind``."""
    candidates = {
        "string": st.one_of(st.booleans(), st.integers(), st.floats(-9, 9), st.lists(NAMES)),
        "integer": st.one_of(
            st.floats(-9, 9).filter(lambda x: x != 0), st.just(2.0), NAMES, st.booleans()
        ),
        "number": st.one_of(NAMES, st.booleans(), st.lists(st.integers(), max_size=2)),
        "boolean": st.one_of(st.integers(0, 1), NAMES, st.none()),
        "object": st.one_of(SCALARS, st.lists(NAMES, max_size=3)),
        "array": st.one_of(SCALARS, st.dictionaries(NAMES, NAMES, max_size=2)),
        "seeds": st.one_of(
            NAMES, st.none(), st.floats(0.5, 9), st.just(3.0), st.booleans(), st.just({})
        ),
    }
    if kind != "object":
        return candidates[kind]
    return candidates[kind].filter(lambda v: not isinstance(v, dict))


def _get(config: Any, path: Path_) -> Any:
    for part in path:
        config = config[part]
    return config


def _set(config: dict, path: Path_, value: Any) -> dict:
    """A copy of ``config`` with ``value`` at ``path`` (missing sections are created)."""
    config = copy.deepcopy(config)
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return config


def _delete(config: dict, path: Path_) -> dict:
    config = copy.deepcopy(config)
    del _get(config, path[:-1])[path[-1]]
    return config


class Dup:
    """A mapping written with a repeated key (YAML allows it to be written, not loaded)."""

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        self.pairs = pairs


class Tagged:
    """A value written with an explicit YAML tag such as ``!!python/object/apply:os.system``."""

    def __init__(self, tag: str, args: list[str]) -> None:
        self.tag, self.args = tag, args


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(Dup, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.pairs))
_Dumper.add_representer(Tagged, lambda d, v: d.represent_sequence(v.tag, v.args))


# A case: (the document to write, the broken key's path, a word the message must contain).
Case = tuple[Any, Path_, str | None]


@st.composite
def wrong_types(draw: st.DrawFn) -> Case:
    path = draw(st.sampled_from(sorted(TYPED)))
    return _set(BASE, path, draw(_not(TYPED[path]))), path, None


@st.composite
def missing_keys(draw: st.DrawFn) -> Case:
    parent = draw(st.sampled_from([p for p, keys in FIXED.items() if keys]))
    key = draw(st.sampled_from(FIXED[parent]))
    return _delete(BASE, (*parent, key)), (*parent, key), key


@st.composite
def empty_sections(draw: st.DrawFn) -> Case:
    path = draw(
        st.sampled_from([("tasks",), ("optimizers",), ("budgets",), ("tasks", "branin", "space")])
    )
    return _set(BASE, path, {}), path, None


@st.composite
def unknown_keys(draw: st.DrawFn) -> Case:
    parent = draw(st.sampled_from(sorted(FIXED)))
    key = draw(NAMES.filter(lambda k: k not in SCHEMA_KEYS))
    return _set(BASE, (*parent, key), draw(SCALARS)), (*parent, key), key


@st.composite
def bad_ranges(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["float", "int"]))
    num = st.floats(-1e6, 1e6) if kind == "float" else st.integers(-(10**6), 10**6)
    low = draw(num)
    how = draw(st.sampled_from(["inverted", "empty", "log", "non-finite", "no-choices"]))
    if how == "inverted":
        high = draw(st.floats(-1e6, low) if kind == "float" else st.integers(-(10**6), low))
        domain = {"type": kind, "low": low, "high": high}
    elif how == "empty":
        domain = {"type": kind, "low": low, "high": low}
    elif how == "log":
        low = draw(st.floats(-1e6, 0) if kind == "float" else st.integers(-(10**6), 0))
        domain = {"type": kind, "low": low, "high": abs(low) + 1, "log": True}
    elif how == "non-finite":
        domain = {"type": "float", "low": draw(NON_FINITE), "high": 1.0}
    else:
        domain = {"type": "categorical", "choices": []}
    path = ("tasks", "branin", "space", draw(st.sampled_from(["x0", "k", "new_param"])))
    return _set(BASE, path, domain), path, None


@st.composite
def unknown_names(draw: st.DrawFn) -> Case:
    """Unknown frameworks, algorithms, task kinds/functions/models/datasets, task references."""
    which = draw(st.sampled_from(["enum", "comparison", "primary_budget"]))
    name = draw(NAMES.filter(lambda n: n not in {"branin", "digits", "wine", "random", "t6"}))
    if which == "enum":
        path = draw(st.sampled_from(sorted(ENUMS)))
        allowed = {"optuna", "hyperopt", "ray", "ax", "sklearn", "tpe", "random", "cmaes", "gp"}
        allowed |= {"qmc", "none", "median", "anneal", "synthetic", "torch", "svc", "gboost"}
        allowed |= {"hartmann6", "rosenbrock", "breast_cancer", "holm", "bh", "by", "task"}
        return _set(BASE, path, name if name not in allowed else name + "x"), path, None
    if which == "comparison":
        path = ("comparisons", draw(NAMES))
        return _set(BASE, path, ["branin", name]), path, name
    path = ("analysis", "primary_budget")
    return _set(BASE, path, name), path, name


@st.composite
def bad_budgets(draw: st.DrawFn) -> Case:
    limits = {
        "trials": st.integers(1, 99),
        "epochs": st.integers(1, 99),
        "seconds": st.floats(0.1, 1e4),
    }
    how = draw(st.sampled_from(["none", "two", "zero", "negative", "non-finite", "epochs"]))
    if how == "none":
        spec: dict[str, Any] = {}
    elif how == "two":
        keys = draw(st.lists(st.sampled_from(sorted(limits)), min_size=2, max_size=3, unique=True))
        spec = {k: draw(limits[k]) for k in keys}
    elif how == "non-finite":
        spec = {"seconds": draw(NON_FINITE)}
    elif how == "epochs":
        spec = {"epochs": draw(limits["epochs"])}  # the smoke config has tasks without epochs
    else:
        key = draw(st.sampled_from(sorted(limits)))
        spec = {key: 0 if how == "zero" else -draw(limits[key])}
    path = ("budgets", draw(st.sampled_from(["t6", "b2"])))
    return _set(BASE, path, spec), path, None


@st.composite
def negative_seeds(draw: st.DrawFn) -> Case:
    negative = draw(st.integers(-(10**9), -1))
    path, value = draw(
        st.sampled_from(
            [
                (("seeds",), negative),
                (("seeds",), [0, negative]),
                (("seeds",), [0, 2**32]),
                (("tasks", "cancer-svc", "split_seed"), negative),
                (("analysis", "random_state"), negative),
                (("threads",), negative),
                (("seeds",), 0),
            ]
        )
    )
    return _set(BASE, path, value), path, None


@st.composite
def duplicates(draw: st.DrawFn) -> Case:
    """Duplicate YAML keys at any depth, and duplicate seeds, choices and compared tasks."""
    how = draw(st.sampled_from(["yaml-key", "seeds", "choices", "comparison"]))
    if how == "seeds":
        seed = draw(st.integers(0, 99))
        return _set(BASE, ("seeds",), [seed, seed]), ("seeds",), None
    if how == "choices":
        choice = draw(st.one_of(NAMES, st.integers(0, 1)))
        twin = True if choice == 1 else False if choice == 0 else choice
        path = ("tasks", "branin", "space", "c")
        return _set(BASE, path, {"type": "categorical", "choices": [choice, twin]}), path, None
    if how == "comparison":
        path = ("comparisons", "digits")
        return _set(BASE, path, ["digits-mlp", "digits-mlp"]), path, None
    parents = [p for p in _mapping_paths(BASE) if _get(BASE, p)]
    parent = draw(st.sampled_from(parents))
    node = _get(BASE, parent)
    key = draw(st.sampled_from(sorted(node)))
    pairs = [*node.items(), (key, draw(SCALARS))]
    pairs = draw(st.permutations(pairs))
    config = _set(BASE, parent, Dup(pairs)) if parent else Dup(pairs)
    return config, (*parent, key), "duplicate"


@st.composite
def python_tags(draw: st.DrawFn) -> Case:
    path = draw(st.sampled_from(sorted(TYPED)))
    tag = draw(
        st.sampled_from(
            [
                "tag:yaml.org,2002:python/object/apply:os.system",
                "tag:yaml.org,2002:python/object/apply:subprocess.check_call",
                "tag:yaml.org,2002:python/object/new:os.system",
                "tag:yaml.org,2002:python/name:os.system",
                "tag:yaml.org,2002:python/object:pathlib.Path",
                "!custom",
            ]
        )
    )
    return _set(BASE, path, Tagged(tag, [f"touch {SENTINEL}"])), path, "tag"


def _mapping_paths(node: Any, path: Path_ = ()) -> list[Path_]:
    if not isinstance(node, dict):
        return []
    return [path, *(p for k, v in node.items() for p in _mapping_paths(v, (*path, k)))]


def _dotted(path: Path_) -> str:
    return ".".join(map(str, path)) or "<config>"


def check_rejected(case: Case, tmp: Path) -> str:
    """Write, load and validate ``case``; assert the one-line ConfigError names its path."""
    document, path, word = case
    file = tmp / "bad.yaml"
    file.write_text(yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True))
    with pytest.raises(ConfigError) as raised:
        validate_config(load_config(file))
    message = str(raised.value)
    assert message and "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message
    named = message.split(": ", 1)[0]
    broken = _dotted(path)
    if named in ("<config>", str(file)):  # the document itself
        assert len(path) <= 1, f"{message!r} names no key for {broken}"
    else:
        related = named == broken or broken.startswith(f"{named}.")
        assert related or named.startswith(f"{broken}."), f"{message!r} does not name {broken}"
    if word is not None:
        assert word in message, f"{message!r} does not mention {word!r}"
    return message


def test_the_base_config_is_valid(tmp_path):
    file = tmp_path / "base.yaml"
    file.write_text(yaml.safe_dump(BASE))
    validate_config(load_config(file))


@SETTINGS
@given(case=st.one_of(wrong_types(), missing_keys(), empty_sections(), unknown_keys()))
@example(case=(_set(BASE, ("seeds",), 2.0), ("seeds",), None))  # 2.0 is no count of seeds
@example(case=(_set(BASE, ("tasks", "branin", "space", 1), BASE["tasks"]["branin"]["space"]["x0"]),
               ("tasks", "branin", "space"), None))  # fmt: skip
def test_wrong_types_and_keys_are_rejected(case, tmp_path):
    check_rejected(case, tmp_path)


@SETTINGS
@given(case=st.one_of(bad_ranges(), bad_budgets(), negative_seeds()))
@example(case=(_set(BASE, ("analysis", "alpha"), float("nan")), ("analysis", "alpha"), None))
def test_bad_ranges_budgets_and_seeds_are_rejected(case, tmp_path):
    check_rejected(case, tmp_path)


@SETTINGS
@given(case=st.one_of(unknown_names(), duplicates()))
def test_unknown_names_and_duplicates_are_rejected(case, tmp_path):
    check_rejected(case, tmp_path)


@SETTINGS
@given(case=python_tags())
def test_python_tags_are_rejected_and_never_run(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_rejected(case, tmp_path)
    assert not (tmp_path / SENTINEL).exists()


@SETTINGS
@given(
    document=st.one_of(
        st.lists(SCALARS, max_size=3),
        SCALARS,
        st.just([BASE]),
        st.text(alphabet="abc: -[]{}'\"\t\n#&*!|>%@", max_size=40),
    )
)
def test_documents_that_are_not_a_mapping_are_rejected(document, tmp_path):
    file = tmp_path / "bad.yaml"
    file.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    try:
        loaded = load_config(file)
    except ConfigError as error:
        assert "\n" not in str(error)
        return
    assert isinstance(loaded, dict)  # some random text is a mapping: then validation rejects it
    with pytest.raises(ConfigError) as raised:
        validate_config(loaded)
    assert "\n" not in str(raised.value)


def test_cli_rejects_a_bad_config_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.dump(
            _set(BASE, ("budgets", "t6"), {"trials": 5, "seconds": 10.0}),
            Dumper=_Dumper,
            sort_keys=False,
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "tunebench.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tunebench validate: error: budgets.t6: "), lines[0]
    assert done.stdout == ""
