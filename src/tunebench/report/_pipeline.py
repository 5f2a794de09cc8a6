"""The three analysis steps: trial table → statistics CSVs → figures, and CSVs → summary.

Every output is written atomically (:mod:`tunebench.core.files`), so an interrupted run never
leaves a half-written file for Snakemake to trust.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunebench import stats
from tunebench.core.files import write_csv, write_json, write_text
from tunebench.core.outputs import FIGURE_FILES, STATS_FILES, SUMMARY_FILE, stem
from tunebench.core.space import SearchSpace

__all__ = ["compare", "plot", "slice_at", "summarise"]


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


STUDY_GROUP = ("task", "optimizer", "budget", "seed")


def slice_at(trials: pd.DataFrame, currency: str, limit: float) -> pd.DataFrame:
    """Each study's trials as if its budget had been ``limit`` in ``currency``.

    Keeps the trials whose cumulative spend (``cum_trials``/``cum_epochs``/``cum_seconds``)
    is within ``limit``: the study's incumbent at that spend, and its test score, are then
    what the statistics use. Studies with no trial inside the limit drop out.
    """
    if currency not in stats.CURRENCIES:
        raise ValueError(f"currency must be one of {list(stats.CURRENCIES)}, got {currency!r}")
    if not limit > 0:
        raise ValueError(f"a slice needs a positive limit, got {currency}={limit!r}")
    spent = pd.to_numeric(trials[f"cum_{currency}"], errors="coerce")
    return trials[spent <= limit].reset_index(drop=True)


def _family(
    scores: pd.DataFrame,
    pairwise: pd.DataFrame,
    models: stats.ModelComparison,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    correction = options["correction"]
    return {
        "budget": options["budget"],
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
        "alpha": options["alpha"],
        "why": "one hypothesis per pair of optimizers at equal budget; trials inside a study "
        "are not hypotheses (different numbers of tuning samples are a budget confound, "
        "removed by comparing at equal budget)",
        "p_a_better": "P(A better than B) over paired (task, seed) units, ties count 1/2, "
        "stratified-bootstrap CI (seeds resampled within tasks)",
        "omnibus": "Friedman χ² with Iman–Davenport F over blocks; Nemenyi CD for reference",
        "model_comparison": models.families,
        **{k: v for k, v in options.items() if k not in ("budget", "correction", "alpha")},
    }


def _power(pairwise: pd.DataFrame, alpha: float) -> dict[str, Any] | None:
    """What the design can show (:func:`tunebench.stats.design_power`), for the largest
    observed effect, as a JSON object (``None`` without pairs)."""
    if pairwise.empty or not pairwise["n"].max() > 0:
        return None
    gaps = (pairwise["p_a_better"].astype(float) - 0.5).abs()
    strongest = pairwise.loc[gaps.idxmax()]
    power = stats.design_power(
        int(pairwise["n"].max()), len(pairwise), alpha, float(strongest["p_a_better"])
    )
    fields = {
        k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(power).items()
    }
    return {**fields, "pair": [str(strongest["optimizer_a"]), str(strongest["optimizer_b"])]}


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
    comparisons: Mapping[str, Sequence[str]] | None = None,
    spaces: Mapping[str, SearchSpace | Mapping[str, Any]] | None = None,
    jobs: int = 1,
    at: tuple[str, float] | None = None,
) -> dict[str, Path]:
    """Compare the optimizers of one budget and write every statistics file to ``out_dir``.

    Files (:data:`~tunebench.core.outputs.STATS_FILES`): per-study scores and normalised scores,
    per-task medians with CIs, ranks and mean ranks, the omnibus test with Nemenyi's CD,
    Nemenyi p-values, the mean ranks of the CD diagram, pairwise Wilcoxon tests with
    ``correction`` and P(A > B), aggregates (median / IQM / mean) and performance profiles of
    normalised scores, anytime bands in trials / epochs / seconds, expected-max curves, ranks
    at 25/50/100 % of the budget, Bayesmark's normalised mean score per trial (per task and
    over tasks), the cost breakdown, exploration density, the model
    comparison (over *all* budgets of the table; empty files with headers when
    ``comparisons`` is empty) and ``family.json``.

    Args:
        trials: Trial table, or a ``.parquet``/``.csv`` path to one.
        out_dir: Directory for the outputs (created).
        budget: Budget name to analyse; ``None`` requires the table to hold a single budget.
        alpha: Level of the decisions (pairwise tests, Nemenyi CD).
        correction: ``holm``, ``bh`` or ``by``.
        baseline: Optimizer that defines 1 in the normalised scores.
        block: Friedman blocks, ``task`` or ``task_seed``.
        n_boot: Bootstrap replicates of every interval.
        random_state: Seed of the bootstraps and of the density probes.
        comparisons: Model-comparison groups (group → tasks sharing a data set).
        spaces: Task → search space for the density mapping (others are inferred).
        jobs: Threads for the exploration density, the costliest table (O(n²) per study);
            the output does not depend on it.
        at: ``(currency, limit)``: compare the budget's studies re-sliced at that spend
            (:func:`slice_at`), e.g. ``("epochs", 200)`` for a trials budget's studies after
            200 epochs each. ``None``: the whole budget.

    Returns:
        File stem (``"omnibus"``, ``"family"``, ...) → path of each file written.

    Raises:
        ValueError: Several budgets and ``budget=None``, an unknown budget, bad options or a
            bad comparison group.
    """
    if correction not in stats.CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(stats.CORRECTIONS)}")
    if block not in ("task", "task_seed"):
        raise ValueError(f"block must be 'task' or 'task_seed', got {block!r}")
    everything = _load_trials(trials)
    trials, budget_name = _select_budget(everything, budget)
    sliced: dict[str, Any] = {}
    if at is not None:
        currency, limit = at
        whole = trials
        trials = slice_at(whole, currency, limit)
        if trials.empty:
            raise ValueError(f"no study of budget {budget_name!r} spent within {currency}={limit}")
        spent = whole.groupby(list(STUDY_GROUP), observed=True)[f"cum_{currency}"].max()
        sliced = {
            "slice": {"currency": currency, "limit": limit},
            "studies_dropped": int(len(spent) - trials.groupby(list(STUDY_GROUP)).ngroups),
            "studies_short_of_slice": int((spent < limit).sum()),
        }
        budget_name = f"{budget_name} at {currency}={limit:g}"
    boot = {"n_boot": n_boot, "random_state": random_state}

    scores = stats.normalised_scores(stats.study_scores(trials), baseline=baseline)
    # Ranks need every optimizer in every block: one limited to some tasks is left out of them.
    restricted = stats.restricted_optimizers(scores)
    ranked = scores[~scores["optimizer"].astype(str).isin(restricted)]
    rank_table = stats.ranks(ranked)
    omnibus = stats.friedman(ranked, block=block, alpha=alpha)
    cd = stats.cd_ranks(ranked, block=block).assign(
        cd=omnibus.nemenyi_cd, alpha=alpha, block=block
    )
    pairwise = stats.pairwise_wilcoxon(scores, correction=correction, alpha=alpha, **boot)
    band = pd.concat(
        [
            stats.bootstrap_band(stats.anytime(trials, currency=c), **boot)
            for c in stats.CURRENCIES
        ],
        ignore_index=True,
    )
    bayesmark = stats.bayesmark_scores(trials, baseline=baseline)
    keys = [k for k in ("task", "optimizer", "budget", "seed") if k in scores]
    density = stats.exploration_density(trials, spaces, random_state=random_state, workers=jobs)
    density = stats.relative_density(density, baseline=baseline).merge(
        scores[[*keys, "test_value", "normalised"]], on=keys, how="left"
    )
    models = stats.compare_models(
        everything, comparisons, correction=correction, alpha=alpha, **boot
    )
    options = {
        "budget": budget_name,
        "correction": correction,
        "alpha": alpha,
        "baseline": baseline,
        # what 1 means per task: the baseline's mean, or the worst mean where it is absent
        "normalisers": sorted(set(scores["normaliser"].astype(str))),
        "friedman_block": block,
        "n_boot": n_boot,
        "random_state": random_state,
        "comparisons": {k: list(v) for k, v in (comparisons or {}).items()},
        "power": _power(pairwise, alpha),
        # optimizer → tasks it has no study on: left out of ranks, Friedman, Nemenyi and CD
        "restricted": restricted,
        **sliced,
    }
    tables = {
        "scores": scores,
        "task_scores": stats.task_scores(scores, **boot),
        "ranks": rank_table,
        "mean_ranks": stats.mean_ranks(rank_table, **boot),
        "omnibus": omnibus.to_frame(),
        "nemenyi": stats.nemenyi(ranked, block=block, alpha=alpha),
        "cd_ranks": cd,
        "pairwise": pairwise,
        "aggregates": stats.aggregates(scores, **boot),
        "profiles": stats.performance_profiles(scores, **boot),
        "anytime": band,
        "expected_max": stats.expected_max_curves(trials),
        "budget_ranks": stats.budget_ranks(
            trials[~trials["optimizer"].astype(str).isin(restricted)], **boot
        ),
        "bayesmark": bayesmark,
        "bayesmark_summary": stats.bayesmark_summary(bayesmark, baseline=baseline),
        "cost": stats.cost_breakdown(trials),
        "density": density,
        "models": models.models,
        "model_pairwise": models.pairwise,
        "model_expected_max": models.expected_max,
    }
    out = Path(out_dir)
    written = {}
    for name in STATS_FILES:
        key = stem(name)
        if key == "family":
            family = _family(scores, pairwise, models, options)
            written[key] = write_json(
                out / name, family, indent=2, ensure_ascii=False, default=str
            )
        else:
            written[key] = write_csv(out / name, tables[key])
    return written


def _read(src: Path, name: str) -> pd.DataFrame:
    path = src / name
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _figure_makers(src: Path) -> dict[str, Callable[[Path], Path]]:
    """Figure stem → function drawing it to a path, from the tables in ``src``."""
    from tunebench import plots  # matplotlib only when figures are wanted

    t = {stem(n): _read(src, n) for n in STATS_FILES if n.endswith(".csv")}
    colours = plots.colours_of(t["scores"]["optimizer"])
    ranks = t["mean_ranks"]
    ranking = ranks.sort_values("mean_rank", kind="stable")["optimizer"].astype(str).tolist()
    alpha = float(t["omnibus"]["alpha"].iloc[0]) if "alpha" in t["omnibus"] else 0.05
    band = t["anytime"]

    def message(title: str, why: str) -> Callable[[Path], Path]:
        return lambda p: plots.plot_message(p, title, why)

    def when(table: str, draw: Callable[[Path], Path], title: str, why: str):
        return draw if len(t[table]) else message(title, why)

    def anytime(currency: str) -> Callable[[Path], Path]:
        sel = band[band["currency"] == currency] if "currency" in band else band.iloc[:0]
        if sel.empty:
            return message(f"best so far vs {currency}", f"no task spends {currency}")
        return lambda p: plots.plot_anytime(sel, p, currency, palette=colours, ranking=ranking)

    no_models = "no model comparison declared (config section `comparisons:`)"
    return {
        "test_scores": lambda p: plots.plot_test_scores(t["scores"], p, palette=colours),
        "aggregates": lambda p: plots.plot_aggregates(t["aggregates"], p, palette=colours),
        "profiles": lambda p: plots.plot_profiles(
            t["profiles"], p, palette=colours, ranking=ranking
        ),
        "ranks": lambda p: plots.plot_ranks(t["mean_ranks"], p, palette=colours),
        "cd_diagram": when(
            "pairwise",
            lambda p: plots.plot_cd_diagram(
                t["cd_ranks"], t["pairwise"], p, alpha=alpha, palette=colours
            ),
            "critical-difference diagram",
            "fewer than two optimizers",
        ),
        "p_a_better": when(
            "pairwise",
            lambda p: plots.plot_p_a_better(t["pairwise"], p),
            "P(A > B)",
            "fewer than two optimizers",
        ),
        "anytime_trials": anytime("trials"),
        "anytime_epochs": anytime("epochs"),
        "anytime_seconds": anytime("seconds"),
        "expected_max": when(
            "expected_max",
            lambda p: plots.plot_expected_max(
                t["expected_max"], p, palette=colours, ranking=ranking
            ),
            "expected best validation score vs trials",
            "no i.i.d. (random-search) optimizer in the experiment",
        ),
        "budget_ranks": lambda p: plots.plot_budget_ranks(t["budget_ranks"], p, palette=colours),
        "cost": lambda p: plots.plot_cost(t["cost"], p),
        "density": lambda p: plots.plot_density(t["density"], p, palette=colours),
        "models": when(
            "models",
            lambda p: plots.plot_models(t["models"], p, pairwise=t["model_pairwise"]),
            "model comparison",
            no_models,
        ),
        "model_expected_max": when(
            "model_expected_max",
            lambda p: plots.plot_model_expected_max(t["model_expected_max"], p),
            "expected best validation score per model",
            no_models if t["models"].empty else "no i.i.d. optimizer tuned the compared models",
        ),
    }


def _draw_shared(makers: Mapping[str, Callable[[Path], Path]], dst: Path, next_index: Any) -> None:
    """Draw figures of :data:`FIGURE_FILES` until none is left, each taking the next index from
    the shared counter ``next_index`` (a worker of :func:`plot`, and the parent itself)."""
    while True:
        with next_index.get_lock():
            i = next_index.value
            next_index.value += 1
        if i >= len(FIGURE_FILES):
            return
        makers[stem(FIGURE_FILES[i])](dst / FIGURE_FILES[i])


def plot(
    stats_dir: str | os.PathLike[str], fig_dir: str | os.PathLike[str], *, jobs: int = 1
) -> dict[str, Path]:
    """Draw every figure of :data:`~tunebench.core.outputs.FIGURE_FILES` from a compare dir.

    A figure whose table is empty (no i.i.d. optimizer for the expected-max curves, no task
    with epochs, no model comparison declared) is drawn as a short message, so that every
    declared output exists.

    Args:
        stats_dir: Directory written by :func:`compare`.
        fig_dir: Directory for the PNGs (created).
        jobs: Processes drawing: this one and ``jobs - 1`` forked from it once the tables are
            read and matplotlib is imported (so a worker pays neither), each taking the next
            figure not yet taken.

    Returns:
        Figure stem (``"cd_diagram"``, ...) → path, in the order of ``FIGURE_FILES``.

    Raises:
        RuntimeError: A worker failed (its traceback is on stderr).
    """
    dst = Path(fig_dir)
    dst.mkdir(parents=True, exist_ok=True)
    makers = _figure_makers(Path(stats_dir))
    jobs = max(1, min(jobs, len(FIGURE_FILES)))
    if jobs == 1:
        for name in FIGURE_FILES:
            makers[stem(name)](dst / name)
    else:
        import gc
        import multiprocessing

        context = multiprocessing.get_context("fork")
        gc.freeze()  # no collection touches (and so copies) the pages the workers share
        next_index = context.Value("i", 0)
        workers = [
            context.Process(target=_draw_shared, args=(makers, dst, next_index))
            for _ in range(jobs - 1)
        ]
        for worker in workers:
            worker.start()
        try:
            _draw_shared(makers, dst, next_index)
        finally:
            for worker in workers:
                worker.join()
            gc.unfreeze()
        failed = sum(worker.exitcode != 0 for worker in workers)
        if failed:
            raise RuntimeError(f"{failed} figure worker(s) failed (traceback above)")
    return {stem(n): dst / n for n in FIGURE_FILES}


def summarise(
    stats_dir: str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    html: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the Markdown summary of a :func:`compare` directory (:func:`render_summary`).

    Args:
        stats_dir: Directory written by :func:`compare`.
        path: Markdown file to write (default ``<stats_dir>/summary.md``; the workflow writes
            ``results/summary.md``).
        html: Also write the summary as a standalone HTML page here (for the report).

    Returns:
        The Markdown path written.
    """
    from tunebench.report._summary import render_summary

    src = Path(stats_dir)
    family = json.loads((src / "family.json").read_text(encoding="utf-8"))
    text = render_summary(
        task_scores=_read(src, "task_scores.csv"),
        mean_ranks=_read(src, "mean_ranks.csv"),
        omnibus=_read(src, "omnibus.csv"),
        pairwise=_read(src, "pairwise.csv"),
        family=family,
        aggregates=_read(src, "aggregates.csv"),
        model_pairwise=_read(src, "model_pairwise.csv"),
    )
    if html is not None:
        write_text(html, _html_page(text))
    return write_text(Path(path) if path is not None else src / SUMMARY_FILE, text)


def _html_page(markdown_text: str) -> str:
    """The summary as a small standalone HTML page (tables ruled, readable width)."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables"])
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em}"
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><style>{style}</style>'
        f"<title>tunebench summary</title></head><body>\n{body}\n</body></html>\n"
    )
