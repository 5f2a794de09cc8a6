"""Write ``docs/findings.md`` from finished runs of the findings experiments.

``make findings`` runs the experiments (each config in ``runs/findings/<config stem>/``) and
then this script, which analyses every suite of every run, and BBOB per dimension, with
:func:`tunebench.report.compare`, draws a critical-difference diagram per slice into
``docs/findings/`` and writes the document. Every number in the document comes from these runs.

    python scripts/findings.py config/findings/*.yaml --runs runs/findings --out docs/findings.md
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunebench import plots
from tunebench.core.config import load_config, validate_config
from tunebench.report import compare
from tunebench.tasks.suites import merge_suite_tasks, suite_tasks_of


@dataclass(frozen=True)
class Slice:
    """A set of tasks of one run, analysed together."""

    key: str  # file-name safe, e.g. "bbob-d2"
    title: str
    run: Path
    config: Mapping[str, Any]
    tasks: tuple[str, ...]


def slices_of(
    run: Path, config: Mapping[str, Any], by_entry: Mapping[str, Mapping[str, Any]]
) -> list[Slice]:
    """One slice per suite entry (``by_entry``: :func:`suite_tasks_of`), plus one per dimension
    for BBOB."""
    out = []
    for entry, tasks in by_entry.items():
        out.append(Slice(entry, entry, run, config, tuple(sorted(tasks))))
        dims = sorted({s["dimension"] for s in tasks.values() if s.get("kind") == "bbob"})
        if len(dims) > 1:
            for d in dims:
                names = tuple(sorted(t for t, s in tasks.items() if s.get("dimension") == d))
                out.append(Slice(f"{entry}-d{d}", f"{entry}, dimension {d}", run, config, names))
    return out


def _cpu_hours(run: Path) -> float:
    """CPU hours of every job of the run, from Snakemake's benchmark files."""
    total = 0.0
    for tsv in (run / "results" / "benchmarks").rglob("*.tsv"):
        table = pd.read_csv(tsv, sep="\t")
        if "cpu_time" in table:
            total += float(pd.to_numeric(table["cpu_time"], errors="coerce").fillna(0).sum())
    return total / 3600


def _commits(run: Path) -> list[str]:
    """The git commits the run's studies recorded (``study.json``)."""
    commits = set()
    for path in (run / "results" / "studies").rglob("study.json"):
        git = json.loads(path.read_text()).get("git") or {}
        commits.add(f"{git.get('commit', '?')[:10]}{'-dirty' if git.get('dirty') else ''}")
    return sorted(commits)


def _optimizer_hours(trials: pd.DataFrame) -> pd.Series:
    """Hours each optimizer spent, objective plus its own proposals, from the trial table."""
    spent = trials["objective_s"].fillna(0) + trials["optimizer_s"].fillna(0)
    return spent.groupby(trials["optimizer"]).sum() / 3600


def seed_independent(trials: pd.DataFrame) -> list[str]:
    """Optimizers whose studies proposed the same trials for every seed, on every task."""
    out = []
    for name, g in trials.groupby("optimizer"):
        per_task = g.groupby("task").apply(
            lambda x: x.groupby("seed")["params"].apply(tuple).nunique() == 1,
            include_groups=False,
        )
        if g["seed"].nunique() > 1 and bool(per_task.all()):
            out.append(str(name))
    return out


def _num(x: Any, digits: int = 3) -> str:
    v = float(x)
    return "n/a" if not np.isfinite(v) else f"{v:.{digits}g}"


def _interval(row: Mapping[str, Any], est: str = "estimate") -> str:
    return f"{_num(row[est])} [{_num(row['ci_low'])}, {_num(row['ci_high'])}]"


