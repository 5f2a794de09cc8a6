"""Sweep of cheap studies: tunebench through Snakemake against bare Optuna loops in one process.

Usage::

    python benchmarks/sweep.py [--seeds 3] [--trials 50] [--large 1000] [--dir DIR]

The sweep: 5 synthetic functions (branin, hartmann6, rosenbrock in 2, 5 and 8 dimensions) ×
``--seeds`` seeds, Optuna TPE, ``--trials`` trials per study. Measured in one run:

(a) the floor: the same studies as bare ``optuna`` loops in one fresh Python process (start-up,
    imports and loops; nothing recorded);
(b) ``snakemake --cores 1`` and (c) ``--cores 2`` in fresh results directories, up to the
    aggregated trial table with every trial in the default MLflow store (``--omit-from
    analyse``: the tuning jobs, the aggregate and the MLflow jobs); then the analysis
    and the report of the same sweep, timed apart (one ``snakemake --cores 2 --report
    results/report.html --report-after-run``).

Prints (b) ÷ (a), (b) ÷ (c), the per-study fixed cost (a study's wall time minus its tuning
time, plus its share of its job's start-up) and a per-phase breakdown from Snakemake's
``benchmark:`` files and each study's ``study.json``. With ``--large N`` it then runs the
sweep with N studies (same tasks, more seeds, 20 trials) at ``--cores 2`` and at a tenth of
that, and prints studies per second at both sizes.
Targets: (b) ÷ (a) ≤ 4; (c) ≥ 1.7× faster than (b); fixed cost ≤ 0.5 s per study (median);
analysis and report ≤ 10 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

from tunebench.harness._sqlite_store import template_path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TASKS = {
    "branin": {"kind": "synthetic", "function": "branin"},
    "hartmann6": {"kind": "synthetic", "function": "hartmann6"},
    "rosen2": {"kind": "synthetic", "function": "rosenbrock", "dim": 2},
    "rosen5": {"kind": "synthetic", "function": "rosenbrock", "dim": 5},
    "rosen8": {"kind": "synthetic", "function": "rosenbrock", "dim": 8},
}
TARGETS = {"ratio": 4.0, "speedup": 1.7, "fixed": 0.5, "analysis": 10.0}
FLOOR = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import optuna
    from tunebench.tasks import build_task

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tasks, seeds, trials = eval(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    start = time.perf_counter()
    for name, spec in tasks.items():
        task = build_task(name, spec)
        names = [p.name for p in task.space]
        domain = {p.name: (p.low, p.high) for p in task.space}
        f = task._fn  # the closed form itself, no harness
        for seed in range(seeds):
            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
            study.optimize(
                lambda t: f(np.array([t.suggest_float(n, *domain[n]) for n in names])),
                n_trials=trials,
            )
    print(time.perf_counter() - start)
    """
)


