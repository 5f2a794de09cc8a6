"""Load and validate an experiment config; every error is one line naming the key path.

Validation is JSON Schema (``workflow/schemas/config.schema.yaml``, also what the Snakefile
validates against) plus the checks a schema cannot express: ``low < high``, log domains above
zero, and references between sections. Defaults from the schema are filled in.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
import math
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ConfigError",
    "check_matrix_size",
    "config_hash",
    "load_config",
    "load_schema",
    "validate_config",
]


class ConfigError(ValueError):
    """The config is invalid; the message is one line naming the key path and the value."""


YTE_KEY = "__use_yte__"
"""The top-level key that makes Snakemake evaluate a config file as a YTE template (code)."""
_MERGE = "tag:yaml.org,2002:merge"
_SAFE_TAGS = frozenset({*(tag for tag in yaml.SafeLoader.yaml_constructors if tag), _MERGE})


def _check_nodes(loader: yaml.SafeLoader, root: yaml.Node) -> None:
    """Reject what a plain data mapping cannot hold, naming the key path and line.

    Tags outside YAML's safe set (``!!python/object`` and the like: the config is data, never
    code), keys that are collections, duplicate keys and aliases that contain themselves.
    """
    stack: list[tuple[yaml.Node, tuple[Any, ...], frozenset[int]]] = [(root, (), frozenset())]
    done: set[int] = set()
    while stack:
        node, path, above = stack.pop()
        where, line = _path(path), node.start_mark.line + 1
        if node.tag not in _SAFE_TAGS:
            raise ConfigError(f"{where}: YAML tag {node.tag!r} is not allowed (line {line})")
        if id(node) in above:
            raise ConfigError(f"{where}: an alias that contains itself (line {line})")
        if id(node) in done:
            continue
        done.add(id(node))
        inside = above | {id(node)}
        if isinstance(node, yaml.MappingNode):
            seen: list[Any] = []
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SAFE_TAGS:
                    raise ConfigError(f"{where}: a key must be a plain value (line {key_line})")
                if key_node.tag == _MERGE:  # ``<<: *defaults``
                    stack.append((value_node, (*path, "<<"), inside))
                    continue
                key = loader.construct_object(key_node)
                if key in seen:
                    raise ConfigError(f"{_path((*path, key))}: duplicate key (line {key_line})")
                seen.append(key)
                stack.append((value_node, (*path, key), inside))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i), inside) for i, item in enumerate(node.value))


MAX_NODES = 200_000
"""The most values a config may expand to (aliases counted each time they are used)."""


def _expanded_size(root: yaml.Node) -> int:
    """How many values the document has once every alias is expanded, in linear time."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if children_done or not children:
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 0) for c in children)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file (not yet validated); only plain data is constructed."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read the config ({reason})") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_nodes(loader, node)
            if (size := _expanded_size(node)) > MAX_NODES:
                raise ConfigError(
                    f"{path}: the config expands to {size:,} values (aliases included), more "
                    f"than {MAX_NODES:,}: is an alias repeated by mistake?"
                )
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
    except ConfigError:
        raise
    except (RecursionError, ValueError) as exc:  # nested too deep; an int past 4300 digits
        raise ConfigError(f"{path}: cannot load ({_one_line(str(exc), 120)})") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping, got {type(data).__name__}")
    if YTE_KEY in data:
        raise ConfigError(
            f"{YTE_KEY}: YTE templates run Python code, and a tunebench config is data; "
            "remove the key (Snakemake evaluates such templates while it parses --configfile: "
            "check files from elsewhere with `tunebench validate` first)"
        )
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """The parser's own words, with the line and column where it was (1-based)."""

    def at(mark: Any) -> str:
        return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""

    problem = (getattr(exc, "problem", None) or str(exc)) + at(getattr(exc, "problem_mark", None))
    context = getattr(exc, "context", None)
    if context:
        problem = f"{context}{at(getattr(exc, 'context_mark', None))}, {problem}"
    return _one_line(problem, 240)


def _did_you_mean(word: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_schema() -> dict[str, Any]:
    """The config JSON Schema shipped with the package, read with libyaml where PyYAML has it
    (the pure-Python parser takes ~0.2 s, which every Snakemake start would pay)."""
    text = resources.files("tunebench.core").joinpath("config.schema.yaml").read_text()
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _path(parts: Any) -> str:
    """``a.b.0.c``; a key that is not a printable string is shown as its repr."""
    shown = (p if isinstance(p, str) and p.isprintable() and p else repr(p) for p in parts)
    return ".".join(shown) or "<config>"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


@functools.cache
def _validator() -> Any:
    """The schema's validator, built once per process (parsing the schema takes ~0.1 s)."""
    return _validator_with_defaults(load_schema())


def _validator_with_defaults(schema: Mapping[str, Any]) -> Any:
    """A Draft 2020-12 validator that fills ``default`` values, like Snakemake's ``validate``."""
    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, properties, instance, schema)

    # JSON Schema counts 2.0 as an integer; here an integer is a Python int (never a bool).
    types = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    )
    cls = validators.extend(Draft202012Validator, {"properties": set_defaults}, type_checker=types)
    return cls(schema)


