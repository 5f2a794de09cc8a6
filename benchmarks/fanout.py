"""Fan-out: many small studies run by Snakemake at ``--cores 2`` versus ``--cores 1``.

Usage::

    python benchmarks/fanout.py [--studies 200] [--trials 5] [--cores-high 2]
                                [--extrapolate 200] [--dir DIR]

Writes a config of ``--studies`` cells (branin × ``random`` × one ``--trials`` budget × that
many seeds) into a fresh copy of the workflow and times ``snakemake --until tune_study`` (the
MLflow store is created, every study runs and logs to it; the analysis is not run) at
``--cores 1`` and at ``--cores-high``, each in a new results directory. Prints the speed-up
(wall at 1 core ÷ wall at N cores) of the whole run and of its study phase, and projects it to
``--extrapolate`` studies: the fixed cost (Snakemake's start-up, the MLflow store) does not
grow with the studies, so small runs understate the speed-up. Per job: wall and CPU seconds
from Snakemake's ``benchmark:`` files, and how idle the machine's CPUs were during the run: a
job slower in wall than in CPU time waited, for a core (machine not idle: other processes) or
for locks and disks (machine idle). The config schema has no switch to turn MLflow off, so
every study logs to the SQLite store.
Target: a speed-up of at least 1.8 at 2 cores.
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
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET = 1.8


def fanout_config(studies: int, trials: int) -> dict:
    """``studies`` cells of a cheap synthetic task: one task, one optimizer, many seeds."""
    return {
        "name": "fanout",
        "seeds": studies,
        "tasks": {"branin": {"kind": "synthetic", "function": "branin"}},
        "optimizers": {"random": {"framework": "optuna", "sampler": "random"}},
        "budgets": {f"t{trials}": {"trials": trials}},
    }


def checkout(dest: Path, config: dict) -> Path:
    """A copy of the workflow with ``config`` as ``config/fanout.yaml``."""
    dest.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "config", "envs"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    (dest / "config" / "fanout.yaml").write_text(yaml.safe_dump(config))
    return dest


def cpu_jiffies() -> tuple[int, int, int]:
    """Machine-wide (busy, idle, iowait) CPU ticks so far (Linux ``/proc/stat``; else zeros)."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0, 0, 0
    ticks = [int(v) for v in stat.read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], ticks[3], ticks[4]


def run(work: Path, cores: int, timeout: int) -> dict[str, float]:
    """Time one snakemake run; per-job seconds and CPU seconds come from its benchmark files.

    A job spans ``[finished - s, finished]`` (``finished`` from its ``study.json``), so the
    study phase is from the first job's start to the last job's end; the rest of the wall
    time is the fixed cost (Snakemake's start-up and DAG, creating the MLflow store).
    """
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [str(BIN / "snakemake"), "--cores", str(cores), "--configfile", "config/fanout.yaml"]
    command += ["--until", "tune_study", "--scheduler", "greedy", "--quiet", "all"]
    start, ticks = time.perf_counter(), cpu_jiffies()
    done = subprocess.run(
        command, cwd=work, env=env, capture_output=True, text=True, timeout=timeout
    )
    wall = time.perf_counter() - start
    busy, idle, iowait = (b - a for a, b in zip(ticks, cpu_jiffies(), strict=True))
    if done.returncode != 0:
        sys.exit(f"snakemake --cores {cores} failed:\n{done.stderr[-3000:]}")
    seconds, cpu, spans = [], [], []
    results = work / "results"
    for tsv in (results / "benchmarks" / "tune_study").rglob("*.tsv"):
        with tsv.open() as handle:
            (row,) = csv.DictReader(handle, delimiter="\t")
        study = results / "studies" / tsv.relative_to(results / "benchmarks" / "tune_study")
        finished = json.loads((study.with_suffix("") / "study.json").read_text())["timings"]
        seconds.append(float(row["s"]))
        cpu.append(float(row["cpu_time"]))
        spans.append((finished["finished"] - float(row["s"]), finished["finished"]))
    phase = max(end for _, end in spans) - min(begin for begin, _ in spans)
    return {
        "wall": wall,
        "jobs": len(seconds),
        "phase": phase,
        "fixed": wall - phase,
        "job_s": statistics.mean(seconds),
        "job_cpu": statistics.mean(cpu),
        "idle": (idle + iowait) / max(1, busy + idle + iowait),
        "iowait": iowait / max(1, busy + idle + iowait),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--cores-high", type=int, default=2)
    parser.add_argument("--extrapolate", type=int, default=200, help="studies to project to")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per snakemake run")
    parser.add_argument("--dir", help="where the workflow copies go (default: a temporary one)")
    args = parser.parse_args(argv)

    config = fanout_config(args.studies, args.trials)
    runs = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for cores in (1, args.cores_high):
            work = checkout(Path(tmp) / f"cores{cores}", config)
            r = runs[cores] = run(work, cores, args.timeout)
            if r["jobs"] != args.studies:
                sys.exit(f"--cores {cores}: {r['jobs']} study jobs ran, not {args.studies}")
            print(
                f"--cores {cores}: {r['wall']:.1f} s wall = {r['fixed']:.1f} s fixed (start-up, "
                f"DAG, MLflow store) + {r['phase']:.1f} s of {args.studies} studies; mean job "
                f"{r['job_s']:.2f} s wall, {r['job_cpu']:.2f} s CPU; machine CPUs idle "
                f"{100 * r['idle']:.0f} % (I/O wait {100 * r['iowait']:.0f} %)"
            )
    one, many = runs[1], runs[args.cores_high]
    scale = args.extrapolate / args.studies
    projected = (one["fixed"] + scale * one["phase"]) / (many["fixed"] + scale * many["phase"])
    speedup = one["wall"] / many["wall"]
    verdict = "met" if speedup >= TARGET else "MISSED"
    print(
        f"speed-up at --cores {args.cores_high}: {speedup:.2f} whole run, "
        f"{one['phase'] / many['phase']:.2f} study phase, {projected:.2f} projected to "
        f"{args.extrapolate} studies (target ≥ {TARGET} at 2 cores: {verdict}); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
