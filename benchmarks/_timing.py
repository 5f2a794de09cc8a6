"""Helpers the benchmark scripts share (run them as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any


@contextlib.contextmanager
def timed_methods(owner: Any, names: Sequence[str], totals: dict[str, float]) -> Iterator[None]:
    """Add the wall seconds spent in each method ``owner.<name>`` to ``totals[name]``."""
    saved = {name: getattr(owner, name) for name in names}

    def timing(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    for name, method in saved.items():
        setattr(owner, name, timing(name, method))
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(owner, name, method)
