"""Orchestration of the comparison of optimizers: statistics to CSV, then CSV to figures.

:func:`compare` turns a trial table into the statistics files of one budget; :func:`plot`
turns those files into figures. Both write atomically (temporary file + ``os.replace``), so
an interrupted run never leaves a half-written output for Snakemake to trust.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from tunebench import stats

__all__ = ["FIGURES", "STATS_FILES", "compare", "plot"]

#: Names (keys of the dict :func:`compare` returns) → file names in ``out_dir``.
STATS_FILES: dict[str, str] = {
    "scores": "scores.csv",
    "ranks": "ranks.csv",
    "mean_ranks": "mean_ranks.csv",
    "friedman": "friedman.csv",
    "pairwise": "pairwise.csv",
    "anytime": "anytime.csv",
    "family": "family.json",
}

#: Names (keys of the dict :func:`plot` returns) → file names in ``fig_dir``.
FIGURES: dict[str, str] = {
    "anytime": "anytime.png",
    "test_scores": "test_scores.png",
    "ranks": "ranks.png",
}


def _write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write`` on a temporary sibling of ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_csv(df: pd.DataFrame, path: Path) -> Path:
    return _write_atomic(path, lambda tmp: df.to_csv(tmp, index=False))


def _write_json(obj: Any, path: Path) -> Path:
    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    return _write_atomic(path, write)


def _load_trials(trials: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    if isinstance(trials, pd.DataFrame):
        return trials
    path = Path(trials)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"trial table must be .parquet or .csv, got {path}")


def _select_budget(trials: pd.DataFrame, budget: str | None) -> tuple[pd.DataFrame, str]:
    if trials.empty:
        raise ValueError("trial table is empty")
    present = sorted(trials["budget"].astype(str).unique())
    if budget is None:
        if len(present) != 1:
            raise ValueError(f"trials span budgets {present}; pass budget= to compare one of them")
        return trials, present[0]
    if str(budget) not in present:
        raise ValueError(f"budget {budget!r} not in the trial table; budgets present: {present}")
    return trials[trials["budget"].astype(str) == str(budget)].reset_index(drop=True), str(budget)


def compare(
    trials: pd.DataFrame | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    budget: str | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    baseline: str = "random",
    block: str = "task",
    n_boot: int = 1000,
    random_state: int = 0,
) -> dict[str, Path]:
    """Compare the optimizers of one budget and write the statistics to ``out_dir``.

    Files: ``scores.csv`` (:func:`~tunebench.stats.study_scores` +
    :func:`~tunebench.stats.normalised_scores`), ``ranks.csv`` (per (task, seed) block),
    ``mean_ranks.csv``, ``friedman.csv`` (one row), ``pairwise.csv`` (Wilcoxon with
    ``correction``), ``anytime.csv`` (bootstrap band of best-so-far validation per trial) and
    ``family.json`` (the family of pairwise tests: pairs, budget, tasks, seeds, correction,
    alpha).

    Args:
        trials: Trial table, or a ``.parquet``/``.csv`` path to one.
        out_dir: Directory for the outputs (created).
        budget: Budget name to analyse; ``None`` requires the table to hold a single budget.
        alpha: Level of the pairwise decisions.
        correction: ``holm``, ``bh`` or ``by``.
        baseline: Optimizer that defines 1 in the normalised scores.
        block: Friedman blocks, ``task`` or ``task_seed``.
        n_boot: Bootstrap replicates of the rank CIs and anytime bands.
        random_state: Seed of the bootstraps.

    Returns:
        Name → path of each file written (names as in :data:`STATS_FILES`).

    Raises:
        ValueError: Several budgets and ``budget=None``, an unknown budget, or bad options.
    """
    if correction not in stats.CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(stats.CORRECTIONS)}")
    if block not in ("task", "task_seed"):
        raise ValueError(f"block must be 'task' or 'task_seed', got {block!r}")
    trials, budget_name = _select_budget(_load_trials(trials), budget)

    scores = stats.normalised_scores(stats.study_scores(trials), baseline=baseline)
    rank_table = stats.ranks(scores)
    mean_rank = stats.mean_ranks(rank_table, n_boot=n_boot, random_state=random_state)
    omnibus = stats.friedman(scores, block=block)
    pairwise = stats.pairwise_wilcoxon(scores, correction=correction, alpha=alpha)
    band = stats.bootstrap_band(
        stats.anytime(trials, currency="trials"), n_boot=n_boot, random_state=random_state
    )
    family = {
        "budget": budget_name,
        "tasks": sorted(scores["task"].astype(str).unique()),
        "seeds": sorted(scores["seed"].unique().tolist()),
        "optimizers": sorted(scores["optimizer"].astype(str).unique()),
        "pairs": pairwise[["optimizer_a", "optimizer_b"]].values.tolist(),
        "n_pairs": len(pairwise),
        "description": pairwise["family"].iloc[0] if len(pairwise) else "no pairs",
        "test": "two-sided Wilcoxon signed-rank (zero_method='zsplit') on normalised test "
        "scores, paired over (task, seed)",
        "correction": correction,
        "multipletests_method": stats.CORRECTIONS[correction],
        "alpha": alpha,
        "baseline": baseline,
        "friedman_block": block,
        "n_boot": n_boot,
        "random_state": random_state,
    }

    out = Path(out_dir)
    tables = {
        "scores": scores,
        "ranks": rank_table,
        "mean_ranks": mean_rank,
        "friedman": omnibus.to_frame(),
        "pairwise": pairwise,
        "anytime": band,
    }
    written = {name: _write_csv(df, out / STATS_FILES[name]) for name, df in tables.items()}
    written["family"] = _write_json(family, out / STATS_FILES["family"])
    return written


def plot(stats_dir: str | os.PathLike[str], fig_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Draw the figures of one :func:`compare` output directory.

    Args:
        stats_dir: Directory written by :func:`compare`.
        fig_dir: Directory for the PNGs (created).

    Returns:
        Name → path of ``anytime.png``, ``test_scores.png`` and ``ranks.png``.
    """
    from tunebench import plots  # matplotlib only when figures are wanted

    src, dst = Path(stats_dir), Path(fig_dir)
    band = pd.read_csv(src / STATS_FILES["anytime"])
    scores = pd.read_csv(src / STATS_FILES["scores"])
    mean_rank = pd.read_csv(src / STATS_FILES["mean_ranks"])
    return {
        "anytime": plots.plot_anytime(band, dst / FIGURES["anytime"]),
        "test_scores": plots.plot_test_scores(scores, dst / FIGURES["test_scores"]),
        "ranks": plots.plot_ranks(mean_rank, dst / FIGURES["ranks"]),
    }
