"""Registry of framework adapters; each framework is imported only when it is used."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunebench.frameworks.base import Optimizer, OptimizerConfigError

__all__ = [
    "FRAMEWORKS",
    "FrameworkInfo",
    "Optimizer",
    "OptimizerConfigError",
    "build_optimizer",
    "framework_status",
]


@dataclass(frozen=True)
class FrameworkInfo:
    """Where an adapter lives and what it needs installed."""

    adapter: str  # "module:Class"
    distribution: str  # the PyPI distribution whose version is reported
    modules: tuple[str, ...]  # importable modules the adapter needs
    install: str  # the pip command that installs them
    probe: str = ""  # "module:function" returning (installed, detail), where not importable here


FRAMEWORKS: dict[str, FrameworkInfo] = {
    "optuna": FrameworkInfo(
        "tunebench.frameworks.optuna_adapter:OptunaOptimizer",
        "optuna",
        ("optuna", "cmaes"),
        "pip install 'tunebench[optuna]'",
    ),
    "hyperopt": FrameworkInfo(
        "tunebench.frameworks.hyperopt_adapter:HyperoptOptimizer",
        "hyperopt",
        ("hyperopt",),
        "pip install 'tunebench[hyperopt]'",
    ),
    "ax": FrameworkInfo(
        "tunebench.frameworks.ax_adapter:AxOptimizer",
        "ax-platform",
        ("ax", "botorch"),
        "pip install 'tunebench[ax]'",
    ),
    "sklearn": FrameworkInfo(
        "tunebench.frameworks.sklearn_adapter:SklearnSearchOptimizer",
        "scikit-learn",
        ("sklearn", "scipy"),
        "pip install tunebench  # scikit-learn is a core dependency",
    ),
    "ray": FrameworkInfo(
        "tunebench.frameworks.ray_adapter:RayOptimizer",
        "ray",
        ("ray",),
        "pip install 'tunebench[ray]'",
    ),
    "nevergrad": FrameworkInfo(
        "tunebench.frameworks.nevergrad_adapter:NevergradOptimizer",
        "nevergrad",
        ("nevergrad",),
        "pip install 'tunebench[nevergrad]'",
    ),
    "synetune": FrameworkInfo(
        "tunebench.frameworks.synetune_adapter:SyneTuneOptimizer",
        "syne-tune",
        ("syne_tune",),
        "pip install 'tunebench[synetune]'",
    ),
    "vizier": FrameworkInfo(
        "tunebench.frameworks.vizier_adapter:VizierOptimizer",
        "google-vizier",
        ("vizier", "jax"),
        "pip install 'tunebench[vizier]'",
    ),
    "smac": FrameworkInfo(
        "tunebench.frameworks.smac_adapter:SmacOptimizer",
        "smac",
        ("smac", "ConfigSpace"),
        "pip install 'tunebench[smac]'",
    ),
    "autopytorch": FrameworkInfo(
        "tunebench.frameworks.autopytorch_adapter:AutoPyTorchOptimizer",
        "autoPyTorch",
        (),
        "make install-autopytorch",
        probe="tunebench.frameworks.autopytorch_adapter:status",
    ),
}


def framework_status(name: str) -> tuple[bool, str]:
    """``(installed, version or install hint)`` for framework ``name``."""
    info = FRAMEWORKS[name]
    if info.probe:
        module_name, function = info.probe.split(":")
        return getattr(importlib.import_module(module_name), function)()
    missing = [m for m in info.modules if importlib.util.find_spec(m) is None]
    if missing:
        return False, f"not installed ({', '.join(missing)} missing): {info.install}"
    return True, importlib.metadata.version(info.distribution)


def build_optimizer(name: str, spec: Mapping[str, Any]) -> Optimizer:
    """Build the adapter for optimizer entry ``name`` (``spec["framework"]`` selects it)."""
    framework = spec.get("framework")
    if framework not in FRAMEWORKS:
        raise OptimizerConfigError(
            f"optimizers.{name}.framework: unknown framework {framework!r} "
            f"(choose from: {', '.join(sorted(FRAMEWORKS))})"
        )
    installed, detail = framework_status(framework)
    if not installed:
        raise OptimizerConfigError(f"optimizers.{name}.framework: {framework} is {detail}")
    module_name, class_name = FRAMEWORKS[framework].adapter.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    options = {k: v for k, v in spec.items() if k != "framework"}
    try:
        return cls(name=name, **options)
    except TypeError as exc:
        raise OptimizerConfigError(f"optimizers.{name}: {exc}") from None
