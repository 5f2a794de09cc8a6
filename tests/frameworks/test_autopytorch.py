"""Auto-PyTorch: the registry's install route here; the search where autoPyTorch imports.

autoPyTorch 0.2.1 pins scikit-learn < 0.25, which does not build on Python 3.11 (tunebench's
Python), so the search tests are skipped wherever it cannot be imported.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.helpers.studies import run_quadratic
from tunebench.cli import main
from tunebench.core.budget import Budget
from tunebench.frameworks import OptimizerConfigError, build_optimizer

SKIP_REASON = (
    "autoPyTorch 0.2.1 needs scikit-learn<0.25, which does not build on Python 3.11 "
    "(see envs/autopytorch.yaml)"
)
INSTALL = "conda env create -f envs/autopytorch.yaml (needs Python ≤ 3.9: scikit-learn<0.25)"
missing = pytest.mark.skipif(
    importlib.util.find_spec("autoPyTorch") is not None, reason="autoPyTorch is installed here"
)


@missing
def test_autopytorch_is_listed_as_not_installed_with_its_route(capsys):
    assert main(["frameworks"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("autopytorch")]
    assert line.split(None, 1)[1] == f"not installed (autoPyTorch missing): {INSTALL}"
    with pytest.raises(OptimizerConfigError) as error:
        build_optimizer("apt", {"framework": "autopytorch"})
    message = str(error.value)
    route = f"autopytorch is not installed (autoPyTorch missing): {INSTALL}"
    assert message == f"optimizers.apt.framework: {route}"
    assert "\n" not in message


def _cancer_svc():
    from tunebench.tasks import build_task

    return build_task(
        "cancer-svc", {"kind": "sklearn", "model": "svc", "dataset": "breast_cancer"}
    )


def test_autopytorch_records_its_run_history(tmp_path):
    pytest.importorskip("autoPyTorch", reason=SKIP_REASON)
    spec = {"framework": "autopytorch", "total_walltime_limit": 300, "max_budget": 10}
    trials = run_quadratic("apt", tmp_path, task=_cancer_svc(), spec=spec, trials=6, seed=1)
    assert trials["trial"].tolist() == list(range(len(trials))) and 1 <= len(trials) <= 6
    done = trials[trials["status"] != "failed"]
    assert done["value"].between(0, 1).all()
    assert trials["params"].str.contains('"hyperband_epochs"').all()
    scored = trials[trials["test_value"].notna()]
    assert len(scored) >= 1 and scored["test_value"].between(0, 1).all()


def test_autopytorch_refuses_to_resume(tmp_path):
    pytest.importorskip("autoPyTorch", reason=SKIP_REASON)
    spec = {"framework": "autopytorch", "total_walltime_limit": 120, "max_budget": 10}
    run_quadratic("apt", tmp_path, task=_cancer_svc(), spec=spec, trials=2)
    with pytest.raises(ValueError, match="Auto-PyTorch cannot resume a search"):
        run_quadratic("apt", tmp_path, task=_cancer_svc(), spec=spec, trials=4)


def test_autopytorch_seconds_budget_is_its_walltime(tmp_path):
    pytest.importorskip("autoPyTorch", reason=SKIP_REASON)
    spec = {"framework": "autopytorch", "max_budget": 10}
    budget = Budget("s", "seconds", 90)
    trials = run_quadratic("apt", tmp_path, task=_cancer_svc(), spec=spec, budget=budget)
    assert len(trials) >= 1 and trials["t_end"].max() - trials["t_start"].min() <= 90
