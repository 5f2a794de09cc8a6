"""COCO data folders from the BBOB rows of a trial table, for COCO's post-processing (cocopp).

One folder per optimizer, in the format of COCO's original ``bbob`` logger (cocopp's default
reader; Hansen et al., "COCO: a platform for comparing continuous optimizers in a black-box
setting", 2021, `arXiv:1603.08785 <https://arxiv.org/abs/1603.08785>`_):

- ``bbobexp_f{F}.info``: per dimension three lines: a header (``funcId``, ``DIM``,
  ``Precision``, ``algId``, ``suite``), a ``%`` comment, and the data file followed by one
  ``instance:evaluations|final best f - fopt`` entry per run;
- ``data_f{F}/bbobexp_f{F}_DIM{D}.dat`` and ``.tdat``: per run a ``%`` header line carrying fopt,
  then rows ``evaluation, f - fopt, best f - fopt, f, best f, x1 .. xD``.

A run is one study (an instance and a seed) and its evaluations are its trials in trial order
(failed trials count as evaluations and leave the best unchanged). COCO's logger writes ``.dat``
rows when the best crosses a target and ``.tdat`` rows on an evaluation schedule; both files here
hold every evaluation, a superset from which cocopp reads the same first hits and values.
``fopt`` is the trial table's ``known_optimum`` (ioh's ``f.optimum.y``, COCO's fopt of the same
function and instance).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tunebench.core.files import write_text
from tunebench.core.tables import require_columns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BBOB_TASK", "COCO_PRECISION", "export_coco"]

BBOB_TASK = re.compile(r"^bbob-f(?P<function>\d+)-d(?P<dimension>\d+)-i(?P<instance>\d+)$")
"""A BBOB task's name: ``bbob-f{function}-d{dimension}-i{instance}``."""
COCO_PRECISION = 1e-8
"""COCO's final target: best f - fopt below it counts as solved."""
_HEADER = (
    "% function evaluation | noise-free fitness - Fopt ({fopt:13.12e}) | "
    "best noise-free fitness - Fopt | measured fitness | best measured fitness | x1 | x2...\n"
)


def export_coco(
    trials: pd.DataFrame, out_dir: str | Path, *, budget: str | None = None
) -> dict[str, Path]:
    """Write a COCO data folder per optimizer from the BBOB rows of ``trials``.

    Args:
        trials: The trial table; its BBOB rows (tasks named as :data:`BBOB_TASK`) need
            ``task, optimizer, framework, algorithm, budget, seed, trial, value, params,
            known_optimum``.
        out_dir: Where the folders go (``out_dir/<optimizer>``).
        budget: The budget whose studies are exported; required when the BBOB rows have
            several.

    Returns:
        Optimizer -> its folder.

    Raises:
        ValueError: No BBOB rows, several budgets and no ``budget``, an unknown ``budget``, or
            a BBOB task without ``known_optimum``.
    """
    columns = ("task", "optimizer", "framework", "algorithm", "budget", "seed", "trial")
    require_columns(trials, (*columns, "value", "params", "known_optimum"), "trial table")
    trials = trials.reset_index(drop=True)
    names = trials["task"].astype(str).str.extract(BBOB_TASK)
    rows = trials[names["function"].notna()].copy()
    if rows.empty:
        raise ValueError("no BBOB rows: no task is named bbob-f<F>-d<D>-i<I>")
    budgets = sorted(rows["budget"].astype(str).unique())
    if budget is None and len(budgets) > 1:
        raise ValueError(f"budget: the BBOB rows have budgets {budgets}; choose one")
    if budget is not None and budget not in budgets:
        raise ValueError(f"budget: {budget!r} is not a budget of the BBOB rows {budgets}")
    rows = rows[rows["budget"].astype(str) == (budget or budgets[0])]
    names = names.loc[rows.index].astype(int)
    rows[["function", "dimension", "instance"]] = names
    missing = sorted(rows.loc[rows["known_optimum"].isna(), "task"].unique())
    if missing:
        raise ValueError(f"known_optimum: missing for {missing[:3]}: COCO needs each fopt")
    out_dir = Path(out_dir)
    folders = {}
    for optimizer, mine in rows.groupby("optimizer", sort=True):
        folder = folders[str(optimizer)] = out_dir / str(optimizer)
        first = mine.iloc[0]
        comment = (
            f"% tunebench {first['framework']} {first['algorithm']}, budget {first['budget']}"
        )
        for function, of_f in mine.groupby("function", sort=True):
            blocks = []
            for dimension, runs in of_f.groupby("dimension", sort=True):
                data = f"data_f{function}/bbobexp_f{function}_DIM{dimension}"
                entries, text = [], []
                for (instance, _seed), run in runs.groupby(["instance", "seed"], sort=True):
                    lines, final = _run_lines(run.sort_values("trial"), int(dimension))
                    text.append("".join(lines))
                    entries.append(f"{instance}:{len(run)}|{final:.15e}")
                for ext in ("dat", "tdat"):
                    write_text(folder / f"{data}.{ext}", "".join(text))
                header = (
                    f"funcId = {function}, DIM = {dimension}, Precision = {COCO_PRECISION:.3e}, "
                    f"algId = '{optimizer}', suite = 'bbob'"
                )
                blocks.append(f"{header}\n{comment}\n{data}.dat, {', '.join(entries)}\n")
            write_text(folder / f"bbobexp_f{function}.info", "".join(blocks))
    return folders


def _run_lines(run: pd.DataFrame, dimension: int) -> tuple[list[str], float]:
    """The ``.dat`` lines of one run and its final best f - fopt."""
    fopt = float(run["known_optimum"].iloc[0])
    lines = [_HEADER.format(fopt=fopt)]
    best = math.inf
    for evaluation, (value, params) in enumerate(zip(run["value"], run["params"], strict=True), 1):
        f = float(value)
        if math.isfinite(f):
            best = min(best, f)
        point = json.loads(params) if isinstance(params, str) else {}
        x = [point.get(f"x{i}", math.nan) for i in range(dimension)]
        numbers = [f - fopt, best - fopt, f, best, *map(float, x)]
        lines.append(f"{evaluation} " + " ".join(f"{v:+.16e}" for v in numbers) + "\n")
    return lines, best - fopt
