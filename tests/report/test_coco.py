"""COCO export: BBOB trials as COCO data folders, read back by cocopp itself (offline)."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.helpers.workflow import environment
from tunebench.report import export_coco

ioh = pytest.importorskip("ioh")
optuna = pytest.importorskip("optuna")

FUNCTIONS, INSTANCES, SEEDS, N = (1, 2), (1, 2), (0, 1), 20
FAILED = ("random", "bbob-f2-d2-i1", 1, 3)  # (optimizer, task, seed, trial) of a failed trial


def bare_study(sampler: Any, problem: Any, n: int) -> list[tuple[dict[str, float], float]]:
    """A bare Optuna ask/tell loop on an ioh problem: (params, value) per trial."""
    study = optuna.create_study(sampler=sampler)
    out = []
    for _ in range(n):
        trial = study.ask()
        params = {f"x{i}": trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(2)}
        value = float(problem(list(params.values())))
        study.tell(trial, value)
        out.append((params, value))
    return out


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    """A trial table of BBOB rows (two optimizers, two functions in 2-d, two instances, two
    seeds), one failed trial, and one study of another task that the export ignores."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = {"random": optuna.samplers.RandomSampler, "tpe": optuna.samplers.TPESampler}
    rows = []
    for name, function, instance, seed in itertools.product(samplers, FUNCTIONS, INSTANCES, SEEDS):
        problem = ioh.get_problem(function, instance, 2, problem_class=ioh.ProblemClass.BBOB)
        task = f"bbob-f{function}-d2-i{instance}"
        study = bare_study(samplers[name](seed=seed), problem, N)
        for trial, (params, value) in enumerate(study):
            failed = (name, task, seed, trial) == FAILED
            rows.append(
                {
                    "task": task,
                    "optimizer": name,
                    "framework": "optuna",
                    "algorithm": name,
                    "budget": f"t{N}",
                    "seed": seed,
                    "trial": trial,
                    "status": "failed" if failed else "complete",
                    "value": math.nan if failed else value,
                    "params": json.dumps(params),
                    "known_optimum": float(problem.optimum.y),
                }
            )
    other = {**rows[0], "task": "branin", "known_optimum": 0.397887}
    return pd.DataFrame([*rows, other]).sample(frac=1.0, random_state=0)  # any row order


def best_so_far(run: pd.DataFrame) -> np.ndarray:
    """Best f - fopt after each evaluation (failed trials change nothing)."""
    run = run.sort_values("trial")
    values = run["value"].fillna(np.inf).to_numpy()
    return np.minimum.accumulate(values) - run["known_optimum"].to_numpy()


def test_iohs_optimum_is_cocos_fopt() -> None:
    # fopt as COCO's bbob logger writes it in .dat headers ("noise-free fitness - Fopt (...)"):
    # f1/i1 from the format's documentation in COCO's logger, the others from COCO-generated
    # files (instances 1-5 are the same in every year's suite).
    coco = {(1, 1): 79.48, (1, 5): -25.25, (2, 1): -209.88, (3, 1): -462.09}
    coco |= {(23, 4): -223.12, (24, 5): -133.59}
    for (function, instance), fopt in coco.items():
        for dimension in (2, 20):  # fopt does not depend on the dimension
            p = ioh.get_problem(function, instance, dimension, problem_class=ioh.ProblemClass.BBOB)
            assert p.optimum.y == fopt, (function, instance, dimension)


