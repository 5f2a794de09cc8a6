"""scripts/findings.py: docs/findings.md from the runs of the findings experiments."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from scripts import findings
from tests.helpers.trials import make_trials

TASKS = ["bbob-f1-d2-i1", "bbob-f2-d2-i1", "bbob-f1-d3-i1", "bbob-f2-d3-i1"]


def _run(tmp_path: Path) -> Path:
    """A config over 2 BBOB functions in 2 and 3 dimensions, and its finished run."""
    config = {
        "name": "findings-test",
        "seeds": 5,
        "suites": {
            "bbob": {"suite": "bbob", "functions": [1, 2], "dimensions": [2, 3], "instances": [1]}
        },
        "optimizers": {
            "random": {"framework": "optuna", "sampler": "random"},
            "tpe": {"framework": "optuna", "sampler": "tpe"},
            "cmaes": {"framework": "optuna", "sampler": "cmaes"},
        },
        "budgets": {"t10": {"trials": 10}},
        "analysis": {"baseline": "random", "n_boot": 100},
    }
    path = tmp_path / "bbob.yaml"
    path.write_text(yaml.safe_dump(config))
    trials = make_trials(n_tasks=4, optimizers=("random", "tpe", "cmaes"), effect={"tpe": 5.0})
    names = dict(zip(sorted(trials["task"].unique()), TASKS, strict=True))
    trials["task"] = trials["task"].map(names)
    # cmaes proposes the same trials for every seed: the caveat must name it
    trials["params"] = [
        json.dumps({"x0": t} if o == "cmaes" else {"x0": t, "seed": s})
        for o, t, s in zip(trials["optimizer"], trials["trial"], trials["seed"], strict=True)
    ]
    results = tmp_path / "runs" / "bbob" / "results"
    results.mkdir(parents=True)
    trials.to_parquet(results / "trials.parquet")
    return path


def test_the_document_has_every_slice_its_figures_and_the_caveats(tmp_path: Path) -> None:
    config = _run(tmp_path)
    out = tmp_path / "docs" / "findings.md"
    argv = [str(config), "--runs", str(tmp_path / "runs"), "--out", str(out)]
    assert findings.main([*argv, "--command", "make findings"]) == 0
    text = out.read_text()
    for title in ("## bbob", "## bbob, dimension 2", "## bbob, dimension 3"):
        assert f"\n{title}\n" in text
    assert "make findings" in text
    assert "4 tasks × 3 optimizers × 5 seeds = 60 studies, 600 trials" in text
    for key in ("bbob", "bbob-d2", "bbob-d3"):
        assert (out.parent / "findings" / f"cd-{key}.png").stat().st_size > 1000
    assert "- cmaes proposed the same trials for every seed" in text
    # the table's mean ranks are the ones compare() wrote for the slice
    ranks = pd.read_csv(tmp_path / "runs" / "bbob" / "findings-stats" / "bbob" / "cd_ranks.csv")
    best = ranks.sort_values("mean_rank").iloc[0]
    assert f"- **bbob**: {best['optimizer']} has the best mean rank" in text
