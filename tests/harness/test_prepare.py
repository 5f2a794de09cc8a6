"""A task's loading (``Task.prepare``) happens before the study's clock starts."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.studies import branin_cell
from tests.helpers.tasks import QuadraticTask
from tunebench import study

LOAD_S = 1.0


class SlowToLoad(QuadraticTask):
    """A quadratic whose data take :data:`LOAD_S` to load, once, before the first trial."""

    loads = 0

    def prepare(self) -> None:
        time.sleep(LOAD_S)
        type(self).loads += 1

    def evaluate(self, params, seed, reporter):
        assert type(self).loads == 1, "evaluated before the task was prepared"
        return super().evaluate(params, seed, reporter)


@pytest.mark.parametrize("resume", [False, True])
def test_loading_is_charged_to_no_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resume: bool
) -> None:
    monkeypatch.setattr(study, "build_task", lambda name, spec: SlowToLoad())
    SlowToLoad.loads = 0
    cell = branin_cell("prepare", trials=4)
    if resume:  # a first run of 2 trials, then the same study grown to 4: loaded again
        study.run_study(branin_cell("prepare", trials=2), tmp_path, progress=None)
        SlowToLoad.loads = 0
    study.run_study(cell, tmp_path, progress=None)
    trials = pd.read_parquet(tmp_path / "trials.parquet")
    assert len(trials) == 4 and SlowToLoad.loads == 1
    # the whole study's charge is a fraction of one load: loading was charged to no trial
    assert trials["cum_seconds"].max() < LOAD_S / 2
