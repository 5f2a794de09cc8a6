"""The 24 noiseless BBOB functions of COCO (Hansen et al. 2009), through IOHexperimenter.

A task is one function ``f`` (1-24) in dimension ``d`` at instance ``i``; the suite names it
``bbob-f{f}-d{d}-i{i}``, as CARP-S names ``bbob/{d}/{f}/{i}`` and builds the same problem
(``ioh.get_problem(f, i, d, problem_class=ioh.ProblemClass.BBOB)``). An instance is COCO's
random transformation (a shifted optimum ``x*`` and ``f*``, rotations) seeded with
``f + 10000 i``: instance ``i >= 1`` is COCO's instance ``i`` (the same values as the BBOB-2009
reference code); instance 0 is as valid a transformation, but COCO's campaigns do not use it.

IOHexperimenter (``ioh``) is imported only when a task is built (``pip install
tunebench[bbob]``). Reference: N. Hansen, S. Finck, R. Ros, A. Auger, "Real-Parameter Black-Box
Optimization Benchmarking 2009: Noiseless Functions Definitions", INRIA RR-6829;
https://iohprofiler.github.io/IOHexperimenter.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from tunebench.core.config import ConfigError
from tunebench.core.space import FloatParam, SearchSpace
from tunebench.tasks.base import ReporterLike, Task
from tunebench.tasks.suites import check_suite_size, int_selection

__all__ = ["FUNCTIONS", "MAX_DIMENSION", "MAX_INSTANCE", "BBOBTask", "suite_tasks", "task_name"]

FUNCTIONS = range(1, 25)
"""The BBOB function ids: 1-5 separable, 6-9 moderate, 10-14 ill-conditioned, 15-19 multimodal
with global structure, 20-24 multimodal with weak global structure."""
MIN_DIMENSION = 2
MAX_DIMENSION = 100
"""The largest dimension allowed (COCO's bbob suite stops at 40; ioh builds dense d × d
rotations, which take seconds above a few hundred)."""
MAX_INSTANCE = 2**31 - 1
"""The largest instance id (ioh takes a C ``int``)."""
SELECTION_KEYS = ("functions", "dimensions", "instances")


def task_name(function: int, dimension: int, instance: int) -> str:
    """``bbob-f{function}-d{dimension}-i{instance}``, e.g. ``bbob-f12-d2-i0``."""
    return f"bbob-f{function}-d{dimension}-i{instance}"


def _check_int(prefix: str, key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{prefix}.{key}: must be an integer in {low}..{high}, got {value!r}")
    return value


class BBOBTask(Task):
    """Minimise BBOB function ``function`` over float params ``x0 .. x{d-1}`` in ``[-5, 5]``.

    The bounds come from the ioh problem (``f.bounds``) and ``known_optimum`` is its
    ``f.optimum.y``, so the regret ``test_score - known_optimum`` is exact. There is no noise
    and no fidelity: ``evaluate`` and ``test_score`` return the same noiseless value (a
    microsecond each). The ioh problem is built once per task object; its evaluation counter
    and best-so-far do not change the values it returns, no logger is attached, and a pickled
    task (Ray sends it to its workers) rebuilds it.
    """

    direction = "minimize"
    metric = "value"
    max_fidelity = None

    def __init__(self, *, name: str, function: int, dimension: int, instance: int = 0) -> None:
        """Build the task; errors name ``tasks.<name>.<key>``.

        Args:
            name: The task's config name.
            function: The BBOB function id, 1-24.
            dimension: Number of variables, 2 to :data:`MAX_DIMENSION`.
            instance: The instance id, 0 to :data:`MAX_INSTANCE` (see the module docstring).
        """
        prefix = f"tasks.{name}"
        self.name = name
        self.function = _check_int(prefix, "function", function, FUNCTIONS[0], FUNCTIONS[-1])
        self.dimension = _check_int(prefix, "dimension", dimension, MIN_DIMENSION, MAX_DIMENSION)
        self.instance = _check_int(prefix, "instance", instance, 0, MAX_INSTANCE)
        problem = self._problem = self._build()
        bounds = zip(problem.bounds.lb, problem.bounds.ub, strict=True)
        self.space = SearchSpace(
            tuple(FloatParam(f"x{i}", float(lo), float(hi)) for i, (lo, hi) in enumerate(bounds))
        )
        self.known_optimum = float(problem.optimum.y)

    def _build(self) -> Any:
        try:
            import ioh
        except ImportError as exc:
            raise ImportError(
                f"tasks.{self.name}: BBOB tasks need IOHexperimenter: pip install "
                f"'tunebench[bbob]' ({exc})"
            ) from exc
        return ioh.get_problem(
            self.function, self.instance, self.dimension, problem_class=ioh.ProblemClass.BBOB
        )

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "_problem"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._problem = self._build()

    @property
    def minimiser(self) -> dict[str, float]:
        """The global minimiser ``x*`` of this instance, as params."""
        return dict(zip(self.space.names, map(float, self._problem.optimum.x), strict=True))

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        """The function value at ``params`` (``seed`` is unused: BBOB here is noiseless)."""
        return self.test_score(params, seed)

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        """The noiseless function value at ``params``, the same as :meth:`evaluate`."""
        return float(self._problem([float(params[n]) for n in self.space.names]))


def suite_tasks(prefix: str, selection: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The BBOB tasks of a ``suites`` entry: every function × dimension × instance selected.

    Args:
        prefix: The entry's key path for errors, e.g. ``suites.bbob-2-8``.
        selection: ``functions`` (default ``all``: 1-24), ``dimensions`` (required) and
            ``instances`` (default ``[0]``), each a list of integers, a range ``"1-24"`` or
            ``all`` (functions only).

    Returns:
        Task name (:func:`task_name`) -> task spec, functions varying fastest.
    """
    unknown = sorted(set(selection) - set(SELECTION_KEYS), key=str)
    if unknown:
        raise ConfigError(
            f"{prefix}.{unknown[0]}: unknown key for suite bbob "
            f"(allowed: {', '.join(SELECTION_KEYS)})"
        )
    if "dimensions" not in selection:
        raise ConfigError(f"{prefix}.dimensions: required for suite bbob (e.g. [2, 5])")
    functions = int_selection(
        prefix, "functions", selection.get("functions", "all"), FUNCTIONS[0], FUNCTIONS[-1]
    )
    dimensions = int_selection(
        prefix, "dimensions", selection["dimensions"], MIN_DIMENSION, MAX_DIMENSION, all_=False
    )
    instances = selection.get("instances", [0])
    instances = int_selection(prefix, "instances", instances, 0, MAX_INSTANCE, all_=False)
    check_suite_size(prefix, len(functions) * len(dimensions) * len(instances))
    return {
        task_name(f, d, i): {"kind": "bbob", "function": f, "dimension": d, "instance": i}
        for i, d, f in itertools.product(instances, dimensions, functions)
    }
