"""Measure the Ray Tune adapter's costs: cluster start-up and shutdown, per-trial overhead, memory.

Usage: ``python scripts/measure_ray.py [REUSE_ACTORS=1] [TRIALS=30] [SEARCH=random]``.
Runs one branin study in this (fresh) process and prints one JSON line; the Ray numbers in
docs/frameworks.md come from it. Memory is sampled every 0.1 s: the driver's peak RSS and the
peak of the summed RSS of the driver and every Ray process it started.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from tunebench.core.budget import Budget
from tunebench.frameworks import build_optimizer
from tunebench.harness.recorder import Recorder, StudyKey
from tunebench.tasks import build_task


def _timed(owner: Any, name: str, times: dict[str, float]) -> None:
    """Wrap ``owner.name`` so that its duration lands in ``times[name + '_s']``."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            times[f"{name}_s"] = round(time.perf_counter() - t0, 2)

    setattr(owner, name, wrapper)


def main() -> None:
    """Run one study and print its costs."""
    reuse = (sys.argv[1] if len(sys.argv) > 1 else "1") == "1"
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    search = sys.argv[3] if len(sys.argv) > 3 else "random"
    t0 = time.perf_counter()
    import ray

    times: dict[str, float] = {"import_s": round(time.perf_counter() - t0, 2)}
    _timed(ray, "init", times)
    _timed(ray, "shutdown", times)
    peak = {"driver": 0, "total": 0}
    done = threading.Event()

    def sample() -> None:
        me = psutil.Process()
        while not done.is_set():
            try:
                rss = [p.memory_info().rss for p in [me, *me.children(recursive=True)]]
            except psutil.Error:
                continue
            peak["driver"] = max(peak["driver"], rss[0])
            peak["total"] = max(peak["total"], sum(rss))
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    task = build_task("branin", {"kind": "synthetic", "function": "branin"})
    spec = {"framework": "ray", "search": search, "reuse_actors": reuse}
    optimizer = build_optimizer("measured", spec)
    key = StudyKey("measure", "branin", "measured", "ray", optimizer.algorithm, "b", 0)
    with tempfile.TemporaryDirectory() as out:
        recorder = Recorder(Path(out), key, task, Budget("b", "trials", trials), progress=None)
        t1 = time.perf_counter()
        optimizer.run(task, 0, recorder)
        run_s = time.perf_counter() - t1
        done.set()
        overhead = [row["optimizer_s"] for row in recorder.rows]
        objective = [row["objective_s"] for row in recorder.rows]
        recorder.finalize()
    print(
        json.dumps(
            {
                "spec": spec,
                "trials": len(overhead),
                **times,
                "run_s": round(run_s, 2),
                "first_trial_optimizer_s": round(overhead[0], 3),
                "optimizer_s_median_after_1": round(statistics.median(overhead[1:]), 4),
                "objective_s_median": round(statistics.median(objective), 5),
                "peak_rss_driver_mb": round(peak["driver"] / 2**20),
                "peak_rss_driver_and_ray_mb": round(peak["total"] / 2**20),
            }
        )
    )


if __name__ == "__main__":
    main()
