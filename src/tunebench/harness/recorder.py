"""The one door for trial results.

Every finished trial, whichever framework proposed it, goes through :meth:`Recorder.record`:
it becomes a trial-table row with cumulative spend in every currency, is appended to a
JSON-lines journal, flushed at once and fsync'd at least every second (so a killed job resumes
without losing it), is logged to MLflow
as a child run, and is printed as one progress line. Every trial's start is noted too, so that a
resumed study charges an attempt the kill interrupted what it ran, never the downtime, and the
rerun counts it (:mod:`tunebench.harness.attempts`). :meth:`Recorder.finalize` scores the
incumbents on the held-out split and writes ``trials.parquet`` and ``curves.parquet``.
"""

from __future__ import annotations

import errno
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tunebench.core.budget import Budget, Ledger
from tunebench.core.files import DiskFull, write_parquet
from tunebench.core.tables import CURVE_KEYS, STUDY_KEYS, TRIAL_COLUMNS, incumbent_flags
from tunebench.harness.attempts import AttemptLog
from tunebench.harness.journal import FSYNC_INTERVAL_S, JOURNALS, read_json_lines
from tunebench.harness.tracking import MlflowTracker
from tunebench.harness.trial import Reporter, TrialResult, trial_seed
from tunebench.tasks.base import Task

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Recorder", "StudyKey"]

JOURNAL = JOURNALS[0]


@dataclass(frozen=True)
class StudyKey:
    """Identity of one study: one cell of the experiment matrix."""

    experiment: str
    task: str
    optimizer: str
    framework: str
    algorithm: str
    budget: str
    seed: int

    @property
    def label(self) -> str:
        """Short human-readable name, also the MLflow parent run name."""
        return f"{self.task}/{self.optimizer}/{self.budget}/seed{self.seed}"


