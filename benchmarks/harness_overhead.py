"""Harness overhead: a tunebench study ÷ the framework's own loop, same 1 ms objective.

Usage::

    python benchmarks/harness_overhead.py [--trials 200] [--repeats 3] [--breakdown-repeats 1]
                                          [--profile] [--dir DIR]

For Optuna TPE, Hyperopt TPE and random search (``random`` in config/config.yaml: Optuna's
RandomSampler), times a bare loop (``study.optimize`` / ``fmin`` on an in-memory study) and a
tunebench study (``build_optimizer`` + ``Recorder``, no MLflow, no progress lines, ``finalize``
included) on a 2-parameter objective that busy-waits 1 ms. Runs are interleaved (bare first in
even repeats, harness first in odd ones) with the same seed per pair; the ratio printed is
median(harness) ÷ median(bare). Target: the harness adds at most 3 % (≤ 1.03).

The breakdown that follows re-runs the harness without, one after the other, the costs that
resuming needs: every ``fsync`` (the recorder's journal and Optuna's are ``fsync``'d at most once
a second; patched out in this process only), then for Optuna its journal storage itself
(``storage: memory``). ``--profile`` prints where the harness's time goes (cProfile).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import math
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from _timing import timed_methods

from tunebench.core.budget import Budget
from tunebench.core.space import SearchSpace
from tunebench.frameworks import build_optimizer
from tunebench.harness.recorder import Recorder, StudyKey
from tunebench.tasks.base import ReporterLike, Task

SPACE = {
    "x0": {"type": "float", "low": -5.0, "high": 10.0},
    "x1": {"type": "float", "low": 0.0, "high": 15.0},
}
OBJECTIVE_S = 0.001
TARGET = 1.03
SPECS: dict[str, dict[str, Any]] = {
    "optuna-tpe": {"framework": "optuna", "sampler": "tpe"},
    "hyperopt-tpe": {"framework": "hyperopt", "algo": "tpe"},
    "random": {"framework": "optuna", "sampler": "random"},
}


def busy_wait(seconds: float) -> None:
    """Spin for ``seconds`` (steadier than ``time.sleep`` at the millisecond scale)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def branin(x0: float, x1: float) -> float:
    """The Branin function (minimum 0.397887)."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x1 - b * x0**2 + c * x0 - 6) ** 2 + 10 * (1 - t) * math.cos(x0) + 10


class BusyBranin(Task):
    """Branin behind a 1 ms busy wait: the same objective the bare loops evaluate."""

    name = "busy-branin"
    direction = "minimize"
    known_optimum = 0.397887

    def __init__(self) -> None:
        self.space = SearchSpace.from_config(SPACE)

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        busy_wait(OBJECTIVE_S)
        return branin(params["x0"], params["x1"])

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        return branin(params["x0"], params["x1"])


def bare_optuna(sampler: str) -> Callable[[int, int], None]:
    """``study.optimize`` on an in-memory study: what a user writes without tunebench."""

    def run(seed: int, trials: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        cls = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
        study = optuna.create_study(sampler=cls[sampler](seed=seed))

        def objective(trial: Any) -> float:
            x0 = trial.suggest_float("x0", -5.0, 10.0)
            x1 = trial.suggest_float("x1", 0.0, 15.0)
            busy_wait(OBJECTIVE_S)
            return branin(x0, x1)

        study.optimize(objective, n_trials=trials)

    return run


def bare_hyperopt(seed: int, trials: int) -> None:
    """``fmin`` with TPE: what a user writes without tunebench."""
    import hyperopt
    import numpy as np

    def objective(p: dict[str, float]) -> float:
        busy_wait(OBJECTIVE_S)
        return branin(p["x0"], p["x1"])

    space = {"x0": hyperopt.hp.uniform("x0", -5, 10), "x1": hyperopt.hp.uniform("x1", 0, 15)}
    hyperopt.fmin(
        objective,
        space,
        algo=hyperopt.tpe.suggest,
        max_evals=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )


BARE: dict[str, Callable[[int, int], None]] = {
    "optuna-tpe": bare_optuna("tpe"),
    "hyperopt-tpe": bare_hyperopt,
    "random": bare_optuna("random"),
}


def harness(name: str, spec: Mapping[str, Any], root: Path) -> Callable[[int, int], None]:
    """A tunebench study of ``spec`` in a fresh directory under ``root``."""

    def run(seed: int, trials: int) -> None:
        task = BusyBranin()
        adapter = build_optimizer(name, spec)
        study_dir = Path(tempfile.mkdtemp(dir=root))
        key = StudyKey("bench", task.name, name, adapter.framework, adapter.algorithm, "b", seed)
        budget = Budget("b", "trials", trials)
        recorder = Recorder(study_dir, key, task, budget, progress=None)
        adapter.run(task, seed, recorder)
        recorder.finalize()
        shutil.rmtree(study_dir)

    return run


@contextlib.contextmanager
def without_any_fsync() -> Iterator[None]:
    """``os.fsync`` a no-op for everyone: the recorder and Optuna's journal file backend."""
    saved = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = saved


