"""The ``tunebench`` command: running a chunk of studies in one process, and killing it."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.helpers.studies import branin_cell
from tests.helpers.trials import make_trials
from tunebench.chunk import running_at_once
from tunebench.cli import build_parser
from tunebench.core.matrix import StudyCell, StudyChunk
from tunebench.core.outputs import FIGURE_FILES, STATS_FILES

CELL = branin_cell("cli")


def _command(cells: list[StudyCell], results: Path, threads: int = 1) -> list[str]:
    chunk = StudyChunk("rs.t5.0", tuple(cells))
    command = [sys.executable, "-m", "tunebench.cli", "run-studies", "--cells", chunk.to_json()]
    return [*command, "--results", str(results), "--threads", str(threads)]


def _run_studies(
    cells: list[StudyCell], results: Path, threads: int = 1
) -> subprocess.CompletedProcess:
    command = _command(cells, results, threads)
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("threads", [1, 2])
def test_run_studies_runs_every_study_of_the_chunk(tmp_path: Path, threads: int) -> None:
    cells = [CELL, replace(CELL, seed=1), replace(CELL, task="rosen", seed=0)]
    cells[2] = replace(cells[2], task_spec={"kind": "synthetic", "function": "rosenbrock"})
    run = _run_studies(cells, tmp_path, threads)
    assert run.returncode == 0, run.stderr[-2000:]
    for cell in cells:
        trials = pd.read_parquet(cell.study_dir(tmp_path) / "trials.parquet")
        assert len(trials) == 5 and set(trials["seed"]) == {cell.seed}
    assert len(run.stdout.splitlines()) == 3
    assert not (tmp_path / "mlflow").exists()  # MLflow is logged after tuning, not here


@pytest.mark.parametrize("threads", [1, 2])
def test_a_failing_study_does_not_stop_the_chunk(tmp_path: Path, threads: int) -> None:
    broken = replace(CELL, seed=1, optimizer_spec={"framework": "optuna", "sampler": "nope"})
    run = _run_studies([broken, replace(CELL, seed=2)], tmp_path, threads)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        f"tunebench run-studies: 1 of 2 studies failed: {broken.study_dir(tmp_path)}"
    )
    assert (replace(CELL, seed=2).study_dir(tmp_path) / "trials.parquet").exists()
    assert not (broken.study_dir(tmp_path) / "trials.parquet").exists()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _gone(pids: list[int], timeout: float = 10) -> bool:
    """Whether every process of ``pids`` has ended (or is a zombie) within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            with contextlib.suppress(OSError):
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    alive.append(pid)
        if not alive:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("threads", [1, 2])