class Recorder:
    """Records the trials of one study; reloads its journal when the study resumes.

    Args:
        study_dir: Directory of the study's outputs and journal.
        key: The study's identity.
        task: The task being tuned (its direction, metric and optimum go into every row).
        budget: The study's budget; the recorder's :attr:`ledger` tracks spend against it.
        tracker: MLflow logger, or ``None`` to log nothing.
        progress: Stream for one progress line per trial (``None`` for silence).
        trial_timeout_s: Time cap of each trial (``None``: none); every reporter carries it to
            :func:`~tunebench.harness.trial.evaluate_trial`.
    """

    def __init__(
        self,
        study_dir: Path,
        key: StudyKey,
        task: Task,
        budget: Budget,
        *,
        tracker: MlflowTracker | None = None,
        progress: TextIO | None = sys.stderr,
        trial_timeout_s: float | None = None,
    ) -> None:
        if budget.currency == "epochs" and not task.max_fidelity:
            raise ValueError(
                f"budgets.{budget.name}: an epochs budget needs a task that trains in epochs; "
                f"{task.name!r} does not"
            )
        self.study_dir = Path(study_dir)
        self.study_dir.mkdir(parents=True, exist_ok=True)
        self.key = key
        self._key_fields = asdict(key)
        self.task = task
        self.budget = budget
        self.tracker = tracker
        self.progress = progress
        self.trial_timeout_s = trial_timeout_s
        self.ledger = Ledger()
        self.rows: list[dict[str, Any]] = []
        self.curves: list[list[dict[str, float]]] = []
        self._journal_path = self.study_dir / JOURNAL
        self._load_journal()
        self._attempts = AttemptLog(self.study_dir, (row["trial"] for row in self.rows))
        self.ledger.charge(epochs=0, seconds=self._attempts.pending_seconds, trials=0)
        self._journal = self._journal_path.open("a", encoding="utf-8")
        self._synced = time.monotonic()

    @property
    def n_trials(self) -> int:
        """Trials recorded so far (including those reloaded from the journal)."""
        return len(self.rows)

    @property
    def exhausted(self) -> bool:
        """Whether the budget is spent."""
        return self.ledger.exhausted(self.budget)

    def epoch_cap(self) -> int | None:
        """Epochs the next trial may train: what is left of an epoch budget, if that is less
        than a full trial (``None``: no cap)."""
        if self.budget.currency != "epochs":
            return None
        left = int(self.ledger.remaining(self.budget))
        return left if left < (self.task.max_fidelity or 0) else None

    def reporter(self, should_stop: Callable[[int, float], bool] | None = None) -> Reporter:
        """A reporter for the next trial, capped at what is left of an epoch budget and at the
        trial time cap."""
        return Reporter(
            should_stop,
            max_epochs=self.epoch_cap(),
            timeout_s=self.trial_timeout_s,
            on_start=self.start_trial,
        )

    def start_trial(
        self, trial: int, params: Mapping[str, Any], t_start: float | None = None
    ) -> None:
        """Note that ``trial`` starts evaluating ``params`` now, or at ``t_start`` (the
        recorder's reporters do this; an adapter that evaluates elsewhere calls it when it hands
        the trial out, or when its worker reports the start)."""
        self._attempts.start(trial, params, t_start)

    def _load_journal(self) -> None:
        for entry in read_json_lines(self._journal_path):
            curve = entry.pop("curve")
            entry.setdefault("attempt", 1)
            entry.setdefault("interrupted_s", 0.0)
            self._append(entry, curve)

    def _append(self, row: dict[str, Any], curve: list[dict[str, float]]) -> None:
        seconds = row["objective_s"] + row["optimizer_s"] + row["interrupted_s"]
        self.ledger.charge(epochs=row["epochs"], seconds=seconds)
        self.rows.append(row)
        self.curves.append(curve)

    def record(self, result: TrialResult, *, recovered: bool = False) -> dict[str, Any]:
        """Record one finished trial; returns its trial-table row.

        Args:
            result: The trial's result.
            recovered: The result was read back from the framework's storage after a kill
                (the framework finished the trial, the killed job had not recorded it): its
                noted start is this attempt, not an interrupted one.
        """
        optimizer_s = result.optimizer_s + result.stop_s
        earlier = self._attempts.take(result.trial)
        interrupted_s = sum(attempt["seconds"] for attempt in earlier)
        if recovered:  # charged when the journal was loaded; this very attempt finished
            self.ledger.charge(epochs=0, seconds=-interrupted_s, trials=0)
            earlier, interrupted_s = [], 0.0
        self.ledger.charge(epochs=result.epochs, seconds=result.objective_s + optimizer_s)
        row: dict[str, Any] = {
            **self._key_fields,
            "trial": result.trial,
            "status": result.status,
            "error": result.error,
            "attempt": 1 + len(earlier),
            "value": result.value,
            "params": json.dumps(result.params, sort_keys=True),
            "epochs": result.epochs,
            "t_start": result.t_start,
            "t_end": result.t_end,
            "objective_s": result.objective_s,
            "optimizer_s": optimizer_s,
            "interrupted_s": interrupted_s,
            "cum_trials": self.ledger.trials,
            "cum_epochs": self.ledger.epochs,
            "cum_seconds": self.ledger.seconds,
            "direction": self.task.direction,
            "metric": self.task.metric,
            "known_optimum": _nan_if_none(self.task.known_optimum),
        }
        line = json.dumps({**row, "curve": result.curve}) + "\n"
        try:
            self._journal.write(line)
            self._journal.flush()  # from here the line survives a killed process
        except OSError as exc:  # a line cut short is dropped when the journal is read again
            if exc.errno == errno.ENOSPC:
                raise DiskFull.at(self._journal_path, len(line.encode())) from None
            raise
        if time.monotonic() - self._synced >= FSYNC_INTERVAL_S:
            self._sync()
        self.rows.append(row)
        self.curves.append(result.curve)
        if self.tracker is not None:
            self.tracker.log_trial(row, result.curve)
        self._print_progress(row)
        return row

    def _sync(self) -> None:
        """Make the journal durable on disk (a flushed line survives a killed process; an
        ``fsync`` also survives a machine crash)."""
        os.fsync(self._journal.fileno())
        self._synced = time.monotonic()

    def _print_progress(self, row: Mapping[str, Any]) -> None:
        if self.progress is None:
            return
        best = self.best_value()
        spent = self.ledger.spent(self.budget.currency)
        line = (
            f"[{self.key.label}] trial {row['trial']} {row['status']:<8} "
            f"value={row['value']:.6g} best={best:.6g} "
            f"{self.budget.currency}={spent:.6g}/{self.budget.limit:g} "
            f"({row['objective_s']:.2f}s objective, {row['optimizer_s']:.2f}s optimizer)"
        )
        if row["attempt"] > 1:
            line += (
                f" attempt {row['attempt']} (+{row['interrupted_s']:.2f}s before the job was "
                "killed)"
            )
        if row["error"]:
            line += f" error: {row['error']}"
        print(line, file=self.progress, flush=True)

    def best_value(self) -> float:
        """Best validation value among complete trials so far (NaN if none)."""
        values = [r["value"] for r in self.rows if r["status"] == "complete"]
        if not values:
            return math.nan
        return min(values) if self.task.direction == "minimize" else max(values)

    def sync_tracker(self) -> None:
        """Log journaled trials that MLflow lacks (after a kill between journal and MLflow)."""
        if self.tracker is None or not self.rows:
            return
        logged = self.tracker.logged_trials()
        for row, curve in zip(self.rows, self.curves, strict=True):
            if row["trial"] not in logged:
                self.tracker.log_trial(row, curve)

    def finalize(self) -> list[dict[str, Any]]:
        """Score incumbents on the test split and write ``trials.parquet``/``curves.parquet``
        (once MLflow has every trial); returns the trial-table rows."""

        if self.tracker is not None:
            self.tracker.flush()
        self.close()
        flags = incumbent_flags(
            [r["value"] for r in self.rows], [r["status"] for r in self.rows], self.task.direction
        )
        for row, is_incumbent in zip(self.rows, flags, strict=True):
            row["test_value"] = math.nan
            if is_incumbent:
                params = json.loads(row["params"])
                seed = trial_seed(self.key.seed, row["trial"])
                row["test_value"] = float(self.task.test_score(params, seed))
        trials = [{c: row[c] for c in TRIAL_COLUMNS} for row in self.rows]
        write_parquet(self.study_dir / "trials.parquet", _table(trials, TRIAL_COLUMNS))
        write_parquet(self.study_dir / "curves.parquet", self._curve_table())
        return trials

    def close(self) -> None:
        """Make the journal durable and stop the heartbeat (:meth:`finalize` does; a study
        that stops on an error calls it, so that its trial in flight is charged up to here)."""
        if self._journal.closed:
            return
        self._sync()
        self._journal.close()
        self._attempts.close()

    def _curve_table(self) -> pa.Table:
        keys = {k: getattr(self.key, k) for k in STUDY_KEYS}
        records = [
            {**keys, "trial": row["trial"], **point}
            for row, curve in zip(self.rows, self.curves, strict=True)
            for point in curve
        ]
        extra = dict.fromkeys(k for record in records for k in record if k not in CURVE_KEYS)
        return _table(records, (*CURVE_KEYS, *extra))


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pa.Table:
    """``rows`` as a table of ``columns`` in that order, typed as pandas would type them: a
    column of whole numbers is int64, one with any float double, one with nothing (no rows,
    or a key no row has) double."""
    import pyarrow as pa

    arrays = []
    for column in columns:
        values = [row.get(column) for row in rows]
        present = [v for v in values if v is not None]
        if not present:
            arrays.append(pa.array(values, pa.float64()))
        elif any(isinstance(v, float) for v in present) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in present
        ):
            arrays.append(pa.array([math.nan if v is None else float(v) for v in values]))
        else:
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, names=list(columns))


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)
