"""Statistics on trial tables: the public API, one import for every layer.

The functions live in modules with one job each, in the order the analysis runs:

- :mod:`tunebench.stats._metrics` — per-study numbers: incumbents, final *test* scores, regret,
  normalised scores, ranks, scores at budget fractions, cost breakdown;
- :mod:`tunebench.stats._uncertainty` — bootstrap intervals: aggregates (median, IQM, mean),
  performance profiles, per-task medians, mean ranks, P(A > B), bands of curves;
- :mod:`tunebench.stats._significance` — tests: Friedman + Iman–Davenport, Nemenyi, pairwise
  Wilcoxon with Holm / BH / BY corrections over a declared family;
- :mod:`tunebench.stats._curves` — anytime best-so-far in trials, epochs and seconds; ranks over
  budget fractions;
- :mod:`tunebench.stats._expected_max` — expected best of n i.i.d. trials (Dodge et al., 2019;
  Tang et al., 2020);
- :mod:`tunebench.stats._density` — exploration density (centred L2 discrepancy, dispersion);
- :mod:`tunebench.stats._model_comparison` — tuned model vs tuned model on a shared data set;
- :mod:`tunebench.stats._bayesmark` — Bayesmark's normalised mean score at every trial (Turner
  et al., 2021).

Every function is pure: it takes pandas DataFrames (the trial table of
:mod:`tunebench.core.tables`, or the output of another function) and returns new ones or a
dataclass, never plots and never writes files. Randomness is explicit (``random_state``,
``n_boot``, ``confidence``). Conventions are in :mod:`tunebench.stats._metrics`.
"""

from __future__ import annotations

from tunebench.stats._bayesmark import (
    OBJECTIVES,
    bayesmark_normalise,
    bayesmark_scores,
    bayesmark_summary,
)
from tunebench.stats._curves import CURRENCIES, anytime, budget_ranks
from tunebench.stats._density import (
    centred_discrepancy,
    dispersion,
    exploration_density,
    parse_params,
    relative_density,
    unit_cube,
)
from tunebench.stats._expected_max import (
    ESTIMATORS,
    expected_max,
    expected_max_curves,
    expected_max_dodge,
    expected_max_tang,
    iid_optimizers,
)
from tunebench.stats._metrics import (
    FRACTIONS,
    cost_breakdown,
    incumbents,
    normalised_scores,
    rank_matrix,
    ranks,
    restricted_optimizers,
    scores_at,
    study_scores,
)
from tunebench.stats._model_comparison import ModelComparison, compare_models
from tunebench.stats._significance import (
    CORRECTIONS,
    PAIRWISE_COLUMNS,
    DesignPower,
    FriedmanResult,
    adjust_pvalues,
    cd_ranks,
    design_power,
    friedman,
    friedman_from_mean_ranks,
    iman_davenport,
    nemenyi,
    nemenyi_critical_difference,
    pairwise_wilcoxon,
    wilcoxon_pairs,
)
from tunebench.stats._uncertainty import (
    AGGREGATES,
    aggregates,
    bootstrap_band,
    iqm,
    mean_ranks,
    pair_probabilities,
    performance_profiles,
    prob_better,
    task_scores,
)

__all__ = [
    "AGGREGATES",
    "CORRECTIONS",
    "CURRENCIES",
    "ESTIMATORS",
    "FRACTIONS",
    "OBJECTIVES",
    "PAIRWISE_COLUMNS",
    "DesignPower",
    "FriedmanResult",
    "ModelComparison",
    "adjust_pvalues",
    "aggregates",
    "anytime",
    "bayesmark_normalise",
    "bayesmark_scores",
    "bayesmark_summary",
    "bootstrap_band",
    "budget_ranks",
    "cd_ranks",
    "centred_discrepancy",
    "compare_models",
    "cost_breakdown",
    "design_power",
    "dispersion",
    "expected_max",
    "expected_max_curves",
    "expected_max_dodge",
    "expected_max_tang",
    "exploration_density",
    "friedman",
    "friedman_from_mean_ranks",
    "iid_optimizers",
    "iman_davenport",
    "incumbents",
    "iqm",
    "mean_ranks",
    "nemenyi",
    "nemenyi_critical_difference",
    "normalised_scores",
    "pair_probabilities",
    "pairwise_wilcoxon",
    "parse_params",
    "performance_profiles",
    "prob_better",
    "rank_matrix",
    "ranks",
    "relative_density",
    "restricted_optimizers",
    "scores_at",
    "study_scores",
    "task_scores",
    "unit_cube",
    "wilcoxon_pairs",
]
