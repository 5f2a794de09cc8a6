"""Load and validate an experiment config; every error is one line naming the key path.

Validation is JSON Schema (``workflow/schemas/config.schema.yaml``, also what the Snakefile
validates against) plus the checks a schema cannot express: ``low < high``, log domains above
zero, and references between sections. Defaults from the schema are filled in.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ConfigError", "load_config", "load_schema", "validate_config"]


class ConfigError(ValueError):
    """The config is invalid; the message is one line naming the key path and the value."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader (nothing is evaluated as code) that rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"{key}: duplicate key (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file (not yet validated)."""
    try:
        data = yaml.load(Path(path).read_text(), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping, got {type(data).__name__}")
    return data


def load_schema() -> dict[str, Any]:
    """The config JSON Schema shipped with the package."""
    text = resources.files("tunebench").joinpath("config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _path(parts: Any) -> str:
    return ".".join(str(p) for p in parts) or "<config>"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


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

    cls = validators.extend(Draft202012Validator, {"properties": set_defaults})
    return cls(schema)


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return a validated copy of ``config`` with defaults filled; raise :class:`ConfigError`."""
    from jsonschema.exceptions import best_match

    checked = copy.deepcopy(dict(config))
    error = best_match(_validator_with_defaults(load_schema()).iter_errors(checked))
    if error is not None:
        raise ConfigError(f"{_path(error.absolute_path)}: {_one_line(error.message)}")
    _check_semantics(checked)
    return checked


def _check_semantics(config: dict[str, Any]) -> None:
    from tunebench.space import SearchSpace, SpaceError

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
        raise ConfigError(
            f"budgets.{epoch_budgets[0]}: an epochs budget needs tasks that train in epochs; "
            f"{no_epochs} do not (use trials or seconds, or a separate config)"
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
