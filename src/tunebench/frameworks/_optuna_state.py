"""How an Optuna study keeps its state across a killed job, at little cost per trial.

Imported by the Optuna adapter only when it runs (it imports Optuna at module level).
:class:`SingleWriterJournal` writes Optuna's journal format for a study with one writer: the log
is kept in memory, a trial's operations are written out after its ``tell`` and ``fsync``'d on
the recorder's schedule. :class:`Reseeder` re-seeds the sampler's random states from the study
seed and the trial number before each ``ask``, so a resumed sampler needs no saved state.
Costs: docs/benchmarks.md#harness-overhead.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from optuna.samplers import BaseSampler
from optuna.samplers._lazy_random_state import LazyRandomState
from optuna.storages.journal import BaseJournalBackend

from tunebench.harness.journal import FSYNC_INTERVAL_S, read_json_lines
from tunebench.harness.trial import derive_seed

__all__ = ["Reseeder", "SingleWriterJournal"]

_SAMPLER_STREAM = 1
"""Seeds derived for samplers add a third part (1, 2, ...), so they never equal the seed the
task trains with (``trial_seed``: two parts)."""


class SingleWriterJournal(BaseJournalBackend):
    """``JournalFileBackend``'s file format for one writing process: no lock, no re-reading.

    A line cut short by a kill is dropped when the file is opened (Optuna never saw it applied).
    Only one process may write the file at a time (``workers: K`` uses ``JournalFileBackend``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._logs = read_json_lines(self._path)
        self._file = self._path.open("ab")
        self._synced = time.monotonic()

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        """The logs from ``log_number_from`` on (Optuna replays its own appends from here)."""
        return self._logs[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append ``logs`` to the file's buffer (written out by :meth:`flush`)."""
        self._file.write(
            b"".join(json.dumps(log, separators=(",", ":")).encode() + b"\n" for log in logs)
        )
        self._logs.extend(logs)

    def flush(self) -> None:
        """Write the buffered logs out (from here they survive a killed process); ``fsync``
        if the last ``fsync`` was a second ago or more. Called after each ``tell``: a trial cut
        off by a kill before its ``tell`` is asked again on resume, with the same seed."""
        self._file.flush()
        if time.monotonic() - self._synced >= FSYNC_INTERVAL_S:
            self._sync()

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._synced = time.monotonic()

    def close(self) -> None:
        """``fsync`` and close the file."""
        if not self._file.closed:
            self._sync()
            self._file.close()


class Reseeder:
    """Seeds every random state of a sampler (and of the samplers it holds) from
    ``(seed, trial number)`` before each ``ask``: what it proposes for a trial then depends
    only on the study's history, not on the calls made before, so a resumed study continues
    identically."""

    def __init__(self, sampler: Any, seed: int) -> None:
        self._states = _random_states(sampler, depth=2)
        self._seed = seed

    def __call__(self, trial_number: int) -> None:
        for stream, state in enumerate(self._states, start=_SAMPLER_STREAM):
            state.seed(derive_seed(self._seed, trial_number, stream))


def _random_states(obj: Any, depth: int) -> list[np.random.RandomState]:
    """The ``RandomState`` objects among ``obj``'s attributes and, ``depth`` samplers deep,
    among those of the samplers it holds."""
    states = []
    for value in vars(obj).values():
        if isinstance(value, LazyRandomState):
            states.append(value.rng)
        elif isinstance(value, np.random.RandomState):
            states.append(value)
        elif depth > 1 and isinstance(value, BaseSampler):
            states.extend(_random_states(value, depth - 1))
    return states
