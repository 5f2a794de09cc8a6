"""The Ax adapter: the contract, the native space, the GP, snapshots and early stopping."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import adapters_of, params_of, run_quadratic
from tests.helpers.tasks import MIXED_SPACE, AlwaysFails, QuadraticTask
from tunebench.core.space import SearchSpace


class TestAxContract(AdapterContract):
    @pytest.fixture(params=adapters_of("ax"))
    def optimizer(self, request: pytest.FixtureRequest) -> str:
        return request.param


def _branin():
    from tunebench.tasks import build_task

    return build_task("branin", {"kind": "synthetic", "function": "branin"})


def test_ax_native_space_round_trip():
    from tunebench.frameworks.ax_adapter import from_ax, to_ax_parameters

    space = SearchSpace.from_config(
        {**MIXED_SPACE, "mixed": {"type": "categorical", "choices": [2, "2", True, 0.5]}}
    )
    configs = {c.name: c for c in to_ax_parameters(space)}
    assert configs["lr"].scaling == "log" and configs["lr"].parameter_type == "float"
    assert configs["width"].scaling == "log" and configs["width"].parameter_type == "int"
    assert configs["n"].scaling == "linear" and configs["n"].bounds == (1, 6)
    assert configs["act"].values == ["relu", "tanh", "gelu"] and not configs["act"].is_ordered
    assert len(set(configs["mixed"].values)) == 4  # "2" and 2 stay apart
    for choice in (2, "2", True, 0.5):
        params = {"x": 3.0, "lr": 1e-4, "n": 6, "width": 4, "act": "gelu", "mixed": choice}
        back = from_ax(space, space.labelled(params))
        assert back == params and type(back["mixed"]) is type(choice)
        space.check(back)


def test_ax_gp_same_seed_same_trials_and_resume_continues(tmp_path):
    spec = {"framework": "ax", "method": "default", "initialization_budget": 3}
    kw = {"task": _branin(), "spec": spec, "trials": 4}
    first = run_quadratic("ax-default", tmp_path / "a", seed=3, **kw)
    again = run_quadratic("ax-default", tmp_path / "b", seed=3, **kw)
    assert params_of(first) == params_of(again)
    assert first["value"].tolist() == again["value"].tolist()
    assert (first["optimizer_s"].iloc[3:] > first["optimizer_s"].iloc[1:3].max()).all()  # GP
    run_quadratic("ax-default", tmp_path / "c", seed=3, **{**kw, "trials": 3})
    resumed = run_quadratic("ax-default", tmp_path / "c", seed=3, **kw)
    # the snapshot continues the same study; the restored GP differs in the last bits only
    for got, want in zip(params_of(resumed), params_of(first), strict=True):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def _sobol(tmp_path, trials, task=None):
    return run_quadratic("ax-sobol", tmp_path, trials=trials, seed=5, task=task)


@pytest.mark.parametrize("share", [math.inf, 0.0])
def test_ax_resumes_a_trial_killed_while_it_ran(share, tmp_path, monkeypatch):
    from tunebench.frameworks import ax_adapter

    class KilledAtThird(QuadraticTask):
        calls = 0

        def evaluate(self, params, seed, reporter):
            KilledAtThird.calls += 1
            if KilledAtThird.calls == 3:
                raise KeyboardInterrupt  # not an Exception: it ends the study like a kill
            return super().evaluate(params, seed, reporter)

    # inf: a snapshot per proposal; 0: only the first proposal's snapshot (cheap trials)
    monkeypatch.setattr(ax_adapter, "SNAPSHOT_SHARE", share)
    uninterrupted = _sobol(tmp_path / "u", 5)
    with pytest.raises(KeyboardInterrupt):
        _sobol(tmp_path / "k", 5, task=KilledAtThird())
    killed = pd.read_json(tmp_path / "k" / "journal.jsonl", lines=True)
    resumed = _sobol(tmp_path / "k", 5)
    assert resumed["params"].head(2).tolist() == killed["params"].tolist()
    assert resumed["t_start"].head(2).tolist() == killed["t_start"].tolist()
    assert len(set(resumed["params"])) == 5
    if share == math.inf:
        assert params_of(resumed) == params_of(uninterrupted)  # trial 2 evaluated as proposed


def test_ax_tells_recorded_results_the_snapshot_missed(tmp_path, monkeypatch):
    from tunebench.frameworks import ax_adapter

    save, saves = ax_adapter._save, []

    def killed_at_fourth_save(client, path):
        saves.append(path)
        if len(saves) == 4:  # after trial 2 was recorded, before trial 3's proposal is saved
            raise KeyboardInterrupt
        save(client, path)

    monkeypatch.setattr(ax_adapter, "SNAPSHOT_SHARE", math.inf)  # a snapshot per proposal
    uninterrupted = _sobol(tmp_path / "u", 6)
    monkeypatch.setattr(ax_adapter, "_save", killed_at_fourth_save)
    with pytest.raises(KeyboardInterrupt):
        _sobol(tmp_path / "k", 6)
    monkeypatch.setattr(ax_adapter, "_save", save)
    resumed = _sobol(tmp_path / "k", 6)
    assert params_of(resumed) == params_of(uninterrupted)


def test_ax_attaches_recorded_trials_missing_from_the_snapshot(tmp_path):
    import shutil

    _sobol(tmp_path, 3)
    shutil.copy(tmp_path / "ax_client.json", tmp_path / "stale.json")
    before = _sobol(tmp_path, 5)
    shutil.copy(tmp_path / "stale.json", tmp_path / "ax_client.json")
    after = _sobol(tmp_path, 7)
    cols = ["trial", "status", "value", "params", "t_start"]
    pd.testing.assert_frame_equal(after[cols].head(5), before[cols])
    assert (after["t_start"].iloc[5:] > before["t_end"].max()).all()
    assert len(set(after["params"])) == 7


def test_ax_info_logging_goes_to_the_study_dir(tmp_path, capfd):
    _sobol(tmp_path, 3)
    out, err = capfd.readouterr()
    assert out == ""
    assert "Generated new trial" not in err
    assert "Generated new trial 2" in (tmp_path / "ax.log").read_text()


def test_ax_percentile_early_stopping_prunes_on_epochs(tmp_path):
    spec = {
        "framework": "ax",
        "method": "sobol",
        "early_stopping": "percentile",
        "early_stopping_options": {"min_curves": 3, "min_progression": 2},
    }
    task = QuadraticTask(max_epochs=6)
    trials = run_quadratic("ax-sobol", tmp_path, trials=12, task=task, spec=spec)
    pruned = trials[trials["status"] == "pruned"]
    assert len(pruned) >= 2 and (pruned["epochs"] < 6).all()
    assert (pruned["epochs"] >= 2).all()  # never before min_progression
    assert (trials.loc[trials["status"] == "complete", "epochs"] == 6).all()
    assert (trials["trial"] < 3).sum() == (trials.loc[trials["trial"] < 3, "epochs"] == 6).sum()
    assert trials["cum_epochs"].iloc[-1] == trials["epochs"].sum()
    assert (trials["optimizer_s"] > 0).all()  # the strategy's time is the framework's


@pytest.mark.parametrize("optimizer", ["ax-sobol"])
def test_all_failed_study_completes(optimizer, tmp_path):
    trials = run_quadratic(optimizer, tmp_path, trials=4, task=AlwaysFails())
    assert trials["status"].tolist() == ["failed"] * 4
    assert (trials["error"] == "ValueError: diverged").all()
