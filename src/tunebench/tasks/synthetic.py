"""Closed-form test functions (minimised) with known optima, so that regret is exact."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunebench.core.space import FloatParam, SearchSpace
from tunebench.tasks import SYNTHETIC_FUNCTIONS, ReporterLike, Task, coerce_params

__all__ = ["FUNCTIONS", "SyntheticFunction", "SyntheticTask", "branin", "hartmann6", "rosenbrock"]


def branin(x: np.ndarray) -> float:
    """Branin-Hoo on ``[-5, 10] x [0, 15]``; minimum 0.397887 at three points."""
    x1, x2 = x
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(x: np.ndarray) -> float:
    """Hartmann 6-d on ``[0, 1]^6``; minimum -3.32237."""
    return float(-_H6_ALPHA @ np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1)))


def rosenbrock(x: np.ndarray) -> float:
    """Rosenbrock in any dimension >= 2; minimum 0 at ``(1, ..., 1)``."""
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


@dataclass(frozen=True)
class SyntheticFunction:
    """A test function with its default domain and a known minimiser.

    Attributes:
        fn: Maps a point (1-d array) to its value.
        low: Lower bound of each coordinate (the default space).
        high: Upper bound of each coordinate.
        optimum: The global minimum value.
        minimiser: One point attaining it, for ``dim`` coordinates.
        dim: Fixed dimension, or ``None`` if any ``dim >= 2`` works.
    """

    fn: Callable[[np.ndarray], float]
    low: Callable[[int], list[float]]
    high: Callable[[int], list[float]]
    optimum: float
    minimiser: Callable[[int], list[float]]
    dim: int | None


FUNCTIONS: dict[str, SyntheticFunction] = {
    "branin": SyntheticFunction(
        fn=branin,
        low=lambda d: [-5.0, 0.0],
        high=lambda d: [10.0, 15.0],
        optimum=0.39788735772973816,
        minimiser=lambda d: [math.pi, 2.275],
        dim=2,
    ),
    "hartmann6": SyntheticFunction(
        fn=hartmann6,
        low=lambda d: [0.0] * d,
        high=lambda d: [1.0] * d,
        optimum=-3.3223680114155147,
        minimiser=lambda d: [
            0.20168952,
            0.15001069,
            0.47687398,
            0.27533243,
            0.31165162,
            0.65730054,
        ],
        dim=6,
    ),
    "rosenbrock": SyntheticFunction(
        fn=rosenbrock,
        low=lambda d: [-5.0] * d,
        high=lambda d: [10.0] * d,
        optimum=0.0,
        minimiser=lambda d: [1.0] * d,
        dim=None,
    ),
}


class SyntheticTask(Task):
    """Minimise a closed-form function over float params ``x0 .. x{dim-1}``.

    ``evaluate`` returns the value plus optional Gaussian noise (seeded by the trial seed);
    ``test_score`` returns the noiseless value, so ``test_score - known_optimum`` is the exact
    simple regret.
    """

    direction = "minimize"
    metric = "value"
    max_fidelity = None

    def __init__(
        self,
        *,
        name: str,
        function: str,
        dim: int | None = None,
        noise_std: float = 0.0,
        space: SearchSpace | None = None,
    ) -> None:
        """Build the task; errors name ``tasks.<name>.<key>``.

        Args:
            name: The task's config name.
            function: One of :data:`~tunebench.tasks.SYNTHETIC_FUNCTIONS`.
            dim: Dimension (Rosenbrock only; default 2). Must match for fixed-dim functions.
            noise_std: Standard deviation of noise added to validation values (>= 0).
            space: Overrides the default domain; must declare exactly ``x0 .. x{dim-1}``.
        """
        prefix = f"tasks.{name}"
        if function not in FUNCTIONS:
            options = ", ".join(SYNTHETIC_FUNCTIONS)
            raise ValueError(
                f"{prefix}.function: unknown function {function!r} (choose from: {options})"
            )
        spec = FUNCTIONS[function]
        if dim is None:
            dim = spec.dim or 2
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
            raise ValueError(f"{prefix}.dim: must be an integer >= 2, got {dim!r}")
        if spec.dim is not None and dim != spec.dim:
            raise ValueError(f"{prefix}.dim: {function} is {spec.dim}-dimensional, got {dim!r}")
        if isinstance(noise_std, bool) or not isinstance(noise_std, int | float) or noise_std < 0:
            raise ValueError(f"{prefix}.noise_std: must be a number >= 0, got {noise_std!r}")
        names = [f"x{i}" for i in range(dim)]
        if space is None:
            space = SearchSpace(
                tuple(
                    FloatParam(n, lo, hi)
                    for n, lo, hi in zip(names, spec.low(dim), spec.high(dim), strict=True)
                )
            )
        elif space.names != names or not all(isinstance(p, FloatParam) for p in space):
            raise ValueError(
                f"{prefix}.space: {function} needs float params {names}, got {space.names}"
            )
        self.name = name
        self.function = function
        self.dim = dim
        self.noise_std = float(noise_std)
        self.space = space
        self.known_optimum = spec.optimum
        self._fn = spec.fn

    @property
    def minimiser(self) -> dict[str, float]:
        """A known global minimiser, as params."""
        point = FUNCTIONS[self.function].minimiser(self.dim)
        return dict(zip(self.space.names, point, strict=True))

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        """The function value at ``params``, plus noise if ``noise_std > 0``."""
        value = self.test_score(params, seed)
        if self.noise_std > 0:
            value += self.noise_std * float(np.random.default_rng(seed).standard_normal())
        return value

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        """The noiseless function value at ``params`` (``seed`` is unused)."""
        values = coerce_params(self.space, params)
        return self._fn(np.array([values[n] for n in self.space.names], dtype=np.float64))
