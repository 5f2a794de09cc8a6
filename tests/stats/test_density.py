"""Tests of the exploration density: unit cube, discrepancy, dispersion, per-study density."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.helpers.trials import hand_table
from tunebench import stats
from tunebench.core.space import SearchSpace

SPACE = SearchSpace.from_config(
    {
        "x": {"type": "float", "low": -1.0, "high": 3.0},
        "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "n": {"type": "int", "low": 1, "high": 5},
        "act": {"type": "categorical", "choices": ["relu", "tanh", "gelu"]},
        "bs": {"type": "categorical", "choices": [32, 64]},
    }
)


def test_unit_cube_declared_space_by_hand():
    params = pd.DataFrame(
        {
            "x": [-1.0, 1.0],
            "lr": [1e-4, 1e-2],
            "n": [1, 4],
            "act": ["relu", "gelu"],
            "bs": [64, np.nan],
        }
    )
    cube = stats.unit_cube(params, SPACE)
    # lr: log10 1e-2 is 2/3 of the way from -4 to -1; a missing value sits at the centre
    np.testing.assert_allclose(cube[0], [0.0, 0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(cube[1], [0.5, 2 / 3, 0.75, 1.0, 0.5])


def test_unit_cube_inferred_bounds_and_scales():
    params = pd.DataFrame({"a": [2.0, 4.0, 3.0], "c": [1e-5, 1e-3, 1e-1], "k": ["b", "a", "c"]})
    cube = stats.unit_cube(params)
    np.testing.assert_allclose(cube[:, 0], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(cube[:, 1], [0.0, 0.5, 1.0])  # four decades: log scale
    np.testing.assert_allclose(cube[:, 2], [0.5, 0.0, 1.0])  # sorted choices a, b, c


def test_centred_discrepancy_by_hand():
    # one point at the centre of [0, 1]: CD² = 13/12 - 2 + 1 = 1/12
    assert stats.centred_discrepancy(np.array([[0.5]])) == pytest.approx(1 / 12)
    # the formula, on a 2-d set
    x = np.array([[0.1, 0.8], [0.6, 0.3], [0.9, 0.55]])
    z = np.abs(x - 0.5)
    n, d = x.shape
    t2 = 2 / n * np.prod(1 + z / 2 - z**2 / 2, axis=1).sum()
    pair = (
        np.prod(1 + z[:, None] / 2 + z[None] / 2 - np.abs(x[:, None] - x[None]) / 2, axis=2).sum()
        / n**2
    )
    assert stats.centred_discrepancy(x) == pytest.approx((13 / 12) ** d - t2 + pair)
    assert np.isnan(stats.centred_discrepancy(np.zeros((0, 2))))


def test_dispersion_by_hand():
    corners = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    assert stats.dispersion(np.array([[0.5, 0.5]]), corners) == pytest.approx(np.sqrt(0.5))
    assert stats.dispersion(corners, corners) == 0.0


def _study(points: np.ndarray, optimizer: str, seed: int) -> pd.DataFrame:
    df = hand_table(list(range(len(points))), ["complete"] * len(points), optimizer=optimizer,
                    seed=seed)  # fmt: skip
    df["params"] = [json.dumps({"u": float(u), "v": float(v)}) for u, v in points]
    return df


def test_exploration_density_clustered_search_is_less_even():
    rng = np.random.default_rng(0)
    spread = _study(rng.random((64, 2)), "random", 0)
    clustered = _study(0.5 + 0.05 * rng.random((64, 2)), "tpe", 0)
    trials = pd.concat([spread, clustered], ignore_index=True)
    space = {"t": {"u": {"type": "float", "low": 0, "high": 1},
                   "v": {"type": "float", "low": 0, "high": 1}}}  # fmt: skip
    d = stats.exploration_density(trials, space, n_probe=512).set_index("optimizer")
    assert list(d["n_points"]) == [64, 64] and list(d["dim"]) == [2, 2]
    assert (d["space"] == "declared").all()
    assert d.loc["tpe", "discrepancy"] > 5 * d.loc["random", "discrepancy"]
    assert d.loc["tpe", "dispersion"] > 2 * d.loc["random", "dispersion"]
    threaded = stats.exploration_density(trials, space, n_probe=512, workers=2)
    np.testing.assert_allclose(threaded["discrepancy"], d["discrepancy"].to_numpy())
    np.testing.assert_allclose(threaded["dispersion"], d["dispersion"].to_numpy())
    inferred = stats.exploration_density(trials, n_probe=64)
    assert (inferred["space"] == "inferred").all()


def test_parse_params_falls_back_when_types_change():
    params = pd.Series(['{"a": 1, "b": "x"}', '{"a": "text"}', None])
    out = stats.parse_params(params)
    assert out["a"].tolist()[:2] == [1, "text"] and out["b"].iloc[0] == "x"
    assert len(out) == 3


def test_relative_density_by_hand():
    d = pd.DataFrame(
        {
            "task": ["a", "a", "a", "b", "b"],
            "budget": "t",
            "optimizer": ["random", "random", "tpe", "tpe", "gp"],
            "discrepancy": [1.0, 3.0, 4.0, 2.0, 6.0],
            "dispersion": [0.5, 0.5, 1.0, 1.0, 3.0],
        }
    )
    r = stats.relative_density(d)
    # task a: baseline means 2 and 0.5; task b has no baseline: means over all studies
    np.testing.assert_allclose(r["discrepancy_rel"], [0.5, 1.5, 2.0, 0.5, 1.5])
    np.testing.assert_allclose(r["dispersion_rel"], [1.0, 1.0, 2.0, 0.5, 1.5])
    assert r["density_reference"].tolist() == ["baseline=random"] * 3 + ["all studies"] * 2
