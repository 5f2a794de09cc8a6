"""Benchmark suites: a ``suites`` config entry expands into ordinary task entries.

```yaml
suites:
  bbob-2-5: {suite: bbob, functions: "1-24", dimensions: [2, 5], instances: [0]}
```

:data:`SUITES` maps a suite name to the module that builds its tasks, imported only when a
config uses that suite. Every suite module exposes
``suite_tasks(prefix: str, selection: Mapping[str, Any]) -> dict[str, dict[str, Any]]``:
``prefix`` is the entry's key path for errors (``suites.bbob-2-5``), ``selection`` the entry
without its ``suite`` key, and the result maps task names to task specs (what a user writes
under ``tasks``). Errors are one line naming the key path (:class:`ConfigError`, or a
``ValueError``, which becomes one). :func:`int_selection` and :func:`check_suite_size` help
parse and bound a selection.

Everything that reads a config expands it first: ``validate_config(expand_suites(raw))``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from tunebench.core.config import ConfigError, check_matrix_size, load_schema

__all__ = [
    "MAX_SUITE_TASKS",
    "SUITES",
    "check_suite_size",
    "expand_suites",
    "int_selection",
    "merge_suite_tasks",
    "suite_tasks_of",
]

SUITES: dict[str, str] = {
    "bbob": "tunebench.tasks.bbob",
    "bayesmark": "tunebench.tasks.bayesmark",
    "tabular": "tunebench.tasks.tabular_benchmark",
}
"""Suite name -> the module whose ``suite_tasks`` expands an entry of that suite."""

MAX_SUITE_TASKS = 100_000
"""The most tasks one suite entry may make (a suite module checks before it builds them)."""


def check_suite_size(prefix: str, n_tasks: int) -> None:
    """Refuse an entry that would make more than :data:`MAX_SUITE_TASKS` tasks."""
    if n_tasks > MAX_SUITE_TASKS:
        raise ConfigError(
            f"{prefix}: selects {n_tasks:,} tasks, more than {MAX_SUITE_TASKS:,} in one entry"
        )


def int_selection(
    prefix: str, key: str, value: Any, low: int, high: int, *, all_: bool = True
) -> list[int]:
    """Integers selected by ``value``: one integer, a list of them, a range ``"a-b"``
    (inclusive) or ``"all"`` (``low..high``, where ``all_``); each within ``low..high``.

    Raises:
        ConfigError: A malformed value, one out of range or a repeat, naming ``prefix.key``.
    """
    where = f"{prefix}.{key}"
    forms = f"an integer, a list of integers, a range 'a-b'{' or all' if all_ else ''}"
    if isinstance(value, str):
        if value == "all" and all_:
            first, last = low, high
        else:
            first_text, sep, last_text = value.partition("-")
            if not (sep and first_text.strip().isdigit() and last_text.strip().isdigit()):
                raise ConfigError(f"{where}: must be {forms}, got {value!r}")
            first, last = int(first_text), int(last_text)
            if first > last:
                raise ConfigError(f"{where}: empty range {value!r}")
        values: list[Any] = [first, last]
    elif isinstance(value, list) and value:
        values = value
    elif isinstance(value, int) and not isinstance(value, bool):
        values = [value]
    else:
        raise ConfigError(f"{where}: must be {forms}, got {value!r}")
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ConfigError(f"{where}: must be {forms}, got {item!r} in {value!r}")
        if not low <= item <= high:
            raise ConfigError(f"{where}: {item} is outside {low}..{high}")
    if isinstance(value, str):
        if last - first >= MAX_SUITE_TASKS:
            raise ConfigError(
                f"{where}: the range {value!r} has {last - first + 1:,} values, more than "
                f"{MAX_SUITE_TASKS:,}"
            )
        return list(range(first, last + 1))
    if len(set(values)) < len(values):
        raise ConfigError(f"{where}: repeated values in {value!r}")
    return list(values)


def _suite_module(prefix: str, suite: Any) -> Any:
    if suite not in SUITES:
        raise ConfigError(
            f"{prefix}.suite: unknown suite {suite!r} (choose from: {', '.join(SUITES)})"
        )
    try:
        return importlib.import_module(SUITES[suite])
    except ModuleNotFoundError as exc:
        module = SUITES[suite]
        if module.startswith(str(exc.name)):
            missing = "is not in this installation"
        else:
            missing = f"needs {exc.name}, which is not installed"
        raise ConfigError(
            f"{prefix}.suite: suite {suite!r} is not available ({module} {missing})"
        ) from None


def _count(value: Any) -> int:
    """Entries of a matrix axis as written (1 if malformed: the schema reports that later)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 1)
    return len(value) if isinstance(value, Mapping | list) and value else 1