def analyse(s: Slice, trials: pd.DataFrame, out: Path, figures: Path) -> dict[str, Any]:
    """Run :func:`compare` on the slice, draw its CD diagram; the numbers the document needs."""
    analysis = s.config["analysis"]
    sel = trials[trials["task"].isin(s.tasks)]
    stats_dir = out / s.key
    compare(
        sel,
        stats_dir,
        budget=analysis["primary_budget"],
        alpha=analysis["alpha"],
        correction=analysis["correction"],
        baseline=analysis["baseline"],
        block="task",
        n_boot=analysis["n_boot"],
        random_state=analysis["random_state"],
    )
    read = lambda name: pd.read_csv(stats_dir / name)  # noqa: E731
    pairwise, cd_ranks = read("pairwise.csv"), read("cd_ranks.csv")
    figure = figures / f"cd-{s.key}.png"
    alpha = float(analysis["alpha"])
    plots.plot_cd_diagram(
        cd_ranks, pairwise, figure, alpha=alpha, palette=plots.colours_of(sel["optimizer"])
    )
    return {
        "slice": s,
        "studies": int(sel.groupby(["task", "optimizer", "seed"]).ngroups),
        "seeds": int(sel["seed"].nunique()),
        "mean_ranks": read("mean_ranks.csv"),
        "cd_ranks": cd_ranks,
        "aggregates": read("aggregates.csv"),
        "omnibus": read("omnibus.csv"),
        "pairwise": pairwise,
        "figure": figure,
        "alpha": alpha,
        "power": json.loads((stats_dir / "family.json").read_text()).get("power"),
    }


