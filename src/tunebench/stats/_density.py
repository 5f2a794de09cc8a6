"""Exploration density: how evenly and how completely each study covered its search space.

Each study's trial points are mapped to the unit cube ``[0, 1]^d`` (:func:`unit_cube`) and
described by two numbers:

- the *centred L2 discrepancy* (Hickernell, 1998, Math. Comp. 67:299-322), as
  :func:`scipy.stats.qmc.discrepancy` with ``method="CD"`` returns it (the squared
  discrepancy, ``CD²``): how far the empirical distribution of the points is from uniform
  (lower = more even coverage);
- the *dispersion*, the radius of the largest empty ball (Niederreiter, 1992, "Random number
  generation and quasi-Monte Carlo methods", ch. 6): the largest distance from a point of the
  cube to its nearest trial point (lower = no large unexplored region), estimated as the
  maximum over a seeded uniform probe set shared by all studies of a task, so it is a lower
  bound of the true dispersion and comparable across the studies of that task.

Both depend on the number of points and the dimension, so compare studies of the same task at
the same budget. A model-based optimizer that concentrates on a good region *should* have a
higher discrepancy than random search: density is a description of the search, not a score.

Mapping (documented choices): a float or int parameter ``x`` on ``[low, high]`` maps to
``(x - low) / (high - low)``, on the log scale when the parameter is log-uniform; a categorical
with k choices maps to ``index / (k - 1)`` (one ordinal axis, ``0.5`` when k = 1), which keeps
one dimension per parameter; one-hot encoding would give categoricals k dimensions and a
distance of √2 between any two choices, weighting them more than numeric parameters. A
parameter absent from a trial (conditional spaces) sits at the centre, 0.5. Without a declared
space the bounds are the smallest and largest values seen on the task (over all studies), a
numeric parameter is treated as log-uniform when all its values are positive and span at least
two decades, and non-numeric values are categoricals in sorted order.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.stats import qmc

from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.core.tables import require_columns
from tunebench.stats._util import segments, study_index, study_keys

__all__ = [
    "centred_discrepancy",
    "dispersion",
    "exploration_density",
    "parse_params",
    "relative_density",
    "unit_cube",
]

_LOG_SPAN = 100.0  # inferred log scale: all values > 0 and max / min >= 100


def parse_params(params: pd.Series) -> pd.DataFrame:
    """The JSON objects of the trial table's ``params`` column as one column per parameter.

    Uses pyarrow's JSON reader (fast on millions of rows), falling back to :func:`json.loads`
    when it cannot infer one type per column.

    Args:
        params: JSON strings, one per trial.

    Returns:
        DataFrame with the index of ``params``; missing keys are NaN.
    """
    text = params.astype(object).where(params.notna(), "{}").astype(str).tolist()
    if not text:
        return pd.DataFrame(index=params.index)
    try:
        import pyarrow.json as pj

        block = max(1 << 20, 2 * max(map(len, text)))  # one JSON object never spans blocks
        table = pj.read_json(
            io.BytesIO("\n".join(text).encode("utf-8")),
            read_options=pj.ReadOptions(block_size=block),
        )
        out = table.to_pandas()
    except Exception:  # any parse or type-inference failure: the slow path
        out = pd.DataFrame.from_records([json.loads(s) for s in text])
    out.index = params.index
    return out


def _numeric(col: pd.Series) -> np.ndarray | None:
    values = pd.to_numeric(col, errors="coerce")
    if col.dtype == bool or values.isna().sum() > col.isna().sum():
        return None
    return values.to_numpy(dtype=float)


def _scale(x: np.ndarray, low: float, high: float, log: bool) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if log:
            x, low, high = np.log(x), np.log(low), np.log(high)
        out = (x - low) / (high - low) if high > low else np.full_like(x, 0.5)
    return out


def _categorical(col: pd.Series, choices: Sequence[Any] | None) -> np.ndarray:
    if choices is None:
        choices = sorted(col.dropna().unique().tolist(), key=repr)
    k = len(choices)
    index = {c: i for i, c in enumerate(choices)}
    pos = col.map(index).to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(pos).any() and k:  # e.g. a choice that JSON turned into another type
        by_text = {str(c): i for i, c in enumerate(choices)}
        text = col.astype(str).map(by_text).to_numpy(dtype=float, na_value=np.nan)
        pos = np.where(np.isnan(pos), text, pos)
    return pos / (k - 1) if k > 1 else np.where(np.isnan(pos), np.nan, 0.5)


def unit_cube(params: pd.DataFrame, space: SearchSpace | None = None) -> np.ndarray:
    """Map parameter values to ``[0, 1]^d`` (see the module docstring for the encoding).

    Args:
        params: One row per trial, one column per parameter (:func:`parse_params`); the rows
            used to infer bounds when ``space`` is None.
        space: The declared search space (exact bounds and scales), or None to infer.

    Returns:
        Array ``(n_trials, d)`` in ``[0, 1]``; d is the number of parameters of ``space``
        (or of columns of ``params``).
    """
    columns = []
    if space is not None:
        for p in space:
            col = params[p.name] if p.name in params else pd.Series(np.nan, index=params.index)
            if isinstance(p, CategoricalParam):
                columns.append(_categorical(col, p.choices))
            elif isinstance(p, FloatParam | IntParam):
                x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
                columns.append(_scale(x, float(p.low), float(p.high), p.log))
    else:
        for name in params.columns:
            col = params[name]
            x = _numeric(col)
            if x is None:
                columns.append(_categorical(col, None))
                continue
            finite = x[np.isfinite(x)]
            if finite.size == 0:
                columns.append(np.full(x.shape, np.nan))
                continue
            low, high = float(finite.min()), float(finite.max())
            log = low > 0 and high / low >= _LOG_SPAN
            columns.append(_scale(x, low, high, log))
    if not columns:
        return np.zeros((len(params), 0))
    cube = np.column_stack(columns)
    return np.clip(np.where(np.isfinite(cube), cube, 0.5), 0.0, 1.0)


def centred_discrepancy(points: np.ndarray) -> float:
    """Squared centred L2 discrepancy ``CD²`` of points in the unit cube (Hickernell, 1998).

    ``CD² = (13/12)^d - (2/n) Σ_i Π_k (1 + |z_ik|/2 - z_ik²/2)
    + (1/n²) Σ_i Σ_j Π_k (1 + |z_ik|/2 + |z_jk|/2 - |x_ik - x_jk|/2)`` with ``z = x - 1/2``.

    Args:
        points: Array ``(n, d)`` in ``[0, 1]``.

    Returns:
        :func:`scipy.stats.qmc.discrepancy` with ``method="CD"``; NaN for no points or no
        dimension.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] == 0:
        return np.nan
    return float(qmc.discrepancy(points, method="CD"))


