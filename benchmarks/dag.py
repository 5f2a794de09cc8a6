"""How fast Snakemake builds the DAG of a 10,000-study matrix (target: `snakemake -n` < 15 s).

Writes a config with 10 tasks × 10 optimizers × 4 budgets × 25 seeds into a temporary copy of
the workflow and times `snakemake -n` on it. Prints the time and jobs per second.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def big_config() -> dict:
    """10 × 10 × 4 × 25 = 10,000 studies of cheap synthetic tasks."""
    tasks = {
        f"f{i}": {"kind": "synthetic", "function": "rosenbrock", "dim": 2 + i} for i in range(10)
    }
    samplers = ["tpe", "random", "cmaes", "qmc", "gp"]
    optimizers = {f"o{i}": {"framework": "optuna", "sampler": samplers[i % 5]} for i in range(10)}
    budgets = {f"t{n}": {"trials": n} for n in (10, 20, 40, 80)}
    return {
        "name": "dag",
        "seeds": 25,
        "tasks": tasks,
        "optimizers": optimizers,
        "budgets": budgets,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("Snakefile", "workflow", "config", "envs"):
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
        (work / "config" / "big.yaml").write_text(yaml.safe_dump(big_config()))
        start = time.perf_counter()
        done = subprocess.run(
            [str(SNAKEMAKE), "-n", "--quiet", "rules", "--configfile", "config/big.yaml"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(done.stderr[-2000:])
    studies = 10 * 10 * 4 * 25
    print(
        f"snakemake -n on {studies} studies: {seconds:.1f} s ({studies / seconds:.0f} jobs/s); "
        f"target < 15 s: {'met' if seconds < 15 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
