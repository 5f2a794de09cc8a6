"""File names of the analysis outputs: imported by the Snakefile at parse time, so no imports.

:func:`tunebench.report.compare` writes :data:`STATS_FILES` into the statistics directory,
:func:`tunebench.report._pipeline.plot` writes :data:`FIGURE_FILES` into the figure directory and
:func:`tunebench.report._pipeline.summarise` writes :data:`SUMMARY_FILE`. Each figure has a caption
``workflow/report/<FIGURE_CAPTIONS[figure]>`` and a report category.
"""

from __future__ import annotations

__all__ = [
    "FIGURE_CAPTIONS",
    "FIGURE_CATEGORIES",
    "FIGURE_FILES",
    "REPORT_CATEGORIES",
    "STATS_FILES",
    "SUMMARY_FILE",
    "SUMMARY_HTML",
    "report_category",
    "stem",
]

#: Tables (CSV) and the family description (JSON) written by ``compare``, in writing order.
STATS_FILES: tuple[str, ...] = (
    "scores.csv",  # one row per study: test score, regret, normalised score
    "task_scores.csv",  # median / mean test score per task and optimizer, bootstrap CIs
    "ranks.csv",  # rank per (task, seed) block
    "mean_ranks.csv",  # mean rank per optimizer, bootstrap CI
    "omnibus.csv",  # Friedman, Iman–Davenport, Nemenyi q_alpha and CD
    "nemenyi.csv",  # Nemenyi post-hoc p-values (for comparison with the literature)
    "cd_ranks.csv",  # mean ranks over Friedman blocks: the axis of the CD diagram
    "pairwise.csv",  # Wilcoxon + correction, P(A>B) with CI
    "aggregates.csv",  # median, IQM, mean of normalised scores, stratified-bootstrap CIs
    "profiles.csv",  # performance profiles
    "anytime.csv",  # best-so-far bands in trials, epochs and seconds
    "expected_max.csv",  # expected best validation score vs n (Dodge 2019, Tang 2020)
    "budget_ranks.csv",  # mean ranks at 25/50/100 % of the budget
    "bayesmark.csv",  # Bayesmark's normalised mean score per task, optimizer and trial
    "bayesmark_summary.csv",  # the same over tasks: mean, normalised mean, leaderboard score
    "cost.csv",  # objective vs optimizer seconds
    "density.csv",  # exploration density per study, with its score
    "models.csv",  # model comparison: tuned test score per model
    "model_pairwise.csv",  # model comparison: tests per pair of models
    "model_expected_max.csv",  # model comparison: expected max vs n per model
    "family.json",  # families of the corrections and every analysis option
)

#: PNGs written by ``plot``.
FIGURE_FILES: tuple[str, ...] = (
    "test_scores.png",
    "aggregates.png",
    "profiles.png",
    "ranks.png",
    "cd_diagram.png",
    "p_a_better.png",
    "anytime_trials.png",
    "anytime_epochs.png",
    "anytime_seconds.png",
    "expected_max.png",
    "budget_ranks.png",
    "cost.png",
    "density.png",
    "models.png",
    "model_expected_max.png",
)

#: Figure → caption file under ``workflow/report/``.
FIGURE_CAPTIONS: dict[str, str] = {name: name.replace(".png", ".rst") for name in FIGURE_FILES}

#: Categories of the Snakemake report in reading order: the answer first, tables last. The report
#: sorts categories by name, so each is numbered (:func:`report_category`).
REPORT_CATEGORIES: tuple[str, ...] = (
    "Summary", "Scores", "Tests", "Budget", "Cost", "Exploration", "Models", "Tables"
)  # fmt: skip


def report_category(name: str) -> str:
    """``"1. Summary"`` for ``"Summary"``: the category's name as the report shows it."""
    return f"{REPORT_CATEGORIES.index(name) + 1}. {name}"


#: Figure → category of the Snakemake report (subcategories are left to the rule).
FIGURE_CATEGORIES: dict[str, str] = {
    name: report_category(category)
    for name, category in {
        "test_scores.png": "Scores",
        "aggregates.png": "Scores",
        "profiles.png": "Scores",
        "ranks.png": "Tests",
        "cd_diagram.png": "Tests",
        "p_a_better.png": "Tests",
        "anytime_trials.png": "Budget",
        "anytime_epochs.png": "Budget",
        "anytime_seconds.png": "Budget",
        "expected_max.png": "Budget",
        "budget_ranks.png": "Budget",
        "cost.png": "Cost",
        "density.png": "Exploration",
        "models.png": "Models",
        "model_expected_max.png": "Models",
    }.items()
}

#: Markdown summary written by ``summarise`` (``results/summary.md`` in the workflow), and the
#: same rendered as HTML for the report (which shows HTML inline).
SUMMARY_FILE = "summary.md"
SUMMARY_HTML = "summary.html"


def stem(name: str) -> str:
    """The key under which ``compare``/``plot`` return a file: its name without extension."""
    return name.rsplit(".", 1)[0]
