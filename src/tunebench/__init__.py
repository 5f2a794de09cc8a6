"""tunebench: fair, reproducible comparisons of hyperparameter optimisers and of tuned models.

The package is layered; a folder imports only the folders below it:

- :mod:`tunebench.core` — search space, budgets, the trial-table contract, config, matrix, outputs;
- :mod:`tunebench.tasks` — what is tuned (synthetic functions, scikit-learn and PyTorch models);
- :mod:`tunebench.harness` — one trial's evaluation, the recorder, MLflow tracking, provenance;
- :mod:`tunebench.frameworks` — one adapter per HPO framework behind ``Optimizer.run``;
- :mod:`tunebench.stats` and :mod:`tunebench.plots` — statistics on trial tables, figures of them;
- :mod:`tunebench.report` — trial table → statistics files → figures → summary;
- :mod:`tunebench.study` and :mod:`tunebench.cli` — one study, and the ``tunebench`` command.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed distribution when first asked for (reading
    package metadata costs 0.1 s, which every tuning job would pay on ``import tunebench``)."""
    if name != "__version__":
        raise AttributeError(f"module 'tunebench' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tunebench")
    except PackageNotFoundError:  # a source tree that is not installed
        return "0+unknown"
