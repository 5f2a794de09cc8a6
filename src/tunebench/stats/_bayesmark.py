"""Bayesmark's normalised mean score, per task and over tasks, at every trial of the budget.

Bayesmark (Turner et al., 2021, PMLR 133, "Bayesian Optimization is Superior to Random Search
for Machine Learning Hyperparameter Tuning", Sec. 2; ``bayesmark/experiment_analysis.py`` and
``experiment_baseline.py``; docs "How scoring works") scores a study on problem ``p`` after
``t`` evaluations by the loss ``S`` of its incumbent, with two reference points per problem:

- ``opt_p``, the best loss any evaluation of any optimizer reached on ``p`` (the "best known");
- ``clip_p``, the median loss of one random-search evaluation.

The normalised score of a study is ``clip((S - opt_p) / (clip_p - opt_p), -1, 1)``: 0 at the
best known, 1 at a typical random draw (and for a study with no result yet, as Bayesmark's
crashed evaluations are clipped there). Its mean over seeds is the per-problem *normalised mean
score*; its mean over problems is the *mean score* (the challenge's leaderboard shows
``100 × (1 - mean score)``), and dividing by random search's own mean score at the same ``t``
gives the *normalised mean score* over problems: 0 = best known, 1 = random search at every
``t``.

Losses are ``value`` (``minimize``) or ``-value`` (``maximize``). Two objectives, as Bayesmark's
``_visible_to_opt`` and ``generalization``: ``validation`` (``value``, the incumbent's validation
loss) and ``test`` (the incumbent's ``test_value``). Where tunebench's records differ from
Bayesmark's: random search is the ``baseline`` optimizer; for ``test``, ``opt_p`` is the best test
loss recorded (only incumbents are re-scored) and ``clip_p`` the median of each baseline study's
first recorded test loss; random search's mean score at ``t`` is its mean over seeds, where
Bayesmark pools all random evaluations into an unbiased estimate of the expected minimum of
``t`` draws (same expectation, smaller variance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tunebench.core.tables import require_columns
from tunebench.stats._metrics import _incumbent_positions
from tunebench.stats._util import sign, study_index, study_keys, task_groups

__all__ = ["OBJECTIVES", "bayesmark_normalise", "bayesmark_scores", "bayesmark_summary"]

#: Bayesmark's two objectives → the trial-table column scored.
OBJECTIVES: dict[str, str] = {"validation": "value", "test": "test_value"}


def bayesmark_normalise(loss: np.ndarray, opt: float, clip: float) -> np.ndarray:
    """``clip((loss - opt) / (clip - opt), -1, 1)``, NaN loss → 1; all NaN if ``clip <= opt``.

    Args:
        loss: Incumbent losses (lower is better), any shape; NaN = no result yet.
        opt: Best known loss ``opt_p``.
        clip: Median loss of one random evaluation ``clip_p``.
    """
    loss = np.asarray(loss, dtype=float)
    if not (np.isfinite(opt) and np.isfinite(clip) and clip > opt):
        return np.full(loss.shape, np.nan)
    out = np.clip((loss - opt) / (clip - opt), -1.0, 1.0)
    return np.where(np.isnan(loss), 1.0, out)


def _study_curves(trials: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (study, t = 1..T) the incumbent's validation and test loss after t trials, and the
    table of studies (row i = study id i).

    ``T`` is the most trials of any study of the same (task, budget); a shorter study keeps its
    last incumbent.
    """
    keys = study_keys(trials)
    sid, first = study_index(trials, keys)
    value = pd.to_numeric(trials["value"], errors="coerce").to_numpy(dtype=float)
    test = pd.to_numeric(trials["test_value"], errors="coerce").to_numpy(dtype=float)
    s = sign(trials["direction"])
    complete = trials["status"].eq("complete").fillna(False).to_numpy(dtype=bool)
    loss = np.where(complete & np.isfinite(value), s * value, np.nan)
    incumbent = np.zeros(len(trials), dtype=bool)
    incumbent[_incumbent_positions(trials, sid)] = True
    frame = pd.DataFrame(
        {
            "_sid": sid,
            "_trial": trials["trial"].to_numpy(),
            "_loss": loss,
            "validation": np.where(incumbent, loss, np.nan),
            "test": np.where(incumbent, s * test, np.nan),
        }
    ).sort_values(["_sid", "_trial"], kind="stable")
    frame["t"] = frame.groupby("_sid").cumcount() + 1
    frame[["validation", "test"]] = frame.groupby("_sid")[["validation", "test"]].ffill()
    studies = trials[keys].iloc[first].reset_index(drop=True)
    groups = task_groups(studies)
    n_t = frame.groupby("_sid")["t"].max().reindex(range(len(first))).to_numpy()
    horizon = pd.Series(n_t).groupby([studies[g] for g in groups]).transform("max").to_numpy()
    grid = pd.DataFrame(
        {
            "_sid": np.repeat(np.arange(len(first)), horizon),
            "t": np.concatenate([np.arange(1, h + 1) for h in horizon]),
        }
    )
    out = grid.merge(frame, on=["_sid", "t"], how="left")
    out[["validation", "test"]] = out.groupby("_sid")[["validation", "test"]].ffill()
    return out, studies