def test_a_chunk_killed_mid_way_keeps_every_trial_once_in_tables_and_mlflow(
    tmp_path: Path, threads: int
):
    """SIGKILL while the chunk's second study runs (with 2 threads: the first two at once, in
    processes that die with the job); the rerun finishes it and starts nothing twice; logging
    afterwards puts each trial in MLflow once."""
    from mlflow import MlflowClient

    from tunebench.harness.study_log import log_studies
    from tunebench.harness.tracking import init_experiment

    svc = replace(
        CELL,
        task="cancer-svc",
        task_spec={"kind": "sklearn", "model": "svc", "dataset": "breast_cancer"},
        budget="t12",
        budget_spec={"trials": 12},
    )
    cells = [replace(svc, seed=seed) for seed in range(3)]
    command = _command(cells, tmp_path, threads)
    journal = cells[1].study_dir(tmp_path) / "journal.jsonl"
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (journal.exists() and len(journal.read_text().splitlines()) >= 3):
        assert proc.poll() is None and time.monotonic() < deadline, "the chunk ended too soon"
        time.sleep(0.01)
    workers = _children(proc.pid)
    assert len(workers) == (0 if running_at_once(cells, threads) == 1 else 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _gone(workers), "a study process outlived its job"
    before = pd.read_json(journal, lines=True)
    assert 3 <= len(before) < 12
    if threads == 1:  # one after another: the third had not started
        assert not (cells[2].study_dir(tmp_path) / "journal.jsonl").exists()

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    for cell in cells:
        trials = pd.read_parquet(cell.study_dir(tmp_path) / "trials.parquet")
        assert trials["trial"].tolist() == list(range(12))
    resumed = pd.read_parquet(cells[1].study_dir(tmp_path) / "trials.parquet")
    assert resumed["t_start"].head(len(before)).tolist() == before["t_start"].tolist()

    target = init_experiment("kill", f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "art")
    log_studies(target, [c.study_dir(tmp_path) for c in cells], progress=None)
    runs = MlflowClient(target.tracking_uri).search_runs([target.experiment_id], max_results=500)
    trials_logged = sorted(
        (r.data.tags["mlflow.parentRunId"], int(r.data.tags["trial"]))
        for r in runs
        if "mlflow.parentRunId" in r.data.tags
    )
    assert len(trials_logged) == len(set(trials_logged)) == 36


@pytest.mark.skipif(running_at_once([CELL, CELL], 2) < 2, reason="needs 2 CPUs")
def test_studies_run_at_once_give_the_trials_they_give_one_after_another(tmp_path: Path) -> None:
    cells = [replace(CELL, budget="t30", budget_spec={"trials": 30}, seed=s) for s in range(4)]
    cells = [replace(c, optimizer="tpe", optimizer_spec={"framework": "optuna", "sampler": "tpe"})
             for c in cells]  # fmt: skip
    one, two = tmp_path / "one", tmp_path / "two"
    for results, threads in ((one, 1), (two, 2)):
        run = _run_studies(cells, results, threads)
        assert run.returncode == 0, run.stderr[-2000:]
    columns = ["trial", "status", "value", "test_value", "params"]
    for cell in cells:
        serial = pd.read_parquet(cell.study_dir(one) / "trials.parquet")[columns]
        forked = pd.read_parquet(cell.study_dir(two) / "trials.parquet")[columns]
        pd.testing.assert_frame_equal(serial, forked)
    spans = []
    for cell in cells:
        timings = json.loads((cell.study_dir(two) / "study.json").read_text())["timings"]
        spans.append((timings["started"], timings["finished"]))
    spans.sort()
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans)), spans  # some ran at once


