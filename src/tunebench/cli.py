"""Command-line interface: ``tunebench <command>``; the Snakemake rules call these commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunebench.harness.tracking import TrackingTarget

__all__ = ["main"]


def _load_validated(path: str) -> dict[str, Any]:
    """The config at ``path`` with its suites expanded into tasks, validated."""
    from tunebench.core.config import load_config, validate_config
    from tunebench.tasks.suites import expand_suites

    return validate_config(expand_suites(load_config(path)))


def _tracking_target(config: dict[str, Any], results: Path, config_hash: str | None = None) -> Any:
    from tunebench.harness.tracking import default_tracking_uri, init_experiment

    uri = default_tracking_uri(results, config["mlflow"]["tracking_uri"])
    artifacts = results / "mlflow" / "artifacts" if uri.startswith("sqlite:") else None
    return init_experiment(config["name"], uri, artifacts, config_hash, project=results)


def cmd_validate(args: argparse.Namespace) -> int:
    from tunebench.core.config import load_config, validate_config
    from tunebench.core.matrix import expand_matrix, matrix_axes, seeds_of
    from tunebench.tasks.suites import merge_suite_tasks, suite_tasks_of

    raw = load_config(args.config)
    by_suite = suite_tasks_of(raw)
    config = validate_config(merge_suite_tasks(raw, by_suite))
    for entry, tasks in by_suite.items():
        print(f"suites.{entry}: {raw['suites'][entry]['suite']}, {len(tasks)} tasks")
    only = "".join(
        f", {name} on {len(tasks)} task{'s' * (len(tasks) > 1)} only"
        for name, tasks in matrix_axes(config)["only"].items()
    )
    print(
        f"{args.config}: valid: {len(config['tasks'])} tasks × {len(config['optimizers'])} "
        f"optimizers × {len(config['budgets'])} budgets × {len(seeds_of(config))} seeds{only} = "
        f"{len(expand_matrix(config))} studies"
    )
    return 0


def cmd_frameworks(args: argparse.Namespace) -> int:
    from tunebench.frameworks import FRAMEWORKS, framework_status

    for name in FRAMEWORKS:
        _, detail = framework_status(name)
        print(f"{name:<12} {detail}")
    return 0


def cmd_init_mlflow(args: argparse.Namespace) -> int:
    from tunebench.core.config import config_hash

    config = _load_validated(args.config) if args.config else None
    digest = config_hash(config) if config is not None else args.config_hash
    if config is None:
        config = {"name": args.name, "mlflow": {"tracking_uri": args.tracking_uri}}
    from tunebench.harness.tracking import redacted

    target = _tracking_target(config, Path(args.results), digest)
    target.write(Path(args.out))
    print(
        f"MLflow experiment {target.experiment_name!r} ({target.experiment_id}) at "
        f"{redacted(target.tracking_uri)}"
    )
    return 0


def cmd_run_study(args: argparse.Namespace) -> int:
    from tunebench.core.matrix import StudyCell, cell_of
    from tunebench.harness.tracking import TrackingTarget
    from tunebench.study import run_study

    results = Path(args.results)
    config = None
    if args.cell:
        cell = StudyCell.from_json(args.cell)
    else:
        missing = [
            k
            for k in ("config", "task", "optimizer", "budget", "seed")
            if getattr(args, k) is None
        ]
        if missing:
            raise ValueError(f"run-study needs --cell, or --config with --{', --'.join(missing)}")
        config = _load_validated(args.config)
        try:
            cell = cell_of(config, args.task, args.optimizer, args.budget, args.seed)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
    target = None
    if args.mlflow:
        target = TrackingTarget.read(Path(args.mlflow))
    elif not args.no_mlflow:
        if config is None:
            raise ValueError(
                "run-study --cell needs --mlflow FILE (from init-mlflow) or --no-mlflow"
            )
        target = _tracking_target(config, results)
    out = Path(args.out) if args.out else cell.study_dir(results)
    summary = run_study(cell, out, tracking=target)
    res = summary["results"]
    print(
        f"{out}: {res['n_trials']} trials ({res['n_failed']} failed, {res['n_pruned']} pruned), "
        f"best {res['best_value']:.6g}, test {res['test_value']:.6g}"
    )
    return 0


def cmd_run_studies(args: argparse.Namespace) -> int:
    from tunebench.chunk import run_chunk
    from tunebench.core.matrix import StudyChunk

    if args.threads < 1:
        raise ValueError(f"--threads: must be at least 1, got {args.threads}")
    cells = StudyChunk.cells_from_json(args.cells)
    mlflow = Path(args.mlflow) if args.mlflow else None
    failed = run_chunk(cells, Path(args.results), mlflow=mlflow, threads=args.threads)
    if failed:
        print(
            f"tunebench run-studies: {len(failed)} of {len(cells)} studies failed: "
            f"{', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_log_studies(args: argparse.Namespace) -> int:
    import json

    from tunebench.core.files import write_json
    from tunebench.core.matrix import study_dirs
    from tunebench.harness.study_log import log_studies
    from tunebench.harness.tracking import TrackingTarget

    results = Path(args.results)
    studies = [Path(d) for d in args.studies]
    if args.matrix:
        studies += study_dirs(json.loads(args.matrix), results)
    if not studies:
        raise ValueError("no studies: give study directories or --matrix")
    if args.mlflow:
        target = TrackingTarget.read(Path(args.mlflow))
    else:
        if not args.experiment_out:
            raise ValueError("without --mlflow, --experiment-out names where the store is written")
        config = {"name": args.name, "mlflow": {"tracking_uri": args.tracking_uri}}
        target = _tracking_target(config, results, args.config_hash)
        target.write(Path(args.experiment_out))
    runs = log_studies(target, studies, trials=args.trials)
    write_json(args.out, runs, indent=1)
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from tunebench.harness.journal import repair_journals

    done = repair_journals(Path(args.study_dir))
    print("\n".join(done) if done else f"{args.study_dir}: no corrupt journal line")
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    import json

    import pyarrow as pa

    from tunebench.core.files import read_arrow, write_parquet
    from tunebench.core.matrix import study_dirs

    studies = [Path(d) for d in args.studies]
    if args.matrix:
        studies += study_dirs(json.loads(args.matrix), args.results)
    if not studies:
        raise ValueError("no studies: give study directories or --matrix")
    for name, out in (("trials.parquet", args.trials_out), ("curves.parquet", args.curves_out)):
        tables = [t for t in (read_arrow(d / name) for d in studies) if t.num_rows]
        # columns as pandas.concat unites them: in order of appearance, int64 with double as
        # double, absent ones null
        table = pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})
        write_parquet(out, table)
        print(f"{out}: {table.num_rows} rows from {len(studies)} studies")
    return 0


def _parse_at(text: str | None) -> tuple[str, float] | None:
    """``"epochs=200"`` → ``("epochs", 200.0)``; empty → ``None``."""
    if not text:
        return None
    currency, sep, limit = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return currency, float(limit)
    except ValueError:
        raise SystemExit(f"tunebench compare: --at must be CURRENCY=LIMIT, got {text!r}") from None


def _compare_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`tunebench.report.compare` given on the command line."""
    import json

    return {
        "budget": args.budget,
        "alpha": args.alpha,
        "correction": args.correction,
        "baseline": args.baseline,
        "block": args.block,
        "n_boot": args.n_boot,
        "random_state": args.random_state,
        "comparisons": json.loads(args.comparisons) if args.comparisons else None,
        "jobs": args.jobs,
        "at": _parse_at(args.at),
    }


def cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from tunebench.report._pipeline import compare

    written = compare(pd.read_parquet(args.trials), Path(args.out), **_compare_options(args))
    for path in written.values():
        print(path)
    return 0


def cmd_summarise(args: argparse.Namespace) -> int:
    from tunebench.report._pipeline import summarise

    print(summarise(Path(args.stats), Path(args.out), args.html))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from tunebench.report._pipeline import plot

    for path in plot(Path(args.stats), Path(args.out), jobs=args.jobs).values():
        print(path)
    return 0


def cmd_coco_export(args: argparse.Namespace) -> int:
    import pandas as pd

    from tunebench.report import export_coco

    folders = export_coco(pd.read_parquet(args.trials), Path(args.out), budget=args.budget)
    for optimizer, folder in folders.items():
        print(f"{optimizer}: {folder}")
    folders_text = " ".join(map(str, folders.values()))
    print(f"compare: python -m cocopp -o {Path(args.out).parent / 'cocopp'} {folders_text}")
    return 0


def _headline(files: Sequence[Path]) -> tuple[dict[str, float], str]:
    """The analysis run's metrics (each optimizer's mean rank and normalised-score IQM) and its
    description (``summary.md``), from the files of the comparison."""
    import pandas as pd

    by_name = {f.name: f for f in files}
    metrics: dict[str, float] = {}
    if "mean_ranks.csv" in by_name:
        for row in pd.read_csv(by_name["mean_ranks.csv"]).itertuples():
            metrics[f"mean_rank.{row.optimizer}"] = float(row.mean_rank)
    if "aggregates.csv" in by_name:
        aggregates = pd.read_csv(by_name["aggregates.csv"])
        iqm = (aggregates["aggregate"] == "iqm") & (aggregates["value"] == "normalised")
        for row in aggregates[iqm].itertuples():
            metrics[f"iqm_normalised.{row.optimizer}"] = float(row.estimate)
    summary = next((f for f in files if f.suffix == ".md"), None)
    return metrics, summary.read_text(encoding="utf-8") if summary else ""