def environment() -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def floor(seeds: int, trials: int) -> tuple[float, float]:
    """(whole process, loops only) seconds of the bare Optuna loops."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", FLOOR, repr(TASKS), str(seeds), str(trials)],
        capture_output=True, text=True, check=True, env=environment(),
    )  # fmt: skip
    return time.perf_counter() - start, float(out.stdout.split()[-1])


def workflow(root: Path, name: str, seeds: int, trials: int) -> Path:
    """A fresh copy of the workflow with the sweep's config."""
    work = root / name
    work.mkdir(parents=True)
    for item in ("Snakefile", "workflow", "config", "profiles", "envs"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    config = {
        "name": "sweep",
        "seeds": seeds,
        "tasks": TASKS,
        "optimizers": {"tpe": {"framework": "optuna", "sampler": "tpe"}},
        "budgets": {f"t{trials}": {"trials": trials}},
        "analysis": {"n_boot": 200, "baseline": "tpe"},
    }
    (work / "sweep.yaml").write_text(yaml.safe_dump(config))
    return work


def snakemake(work: Path, *args: str) -> float:
    """Seconds of one snakemake run in ``work`` (exits on failure)."""
    command = [str(BIN / "snakemake"), "--configfile", "sweep.yaml", "--quiet", "all", *args]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=environment(), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed in {work}:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def tuning_run(work: Path, cores: int) -> dict[str, float]:
    """Run the sweep up to the trial table and MLflow; the breakdown of where the time went."""
    wall = snakemake(work, "--cores", str(cores), "--omit-from", "analyse")
    results = work / "results"
    jobs = {}
    for tsv in (results / "benchmarks").rglob("*.tsv"):
        with tsv.open() as handle:
            (row,) = csv.DictReader(handle, delimiter="\t")
        jobs[str(tsv.relative_to(results / "benchmarks"))] = float(row["s"])
    studies = [json.loads(p.read_text()) for p in results.glob("studies/*/*/*/*/study.json")]
    tune_jobs = {k: s for k, s in jobs.items() if k.startswith("tune/")}
    tuning = sum(s["timings"]["tuning_s"] for s in studies)
    study_wall = sum(s["timings"]["finished"] - s["timings"]["started"] for s in studies)
    startup = sum(tune_jobs.values()) - study_wall  # interpreter, imports, reading the chunk
    fixed = [
        s["timings"]["finished"] - s["timings"]["started"] - s["timings"]["tuning_s"]
        + startup / len(studies)
        for s in studies
    ]  # fmt: skip
    return {
        "wall": wall,
        "studies": len(studies),
        "jobs": len(jobs),
        "startup": startup,
        "tuning": tuning,
        "recording": study_wall - tuning,
        "mlflow": sum(s for k, s in jobs.items() if k.startswith("log_mlflow/")),
        "aggregate": jobs.get("aggregate_trials.tsv", float("nan")),
        "snakemake": wall - sum(jobs.values()) if cores == 1 else float("nan"),
        "span": max(s["timings"]["finished"] for s in studies)
        - min(s["timings"]["started"] for s in studies),
        "fixed_median": statistics.median(fixed),
    }


def analysis_run(work: Path) -> float:
    """Seconds of the analysis and the report after a tuning run: one Snakemake run that builds
    the report once its jobs are done (``--report-after-run``, as ``make run`` does)."""
    report = ("--report", "results/report.html", "--report-after-run")
    return snakemake(work, "--cores", "2", *report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--large", type=int, default=0, help="also N studies × 20 trials")
    parser.add_argument("--dir", help="where the workflows run (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
        template = template_path()
        cached = "cached" if template.exists() else "not cached yet: (b) builds it"
        print(f"MLflow store template {template}: {cached}")
        whole, loops = floor(args.seeds, args.trials)
        n = len(TASKS) * args.seeds
        print(f"(a) bare Optuna loops, one process: {whole:.2f} s ({loops:.2f} s in the loops)")
        one = tuning_run(workflow(root, "cores1", args.seeds, args.trials), 1)
        two = tuning_run(workflow(root, "cores2", args.seeds, args.trials), 2)
        analysis = analysis_run(root / "cores1")
        print(f"(b) snakemake --cores 1: {one['wall']:.2f} s, {one['jobs']} jobs, {n} studies")
        print(f"(c) snakemake --cores 2: {two['wall']:.2f} s")
        print(f"\n(b) ÷ (a)           {one['wall'] / whole:6.2f}   target ≤ {TARGETS['ratio']}")
        print(
            f"(b) ÷ (c)           {one['wall'] / two['wall']:6.2f}   target ≥ {TARGETS['speedup']}"
        )
        print(
            f"  the studies alone {one['span'] / two['span']:6.2f}   (first start to last end:"
            f" {one['span']:.2f} s and {two['span']:.2f} s)"
        )
        print(f"fixed cost/study    {one['fixed_median']:6.3f} s target ≤ {TARGETS['fixed']}")
        print(f"analysis + report   {analysis:6.2f} s target ≤ {TARGETS['analysis']}")
        print("\nwhere (b)'s time went (s):")
        for key in ("snakemake", "startup", "tuning", "recording", "mlflow", "aggregate"):
            print(f"  {key:<10} {one[key]:7.2f}")
        print(
            "  snakemake = its own start-up, DAG and scheduling; startup = the tuning jobs'"
            " interpreter and imports;\n  tuning = inside optimizer.run (proposals, objective"
            " and the recorder); recording = the rest of each\n  study (task and store set-up,"
            " test scores, tables); mlflow = the job that logs every study"
        )
        if args.large:
            print()
            for size in (args.large // 10, args.large):
                seeds = max(1, size // len(TASKS))
                run = tuning_run(workflow(root, f"large{size}", seeds, 20), 2)
                print(
                    f"{run['studies']:5d} studies × 20 trials at --cores 2: {run['wall']:7.1f} s,"
                    f" {run['studies'] / run['wall']:5.2f} studies/s"
                )
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
