"""Process-global random generators owned by one study, for frameworks that draw from them.

Some frameworks draw from NumPy's global generator or torch's default one, so their proposals
would depend on whatever else the process draws. Inside ``with globals_:`` a
:class:`StudyGlobals` puts the study's own states into those generators (seeded with the study
seed at first); on leaving it keeps the study's state and puts the caller's back.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import numpy as np

__all__ = ["StudyGlobals"]


class StudyGlobals:
    """NumPy's (and optionally torch's) global generator state, owned by one study (not
    re-entrant: one ``with`` at a time).

    Args:
        seed: Seeds the study's states as ``np.random.seed(seed)`` (and
            ``torch.manual_seed(seed)``) would.
        torch: Also own torch's default (CPU) generator.
    """

    def __init__(self, seed: int, *, torch: bool = False) -> None:
        self._numpy: Any = np.random.RandomState(seed).get_state()
        self._torch: Any = None
        if torch:
            import torch as torch_module

            self._torch = torch_module.Generator().manual_seed(seed).get_state()
        self._caller: tuple[Any, Any] = (None, None)

    def __enter__(self) -> StudyGlobals:
        caller_torch = None
        if self._torch is not None:
            import torch

            caller_torch = torch.get_rng_state()
            torch.set_rng_state(self._torch)
        self._caller = (np.random.get_state(), caller_torch)
        np.random.set_state(self._numpy)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        caller_numpy, caller_torch = self._caller
        self._numpy = np.random.get_state()
        np.random.set_state(caller_numpy)
        if self._torch is not None:
            import torch

            self._torch = torch.get_rng_state()
            torch.set_rng_state(caller_torch)