@pytest.mark.skipif(running_at_once([CELL, CELL], 2) < 2, reason="needs 2 CPUs")
def test_a_study_process_that_dies_fails_the_job_and_names_its_study(tmp_path: Path) -> None:
    """One of the job's two study processes is killed: the other finishes its studies, the job
    fails naming the study that was lost, and a rerun finishes it."""
    slow = replace(CELL, budget="t400", budget_spec={"trials": 400})
    cells = [replace(slow, seed=s) for s in range(3)]
    proc = subprocess.Popen(
        _command(cells, tmp_path, 2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    journal = cells[0].study_dir(tmp_path) / "journal.jsonl"
    deadline = time.monotonic() + 120
    while not (journal.exists() and len(journal.read_text().splitlines()) >= 5):
        assert proc.poll() is None and time.monotonic() < deadline, "the chunk ended too soon"
        time.sleep(0.01)
    workers = _children(proc.pid)
    lock = journal.parent.parent / f".{journal.parent.name}.lock"  # harness.study_lock's
    holder = [pid for pid in workers if str(lock) in _open_files(pid)]
    assert len(workers) == 2 and len(holder) == 1, (workers, holder)
    os.kill(holder[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1
    died = f"the process running {cells[0].study_dir(tmp_path)} died (exit code -9)"
    assert died in stderr, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == (
        f"tunebench run-studies: 1 of 3 studies failed: {cells[0].study_dir(tmp_path)}"
    )
    for cell in cells[1:]:
        assert len(pd.read_parquet(cell.study_dir(tmp_path) / "trials.parquet")) == 400
    rerun = _run_studies(cells, tmp_path, 2)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    trials = pd.read_parquet(cells[0].study_dir(tmp_path) / "trials.parquet")
    assert trials["trial"].tolist() == list(range(400))


def _open_files(pid: int) -> str:
    """The paths ``pid`` holds open, one per line (from /proc)."""
    paths = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            paths.append(os.readlink(fd))
    return "\n".join(paths)


def _actions(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, Any]]:
    """Every (command path, action) of ``parser`` and of its subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{path} {name}", argparse.Namespace(help=helps.get(name), dest=name)
                yield from _actions(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def test_every_command_and_option_has_help() -> None:
    found = list(_actions(build_parser(), "tunebench"))
    missing = [f"{path}: {action.dest}" for path, action in found if not action.help]
    assert len(found) > 50 and not missing


def test_a_full_disk_stops_a_study_with_one_line_and_the_rerun_continues(
    tmp_path: Path, small_disk: Path
) -> None:
    cell = replace(CELL, budget="t60", budget_spec={"trials": 60})
    filler = small_disk / "filler"
    filler.write_bytes(b"x" * (shutil.disk_usage(small_disk).free - 49152))  # 48 KiB left
    run = _run_studies([cell], small_disk)
    assert run.returncode == 1
    journal = cell.study_dir(small_disk) / "journal.jsonl"
    first, last = run.stderr.strip().splitlines()[-2:]
    study = journal.parent  # the file, where the writer is known (Optuna's journal: not)
    assert re.fullmatch(
        rf"tunebench run-studies: {study}\S*: disk full: (the file needs more than \d+ B, )?"
        rf"\d+ B free in {study}; free some space and rerun \(finished trials are kept\)",
        first,
    ), run.stderr[-3000:]
    assert last.startswith("tunebench run-studies: 1 of 1 studies failed")
    assert "Traceback" not in run.stderr
    assert 0 < len(journal.read_text().splitlines()) < 60  # the trials before the disk filled

    filler.unlink()
    rerun = _run_studies([cell], small_disk)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    trials = pd.read_parquet(cell.study_dir(small_disk) / "trials.parquet")
    assert trials["trial"].tolist() == list(range(60))


@pytest.mark.parametrize("small_disk", ["8m"], indirect=True)
def test_a_full_mlflow_store_stops_a_study_with_one_line_and_the_rerun_logs_each_trial_once(
    tmp_path: Path, small_disk: Path
) -> None:
    from mlflow import MlflowClient

    from tunebench.harness.tracking import TrackingTarget, init_experiment

    db = small_disk / "mlflow" / "mlflow.db"
    target = init_experiment("full", f"sqlite:///{db}", small_disk / "mlflow" / "artifacts")
    target.write(small_disk / "mlflow" / "experiment.json")
    filler = small_disk / "filler"
    filler.write_bytes(b"x" * (shutil.disk_usage(small_disk).free - 300 * 1024))
    cell = replace(CELL, budget="t20", budget_spec={"trials": 20})
    command = [sys.executable, "-m", "tunebench.cli", "run-studies", "--results", str(tmp_path)]
    command += ["--cells", StudyChunk("rs.t20.0", (cell,)).to_json()]
    command += ["--mlflow", str(small_disk / "mlflow" / "experiment.json")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if not line.startswith("[")]  # progress
    assert len(lines) == 2, run.stderr[-3000:]
    assert re.fullmatch(
        rf"tunebench run-studies: {db}: disk full: \d+ B free in {db.parent}; free some space "
        r"and rerun \(finished trials are kept\)",
        lines[0],
    )
    assert lines[1].startswith("tunebench run-studies: 1 of 1 studies failed")
    journal = cell.study_dir(tmp_path) / "journal.jsonl"
    assert 0 < len(journal.read_text().splitlines()) < 20  # the disk filled mid-study

    filler.unlink()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert pd.read_parquet(journal.parent / "trials.parquet")["trial"].tolist() == list(range(20))
    target = TrackingTarget.read(small_disk / "mlflow" / "experiment.json")
    runs = MlflowClient(target.tracking_uri).search_runs([target.experiment_id], max_results=100)
    trials = [int(r.data.tags["trial"]) for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert sorted(trials) == list(range(20))


def test_aggregating_a_corrupt_study_table_is_one_line_naming_it(tmp_path: Path) -> None:
    run = _run_studies([CELL, replace(CELL, seed=1)], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    broken = CELL.study_dir(tmp_path) / "trials.parquet"
    broken.write_bytes(b"overwritten")
    studies = [str(c.study_dir(tmp_path)) for c in (CELL, replace(CELL, seed=1))]
    command = [sys.executable, "-m", "tunebench.cli", "aggregate", *studies]
    command += ["--trials-out", str(tmp_path / "t.parquet"), "--curves-out", str(tmp_path / "c")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"tunebench aggregate: error: {broken}: not a readable Parquet file (Parquet magic "
        "bytes not found in footer. Either the file is corrupted or this is not a parquet file.); "
        "delete it, or its study directory, and rerun: the study's files are written again"
    ]


def test_the_aggregate_is_what_pandas_concat_makes_of_the_study_tables(tmp_path: Path) -> None:
    """Columns united in order of appearance, int with float as float, absent ones missing,
    empty tables left out: read back, the aggregate equals ``pandas.concat``."""
    from tunebench.cli import main

    empty = pd.Series([], dtype="int64")
    tables = {
        "a": pd.DataFrame({"seed": [0, 0], "interrupted_s": [0, 0], "x": ["p", "q"]}),
        "b": pd.DataFrame({"seed": [1], "interrupted_s": [2.5], "acc": [0.9]}),
        "c": pd.DataFrame({"seed": empty, "interrupted_s": empty}),
    }
    for name, frame in tables.items():
        (tmp_path / name).mkdir()
        frame.to_parquet(tmp_path / name / "trials.parquet", index=False)
        frame.to_parquet(tmp_path / name / "curves.parquet", index=False)
    out = tmp_path / "all.parquet"
    code = main(["aggregate", *(str(tmp_path / n) for n in tables), "--trials-out", str(out),
                 "--curves-out", str(tmp_path / "curves.parquet")])  # fmt: skip
    assert code == 0
    expected = pd.concat([tables["a"], tables["b"]], ignore_index=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)


@pytest.fixture(scope="module")
def analysis_project(tmp_path_factory) -> Path:
    """A results folder with a trial table and a new MLflow store (init-mlflow)."""
    results = tmp_path_factory.mktemp("analysis") / "results"
    results.mkdir()
    make_trials(n_tasks=2, optimizers=("random", "tpe"), n_seeds=3).to_parquet(
        results / "trials.parquet"
    )
    init = [sys.executable, "-m", "tunebench.cli", "init-mlflow", "--name", "analyse"]
    done = subprocess.run(
        [*init, "--results", str(results), "--out", str(results / "experiment.json")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return results


def _analyse(results: Path, out: str, *options: str) -> subprocess.CompletedProcess:
    work = results / out
    command = [
        sys.executable, "-m", "tunebench.cli", "analyse", str(results / "trials.parquet"),
        "--stats-out", str(work / "stats"), "--figures-out", str(work / "figures"),
        "--summary", str(work / "summary.md"), "--html", str(work / "summary.html"),
        "--baseline", "random", "--n-boot", "50", "--mlflow", str(results / "experiment.json"),
        "--run-out", str(work / "run.json"), *options,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def _analysis_runs(results: Path) -> list[Any]:
    client = MlflowClient(f"sqlite:///{results / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("analyse")
    runs = client.search_runs([experiment.experiment_id])
    return [r for r in runs if r.data.tags.get("tunebench.role") == "analysis"]


def test_analyse_writes_every_output_and_logs_them_as_the_analysis_run(analysis_project):
    results = analysis_project
    done = _analyse(results, "ok", "--jobs", "2", "--params", '{"alpha": 0.05}')
    assert done.returncode == 0, done.stderr
    work = results / "ok"
    names = [f"stats/{n}" for n in STATS_FILES] + [f"figures/{n}" for n in FIGURE_FILES]
    assert all((work / name).stat().st_size > 0 for name in [*names, "summary.html"])
    (run,) = _analysis_runs(results)
    assert json.loads((work / "run.json").read_text())["run_id"] == run.info.run_id
    assert run.info.status == "FINISHED" and run.data.params == {"alpha": "0.05"}
    assert set(run.data.metrics) >= {"mean_rank.random", "mean_rank.tpe"}
    assert run.data.tags["mlflow.note.content"] == (work / "summary.md").read_text()
    client = MlflowClient(f"sqlite:///{results / 'mlflow' / 'mlflow.db'}")
    logged = {
        f.path for d in ("stats", "figures") for f in client.list_artifacts(run.info.run_id, d)
    }
    assert logged == set(names) | {"stats/summary.md", "stats/summary.html"}


def test_a_failed_analysis_is_one_line_and_logs_no_run(analysis_project):
    results = analysis_project
    before = len(_analysis_runs(results))
    done = _analyse(results, "bad", "--budget", "t99")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "tunebench analyse: error: budget 't99' not in the trial table; budgets present: ['t10']"
    ]
    assert len(_analysis_runs(results)) == before and not (results / "bad" / "run.json").exists()