def _log_analysis(
    target: TrackingTarget,
    files: Sequence[Path],
    params: dict[str, Any],
    config_hash: str | None,
    out: Path,
    headline: tuple[dict[str, float], str] | None = None,
) -> str:
    """Log ``files`` as the analysis run of ``target`` and write ``out``, the run's JSON record;
    return the run id."""
    from tunebench.core.files import write_json
    from tunebench.harness.tracking import log_analysis_run

    metrics, description = headline if headline is not None else _headline(files)
    run_id = log_analysis_run(target, files, params, metrics, description, config_hash)
    write_json(out, {"run_id": run_id, **target.__dict__}, indent=2)
    return run_id


def cmd_log_analysis(args: argparse.Namespace) -> int:
    import json

    from tunebench.harness.tracking import TrackingTarget

    target = TrackingTarget.read(Path(args.mlflow))
    files = [Path(f) for f in args.files]
    params = json.loads(args.params) if args.params else {}
    run_id = _log_analysis(target, files, params, args.config_hash, Path(args.out))
    print(f"analysis run {run_id}: {len(args.files)} artifacts")
    return 0


class _Standby:
    """A process forked now that runs ``prepare()`` at once (imports, opening a store) while
    this one goes on, then ``work(prepared, *args)`` with the ``args`` of :meth:`run`."""

    def __init__(self, what: str, prepare: Callable[[], Any], work: Callable[..., Any]) -> None:
        import gc
        import multiprocessing

        self._what = what
        context = multiprocessing.get_context("fork")  # before any thread of the analysis
        gc.freeze()  # no collection touches (and so copies) the pages both processes share
        self._conn, child = context.Pipe()
        self._process = context.Process(target=self._serve, args=(child, prepare, work))
        self._process.start()
        child.close()

    @staticmethod
    def _serve(conn: Any, prepare: Callable[[], Any], work: Callable[..., Any]) -> None:
        import traceback

        try:
            prepared = prepare()
            args = conn.recv()
            if args is not None:
                conn.send((True, work(prepared, *args)))
        except BaseException:
            conn.send((False, traceback.format_exc()))

    def run(self, *args: Any) -> Any:
        """Hand ``args`` to ``work``; wait for what it returns (its error: RuntimeError)."""
        with contextlib.suppress(OSError):  # a child that failed has said why: read on
            self._conn.send(args)
        try:
            done, value = self._conn.recv()
        except EOFError:
            done, value = False, "the process died"
        self._process.join()
        if not done:
            raise RuntimeError(f"{self._what} failed:\n{value}")
        return value

    def cancel(self) -> None:
        """Stop the process without its work (the analysis failed)."""
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join()