def dispersion(points: np.ndarray, probes: np.ndarray) -> float:
    """Largest distance from a probe to its nearest point: a lower bound of the dispersion.

    Args:
        points: Trial points ``(n, d)`` in the unit cube.
        probes: Probe points ``(m, d)`` (e.g. uniform on the cube).

    Returns:
        ``max_j min_i ||probe_j - point_i||`` (nearest points by :class:`scipy.spatial.cKDTree`);
        NaN for no points.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] == 0:
        return np.nan
    dist, _ = cKDTree(points).query(np.asarray(probes, dtype=float), k=1)
    return float(np.max(dist))


def exploration_density(
    trials: pd.DataFrame,
    spaces: Mapping[str, SearchSpace | Mapping[str, Any]] | None = None,
    n_probe: int = 512,
    random_state: int | np.random.Generator | None = 0,
    workers: int | None = 1,
) -> pd.DataFrame:
    """Centred L2 discrepancy and dispersion of the trial points of each study.

    Every proposed configuration counts, failed and pruned ones included: the optimizer chose
    to explore that point. Probes are drawn once per task (uniform, seeded), in sorted task
    order, and shared by all its studies.

    Args:
        trials: Trial table with ``params`` (JSON), one row per trial.
        spaces: Task name → search space (a :class:`~tunebench.core.space.SearchSpace` or its
            config mapping); tasks absent here get inferred bounds (module docstring).
        n_probe: Probe points for the dispersion.
        random_state: Seed or generator of the probes.
        workers: Threads measuring studies in parallel (None: one per CPU); the result does
            not depend on it.

    Returns:
        One row per study: study keys, ``n_points, dim, space, discrepancy, dispersion``
        (``space`` is ``declared`` or ``inferred``).
    """
    keys = study_keys(trials)
    require_columns(trials, ("params",), "trial table")
    spaces = dict(spaces or {})
    rng = np.random.default_rng(random_state)
    columns = [*keys, "n_points", "dim", "space", "discrepancy", "dispersion"]
    sid, first = study_index(trials, keys)
    out = trials[keys].iloc[first].reset_index(drop=True)
    jobs = []  # (study id, points, probes)
    kind = np.full(first.size, "", dtype=object)
    task_codes, tasks = pd.factorize(trials["task"], sort=True)
    t_order, t_starts, t_ends = segments(task_codes)
    for t, (ts, te) in enumerate(zip(t_starts, t_ends, strict=True)):
        rows = t_order[ts:te]
        space = spaces.get(tasks[t])
        if space is not None and not isinstance(space, SearchSpace):
            space = SearchSpace.from_config(space)
        cube = unit_cube(parse_params(trials["params"].iloc[rows]), space)
        probes = rng.random((n_probe, cube.shape[1]))
        order, starts, ends = segments(sid[rows])
        for start, end in zip(starts, ends, strict=True):
            study = sid[rows[order[start]]]
            jobs.append((study, cube[order[start:end]], probes))
            kind[study] = "declared" if space is not None else "inferred"

    def measure(job: tuple[int, np.ndarray, np.ndarray]) -> tuple[float, float]:
        _, pts, probes = job
        return centred_discrepancy(pts), dispersion(pts, probes)

    n_workers = (os.cpu_count() or 1) if workers is None else max(1, workers)
    if n_workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(n_workers) as pool:  # both measures release the GIL
            measured = list(pool.map(measure, jobs))
    else:
        measured = [measure(job) for job in jobs]
    stats = np.full((first.size, 4), np.nan)
    for (study, pts, _), (cd, disp) in zip(jobs, measured, strict=True):
        stats[study] = (pts.shape[0], pts.shape[1], cd, disp)
    out["n_points"] = np.nan_to_num(stats[:, 0]).astype(int)
    out["dim"] = np.nan_to_num(stats[:, 1]).astype(int)
    out["space"] = kind
    out["discrepancy"] = stats[:, 2]
    out["dispersion"] = stats[:, 3]
    return out[columns]


def relative_density(density: pd.DataFrame, baseline: str = "random") -> pd.DataFrame:
    """Discrepancy and dispersion relative to the baseline's studies of the same task.

    ``discrepancy_rel = discrepancy / mean discrepancy of the baseline's studies`` on the same
    (task, budget), likewise ``dispersion_rel``: 1 means "as evenly spread as random search",
    above 1 a more concentrated search. The ratios share one axis across tasks of different
    dimensions, as the normalised score does. Without the baseline on a task, the reference is
    the mean over all its studies (``density_reference`` says which).

    Args:
        density: Output of :func:`exploration_density`, one row per study.
        baseline: Optimizer whose mean is the reference.

    Returns:
        ``density`` with ``discrepancy_rel, dispersion_rel, density_reference`` appended.
    """
    require_columns(density, ("task", "optimizer", "discrepancy", "dispersion"), "density")
    groups = [c for c in ("task", "budget") if c in density.columns]
    out = density.copy()
    is_base = out["optimizer"].astype(str).eq(baseline)
    out["density_reference"] = f"baseline={baseline}"
    for col in ("discrepancy", "dispersion"):
        by = [out[g] for g in groups]
        base = out[col].where(is_base).groupby(by, dropna=False).transform("mean")
        every = out[col].groupby(by, dropna=False).transform("mean")
        ref = base.where(base.notna(), every)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{col}_rel"] = np.where(ref > 0, out[col] / ref, np.nan)
        if col == "discrepancy":
            out.loc[base.isna(), "density_reference"] = "all studies"
    return out
