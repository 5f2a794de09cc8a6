"""A Markdown summary of a comparison, in words a reader can paste into a paper's appendix.

:func:`render_summary` turns the tables of :func:`tunebench.report.compare` into Markdown:
the headline table (optimizer × task, median test score [95% CI], mean rank), the aggregate
normalised scores, the omnibus test and every significant pair in a sentence with its test,
statistic, corrected p-value and P(A > B). It formats; it computes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["render_summary"]

_BETTER = {"minimize": "lower is better", "maximize": "higher is better"}
_METHODS = {"holm": "Holm", "fdr_bh": "Benjamini–Hochberg", "fdr_by": "Benjamini–Yekutieli"}


def _num(x: Any, digits: int = 3) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not np.isfinite(v):
        return "n/a"
    return f"{v:.{digits}g}"


def _interval(estimate: Any, low: Any, high: Any) -> str:
    return f"{_num(estimate)} [{_num(low)}, {_num(high)}]"


def _p(x: Any) -> str:
    v = float(x)
    if not np.isfinite(v):
        return "n/a"
    return "< 0.001" if v < 0.001 else f"= {v:.3g}"


def _by_mean_rank(task_scores: pd.DataFrame, mean_ranks: pd.DataFrame) -> list[str]:
    """Optimizer names, best mean rank first (those without a rank last, by name)."""
    ranked = mean_ranks.sort_values(["mean_rank", "optimizer"])["optimizer"].astype(str).tolist()
    rest = sorted(set(task_scores["optimizer"].astype(str)) - set(ranked))
    return [n for n in ranked if n in set(task_scores["optimizer"].astype(str))] + rest


def _headline(task_scores: pd.DataFrame, mean_ranks: pd.DataFrame) -> list[str]:
    names = _by_mean_rank(task_scores, mean_ranks)
    lines = ["| task | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for task, g in task_scores.groupby("task", sort=True):
        g = g.assign(optimizer=g["optimizer"].astype(str)).set_index("optimizer")
        direction = str(g["direction"].iloc[0]) if "direction" in g else ""
        metric = str(g["metric"].iloc[0]) if "metric" in g else "score"
        signed = g["median"] * (-1.0 if direction == "maximize" else 1.0)
        best = set(signed.index[signed == signed.min()]) if signed.notna().any() else set()
        cells = []
        for name in names:
            if name not in g.index or not np.isfinite(g.loc[name, "median"]):
                cells.append("n/a")
                continue
            r = g.loc[name]
            cell = _interval(r["median"], r["median_low"], r["median_high"])
            cells.append(f"**{cell}**" if name in best else cell)
        better = _BETTER.get(direction, "")
        label = f"{task} ({metric}, {better})" if better else f"{task} ({metric})"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    mr = mean_ranks.assign(optimizer=mean_ranks["optimizer"].astype(str)).set_index("optimizer")
    cells = [_interval(mr.loc[n, "mean_rank"], mr.loc[n, "ci_low"], mr.loc[n, "ci_high"])
             if n in mr.index else "n/a" for n in names]  # fmt: skip
    lines.append("| mean rank (1 = best) | " + " | ".join(cells) + " |")
    return lines


def _verdict(
    mean_ranks: pd.DataFrame, pairwise: pd.DataFrame, budget: str, method: str, alpha: float
) -> str:
    """One or two sentences that answer the question for this experiment."""
    head = ""
    if len(mean_ranks):
        best = mean_ranks.sort_values(["mean_rank", "optimizer"]).iloc[0]
        interval = _interval(best["mean_rank"], best["ci_low"], best["ci_high"])
        head = f"{best['optimizer']} has the best mean rank, {interval}."
    family = f"{method} correction over {len(pairwise)} pairs, α = {alpha}"
    significant = pairwise[pairwise["reject"].astype(bool)] if len(pairwise) else pairwise
    if not len(significant):
        return (
            f"**Verdict:** no optimizer is distinguishable from the others at budget {budget} "
            f"({family}); {head}"
        ).rstrip()
    beaten: dict[str, list[str]] = {}
    for _, r in significant.iterrows():
        a, b = str(r["optimizer_a"]), str(r["optimizer_b"])
        winner, loser = (a, b) if float(r["p_a_better"]) >= 0.5 else (b, a)
        beaten.setdefault(winner, []).append(loser)
    claims = "; ".join(
        f"**{w}** is better than {', '.join(sorted(losers))}"
        for w, losers in sorted(beaten.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    )
    rest = "" if len(significant) == len(pairwise) else "; no other pair differs"
    return f"**Verdict:** at budget {budget} ({family}), {claims}{rest}. {head}".rstrip()


def _power_note(power: Mapping[str, Any] | None, tasks: int) -> str:
    """What this design could show, and roughly how many seeds would show more."""
    if not power:
        return ""
    n, m, alpha = int(power["n"]), int(power["m"]), float(power["alpha"])
    text = (
        f"**Power:** with n = {n} paired (task, seed) units, the smallest two-sided Wilcoxon "
        f"p-value is {_num(power['p_min'])}, {_num(power['p_min_adjusted'])} after correcting "
        f"for {m} pairs"
    )
    if float(power["p_min_adjusted"]) > alpha:
        text += (
            f", so no pair can be significant at α = {alpha:g} whatever the scores: that takes "
            f"at least {int(power['n_min'])} units"
        )
    text += "."
    if power.get("n_needed"):
        a, b = power["pair"]
        effect = float(power["effect"])
        if effect < 0.5:
            a, b, effect = b, a, 1.0 - effect
        needed = int(power["n_needed"])
        per_task = -(-needed // max(tasks, 1))
        text += (
            f" Detecting an effect as large as the largest observed (P({a} better than {b}) = "
            f"{effect:.2f}) with 80% power takes about {needed} units "
            f"(sign-test approximation, α/{m}): about {per_task} seeds on each of the "
            f"{tasks} tasks."
        )
    return text


def _omnibus(omnibus: pd.DataFrame) -> str:
    if omnibus.empty:
        return "No omnibus test was run."
    o = omnibus.iloc[0]
    k, n = int(o["n_optimizers"]), int(o["n_blocks"])
    unit = "tasks" if o.get("block", "task") == "task" else "(task, seed) units"
    if not np.isfinite(float(o["statistic"])):
        return f"The Friedman test was not run: {o.get('note', '')}."
    alpha = float(o.get("alpha", 0.05))
    verdict = "rejected" if float(o["iman_davenport_p"]) <= alpha else "did not reject"
    text = (
        f"A Friedman test over {n} {unit} as blocks {verdict} the hypothesis that the {k} "
        f"optimizers perform equally (χ²_F = {_num(o['statistic'])}, p {_p(o['p_value'])}; "
        f"Iman–Davenport F({k - 1}, {(k - 1) * (n - 1)}) = {_num(o['iman_davenport_f'])}, "
        f"p {_p(o['iman_davenport_p'])}; Demšar, 2006)."
    )
    if np.isfinite(float(o.get("nemenyi_cd", np.nan))):
        text += (
            f" For comparison with the literature, the Nemenyi critical difference of mean "
            f"ranks at α = {alpha:g} is CD = {_num(o['nemenyi_cd'])} "
            f"(q_α = {_num(o['nemenyi_q_alpha'])})."
        )
    return text


def _pair_sentence(r: Mapping[str, Any], a_col: str, b_col: str, unit: str, value: str) -> str:
    a, b = str(r[a_col]), str(r[b_col])
    p_ab = float(r["p_a_better"])
    winner, loser = (a, b) if p_ab >= 0.5 else (b, a)
    p_w = p_ab if p_ab >= 0.5 else 1.0 - p_ab
    lo, hi = float(r["p_a_better_low"]), float(r["p_a_better_high"])
    lo, hi = (lo, hi) if p_ab >= 0.5 else (1.0 - hi, 1.0 - lo)
    method = _METHODS.get(str(r["method"]), str(r["method"]))
    return (
        f"**{winner}** achieved better {value} than **{loser}** (two-sided Wilcoxon "
        f"signed-rank test over n = {int(r['n'])} paired {unit}, W = {_num(r['statistic'])}, "
        f"{method}-adjusted p {_p(r['p_adjusted'])}; P({winner} better than {loser}) = "
        f"{p_w:.2f}, 95% CI [{lo:.2f}, {hi:.2f}])."
    )


def render_summary(
    *,
    task_scores: pd.DataFrame,
    mean_ranks: pd.DataFrame,
    omnibus: pd.DataFrame,
    pairwise: pd.DataFrame,
    family: Mapping[str, Any],
    aggregates: pd.DataFrame | None = None,
    model_pairwise: pd.DataFrame | None = None,
) -> str:
    """The Markdown summary of one comparison.

    Args:
        task_scores: ``task_scores.csv`` (median test score per task and optimizer, CIs).
        mean_ranks: ``mean_ranks.csv``.
        omnibus: ``omnibus.csv``.
        pairwise: ``pairwise.csv``.
        family: ``family.json`` (budget, tasks, seeds, correction, alpha, baseline).
        aggregates: ``aggregates.csv`` (IQM of normalised scores), optional.
        model_pairwise: ``model_pairwise.csv``, optional.

    Returns:
        Markdown text.
    """
    budget = family.get("budget", "")
    tasks, seeds = family.get("tasks", []), family.get("seeds", [])
    alpha = family.get("alpha", 0.05)
    method = _METHODS.get(str(family.get("multipletests_method", "holm")), "Holm")
    out = [
        f"# Summary: optimizers at budget {budget}",
        "",
        _verdict(mean_ranks, pairwise, budget, method, alpha),
        "",
        f"{len(family.get('optimizers', []))} optimizers tuned {len(tasks)} tasks with "
        f"{len(seeds)} seeds each at budget {budget}. Each study reports the held-out test "
        "score of its incumbent (the configuration with the best validation score, re-scored "
        "on data the tuning never saw), not the validation score that selected it.",
        "",
        "## Headline table",
        "",
        *_headline(task_scores, mean_ranks),
        "",
        "Columns by mean rank. Cells: median test score over seeds [95% percentile-bootstrap "
        "CI]; the best median of each task in bold (every one, if tied). Mean rank: over "
        "(task, seed) blocks, 1 = best, missing studies ranked last [95% bootstrap CI]; the "
        "critical-difference diagram ranks per task instead (cd_ranks.csv), so its mean ranks "
        "differ when there are several seeds.",
        "",
    ]
    restricted = family.get("restricted") or {}
    if restricted:
        names = "; ".join(
            f"{name} has no study on {len(missing)} of the {len(tasks)} tasks"
            for name, missing in sorted(restricted.items())
        )
        out += [
            f"**Limited optimizers:** {names}. They are left out of the ranks, the Friedman "
            "test and the critical-difference diagram (every optimizer must be in every "
            "block) and compared pairwise on the (task, seed) units they share.",
            "",
        ]
    note = _power_note(family.get("power"), len(tasks))
    if note:
        out += [note, ""]
    if aggregates is not None and len(aggregates):
        iqm = aggregates[aggregates["aggregate"] == "iqm"].sort_values("estimate")
        items = [
            f"{r['optimizer']} {_interval(r['estimate'], r['ci_low'], r['ci_high'])}"
            for _, r in iqm.iterrows()
        ]
        baseline = family.get("baseline", "random")
        one = f"1 = mean of the {baseline} baseline"
        if any(n.startswith("worst-mean") for n in family.get("normalisers", [])):
            one = (
                f"1 = mean of the worst optimizer on each task where the {baseline} baseline "
                "did not run"
            )
        out += [
            "## Aggregate over tasks",
            "",
            f"Interquartile mean of the normalised test score (0 = known or best-seen optimum, "
            f"{one}; lower is better), "
            "with 95% stratified-bootstrap CIs (seeds resampled within tasks; Agarwal et al., "
            f"2021): {'; '.join(items)}.",
            "",
        ]
    out += ["## Tests", "", _omnibus(omnibus), ""]
    significant = pairwise[pairwise["reject"].astype(bool)] if len(pairwise) else pairwise
    description = family.get("description", "")
    if len(significant):
        out.append(
            f"Significant pairs ({method} correction over the family of {description}, "
            f"α = {alpha}):"
        )
        out.append("")
        for _, r in significant.sort_values("p_adjusted").iterrows():
            sentence = _pair_sentence(r, "optimizer_a", "optimizer_b", "(task, seed) units",
                                      "normalised test scores")  # fmt: skip
            out.append(f"- {sentence}")
    else:
        out.append(
            f"No pair of optimizers differed significantly after {method} correction over the "
            f"family of {description} (α = {alpha})."
        )
    out.append("")
    if model_pairwise is not None and len(model_pairwise):
        out += ["## Model comparison", ""]
        sig = model_pairwise[model_pairwise["reject"].astype(bool)]
        if len(sig):
            for _, r in sig.sort_values(["group", "budget", "fraction", "optimizer"]).iterrows():
                where = (
                    f"Group {r['group']}, tuned by {r['optimizer']} at budget {r['budget']} "
                    f"({100 * float(r['fraction']):g} % spent): "
                )
                sentence = _pair_sentence(r, "model_a", "model_b", "seeds", "test scores")
                out.append(f"- {where}{sentence}")
        else:
            n_seeds = int(model_pairwise["n"].max()) if len(model_pairwise) else 0
            out.append(
                f"No pair of tuned models differed significantly within its family "
                f"(α = {alpha}); with {n_seeds} paired seeds the smallest attainable two-sided "
                f"Wilcoxon p-value is {2.0 / 2**n_seeds:.3g}. See model_pairwise.csv for "
                "P(A > B) with its interval."
            )
        out.append("")
    return "\n".join(out)