def test_export_writes_one_folder_per_optimizer_in_the_bbob_format(
    trials: pd.DataFrame, tmp_path: Path
) -> None:
    folders = export_coco(trials, tmp_path)
    assert folders == {"random": tmp_path / "random", "tpe": tmp_path / "tpe"}
    for optimizer, folder in folders.items():
        assert sorted(p.name for p in folder.glob("*.info")) == [
            "bbobexp_f1.info",
            "bbobexp_f2.info",
        ]
        for function in FUNCTIONS:
            header, comment, data = (folder / f"bbobexp_f{function}.info").read_text().splitlines()
            assert header == (
                f"funcId = {function}, DIM = 2, Precision = 1.000e-08, algId = '{optimizer}', "
                "suite = 'bbob'"
            )
            assert comment.startswith("% tunebench optuna")
            file, *entries = data.split(", ")
            assert file == f"data_f{function}/bbobexp_f{function}_DIM2.dat"
            assert [e.split("|")[0] for e in entries] == ["1:20", "1:20", "2:20", "2:20"]
            dat = (folder / file).read_text()
            assert (folder / file).with_suffix(".tdat").read_text() == dat
            runs = [block.splitlines() for block in dat.split("% function evaluation")[1:]]
            assert len(runs) == 4
            for (instance, seed), lines, entry in zip(
                [(i, s) for i in INSTANCES for s in SEEDS], runs, entries, strict=True
            ):
                mine = trials[
                    (trials["optimizer"] == optimizer)
                    & (trials["task"] == f"bbob-f{function}-d2-i{instance}")
                    & (trials["seed"] == seed)
                ]
                fopt = mine["known_optimum"].iloc[0]
                assert lines[0].startswith(f" | noise-free fitness - Fopt ({fopt:13.12e})")
                table = np.array([[float(v) for v in line.split()] for line in lines[1:]])
                assert table.shape == (N, 7)
                assert list(table[:, 0]) == list(range(1, N + 1))
                np.testing.assert_allclose(table[:, 2], best_so_far(mine), rtol=1e-14)
                params = mine.sort_values("trial")["params"].map(json.loads)
                np.testing.assert_array_equal(table[:, 5], [p["x0"] for p in params])
                assert float(entry.split("|")[1]) == pytest.approx(best_so_far(mine)[-1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.assign(task="branin"), "no BBOB rows"),
        (lambda t: t.assign(budget=np.where(t["trial"] < 5, "t5", "t20")), "choose one"),
        (lambda t: t.assign(known_optimum=np.nan), "known_optimum: missing"),
    ],
)
def test_export_errors_are_one_line(trials: pd.DataFrame, change: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        export_coco(change(trials), "unused")
    assert "\n" not in str(info.value)


def test_export_picks_the_budget_asked_for(trials: pd.DataFrame, tmp_path: Path) -> None:
    two = pd.concat([trials, trials.assign(budget="t10").query("trial < 10")])
    export_coco(two, tmp_path, budget="t10")
    data = (tmp_path / "tpe" / "bbobexp_f1.info").read_text().splitlines()[2]
    assert data.count(":10|") == 4
    with pytest.raises(ValueError, match="'t3' is not a budget"):
        export_coco(two, tmp_path, budget="t3")


# cocopp in a subprocess, with connections to non-local addresses refused.
COCOPP = """
import ipaddress, json, socket, sys
connect = socket.socket.connect
def local_only(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise OSError(f"network blocked: {address}")
    return connect(sock, address)
socket.socket.connect = local_only
import cocopp
cocopp.main(sys.argv[1:])
read = {}
for folder in sys.argv[3:]:
    read[folder] = [
        [ds.funcId, ds.dim, list(map(int, ds.instancenumbers)),
         [None if e != e else int(e) for e in ds.detEvals([1.0])[0]]]
        for ds in cocopp.load(folder)
    ]
print("READ " + json.dumps(read))
"""


@pytest.mark.slow
def test_cocopp_reads_the_export_offline(trials: pd.DataFrame, tmp_path: Path) -> None:
    folders = export_coco(trials, tmp_path / "coco")
    out = tmp_path / "ppdata"
    run = subprocess.run(
        [sys.executable, "-c", COCOPP, "-o", str(out), *map(str, folders.values())],
        cwd=tmp_path,
        env=environment(MPLBACKEND="Agg"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (out / "index.html").exists() and len(list(out.rglob("*.html"))) > 3
    (line,) = [x for x in run.stdout.splitlines() if x.startswith("READ ")]
    read = json.loads(line.removeprefix("READ "))
    for optimizer, folder in folders.items():
        expected = []
        for function in FUNCTIONS:
            hits = []
            for instance in INSTANCES:
                for seed in SEEDS:
                    run_rows = trials[
                        (trials["optimizer"] == optimizer)
                        & (trials["task"] == f"bbob-f{function}-d2-i{instance}")
                        & (trials["seed"] == seed)
                    ]
                    reached = np.flatnonzero(best_so_far(run_rows) <= 1.0)
                    hits.append(int(reached[0]) + 1 if len(reached) else None)
            expected.append([function, 2, [1, 1, 2, 2], hits])
        assert read[str(folder)] == expected  # functions, runs and first hits of f - fopt <= 1


def test_cli_exports_and_prints_the_cocopp_command(
    trials: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tunebench.cli import main

    table = tmp_path / "trials.parquet"
    trials.to_parquet(table)
    out = tmp_path / "coco"
    assert main(["coco-export", "--trials", str(table), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [f"random: {out / 'random'}", f"tpe: {out / 'tpe'}"]
    assert lines[2] == (
        f"compare: python -m cocopp -o {tmp_path / 'cocopp'} {out / 'random'} {out / 'tpe'}"
    )
    assert (out / "tpe" / "data_f2" / "bbobexp_f2_DIM2.tdat").exists()
    assert main(["coco-export", "--trials", str(table), "--budget", "t1"]) == 2
    assert capsys.readouterr().err.startswith("tunebench coco-export: error: budget: 't1'")
