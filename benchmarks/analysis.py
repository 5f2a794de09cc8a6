"""Time ``tunebench.report._pipeline.compare`` + ``plot`` on a synthetic 1,000,000-row trial table.

Usage::

    python benchmarks/analysis.py [--optimizers 8] [--tasks 10] [--seeds 25] [--trials 500]
                                  [--n-boot 1000] [--out DIR]

Prints the table size, the wall and CPU time of each stage and the peak resident set size of
the process (``resource.getrusage``). CPU seconds (this process and its plot workers) do not
depend on how loaded the machine is; wall seconds do. Target: compare + plot run in under
60 s and 4 GiB on the default shape (8 optimizers × 10 tasks × 25 seeds × 500 trials).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tunebench.core.tables import TRIAL_COLUMNS


def synthetic_trials(
    n_optimizers: int = 8,
    n_tasks: int = 10,
    n_seeds: int = 25,
    n_trials: int = 500,
    random_state: int = 0,
) -> pd.DataFrame:
    """A trial table with the full schema, built without a Python loop over trials.

    Optimizer 0 is ``random`` (algorithm ``random``, i.i.d.); the others converge faster.
    Tasks alternate directions, odd tasks have epochs (a fidelity), task dimension is
    ``2 + t % 6`` with one log-scale and one categorical parameter; 2 % of trials fail.
    """
    rng = np.random.default_rng(random_state)
    n_studies = n_optimizers * n_tasks * n_seeds
    n = n_studies * n_trials
    study = np.repeat(np.arange(n_studies), n_trials)
    opt = study // (n_tasks * n_seeds)
    task = (study // n_seeds) % n_tasks
    seed = study % n_seeds
    trial = np.tile(np.arange(n_trials), n_studies)
    maximize = task % 2 == 1
    speed = 1.0 + 0.3 * opt  # larger: converges faster
    noise = rng.exponential(size=n) * (1.0 + task) / (1.0 + speed * np.log1p(trial) / 3)
    value = np.where(maximize, 1.0 - 0.1 * noise, float(0) + noise)
    failed = rng.random(n) < 0.02
    status = np.where(failed, "failed", "complete").astype(object)
    value = np.where(failed, np.nan, value)
    epochs = np.where(task % 2 == 1, rng.integers(1, 10, size=n), 0)
    objective_s = rng.uniform(0.01, 0.2, size=n) * (1 + epochs)
    optimizer_s = rng.uniform(0.001, 0.01, size=n) * (1 + opt)

    cum_epochs = pd.Series(epochs).groupby(study).cumsum().to_numpy()
    cum_seconds = pd.Series(objective_s + optimizer_s).groupby(study).cumsum().to_numpy()

    # incumbent test values: validation + small noise on improving trials
    signed = np.where(maximize, -value, value)
    best = pd.Series(np.where(np.isnan(signed), np.inf, signed)).groupby(study).cummin()
    prev = best.groupby(study).shift().fillna(np.inf).to_numpy()
    improved = (~failed) & (signed < prev)
    test_value = np.where(improved, value + rng.normal(0, 0.01, size=n), np.nan)

    u = rng.random((n, 8))
    acts = np.array(["relu", "tanh", "gelu"])
    params = [
        json.dumps(
            {
                "x0": float(a),
                "lr": float(10 ** (-4 + 3 * b)),
                "act": str(acts[int(c * 3)]),
                **{f"x{k}": float(u[i, k]) for k in range(3, 2 + int(t) % 6 + 1)},
            }
        )
        for i, (a, b, c, t) in enumerate(zip(u[:, 0], u[:, 1], u[:, 2], task, strict=True))
    ]
    names = np.array([f"opt{i}" if i else "random" for i in range(n_optimizers)], dtype=object)
    frameworks = np.array(["optuna", "hyperopt"], dtype=object)
    out = pd.DataFrame(
        {
            "experiment": "bench",
            "task": np.array([f"task{t}" for t in range(n_tasks)], dtype=object)[task],
            "optimizer": names[opt],
            "framework": frameworks[opt % 2],
            "algorithm": np.where(opt == 0, "random", "tpe").astype(object),
            "budget": "t500",
            "seed": seed,
            "trial": trial,
            "status": status,
            "error": np.where(failed, "boom", "").astype(object),
            "value": value,
            "test_value": test_value,
            "params": params,
            "epochs": epochs,
            "t_start": 0.0,
            "t_end": 0.0,
            "objective_s": objective_s,
            "optimizer_s": optimizer_s,
            "cum_trials": trial + 1,
            "cum_epochs": cum_epochs,
            "cum_seconds": cum_seconds,
            "direction": np.where(maximize, "maximize", "minimize").astype(object),
            "metric": np.where(maximize, "accuracy", "loss").astype(object),
            "known_optimum": np.where(maximize, np.nan, 0.0),
        }
    )
    return out[list(TRIAL_COLUMNS)]


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux: kilobytes, macOS: bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", type=int, default=8)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=25)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="threads of compare's density, processes of plot")  # fmt: skip
    parser.add_argument("--out", help="output directory (default: a temporary one)")
    args = parser.parse_args(argv)

    from tunebench import report

    t0 = time.perf_counter()
    trials = synthetic_trials(args.optimizers, args.tasks, args.seeds, args.trials)
    t_build = time.perf_counter() - t0
    print(f"table: {len(trials):,} rows, built in {t_build:.1f} s, rss {peak_rss_mib():.0f} MiB")
    odd = [f"task{t}" for t in range(1, args.tasks, 2)][:3]
    comparisons = {"odd": odd} if len(odd) >= 2 else None

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        t0, c0 = time.perf_counter(), cpu_seconds()
        report.compare(
            trials, out / "stats", n_boot=args.n_boot, random_state=0,
            comparisons=comparisons, jobs=args.jobs,
        )  # fmt: skip
        t_compare, c_compare = time.perf_counter() - t0, cpu_seconds() - c0
        print(f"compare: {t_compare:.1f} s wall, {c_compare:.1f} s CPU, "
              f"peak rss {peak_rss_mib():.0f} MiB")  # fmt: skip
        t0, c0 = time.perf_counter(), cpu_seconds()
        report.plot(out / "stats", out / "figures", jobs=args.jobs)
        t_plot, c_plot = time.perf_counter() - t0, cpu_seconds() - c0
        print(f"plot: {t_plot:.1f} s wall, {c_plot:.1f} s CPU (workers included), "
              f"peak rss {peak_rss_mib():.0f} MiB")  # fmt: skip
        report.summarise(out / "stats", out / "summary.md")
    print(
        f"compare + plot: {t_compare + t_plot:.1f} s wall, {c_compare + c_plot:.1f} s CPU; "
        f"peak rss {peak_rss_mib() / 1024:.2f} GiB (jobs {args.jobs}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