def _open_store(target: TrackingTarget) -> TrackingTarget:
    """``target``, its store opened: MLflow keeps it for the process's later clients."""
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=target.tracking_uri)
    return target


def _import_plots() -> None:
    import tunebench.plots  # noqa: F401  (matplotlib and seaborn)


def _plot(_: None, stats_dir: Path, fig_dir: Path, jobs: int) -> dict[str, Path]:
    from tunebench.report._pipeline import plot

    return plot(stats_dir, fig_dir, jobs=jobs)


def cmd_analyse(args: argparse.Namespace) -> int:
    """The statistics, the summary, the figures and the MLflow run, each file as its own
    command writes it. The drawing process, forked once SciPy is imported, imports matplotlib
    while this one computes the statistics; where the run goes through MLflow's client (not
    :func:`~tunebench.harness.tracking.writes_directly`), a process forked once pandas is
    imported imports MLflow and opens the store meanwhile too."""
    import functools
    import json

    import pandas as pd  # before the fork: MLflow imports it too

    from tunebench.harness.tracking import TrackingTarget, writes_directly

    if args.mlflow and not args.run_out:
        raise ValueError("--mlflow needs --run-out FILE (where the analysis run id is recorded)")
    target = TrackingTarget.read(Path(args.mlflow)) if args.mlflow else None
    logger = drawer = None
    try:
        if target is not None and not writes_directly(target.tracking_uri):
            prepare = functools.partial(_open_store, target)
            logger = _Standby("logging the analysis run to MLflow", prepare, _log_analysis)
        from tunebench.report._pipeline import compare, summarise

        drawer = _Standby("drawing the figures", _import_plots, _plot)
        stats_dir, summary, html = Path(args.stats_out), Path(args.summary), Path(args.html)
        written = compare(pd.read_parquet(args.trials), stats_dir, **_compare_options(args))
        summarise(stats_dir, summary, html)
        figures = drawer.run(stats_dir, Path(args.figures_out), args.jobs)
        files = [*written.values(), *figures.values(), summary, html]
        for path in files:
            print(path)
        if target is not None:
            params = json.loads(args.params) if args.params else {}
            logged = (files, params, args.config_hash, Path(args.run_out), _headline(files))
            run_id = logger.run(*logged) if logger else _log_analysis(target, *logged)
            print(f"analysis run {run_id}: {len(files)} artifacts")
    except BaseException:
        for process in (logger, drawer):
            if process is not None:
                process.cancel()
        raise
    return 0


