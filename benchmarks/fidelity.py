"""Early stopping on the epoch: what pruning saves, and what it costs in test score.

Usage::

    python benchmarks/fidelity.py [--trials 20] [--seeds 3] [--epochs 30] [--jobs 2]

On the digits CNN task (``max_epochs`` = ``--epochs``), runs Optuna TPE with and without
``MedianPruner`` and Ray Tune random search with and without ASHA (plus Optuna TPE with
``HyperbandPruner``), each for the same number of trials and seeds, through the same harness as
the workflow (``build_optimizer`` + ``Recorder``, no MLflow). Prints, per optimizer, the epochs
spent (mean over seeds) and the final incumbent's test accuracy (mean with a 95 % t-interval
over seeds), then for each pruned/unpruned pair the ratio epochs(no pruning) / epochs(pruning)
and whether the pruned mean lies inside the unpruned run's interval. Target: early stopping
spends ≥ 5× fewer epochs for a test score within that interval.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as st

from tunebench.core.budget import Budget
from tunebench.frameworks import build_optimizer
from tunebench.harness.recorder import Recorder, StudyKey
from tunebench.tasks import build_task

OPTIMIZERS: dict[str, dict[str, Any]] = {
    "optuna-tpe": {"framework": "optuna", "sampler": "tpe"},
    "optuna-tpe+median": {"framework": "optuna", "sampler": "tpe", "pruner": "median"},
    "optuna-tpe+hyperband": {"framework": "optuna", "sampler": "tpe", "pruner": "hyperband"},
    "ray-random": {"framework": "ray", "search": "random", "scheduler": "fifo", "num_cpus": 1},
    "ray-random+asha": {
        "framework": "ray",
        "search": "random",
        "scheduler": "asha",
        "num_cpus": 1,
    },
}
PAIRS = (
    ("optuna-tpe", "optuna-tpe+median"),
    ("optuna-tpe", "optuna-tpe+hyperband"),
    ("ray-random", "ray-random+asha"),
)


def run_study(optimizer: str, seed: int, trials: int, epochs: int, root: str) -> dict[str, Any]:
    """One study; returns its epochs, seconds and the final incumbent's test score."""
    task = build_task(
        "digits-cnn",
        {"kind": "torch", "model": "cnn", "dataset": "digits", "max_epochs": epochs,
         "device": "cpu", "threads": 1},
    )  # fmt: skip
    adapter = build_optimizer(optimizer, OPTIMIZERS[optimizer])
    budget = Budget(f"t{trials}", "trials", trials)
    key = StudyKey("fidelity", task.name, optimizer, adapter.framework, adapter.algorithm,
                   budget.name, seed)  # fmt: skip
    recorder = Recorder(Path(root) / optimizer / f"seed{seed}", key, task, budget, progress=None)
    start = time.perf_counter()
    adapter.run(task, seed, recorder)
    table = recorder.finalize()
    scored = table["test_value"].dropna()
    return {
        "optimizer": optimizer,
        "seed": seed,
        "epochs": int(table["epochs"].sum()),
        "pruned": int((table["status"] == "pruned").sum()),
        "seconds": time.perf_counter() - start,
        "test": float(scored.iloc[-1]) if len(scored) else math.nan,
    }


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t-interval of ``values`` (the interval is the mean alone for one value)."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, mean, mean
    half = float(st.t.ppf(0.975, len(values) - 1) * st.sem(values))
    return mean, mean - half, mean + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2, help="studies run at once")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root, ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(run_study, name, seed, args.trials, args.epochs, root)
            for name in OPTIMIZERS
            for seed in range(args.seeds)
        ]
        results = []
        for future in as_completed(futures):
            results.append(future.result())
            r = results[-1]
            print(
                f"done {r['optimizer']} seed {r['seed']}: {r['epochs']} epochs, "
                f"{r['pruned']} pruned, test {r['test']:.4f}, {r['seconds']:.0f} s",
                flush=True,
            )

    print(f"digits CNN, {args.trials} trials × {args.seeds} seeds, {args.epochs} epochs a trial")
    print(f"{'optimizer':<22}{'epochs':>8}{'pruned':>8}{'seconds':>9}  test accuracy (95% CI)")
    summary: dict[str, dict[str, float]] = {}
    for name in OPTIMIZERS:
        rows = [r for r in results if r["optimizer"] == name]
        epochs = float(np.mean([r["epochs"] for r in rows]))
        mean, low, high = interval(np.array([r["test"] for r in rows]))
        pruned = float(np.mean([r["pruned"] for r in rows]))
        summary[name] = {
            "epochs": epochs,
            "pruned": pruned,
            "mean": mean,
            "low": low,
            "high": high,
        }
        print(
            f"{name:<22}{epochs:>8.0f}{pruned:>8.1f}"
            f"{np.mean([r['seconds'] for r in rows]):>9.1f}  {mean:.4f} [{low:.4f}, {high:.4f}]"
        )
    for full_name, pruned_name in PAIRS:
        ratio = summary[full_name]["epochs"] / summary[pruned_name]["epochs"]
        low, high = summary[full_name]["low"], summary[full_name]["high"]
        inside = low <= summary[pruned_name]["mean"] <= high
        verdict = "met" if ratio >= 5 and inside else "MISSED"
        print(
            f"{full_name} / {pruned_name}: epochs ratio {ratio:.2f}×; pruned test score "
            f"{'inside' if inside else 'outside'} the unpruned 95% CI; target (≥ 5×, inside): "
            f"{verdict}"
        )
        full = args.trials - summary[pruned_name]["pruned"]  # trials that were not stopped early
        print(
            f"  {pruned_name}: {full:.1f} of {args.trials} trials ran all {args.epochs} epochs, "
            f"{full * args.epochs:.0f} epochs by themselves; 5× allows "
            f"{summary[full_name]['epochs'] / 5:.0f} in all"
        )


if __name__ == "__main__":
    main()