def suite_tasks_of(config: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """The tasks each ``suites`` entry makes: entry name -> {task name: task spec}.

    The matrix those tasks would make (with the config's optimizers, budgets and seeds) is
    checked against ``max_studies`` after each entry, before the next one is built.

    Raises:
        ConfigError: A malformed entry, an unknown or missing suite, a bad selection or too
            large a matrix; one line naming the key path.
    """
    suites = config.get("suites")
    if suites is None:
        return {}
    if not isinstance(suites, Mapping) or not suites:
        raise ConfigError(f"suites: must map entry names to suite selections, got {suites!r}")
    schema = load_schema()["properties"]
    max_studies = config.get("max_studies", schema["max_studies"]["default"])
    seeds = config.get("seeds", schema["seeds"]["default"])
    other_axes = [_count(config.get(k)) for k in ("optimizers", "budgets")] + [_count(seeds)]
    n_tasks = _count(config.get("tasks")) if config.get("tasks") else 0
    by_entry: dict[str, dict[str, dict[str, Any]]] = {}
    for entry, selection in suites.items():
        prefix = f"suites.{entry}"
        if not isinstance(selection, Mapping) or "suite" not in selection:
            raise ConfigError(
                f"{prefix}: must be a mapping with a 'suite' key "
                f"(one of: {', '.join(SUITES)}), got {selection!r}"
            )
        module = _suite_module(prefix, selection["suite"])
        try:
            tasks = module.suite_tasks(
                prefix, {k: v for k, v in selection.items() if k != "suite"}
            )
        except ConfigError:
            raise
        except ValueError as exc:  # a suite module's own one-line error
            raise ConfigError(str(exc)) from None
        n_tasks += len(tasks)
        if isinstance(max_studies, int):
            check_matrix_size((n_tasks, *other_axes), max_studies)
        by_entry[str(entry)] = tasks
    return by_entry


def merge_suite_tasks(
    config: Mapping[str, Any], by_entry: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """``config`` without ``suites``, its ``tasks`` extended by ``by_entry``'s tasks.

    Raises:
        ConfigError: A task name made twice (by hand and by a suite, or by two suite entries),
            naming both places.
    """
    if "suites" not in config:
        return dict(config)
    written = config.get("tasks") or {}
    if not isinstance(written, Mapping):
        raise ConfigError(f"tasks: must map task names to task entries, got {written!r}")
    tasks = dict(written)
    origin = {name: f"tasks.{name}" for name in tasks}
    for entry, generated in by_entry.items():
        for name, spec in generated.items():
            if name in origin:
                raise ConfigError(
                    f"suites.{entry}: makes task {name!r}, which {origin[name]} already names "
                    "(rename one, or drop it from the selection)"
                )
            origin[name] = f"suites.{entry}"
            tasks[name] = spec
    merged = {k: v for k, v in config.items() if k != "suites"}
    merged["tasks"] = tasks
    return merged


def expand_suites(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with every ``suites`` entry expanded into ``tasks`` (and ``suites`` gone).

    A config without ``suites`` comes back as it is (a shallow copy). Validate the result with
    :func:`~tunebench.core.config.validate_config`.
    """
    return merge_suite_tasks(config, suite_tasks_of(config))