def _table(result: Mapping[str, Any]) -> list[str]:
    ranks = result["cd_ranks"].set_index("optimizer")
    agg = result["aggregates"]
    iqm = agg[agg["aggregate"] == "iqm"].set_index("optimizer")
    med = agg[agg["aggregate"] == "median"].set_index("optimizer")
    mr = result["mean_ranks"].set_index("optimizer")
    order = ranks.sort_values("mean_rank").index
    lines = [
        "| optimizer | mean rank over tasks (CD axis) | mean rank over (task, seed) [95% CI] "
        "| IQM normalised score [95% CI] | median normalised score [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for name in order:
        cells = [
            _num(ranks.loc[name, "mean_rank"]),
            _interval(mr.loc[name], "mean_rank") if name in mr.index else "n/a",
            _interval(iqm.loc[name]) if name in iqm.index else "n/a",
            _interval(med.loc[name]) if name in med.index else "n/a",
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _significance(result: Mapping[str, Any]) -> str:
    pw = result["pairwise"]
    o = result["omnibus"].iloc[0] if len(result["omnibus"]) else None
    parts = []
    if o is not None and np.isfinite(float(o["statistic"])):
        parts.append(
            f"Friedman over {int(o['n_blocks'])} tasks: Iman–Davenport p = "
            f"{float(o['iman_davenport_p']):.3g}; Nemenyi CD = {_num(o['nemenyi_cd'])}."
        )
    sig = pw[pw["reject"].astype(bool)] if len(pw) else pw
    if not len(sig):
        parts.append(
            f"No pair differs after Holm correction over {len(pw)} pairs (α = {result['alpha']})."
        )
    else:
        pairs = []
        for _, r in sig.sort_values("p_adjusted").iterrows():
            a, b, p = str(r["optimizer_a"]), str(r["optimizer_b"]), float(r["p_a_better"])
            win, lose, pw_ = (a, b, p) if p >= 0.5 else (b, a, 1 - p)
            pairs.append(f"{win} > {lose} (p_adj = {float(r['p_adjusted']):.2g}, P = {pw_:.2f})")
        parts.append(
            f"{len(sig)} of {len(pw)} pairs differ after Holm correction (α = "
            f"{result['alpha']}): " + "; ".join(pairs) + "."
        )
    power = result.get("power") or {}
    if power and float(power["p_min_adjusted"]) > result["alpha"]:
        parts.append(
            f"With n = {int(power['n'])} (task, seed) units the smallest attainable p-value is "
            f"{float(power['p_min']):.2g}, {float(power['p_min_adjusted']):.2g} after "
            f"correcting for {int(power['m'])} pairs: no pair can be significant in this slice "
            "whatever the scores."
        )
    return " ".join(parts)


def render(runs: Sequence[tuple[Path, Mapping[str, Any], Path]], results: list[dict[str, Any]],
           trials: Mapping[Path, pd.DataFrame], doc: Path, command: str) -> str:  # fmt: skip
    """The Markdown document (its prose is fixed; every number comes from the runs)."""
    lines = ["# Findings: which optimizer is best on standard suites", ""]
    lines += [
        "Regenerate every number, table and figure below with:",
        "",
        "```",
        command,
        "```",
        "",
        "## Configuration",
        "",
    ]
    total_cpu = 0.0
    for run, config, path in runs:
        t = trials[run]
        cpu = _cpu_hours(run)
        total_cpu += cpu
        budgets = ", ".join(f"`{k}`: {json.dumps(v)}" for k, v in config["budgets"].items())
        optimizers = ", ".join(
            f"{k} ({v['framework']})" for k, v in sorted(config["optimizers"].items())
        )
        lines += [
            f"- **[{path}](../{path})**: {t['task'].nunique()} tasks × "
            f"{t['optimizer'].nunique()} optimizers × {t['seed'].nunique()} seeds = "
            f"{t.groupby(['task', 'optimizer', 'seed']).ngroups} studies, "
            f"{len(t)} trials; budgets {budgets}; optimizers: {optimizers}. "
            f"CPU time {cpu:.2f} h (all jobs); commit {', '.join(_commits(run))}.",
        ]
    hours = pd.concat([_optimizer_hours(trials[run]) for run, _, _ in runs]).groupby(level=0).sum()
    lines += [
        "",
        "Hours each optimizer spent in all runs (its proposals plus the objective): "
        + ", ".join(f"{name} {h:.3f}" for name, h in hours.sort_values().items())
        + ".",
    ]
    lines += [
        "",
        f"Total CPU time {total_cpu:.2f} h on {platform.machine()} ({platform.system()}), "
        f"Python {platform.python_version()}. Every optimizer runs with its framework's "
        "defaults (docs/frameworks.md) unless its config entry says otherwise.",
        "",
        "Frameworks: the cheap optimizers (Optuna TPE and CMA-ES, Hyperopt TPE, Nevergrad "
        "NGOpt, Optuna's random sampler as the baseline) ran on every suite; the costly ones "
        "(the GPs of Optuna, Ax, SMAC and Syne Tune, SMAC's random forest, Ray Tune) on the BBOB "
        "subset of `config/findings/gp.yaml`. scikit-learn's random search draws the same "
        "trials as the baseline for the same seed (docs/frameworks.md), so it is not repeated; "
        "Vizier's GP bandit costs about 10 minutes a study on this machine and Auto-PyTorch "
        "tunes its own pipelines on data sets, not these tasks.",
        "",
        "Scores: each study's score is the test value of its incumbent; per task it is "
        "normalised to 0 = the known optimum (BBOB, tables) or the best value any study found "
        "(Bayesmark), and 1 = the mean of the random baseline (docs/methodology.md). Lower is "
        "better (Bayesmark's own normalised score, per trial, is in each run's "
        "`results/stats/bayesmark_summary.csv`). Mean ranks are over tasks (the CD diagram's "
        "axis, seeds averaged per task) "
        "and over (task, seed) units with bootstrap CIs. Pairs: two-sided Wilcoxon signed-rank "
        "tests over (task, seed) units, Holm-corrected over all pairs of the slice.",
        "",
    ]
    lines += ["## Answer", ""]
    for result in results:
        lines.append(f"- **{result['slice'].title}**: {_headline(result)}")
    lines.append("")
    for result in results:
        s: Slice = result["slice"]
        rel = result["figure"].relative_to(doc.parent)
        lines += [f"## {s.title}", "", f"{len(s.tasks)} tasks, {result['studies']} studies, "
                  f"{result['seeds']} seeds.", ""]  # fmt: skip
        lines += _table(result)
        lines += ["", _significance(result), "", f"![CD diagram, {s.title}]({rel})", ""]
    lines += ["## Caveats", ""]
    fixed = sorted({n for run, _, _ in runs for n in seed_independent(trials[run])})
    if fixed:
        lines.append(
            f"- {', '.join(fixed)} proposed the same trials for every seed on every task (the "
            "algorithm is deterministic at these budgets): its seeds are one run repeated. The "
            "CD diagrams and Friedman tests, whose blocks are tasks with seeds averaged, are "
            "unaffected; the pairwise tests over (task, seed) units count its one run once per "
            "seed, so read their p-values for it as over tasks, not seeds."
        )
    budgets = sorted({json.dumps(b) for _, c, _ in runs for b in c["budgets"].values()})
    lines += [
        f"- Budgets are small ({', '.join(budgets)}): these rankings are about the first tens "
        "of trials, where model-based optimizers have barely started; larger budgets can "
        "reorder them.",
        "- Suite coverage: BBOB's 24 noiseless functions at two dimensions and one instance; "
        "15 tables; a slice of Bayesmark's problems (the models that train in well under a "
        "second); the GP-based optimizers on two functions only. No claim here reaches beyond "
        "these tasks.",
        "- Defaults: every optimizer runs with its framework's defaults; a tuned configuration "
        "of any of them may rank differently.",
        "- Tabular benchmarks have no held-out split: their test score is the mean over the "
        "table's training seeds (config/README.md).",
    ]
    return "\n".join(lines) + "\n"


def _headline(result: Mapping[str, Any]) -> str:
    """Which optimizer ranks first, and which others it beats after correction."""
    ranks = result["cd_ranks"].sort_values("mean_rank")
    best = str(ranks["optimizer"].iloc[0])
    pw = result["pairwise"]
    beaten = []
    for _, r in pw[pw["reject"].astype(bool)].iterrows() if len(pw) else []:
        a, b, p = str(r["optimizer_a"]), str(r["optimizer_b"]), float(r["p_a_better"])
        winner, loser = (a, b) if p >= 0.5 else (b, a)
        if winner == best:
            beaten.append(loser)
    others = len(ranks) - 1
    text = f"{best} has the best mean rank ({_num(ranks['mean_rank'].iloc[0])})"
    if len(beaten) == others:
        return text + ", and is better than every other optimizer after correction."
    if beaten:
        return text + f"; it is better than {', '.join(sorted(beaten))} after correction."
    return text + "; no difference to it is significant after correction."


def main(argv: Sequence[str] | None = None) -> int:
    """Analyse the runs and write the findings document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", type=Path, help="the experiments' config files")
    parser.add_argument(
        "--runs", type=Path, default=Path("runs/findings"), help="where each ran (<stem>/)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/findings.md"), help="document")
    parser.add_argument("--command", default="make findings", help="command the doc quotes")
    args = parser.parse_args(argv)
    figures = args.out.parent / "findings"
    figures.mkdir(parents=True, exist_ok=True)
    runs, results, trials = [], [], {}
    for path in args.configs:  # a suite entry's name is the slice's key: unique over the runs
        run = args.runs / path.stem
        raw = load_config(path)
        by_entry = suite_tasks_of(raw)
        analysis = validate_config(merge_suite_tasks(raw, by_entry))["analysis"]
        runs.append((run, raw | {"analysis": analysis}, path))
        trials[run] = pd.read_parquet(run / "results" / "trials.parquet")
        for s in slices_of(run, raw | {"analysis": analysis}, by_entry):
            if any(r["slice"].key == s.key for r in results):
                raise SystemExit(f"{path}: suite entry {s.key!r} is also another run's: rename it")
            results.append(analyse(s, trials[run], run / "findings-stats", figures))
    args.out.write_text(render(runs, results, trials, args.out, args.command))
    print(f"wrote {args.out} ({len(results)} slices)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
