"""MLflow cost: a 50-trial × 20-epoch study with MLflow logging ÷ the same study without.

Usage::

    python benchmarks/mlflow_cost.py [--task synthetic|mlp] [--trials 50] [--epochs 20]
                                     [--epoch-ms 5] [--repeats 3] [--variants] [--dir DIR]

Both arms are :func:`tunebench.study.run_study`, as ``tunebench run-study`` calls it (Optuna TPE
with its default journal storage); the MLflow arm logs to the default embedded SQLite store
(created once beforehand by ``init_experiment``, as the ``init_mlflow`` rule does). The task
trains in epochs, so every trial logs a 20-point curve: ``synthetic`` busy-waits ``--epoch-ms``
an epoch (a 100 ms trial: the worst case for the ratio), ``mlp`` is the digits MLP of the
default experiment (``max_epochs`` = ``--epochs``, one thread). Repeats are interleaved.
Target: MLflow logging adds at most 5 % (≤ 1.05).

Also printed: the milliseconds per trial spent in each MLflow client call, and with
``--variants`` the ratio with the calls made from a background thread (what a tracking server
gets) and with SQLite's default rollback journal instead of WAL.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from _timing import timed_methods

from tunebench import study as study_module
from tunebench.core.matrix import StudyCell
from tunebench.core.space import SearchSpace
from tunebench.harness import tracking
from tunebench.harness.tracking import TrackingTarget, init_experiment
from tunebench.tasks.base import ReporterLike, Task

TARGET = 1.05


def busy_wait(seconds: float) -> None:
    """Spin for ``seconds`` (steadier than ``time.sleep`` at the millisecond scale)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class EpochTask(Task):
    """A quadratic that 'trains' for ``epochs`` epochs of ``epoch_s`` seconds each."""

    name = "epochs"
    direction = "minimize"
    metric = "loss"
    known_optimum = 0.0

    def __init__(self, epochs: int, epoch_s: float) -> None:
        self.space = SearchSpace.from_config(
            {
                "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
                "width": {"type": "int", "low": 8, "high": 256, "log": True},
                "act": {"type": "categorical", "choices": ["relu", "tanh"]},
            }
        )
        self.max_fidelity = epochs
        self.epoch_s = epoch_s

    def _loss(self, p: Mapping[str, Any]) -> float:
        return (p["lr"] - 0.01) ** 2 * 1e3 + (p["width"] - 64) ** 2 / 1e4 + (p["act"] == "tanh")

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        loss = self._loss(params)
        for epoch in range(1, self.max_fidelity + 1):
            busy_wait(self.epoch_s)
            if reporter.report(epoch, loss + 1.0 / epoch):
                break
        return loss + 1.0 / epoch

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        return self._loss(params)


def cell(trials: int, seed: int) -> StudyCell:
    return StudyCell(
        experiment="mlflow-cost",
        task="epochs",
        task_spec={"kind": "synthetic", "function": "branin"},  # replaced by EpochTask
        optimizer="optuna-tpe",
        optimizer_spec={"framework": "optuna", "sampler": "tpe"},
        budget=f"t{trials}",
        budget_spec={"trials": trials},
        seed=seed,
    )


def make_task(kind: str, epochs: int, epoch_s: float) -> Task:
    """The benchmark's task: the busy-wait :class:`EpochTask` or the digits MLP."""
    if kind == "synthetic":
        return EpochTask(epochs, epoch_s)
    from tunebench.tasks import build_task

    spec = {"kind": "torch", "model": "mlp", "dataset": "digits", "max_epochs": epochs,
            "device": "cpu", "threads": 1}  # fmt: skip
    return build_task("digits-mlp", spec)


@contextlib.contextmanager
def epoch_task(kind: str, epochs: int, epoch_s: float) -> Iterator[None]:
    """``run_study`` builds the benchmark's task instead of the cell's."""
    saved = study_module.build_task
    study_module.build_task = lambda name, spec: make_task(kind, epochs, epoch_s)
    try:
        yield
    finally:
        study_module.build_task = saved


def timed_client_calls(totals: dict[str, float]) -> contextlib.AbstractContextManager[None]:
    """Add the wall time of each MlflowClient call the tracker makes to ``totals``."""
    from mlflow import MlflowClient

    names = ("create_run", "log_batch", "set_terminated", "update_run", "log_artifact")
    return timed_methods(MlflowClient, names, totals)


class BackgroundTracker(tracking.MlflowTracker):
    """The tracker with its trial runs logged from a worker thread (as for a tracking server)."""

    def __init__(self, target: TrackingTarget) -> None:
        super().__init__(target, background=True)


@contextlib.contextmanager
def background_tracker() -> Iterator[None]:
    saved = study_module.MlflowTracker
    study_module.MlflowTracker = BackgroundTracker  # type: ignore[misc]
    try:
        yield
    finally:
        study_module.MlflowTracker = saved


@contextlib.contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name)
        else:
            os.environ[name] = saved


def study_runner(root: Path, trials: int, target: TrackingTarget | None) -> Callable[[int], float]:
    """Seconds of one ``run_study`` into a fresh directory."""

    def run(seed: int) -> float:
        out = Path(tempfile.mkdtemp(dir=root))
        start = time.perf_counter()
        study_module.run_study(cell(trials, seed), out, tracking=target, progress=None)
        return time.perf_counter() - start

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("synthetic", "mlp"), default="synthetic")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--epoch-ms", type=float, default=5.0, help="synthetic task only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--variants",
        action="store_true",
        help="also a background-thread tracker and the rollback journal",
    )
    parser.add_argument("--dir", help="where stores and studies go (default: a temporary one)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.pop("MLFLOW_TRACKING_URI", None)

    before = "rollback journal (SQLite's default; TUNEBENCH_SQLITE_WAL=0)"
    background = "WAL, client calls from a background thread"
    variants = [background, before] if args.variants else []
    labels = ["without MLflow", "with MLflow", *variants]
    calls: dict[str, float] = defaultdict(float)
    contexts: dict[str, Callable[[], Any]] = {label: contextlib.nullcontext for label in labels}
    contexts["with MLflow"] = lambda: timed_client_calls(calls)
    contexts[background] = background_tracker
    times: dict[str, list[float]] = {label: [] for label in labels}
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir)))
        stack.enter_context(epoch_task(args.task, args.epochs, args.epoch_ms / 1000))
        targets: dict[str, TrackingTarget | None] = {"without MLflow": None}
        for i, label in enumerate(labels[1:], start=1):  # one store each, made beforehand
            path = root / f"store{i}"
            wal = "0" if label == before else "1"
            with environment("TUNEBENCH_SQLITE_WAL", wal):
                uri = f"sqlite:///{path}/mlflow.db"
                targets[label] = init_experiment("mlflow-cost", uri, path / "artifacts")
        for label in labels:  # warm-up: imports, first connections (not counted)
            with contexts[label]():
                study_runner(root, 3, targets[label])(99)
        calls.clear()
        for rep in range(args.repeats):
            shift = rep % len(labels)
            for label in labels[shift:] + labels[:shift]:
                with contexts[label]():
                    times[label].append(study_runner(root, args.trials, targets[label])(rep))

    base = statistics.median(times["without MLflow"])
    ours = statistics.median(times["with MLflow"])
    n = args.trials * args.repeats
    verdict = "met" if ours / base <= TARGET else "MISSED"
    what = f"{args.epoch_ms:g} ms" if args.task == "synthetic" else "the digits MLP"
    print(
        f"{args.trials} trials × {args.epochs} epochs of {what} (Optuna TPE), "
        f"{args.repeats} interleaved repeats, median; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"without MLflow {base:.2f} s, with MLflow {ours:.2f} s")
    print(
        f"ratio {ours / base:.3f} (target ≤ {TARGET}: {verdict}); MLflow adds "
        f"{1000 * (ours - base) / args.trials:.1f} ms per trial"
    )
    print(
        "per trial in MlflowClient calls: "
        + ", ".join(f"{k} {1000 * v / n:.1f} ms" for k, v in calls.items() if v)
    )
    for label in variants:
        print(f"{label}: ratio {statistics.median(times[label]) / base:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