def _check_finite(value: Any, path: tuple[Any, ...] = ()) -> None:
    """Reject NaN, infinities and integers too large for a float (JSON Schema accepts them)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, (*path, i))
    elif isinstance(value, int | float) and not abs(value) <= sys.float_info.max:  # NaN too
        shown = _one_line(repr(value), 40)
        raise ConfigError(f"{_path(path)}: must be a finite number, got {shown}")


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return a validated copy of ``config`` with defaults filled; raise :class:`ConfigError`.

    A config with ``suites`` is expanded first (``tunebench.tasks.suites.expand_suites``).
    """
    from jsonschema.exceptions import best_match, by_relevance

    if "suites" in config:
        raise ConfigError(
            "suites: expand the suites into tasks before validating "
            "(tunebench.tasks.suites.expand_suites)"
        )

    checked = copy.deepcopy(dict(config))
    errors = _validator().iter_errors(checked)
    relevance = by_relevance(strong=frozenset({"required"}))

    def key(error: Any) -> tuple[Any, ...]:
        # A missing key first, and the entry's own keywords before its if/then branches:
        # without ``framework`` (or ``kind``) every branch applies and all their keys look wrong.
        rank = relevance(error)
        return (*rank[:4], -len(error.schema_path), *rank[4:])

    error = best_match(errors, key=key)
    if error is not None:
        message = _one_line(error.message)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            unknown = [k for k in error.instance if k not in known]
            if unknown:
                message += _did_you_mean(str(unknown[0]), known)
        raise ConfigError(f"{_path(error.absolute_path)}: {message}")
    _check_finite(checked)
    analysis = config.get("analysis")
    _check_semantics(
        checked, explicit_baseline=isinstance(analysis, Mapping) and "baseline" in analysis
    )
    return checked


def check_matrix_size(axes: tuple[int, int, int, int], max_studies: int) -> None:
    """Refuse a matrix of more than ``max_studies`` studies.

    Args:
        axes: The number of tasks, optimizers, budgets and seeds.
        max_studies: The config's bound.
    """
    if math.prod(axes) > max_studies:
        raise ConfigError(
            f"max_studies: the matrix has {math.prod(axes):,} studies "
            f"({' × '.join(map(str, axes))} tasks × optimizers × budgets × seeds), more than "
            f"max_studies={max_studies:,}; raise max_studies if you mean it"
        )


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``config`` as canonical JSON: keys sorted, no spaces, UTF-8.

    Give it the validated config (:func:`validate_config`), so that a default written out and
    the same default left implicit hash alike.
    """
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _check_semantics(config: dict[str, Any], *, explicit_baseline: bool) -> None:
    from tunebench.core.space import SearchSpace, SpaceError

    for name, spec in config["optimizers"].items():
        unknown = [t for t in spec.get("tasks", ()) if t not in config["tasks"]]
        if unknown:
            raise ConfigError(
                f"optimizers.{name}.tasks: unknown task(s) {unknown} "
                f"(choose from: {', '.join(config['tasks'])})"
            )
    seeds = config["seeds"]
    n_seeds = seeds if isinstance(seeds, int) else len(seeds)
    axes = (len(config["tasks"]), len(config["optimizers"]), len(config["budgets"]), n_seeds)
    check_matrix_size(axes, config["max_studies"])

    for name, task in config["tasks"].items():
        if "space" in task:
            try:
                SearchSpace.from_config(task["space"])
            except SpaceError as exc:
                raise ConfigError(f"tasks.{name}.{exc}") from None
    epoch_budgets = [name for name, spec in config["budgets"].items() if "epochs" in spec]
    no_epochs = [
        name
        for name, task in config["tasks"].items()
        if task["kind"] != "torch" and not task.get("max_epochs")
    ]
    if epoch_budgets and no_epochs:
        shown = f"{no_epochs[:5]}" + (
            f" and {len(no_epochs) - 5} more" if len(no_epochs) > 5 else ""
        )
        raise ConfigError(
            f"budgets.{epoch_budgets[0]}: an epochs budget needs tasks that train in epochs; "
            f"{shown} do not (use trials or seconds, or a separate config)"
        )
    baseline = config["analysis"]["baseline"]
    if explicit_baseline and baseline not in config["optimizers"]:
        raise ConfigError(
            f"analysis.baseline: {baseline!r} is not an optimizer of the config"
            f"{_did_you_mean(baseline, config['optimizers'])} "
            f"(choose from: {', '.join(config['optimizers'])})"
        )
    mlflow = config["mlflow"]
    if mlflow["logging"] == "live" and mlflow["trials"] == "steps":
        raise ConfigError(
            "mlflow.trials: steps needs mlflow.logging: after (live logging makes a nested run "
            "per trial)"
        )
    for group, tasks in config["comparisons"].items():
        unknown = [t for t in tasks if t not in config["tasks"]]
        if unknown:
            raise ConfigError(f"comparisons.{group}: unknown task(s) {unknown}")
    primary = config["analysis"]["primary_budget"]
    if isinstance(primary, Mapping):
        primary = primary.get("budget")
    if primary is not None and primary not in config["budgets"]:
        raise ConfigError(
            f"analysis.primary_budget: {primary!r} is not a budget "
            f"(choose from: {', '.join(config['budgets'])})"
        )
