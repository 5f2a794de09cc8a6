"""Measure one optimizer entry: framework import, optimizer seconds per trial, peak memory.

Usage: ``python scripts/measure_framework.py '{"framework": "ax"}' 30 [branin|cancer-svc]``.
Prints one JSON line; the numbers in docs/frameworks.md come from it.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tunebench.core.budget import Budget
from tunebench.frameworks import FRAMEWORKS, build_optimizer
from tunebench.harness.recorder import Recorder, StudyKey
from tunebench.tasks import build_task

TASKS = {
    "branin": {"kind": "synthetic", "function": "branin"},
    "cancer-svc": {
        "kind": "sklearn",
        "model": "svc",
        "dataset": "breast_cancer",
        "validation": "cv",
    },
}


def main() -> None:
    """Run one study and print its costs."""
    spec, trials = json.loads(sys.argv[1]), int(sys.argv[2])
    task_name = sys.argv[3] if len(sys.argv) > 3 else "branin"
    t0 = time.perf_counter()
    for module in FRAMEWORKS[spec["framework"]].modules:
        importlib.import_module(module)
    import_s = time.perf_counter() - t0
    task = build_task(task_name, TASKS[task_name])
    optimizer = build_optimizer("measured", spec)
    key = StudyKey(
        "measure", task_name, "measured", optimizer.framework, optimizer.algorithm, "b", 0
    )
    with tempfile.TemporaryDirectory() as out:
        recorder = Recorder(Path(out), key, task, Budget("b", "trials", trials), progress=None)
        t1 = time.perf_counter()
        optimizer.run(task, 0, recorder)
        wall = time.perf_counter() - t1
        table = recorder.finalize()
    opt = table["optimizer_s"].to_numpy()
    print(
        json.dumps(
            {
                "spec": spec,
                "task": task_name,
                "trials": len(table),
                "import_s": round(import_s, 2),
                "run_s": round(wall, 2),
                "optimizer_s_median": round(float(np.median(opt)), 4),
                "optimizer_s_median_after_5": round(float(np.median(opt[5:])), 4),
                "optimizer_s_max": round(float(opt.max()), 4),
                "objective_s_median": round(float(table["objective_s"].median()), 4),
                "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
