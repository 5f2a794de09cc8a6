"""Ray Tune adapter: ``Tuner.fit`` owns the loop; the harness steers it from the driver.

``search``: ``random``, ``optuna`` (TPE) or ``hyperopt``, each seeded; ``scheduler``: ``fifo``,
``asha``, ``hyperband`` (asynchronous) or ``median``, acting on the epochs a task reports.
Trials run in Ray workers and are recorded by the driver (:mod:`tunebench.frameworks._ray_tune`);
a resumed study replays its journal through the searcher and the scheduler. Ray runs as a local
cluster of the job's threads with its files in the study directory, or on an existing cluster
(``address``). Details: docs/frameworks.md#ray.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tunebench.frameworks.base import Optimizer, OptimizerConfigError, job_threads
from tunebench.harness.recorder import Recorder
from tunebench.tasks.base import Task

__all__ = ["RayOptimizer"]

SEARCHES = ("random", "optuna", "hyperopt")
SCHEDULERS = ("fifo", "asha", "hyperband", "median")
# what a user may set; the clock (epochs), max_t (the task's epochs), metric and mode are fixed
_ASHA_OPTIONS = ("grace_period", "reduction_factor", "brackets", "stop_last_trials")
SCHEDULER_OPTIONS: dict[str, tuple[str, ...]] = {
    "fifo": (),
    "asha": _ASHA_OPTIONS,
    "hyperband": _ASHA_OPTIONS,
    "median": ("grace_period", "min_samples_required"),
}
_SEARCH_MODULES = {"random": (), "optuna": ("optuna",), "hyperopt": ("hyperopt",)}
# Unix socket paths are limited to 107 bytes; Ray puts them at
# <temp>/session_<26-char date>_<pid>/sockets/plasma_store[.N]
_SOCKET_TAIL = len("/session_2000-01-01_00-00-00_000000_") + len("/sockets/plasma_store.99")


class RayOptimizer(Optimizer):
    """Ray Tune's ``Tuner`` with one search algorithm and one trial scheduler.

    Args:
        search: The search algorithm (``SEARCHES``).
        scheduler: The trial scheduler (``SCHEDULERS``); used on tasks that report epochs.
        search_options: Keyword arguments for ``TPESampler`` or ``HyperOptSearch``.
        scheduler_options: Keyword arguments for the scheduler (``SCHEDULER_OPTIONS``).
        workers: Trials run at once (Tune's ``max_concurrent_trials``); each gets
            ``num_cpus // workers`` CPUs.
        num_cpus: CPUs of the local cluster (``None``: ``$OMP_NUM_THREADS``, the job's threads).
        reuse_actors: Run trials in the same worker processes (measured here: 0.03 s instead of
            5.3 s of overhead per trial).
        address: An existing Ray cluster to run on; its workers must import the task's module,
            and the study directory must be on storage its nodes share.
    """

    framework = "ray"

    def __init__(
        self,
        *,
        name: str,
        search: str = "random",
        scheduler: str = "fifo",
        search_options: Mapping[str, Any] | None = None,
        scheduler_options: Mapping[str, Any] | None = None,
        workers: int = 1,
        num_cpus: int | None = None,
        reuse_actors: bool = True,
        address: str | None = None,
    ) -> None:
        for key, value, allowed in (
            ("search", search, SEARCHES),
            ("scheduler", scheduler, SCHEDULERS),
        ):
            if value not in allowed:
                raise OptimizerConfigError(
                    f"optimizers.{name}.{key}: unknown {key} {value!r} "
                    f"(choose from: {', '.join(allowed)})"
                )
        missing = [m for m in _SEARCH_MODULES[search] if importlib.util.find_spec(m) is None]
        if missing:
            raise OptimizerConfigError(
                f"optimizers.{name}.search: {search} needs {', '.join(missing)}: "
                f"pip install 'tunebench[{search}]'"
            )
        for key, value in (("workers", workers), ("num_cpus", num_cpus)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise OptimizerConfigError(f"optimizers.{name}.{key}: not an integer: {value!r}")
            if value is not None and value < 1:
                raise OptimizerConfigError(f"optimizers.{name}.{key}: must be >= 1, got {value}")
        unknown = sorted(set(scheduler_options or {}) - set(SCHEDULER_OPTIONS[scheduler]))
        if unknown:
            raise OptimizerConfigError(
                f"optimizers.{name}.scheduler_options: {scheduler} does not take {unknown} "
                f"(it takes: {', '.join(SCHEDULER_OPTIONS[scheduler]) or 'nothing'})"
            )
        if search == "random" and search_options:
            raise OptimizerConfigError(
                f"optimizers.{name}.search_options: random search takes none, "
                f"got {sorted(search_options)}"
            )
        self.name = name
        self.search = search
        self.scheduler = scheduler
        self.search_options = dict(search_options or {})
        self.scheduler_options = dict(scheduler_options or {})
        self.workers = workers
        self.num_cpus = num_cpus
        self.reuse_actors = bool(reuse_actors)
        self.address = address
        self.algorithm = search if scheduler == "fifo" else f"{search}+{scheduler}"

    def run(self, task: Task, seed: int, recorder: Recorder) -> None:
        """Run ``Tuner.fit`` until the recorder's budget is spent."""
        if recorder.exhausted:
            return
        with self._ray_session(recorder):
            from tunebench.frameworks import _ray_tune

            _ray_tune.fit(self, task, seed, recorder)

    @contextlib.contextmanager
    def _ray_session(self, recorder: Recorder) -> Iterator[None]:
        """Start (or join) Ray for one study; shut it down and clean its temp dir after."""
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():  # the caller runs Ray: use it, leave it
            yield
            return
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if self.address is None:
            _keep_auth_out_of_home()  # before Ray is imported: it reads the mode then
        import ray

        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": True,  # worker output goes to the study's log (stderr)
            "logging_level": logging.WARNING,
        }
        worker_env = {"RAY_CHDIR_TO_TRIAL_DIR": "0"}  # tasks' relative paths keep their meaning
        temp_dir = None
        if self.address is not None:
            options["address"] = self.address
        else:
            # local workers import what the driver imports (a task defined outside a package)
            worker_env["PYTHONPATH"] = os.pathsep.join(
                str(Path(p).resolve()) for p in sys.path if p and Path(p).is_dir()
            )
            temp_dir = _short_temp_dir(recorder.study_dir / "ray_tmp", recorder.progress)
            options.update(
                address="local",
                num_cpus=self.num_cpus or job_threads(),
                _temp_dir=str(temp_dir),
            )
        options["runtime_env"] = {"env_vars": worker_env}
        ray.init(**options)
        try:
            yield
        finally:
            ray.shutdown()  # with ``address``, this disconnects and leaves the cluster running
            if temp_dir is not None:
                shutil.rmtree(temp_dir, ignore_errors=True)


_AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def _keep_auth_out_of_home() -> None:
    """Give a new local cluster a token in the environment, not in ``~/.ray/auth_token``.

    Ray (2.60 here) starts local clusters with token authentication and, when no token exists,
    writes one to ``~/.ray/auth_token``. A random token in ``RAY_AUTH_TOKEN`` (one per process:
    Ray caches it) keeps authentication on and the home directory untouched. The mode is set
    too when Ray is not imported yet (it reads it on import); otherwise Ray turns token mode on
    itself, with a warning. Any of these variables set by the user wins.
    """
    if any(name in os.environ for name in _AUTH_VARIABLES):
        return
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    if "ray" not in sys.modules:
        os.environ["RAY_AUTH_MODE"] = "token"


def _short_temp_dir(preferred: Path, progress: Any) -> Path:
    """``preferred`` if Ray's socket paths under it fit in 107 bytes, else a fresh short dir."""
    limit = 107 - _SOCKET_TAIL - len(str(os.getpid()))
    preferred = preferred.resolve()
    if len(str(preferred).encode()) <= limit:
        shutil.rmtree(preferred, ignore_errors=True)
        preferred.mkdir(parents=True)
        return preferred
    base = tempfile.gettempdir()
    if len(base.encode()) + len("/tunebench-ray-xxxxxxxx") > limit:
        base = "/tmp"
    path = Path(tempfile.mkdtemp(prefix="tunebench-ray-", dir=base))
    if progress is not None:
        print(
            f"ray: temp dir {path} ({preferred} is too long for Ray's Unix socket paths); "
            "removed when the study ends",
            file=progress,
            flush=True,
        )
    return path