def within(
    context: Callable[[], contextlib.AbstractContextManager[None]],
    run: Callable[[int, int], None],
) -> Callable[[int, int], None]:
    def wrapped(seed: int, trials: int) -> None:
        with context():
            run(seed, trials)

    return wrapped


def breakdown_variants(
    name: str, spec: Mapping[str, Any], root: Path
) -> dict[str, Callable[[int, int], None]]:
    """The harness without, cumulatively, what resuming costs."""
    variants = {
        "bare": BARE[name],
        "harness": harness(name, spec, root),
        "no fsync": within(without_any_fsync, harness(name, spec, root)),
    }
    if spec["framework"] == "optuna":
        variants["+ storage: memory (no Optuna journal)"] = within(
            without_any_fsync, harness(name, {**spec, "storage": "memory"}, root)
        )
    return variants


def timed(run: Callable[[int, int], None], seed: int, trials: int) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU time is this process's, not waiting for disks."""
    wall, cpu = time.perf_counter(), time.process_time()
    run(seed, trials)
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(
    runs: Mapping[str, Callable[[int, int], None]], trials: int, repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """Interleaved timings: each repeat runs every variant once, in rotating order."""
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in runs}
    labels = list(runs)
    for rep in range(repeats):
        shift = rep % len(labels)
        for label in labels[shift:] + labels[:shift]:
            times[label].append(timed(runs[label], 1000 + rep, trials))
    return times


def median(times: list[tuple[float, float]], which: int = 0) -> float:
    """Median wall (``which=0``) or CPU (``which=1``) seconds."""
    return statistics.median(t[which] for t in times)


def fsync_ms(root: Path, n: int = 200) -> float:
    """Milliseconds per append + flush + fsync of a 1 KiB line (what ``record`` does)."""
    path = root / "fsync-probe.jsonl"
    line = "x" * 1023 + "\n"
    with path.open("a") as handle:
        start = time.perf_counter()
        for _ in range(n):
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        seconds = time.perf_counter() - start
    path.unlink()
    return 1000 * seconds / n


def profile(run: Callable[[int, int], None], trials: int, top: int = 14) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(run, 0, trials)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--breakdown-repeats", type=int, default=1, help="0: no breakdown")
    parser.add_argument("--profile", action="store_true", help="cProfile one harness run each")
    parser.add_argument("--dir", help="where study directories go (default: a temporary one)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        for name, spec in SPECS.items():  # warm-up: imports and first-call costs
            BARE[name](0, 5)
            harness(name, spec, root)(0, 5)
        print(
            f"{args.trials} trials of a {OBJECTIVE_S * 1000:g} ms objective, {args.repeats} "
            f"interleaved repeats, median wall seconds; {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f}. ratio: wall; min: ratio of the fastest runs; CPU: "
            f"ratio of CPU seconds (no disk waits)"
        )
        header = f"{'optimizer':<14}{'bare':>7}{'tunebench':>10}{'ratio':>7}{'min':>7}{'CPU':>7}"
        print(f"{header}  per trial  target")
        for name, spec in SPECS.items():
            times = compare(
                {"bare": BARE[name], "harness": harness(name, spec, root)},
                args.trials,
                args.repeats,
            )
            bare, ours = median(times["bare"]), median(times["harness"])
            fastest = min(t[0] for t in times["harness"]) / min(t[0] for t in times["bare"])
            cpu = median(times["harness"], 1) / median(times["bare"], 1)
            extra_ms = 1000 * (ours - bare) / args.trials
            verdict = "met" if ours / bare <= TARGET else "MISSED"
            print(
                f"{name:<14}{bare:>7.2f}{ours:>10.2f}{ours / bare:>7.3f}{fastest:>7.3f}"
                f"{cpu:>7.3f}  {extra_ms:+6.2f} ms  ≤ {TARGET} {verdict}"
            )

        print("\nper trial in the recorder (one more harness run each; µs):")
        for name, spec in SPECS.items():
            totals: dict[str, float] = {}
            with timed_methods(Recorder, ("record", "finalize"), totals):
                harness(name, spec, root)(0, args.trials)
            print(
                f"{name:<14}record {1e6 * totals['record'] / args.trials:6.0f}, finalize "
                f"{1e6 * totals['finalize'] / args.trials:6.0f} (parquet tables, incumbents' "
                f"test scores, the last fsync)"
            )

        if args.breakdown_repeats:
            print(
                f"\nbreakdown, ratio to bare ({args.breakdown_repeats} interleaved repeats; "
                f"append + fsync of a 1 KiB line here: {fsync_ms(root):.2f} ms)"
            )
        for name, spec in SPECS.items() if args.breakdown_repeats else ():
            times = compare(breakdown_variants(name, spec, root), args.trials,
                            args.breakdown_repeats)  # fmt: skip
            bare = median(times.pop("bare"))
            parts = [f"{label} {median(t) / bare:.3f}" for label, t in times.items()]
            print(f"{name:<14}" + ", ".join(parts))

        if args.profile:
            for name, spec in SPECS.items():
                print(f"\n--- profile: tunebench study, {name} ---")
                profile(harness(name, spec, root), args.trials)
    return 0


if __name__ == "__main__":
    sys.exit(main())
