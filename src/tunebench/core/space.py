"""Framework-neutral search spaces.

A space is declared once, in the config, as a mapping of parameter name to domain::

    lr:     {type: float, low: 1.0e-4, high: 0.1, log: true}
    layers: {type: int, low: 1, high: 4}
    act:    {type: categorical, choices: [relu, tanh]}

Each framework adapter translates a :class:`SearchSpace` into its native space; this module
owns only the neutral description and the check that a sampled value lies in its domain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CategoricalParam",
    "FloatParam",
    "IntParam",
    "Param",
    "SearchSpace",
    "SpaceError",
]


class SpaceError(ValueError):
    """A search space or a value sampled from it is invalid."""


@dataclass(frozen=True)
class FloatParam:
    """A real parameter on ``[low, high]``, sampled uniformly or log-uniformly."""

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        _check_bounds(self.name, self.low, self.high, self.log)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a finite float inside the domain."""
        return isinstance(value, float) and math.isfinite(value) and self.low <= value <= self.high


@dataclass(frozen=True)
class IntParam:
    """An integer parameter on ``[low, high]`` (both included), uniform or log-uniform."""

    name: str
    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        _check_bounds(self.name, self.low, self.high, self.log)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a Python ``int`` (not bool) inside the domain."""
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )


@dataclass(frozen=True)
class CategoricalParam:
    """A parameter taking one of ``choices`` (str, int, float or bool values)."""

    name: str
    choices: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not self.choices:
            raise SpaceError(f"space.{self.name}.choices: must not be empty")
        pairs = [(a, b) for i, a in enumerate(self.choices) for b in self.choices[i + 1 :]]
        if any(a == b or repr(a) == repr(b) for a, b in pairs):  # 1 == True == 1.0
            raise SpaceError(f"space.{self.name}.choices: duplicates in {list(self.choices)!r}")

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of the choices, with the same type."""
        return any(type(value) is type(c) and value == c for c in self.choices)

    @property
    def labels(self) -> list[str]:
        """Distinct string labels of the choices, for frameworks whose categories are strings:
        the choices themselves if all are strings, else their reprs (distinct by construction)."""
        if all(isinstance(c, str) for c in self.choices):
            return list(self.choices)
        return [repr(c) for c in self.choices]

    def choice_of(self, label: Any) -> Any:
        """The choice that ``label`` (one of :attr:`labels`) stands for."""
        return self.choices[self.labels.index(str(label))]

    def label_of(self, value: Any) -> str:
        """The label of choice ``value``."""
        i = next(i for i, c in enumerate(self.choices) if type(c) is type(value) and c == value)
        return self.labels[i]


Param = FloatParam | IntParam | CategoricalParam


def _check_bounds(name: str, low: float, high: float, log: bool) -> None:
    if not low < high:
        raise SpaceError(f"space.{name}: low={low!r} must be < high={high!r}")
    if log and low <= 0:
        raise SpaceError(f"space.{name}.low: log scale needs low > 0, got {low!r}")


@dataclass(frozen=True)
class SearchSpace:
    """An ordered, non-empty collection of independent parameters."""

    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        if not self.params:
            raise SpaceError("space: must declare at least one parameter")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise SpaceError(f"space: duplicate parameter names in {names}")

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    @property
    def names(self) -> list[str]:
        """Parameter names in declaration order."""
        return [p.name for p in self.params]

    @classmethod
    def from_config(cls, spec: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
        """Build a space from its config mapping (``name -> {type, ...}``)."""
        if not spec:
            raise SpaceError("space: must declare at least one parameter")
        params: list[Param] = []
        for name, domain in spec.items():
            kind = domain.get("type")
            if kind == "float":
                params.append(
                    FloatParam(
                        name,
                        float(domain["low"]),
                        float(domain["high"]),
                        bool(domain.get("log", False)),
                    )
                )
            elif kind == "int":
                params.append(
                    IntParam(
                        name,
                        int(domain["low"]),
                        int(domain["high"]),
                        bool(domain.get("log", False)),
                    )
                )
            elif kind == "categorical":
                params.append(CategoricalParam(name, tuple(domain["choices"])))
            else:
                raise SpaceError(f"space.{name}.type: unknown type {kind!r}")
        return cls(tuple(params))

    def to_config(self) -> dict[str, dict[str, Any]]:
        """The inverse of :meth:`from_config`."""
        out: dict[str, dict[str, Any]] = {}
        for p in self.params:
            if isinstance(p, CategoricalParam):
                out[p.name] = {"type": "categorical", "choices": list(p.choices)}
            else:
                kind = "float" if isinstance(p, FloatParam) else "int"
                out[p.name] = {"type": kind, "low": p.low, "high": p.high, "log": p.log}
        return out

    def from_native(
        self, values: Mapping[str, Any], choice: Callable[[CategoricalParam, Any], Any]
    ) -> dict[str, Any]:
        """A framework's proposal as the space declares it: floats as ``float`` and ints as
        ``int``, both clipped to their bounds; categoricals mapped by ``choice(param, value)``."""
        out: dict[str, Any] = {}
        for p in self.params:
            value = values[p.name]
            if isinstance(p, FloatParam):
                out[p.name] = min(max(float(value), p.low), p.high)
            elif isinstance(p, IntParam):
                out[p.name] = min(max(round(value), p.low), p.high)
            else:
                out[p.name] = choice(p, value)
        return out

    def labelled(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with each categorical replaced by its label (the inverse of
        :meth:`from_native` with :meth:`CategoricalParam.choice_of`)."""
        return {
            p.name: p.label_of(values[p.name])
            if isinstance(p, CategoricalParam)
            else values[p.name]
            for p in self.params
        }

    def check(self, values: Mapping[str, Any]) -> None:
        """Raise :class:`SpaceError` unless ``values`` assigns an in-domain value to each param."""
        missing = set(self.names) - set(values)
        extra = set(values) - set(self.names)
        if missing or extra:
            raise SpaceError(f"params: missing {sorted(missing)}, unexpected {sorted(extra)}")
        for p in self.params:
            if not p.contains(values[p.name]):
                raise SpaceError(f"params.{p.name}: {values[p.name]!r} is outside {p}")