def bayesmark_scores(trials: pd.DataFrame, baseline: str = "random") -> pd.DataFrame:
    """Bayesmark's normalised mean score per (budget, task, optimizer, objective, t).

    See the module docstring for ``opt_p``, ``clip_p`` and the formula. Per task and
    objective, ``opt`` and ``clip`` are computed over all optimizers' and the ``baseline``'s
    records; a task without the ``baseline`` (or with ``clip <= opt``) gets NaN scores.

    Args:
        trials: Trial table (:mod:`tunebench.core.tables`), one row per trial.
        baseline: The random-search optimizer (``clip_p`` and the score 1).

    Returns:
        ``budget, task, optimizer, objective, t, n_seeds, opt, clip, score``: ``t`` is the
        number of trials spent (1..T), ``opt``/``clip`` losses (lower is better), ``score`` the
        mean over seeds of the normalised study scores.
    """
    require_columns(trials, ("trial", "status", "value", "test_value", "direction"), "trial table")
    curves, studies = _study_curves(trials)
    keys = study_keys(trials)
    groups = task_groups(studies)
    sid = study_index(trials, keys)[0]
    s = sign(trials["direction"])
    complete = trials["status"].eq("complete").fillna(False).to_numpy(dtype=bool)
    value = pd.to_numeric(trials["value"], errors="coerce").to_numpy(dtype=float)
    test = pd.to_numeric(trials["test_value"], errors="coerce").to_numpy(dtype=float)
    records = pd.DataFrame(
        {
            "_sid": sid,
            "_trial": trials["trial"].to_numpy(),
            "validation": np.where(complete, s * value, np.nan),
            "test": s * test,
        }
    ).sort_values(["_sid", "_trial"], kind="stable")
    records = records.join(studies[[*groups, "optimizer"]], on="_sid")
    frames = []
    for objective in OBJECTIVES:
        for _, rec in records.groupby(groups, sort=True):
            opt = float(np.nanmin(rec[objective])) if rec[objective].notna().any() else np.nan
            ids = rec["_sid"].unique()
            if objective == "test":  # each study's first recorded test loss
                rec = rec.dropna(subset=["test"]).groupby("_sid", as_index=False).first()
            base = rec.loc[rec["optimizer"] == baseline, objective]
            clip = float(np.nanmedian(base)) if base.notna().any() else np.nan
            cur = curves[curves["_sid"].isin(ids)]
            frame = cur[["_sid", "t"]].assign(
                objective=objective,
                opt=opt,
                clip=clip,
                normalised=bayesmark_normalise(cur[objective].to_numpy(), opt, clip),
            )
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out = out.join(studies[[*groups, "optimizer"]], on="_sid")
    by = [*groups, "optimizer", "objective", "t"]
    table = out.groupby(by, sort=True).agg(
        n_seeds=("_sid", "nunique"),
        opt=("opt", "first"),
        clip=("clip", "first"),
        score=("normalised", "mean"),
    )
    cols = [*(["budget"] if "budget" in groups else []), "task", "optimizer", "objective", "t"]
    return table.reset_index()[[*cols, "n_seeds", "opt", "clip", "score"]]


def bayesmark_summary(scores: pd.DataFrame, baseline: str = "random") -> pd.DataFrame:
    """Bayesmark's scores over tasks per (budget, optimizer, objective, t).

    ``mean_score`` is the mean over tasks of :func:`bayesmark_scores`' ``score`` (Bayesmark's
    ``summary["mean"]``), ``leaderboard`` ``100 × (1 - mean_score)`` (the challenge's score) and
    ``normalised_mean_score`` ``mean_score`` over the ``baseline``'s ``mean_score`` at the same
    budget, objective and ``t`` (``summary["mean normed"]``: random search is 1 at every ``t``).

    Args:
        scores: Output of :func:`bayesmark_scores`.
        baseline: The random-search optimizer.

    Returns:
        ``budget, optimizer, objective, t, n_tasks, mean_score, normalised_mean_score,
        leaderboard``.
    """
    require_columns(scores, ("task", "optimizer", "objective", "t", "score"), "scores")
    at = [c for c in ("budget",) if c in scores.columns]
    out = (
        scores.groupby([*at, "optimizer", "objective", "t"], sort=True)["score"]
        .agg(n_tasks="count", mean_score="mean")
        .reset_index()
    )
    ref = out.loc[out["optimizer"] == baseline, [*at, "objective", "t", "mean_score"]]
    out = out.merge(ref.rename(columns={"mean_score": "_ref"}), on=[*at, "objective", "t"],
                    how="left")  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = out["mean_score"] / out.pop("_ref")
    out["normalised_mean_score"] = ratio.where(np.isfinite(ratio))
    out["leaderboard"] = 100.0 * (1.0 - out["mean_score"])
    return out
