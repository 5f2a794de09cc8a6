"""How fast Snakemake builds the DAG of a 10,000-study matrix (target: `snakemake -n` < 15 s).

Copies the workflow into a temporary directory and times `snakemake -n --quiet rules` on matrices
of cheap synthetic tasks: 1 study (Snakemake's start-up and the workflow's parsing), 2,500 and
10,000 studies (10 tasks × 10 optimizers × 1 or 4 budgets × 25 seeds). Prints wall and CPU seconds,
jobs per second and the load average (the wall time of a shared machine depends on it), e.g.
`python benchmarks/dag.py` or `python benchmarks/dag.py 10000`.

For the largest matrix it also times Snakemake's own floor: a one-rule workflow with one wildcard
and one output per job (no params, resources, log, conda or input functions) with as many jobs,
and prints this workflow's time as a multiple of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
TARGET_S = 15.0
# studies -> (tasks, optimizers, budgets, seeds)
SHAPES = {1: (1, 1, 1, 1), 2500: (10, 10, 1, 25), 10000: (10, 10, 4, 25)}


def matrix_config(tasks: int, optimizers: int, budgets: int, seeds: int) -> dict:
    """A matrix of cheap synthetic tasks and Optuna samplers of the given shape."""
    samplers = ["tpe", "random", "cmaes", "qmc", "gp"]
    return {
        "name": "dag",
        "seeds": seeds,
        "tasks": {
            f"f{i}": {"kind": "synthetic", "function": "rosenbrock", "dim": 2 + i}
            for i in range(tasks)
        },
        "optimizers": {
            f"o{i}": {"framework": "optuna", "sampler": samplers[i % 5]} for i in range(optimizers)
        },
        "budgets": {f"t{n}": {"trials": n} for n in (10, 20, 40, 80)[:budgets]},
    }


def timed_snakemake(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system of the child) of ``snakemake args``, and its stdout."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run([str(SNAKEMAKE), *args], cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = os.times()
    if done.returncode != 0:
        sys.exit(done.stderr[-2000:])
    return wall, sum(after[2:4]) - sum(before[2:4]), done.stdout


def dry_run(work: Path, studies: int) -> tuple[float, float, int]:
    """Wall and CPU seconds of `snakemake -n` on the matrix, and the number of jobs."""
    config = work / "config" / f"dag{studies}.yaml"
    config.write_text(yaml.safe_dump(matrix_config(*SHAPES[studies])))
    args = ["-n", "--quiet", "rules", "--configfile", str(config.relative_to(work))]
    wall, cpu, stdout = timed_snakemake(args, work)
    jobs = next(int(ln.split()[1]) for ln in stdout.splitlines() if ln.startswith("total"))
    return wall, cpu, jobs


FLOOR_SNAKEFILE = """\
rule all:
    input:
        expand("out/{i}.txt", i=range(int(config["count"]))),


rule make:
    output:
        "out/{i}.txt",
    shell:
        "touch {output}"
"""


def floor_dry_run(jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds of `snakemake -n` on the minimal workflow with ``jobs`` jobs."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Snakefile").write_text(FLOOR_SNAKEFILE)
        args = ["-n", "--quiet", "rules", "--config", f"count={jobs}"]
        wall, cpu, _ = timed_snakemake(args, Path(tmp))
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="*", type=int, help=f"any of {sorted(SHAPES)} (all)")
    sizes = parser.parse_args().studies or sorted(SHAPES)
    if not set(sizes) <= set(SHAPES):
        parser.error(f"studies: choose from {sorted(SHAPES)}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("Snakefile", "workflow", "config", "envs"):
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
        for studies in sorted(sizes):  # the largest last: the floor is timed for it
            wall, cpu, jobs = dry_run(work, studies)
            verdict = ""
            if studies == 10000:
                verdict = f"; target < {TARGET_S:.0f} s: {'met' if wall < TARGET_S else 'MISSED'}"
            print(
                f"snakemake -n on {studies:>6,} studies ({jobs:>6,} jobs): {wall:6.1f} s wall, "
                f"{cpu:6.1f} s CPU ({jobs / wall:5.0f} jobs/s){verdict}",
                flush=True,
            )
        if studies > 1:
            floor_wall, floor_cpu = floor_dry_run(jobs)
            print(
                f"Snakemake's floor, one bare rule × {jobs:,} jobs: {floor_wall:6.1f} s wall, "
                f"{floor_cpu:6.1f} s CPU; this workflow ÷ floor: {wall / floor_wall:.2f} wall, "
                f"{cpu / floor_cpu:.2f} CPU"
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