class _VersionAction(argparse.Action):
    """``--version``, reading the package metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from tunebench import __version__

        print(f"tunebench {__version__}")
        parser.exit()


def _add_compare_options(p: argparse.ArgumentParser) -> None:
    """The options of the comparison (``compare`` and ``analyse``): :func:`_compare_options`."""
    p.add_argument("--budget", help="the budget to compare (required if the table holds several)")
    p.add_argument("--alpha", type=float, default=0.05, help="the significance level")
    p.add_argument(
        "--correction",
        choices=["holm", "bh", "by"],
        default="holm",
        help="multiple-comparison correction of the pairwise p-values",
    )
    p.add_argument(
        "--baseline", default="random", help="the optimizer that scores 1 in the normalised scores"
    )
    p.add_argument(
        "--block",
        choices=["task", "task_seed"],
        default="task",
        help="the blocks of the Friedman test: each task, or each (task, seed) pair",
    )
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.add_argument(
        "--random-state", type=int, default=0, help="seed of the bootstraps and the density probes"
    )
    p.add_argument("--comparisons", help="JSON: model-comparison group -> tasks")
    p.add_argument("--at", help="re-slice the studies at a spend: trials|epochs|seconds=N")


def build_parser() -> argparse.ArgumentParser:
    """The ``tunebench`` argument parser."""
    parser = argparse.ArgumentParser(prog="tunebench", description=__doc__)
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="validate an experiment config")
    p.add_argument("config", help="the config file (YAML)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("frameworks", help="list HPO frameworks and their installed versions")
    p.set_defaults(func=cmd_frameworks)

    config_hash = "the config's hash (core.config.config_hash), tagged on the experiment"
    p = sub.add_parser("init-mlflow", help="create the MLflow store and experiment once")
    p.add_argument("--config", help="the config file: its name, tracking URI and hash")
    p.add_argument("--name", default="tunebench", help="the experiment to create or reuse")
    p.add_argument("--tracking-uri", help="the store (default: SQLite under --results)")
    p.add_argument("--config-hash", help=f"without --config: {config_hash}")
    p.add_argument("--results", default="results", help="the results directory")
    p.add_argument("--out", required=True, help="JSON file handed to the tuning jobs")
    p.set_defaults(func=cmd_init_mlflow)

    p = sub.add_parser("run-study", help="run one study (one cell of the matrix)")
    p.add_argument("--cell", help="the cell as JSON (what the Snakemake rule passes)")
    p.add_argument("--config", help="the config file (instead of --cell)")
    p.add_argument("--task", help="with --config: the task's name")
    p.add_argument("--optimizer", help="with --config: the optimizer's name")
    p.add_argument("--budget", help="with --config: the budget's name")
    p.add_argument("--seed", type=int, help="with --config: the seed")
    p.add_argument("--results", default="results", help="the results directory")
    p.add_argument("--out", help="study directory (default results/studies/...)")
    p.add_argument("--mlflow", help="JSON file written by init-mlflow")
    p.add_argument("--no-mlflow", action="store_true", help="log nothing to MLflow")
    p.set_defaults(func=cmd_run_study)

    p = sub.add_parser(
        "run-studies", help="run a chunk of studies in this process, or several at once"
    )
    p.add_argument("--cells", required=True, help="JSON list of cells (what the rules pass)")
    p.add_argument("--results", default="results", help="the results directory")
    p.add_argument("--mlflow", help="log each trial live: the JSON file written by init-mlflow")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="the job's threads: studies run at once as far as they hold a study's threads each",
    )
    p.set_defaults(func=cmd_run_studies)

    p = sub.add_parser("log-studies", help="log finished studies to MLflow (once each)")
    p.add_argument("studies", nargs="*", help="study directories")
    p.add_argument("--matrix", help="JSON of the matrix axes: every study of it (see aggregate)")
    p.add_argument("--results", default="results", help="the results directory")
    p.add_argument("--mlflow", help="an existing store and experiment (init-mlflow's file)")
    p.add_argument(
        "--name", default="tunebench", help="experiment to create if --mlflow is not given"
    )
    p.add_argument("--tracking-uri", help="store to use if --mlflow is not given")
    p.add_argument(
        "--experiment-out", help="without --mlflow: where to write the store and experiment"
    )
    p.add_argument("--config-hash", help=f"without --mlflow: {config_hash}")
    p.add_argument(
        "--trials",
        choices=("auto", "nested", "steps"),
        default="auto",
        help="trials as nested runs or as steps of the study's run (auto: by task kind)",
    )
    p.add_argument("--out", required=True, help="JSON file: study directory -> MLflow run id")
    p.set_defaults(func=cmd_log_studies)

    p = sub.add_parser("repair", help="cut a study's journals before a corrupt line (backed up)")
    p.add_argument("study_dir", help="the study directory named by the error")
    p.set_defaults(func=cmd_repair)

    p = sub.add_parser("aggregate", help="concatenate per-study tables")
    p.add_argument("studies", nargs="*", help="study directories")
    p.add_argument(
        "--matrix",
        help="JSON of the matrix axes (tasks, optimizers, budgets, seeds): aggregate every study "
        "of their product under --results (what the Snakemake rule passes: a 10,000-study list "
        "would exceed the kernel's 128 KiB limit on one shell argument)",
    )
    p.add_argument("--results", default="results", help="the results directory")
    p.add_argument("--trials-out", required=True, help="the trial table to write (Parquet)")
    p.add_argument("--curves-out", required=True, help="the curve table to write (Parquet)")
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser("compare", help="statistical comparison of optimizers")
    p.add_argument("trials", help="the aggregated trial table (Parquet)")
    p.add_argument("--out", required=True, help="the directory for the statistics files")
    _add_compare_options(p)
    p.add_argument("--jobs", type=int, default=1, help="worker threads")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "analyse",
        help="compare, summarise, plot and log the analysis run to MLflow, in one process",
    )
    p.add_argument("trials", help="the aggregated trial table (Parquet)")
    p.add_argument("--stats-out", required=True, help="the directory for the statistics files")
    p.add_argument("--figures-out", required=True, help="the directory for the figures")
    p.add_argument("--summary", required=True, help="the Markdown summary to write")
    p.add_argument("--html", required=True, help="the summary as an HTML page, to write")
    _add_compare_options(p)
    p.add_argument(
        "--jobs", type=int, default=1, help="threads of compare, processes drawing the figures"
    )
    p.add_argument("--mlflow", help="JSON file written by init-mlflow (default: no MLflow run)")
    p.add_argument("--params", help="with --mlflow: JSON object of the analysis run's parameters")
    p.add_argument("--config-hash", help=f"with --mlflow: {config_hash}")
    p.add_argument("--run-out", help="with --mlflow: JSON file recording the run id")
    p.set_defaults(func=cmd_analyse)

    p = sub.add_parser("summarise", help="the headline results in words (Markdown)")
    p.add_argument("stats", help="the directory written by compare")
    p.add_argument("--out", required=True, help="the Markdown file to write")
    p.add_argument("--html", help="also write the summary as an HTML page here")
    p.set_defaults(func=cmd_summarise)

    p = sub.add_parser("log-analysis", help="log tables and figures to an MLflow analysis run")
    p.add_argument("files", nargs="+", help="the statistics files, figures and summary")
    p.add_argument("--mlflow", required=True, help="JSON file written by init-mlflow")
    p.add_argument("--params", help="JSON object of run parameters (e.g. the analysis config)")
    p.add_argument("--config-hash", help=config_hash)
    p.add_argument("--out", required=True, help="JSON file recording the run id")
    p.set_defaults(func=cmd_log_analysis)

    p = sub.add_parser("coco-export", help="COCO data folders (for cocopp) from the BBOB trials")
    p.add_argument("--trials", default="results/trials.parquet", help="the trial table")
    p.add_argument("--out", default="results/coco", help="one folder per optimizer goes here")
    p.add_argument("--budget", help="the budget to export (needed if the table has several)")
    p.set_defaults(func=cmd_coco_export)

    p = sub.add_parser("plot", help="figures from the comparison tables")
    p.add_argument("stats", help="the directory written by compare")
    p.add_argument("--jobs", type=int, default=1, help="processes drawing (this one included)")
    p.add_argument("--out", required=True, help="the directory for the figures")
    p.set_defaults(func=cmd_plot)
    return parser


def _fix_hash_seed() -> None:
    """Run this process again with ``PYTHONHASHSEED=0`` unless the variable is set.

    String hashing is salted per process, and some frameworks' proposals depend on it (see
    docs/frameworks.md#smac). Only when unset, so the new process does not exec again.
    """
    if "PYTHONHASHSEED" in os.environ or not sys.executable:
        return
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors print one line and exit 2, without a traceback.

    ``run-study`` from the command line (``argv`` None) runs under a fixed ``PYTHONHASHSEED``.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # nothing leaves the machine
    args = build_parser().parse_args(argv)
    if argv is None and args.command in ("run-study", "run-studies"):
        _fix_hash_seed()
    from tunebench.core.files import DiskFull
    from tunebench.harness.study_lock import StudyLocked

    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, StudyLocked) as exc:
        print(f"tunebench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        full = DiskFull.found_in(exc, Path.cwd())
        if full is None:
            raise
        print(f"tunebench {args.command}: error: {full}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
