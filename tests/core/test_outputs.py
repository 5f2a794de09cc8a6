"""The output names: no duplicate, and a caption and a category for every figure."""

from __future__ import annotations

from pathlib import Path

from tunebench.core import outputs

REPORT = Path(__file__).resolve().parents[2] / "workflow" / "report"


def test_output_names_are_consistent():
    assert len(set(outputs.STATS_FILES)) == len(outputs.STATS_FILES)
    assert {"ranks.csv", "omnibus.csv", "pairwise.csv", "aggregates.csv", "family.json",
            "profiles.csv", "expected_max.csv", "budget_ranks.csv", "models.csv",
            "model_pairwise.csv", "density.csv"} <= set(outputs.STATS_FILES)  # fmt: skip
    assert set(outputs.FIGURE_CAPTIONS) == set(outputs.FIGURE_FILES)
    assert set(outputs.FIGURE_CATEGORIES) == set(outputs.FIGURE_FILES)
    for caption in outputs.FIGURE_CAPTIONS.values():
        text = (REPORT / caption).read_text(encoding="utf-8")
        assert 40 < len(text) < 1200, caption
