"""The :class:`Optimizer` interface every framework adapter implements.

Lifecycle: an adapter is built once per study from its config entry (keyword options only,
validated in the constructor), then :meth:`Optimizer.run` drives the framework until the
recorder's budget is spent. Adapters evaluate every trial through
:func:`tunebench.harness.trial.evaluate_trial` and hand every result to the recorder, so timing,
failure handling and records are identical across frameworks. When the recorder already holds
trials (a resumed study), the adapter continues from them instead of starting over, and runs a
trial the killed job had started again (:mod:`tunebench.harness.attempts`); an adapter that does
not evaluate through :meth:`Recorder.reporter`'s reporters calls :meth:`Recorder.start_trial` as
it hands a trial out.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from tunebench.harness.recorder import Recorder
from tunebench.tasks.base import Task

__all__ = ["Optimizer", "OptimizerConfigError", "check_replayed", "job_threads"]


class OptimizerConfigError(ValueError):
    """An optimizer entry names an unknown algorithm or option."""


class Optimizer(ABC):
    """One HPO framework driven through one algorithm.

    Attributes:
        framework: Name of the framework (``optuna``, ``hyperopt``...).
        algorithm: Name of the algorithm as recorded in the trial table.
    """

    framework: ClassVar[str]
    algorithm: str

    @abstractmethod
    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Tune ``task`` with ``seed`` until ``recorder.exhausted``; record every trial."""


def check_replayed(
    framework: str, number: int, proposed: Mapping[str, Any], row: Mapping[str, Any]
) -> None:
    """Raise unless a resumed framework re-proposes journaled trial ``number`` as recorded.

    Adapters that resume by asking their framework again and telling it the recorded outcomes
    call this for every replayed trial, so a study never continues from a diverged history.
    """
    recorded = json.loads(row["params"])
    if dict(proposed) != recorded:
        raise RuntimeError(
            f"{framework} cannot resume this study: it proposes {dict(proposed)} as trial "
            f"{number}, the journal holds {recorded} (another {framework} version or search "
            "space?); start the study afresh"
        )


def job_threads() -> int:
    """The job's threads, as the study runner exports them (1 when unset or invalid)."""
    value = os.environ.get("OMP_NUM_THREADS", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1
