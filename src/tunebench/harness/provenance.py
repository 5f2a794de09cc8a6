"""What a run records about where it ran: package versions, git commit, host."""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["git_commit", "package_versions", "provenance"]

PACKAGES = (
    "tunebench",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "torch",
    "optuna",
    "cmaes",
    "hyperopt",
    "mlflow",
    "snakemake",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (packages that are not installed are left out)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(where: str | Path = ".") -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the repository around ``where``."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=where, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def provenance() -> dict[str, Any]:
    """Versions, git state, host and Python of the current process (found once a process: a
    job's studies share them)."""
    return copy.deepcopy(_process_provenance())


@functools.cache
def _process_provenance() -> dict[str, Any]:
    return {
        "versions": package_versions(),
        "git": git_commit(),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }
