"""Auto-PyTorch's side of the Auto-PyTorch adapter: run by the Python 3.8 interpreter of
``make install-autopytorch``, so Python 3.8 syntax only and nothing of tunebench imported.

Usage: ``python _autopytorch_worker.py SETTINGS.json``. The settings name the data (an ``.npz``
with ``x_dev, y_dev, x_test, y_test``), the work folder and ``search``'s arguments. One JSON line
per configuration SMAC evaluates is written to stdout as soon as SMAC has it (a SMAC callback),
then ``{"event": "done"}``; everything else the search prints goes to stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import traceback
from typing import Any

# SMAC's run statuses that are a result (the others are failures).
OK = ("SUCCESS", "DONOTADVANCE")


def plain(value: Any) -> Any:
    """A JSON value for a numpy scalar."""
    return value.item() if hasattr(value, "item") else value


def one_line(error: Any) -> str:
    """Auto-PyTorch's error message on one line, at most 300 characters."""
    return " ".join(str(error or "").split())[:300]


def main(settings_path: str) -> None:
    """Search as the settings file says, streaming the evaluated configurations to stdout."""
    with open(settings_path) as f:
        settings = json.load(f)
    out = os.fdopen(os.dup(1), "w")  # results only; fd 1 (prints, warnings) goes to stderr
    os.dup2(2, 1)

    import numpy as np
    from autoPyTorch.api.tabular_classification import TabularClassificationTask
    from autoPyTorch.optimizer.smbo import get_smac_object
    from smac.callbacks import IncorporateRunResultCallback

    def emit(entry: dict[str, Any]) -> None:
        out.write(json.dumps(entry) + "\n")
        out.flush()

    class Stream(IncorporateRunResultCallback):
        """Write each evaluated configuration; stop SMAC once ``stop_epochs`` are spent."""

        def __init__(self) -> None:
            self.epochs = 0.0

        def __call__(self, smbo: Any, run_info: Any, result: Any, time_left: float) -> Any:
            status = result.status.name
            info = result.additional_info or {}
            ok = status in OK
            test_loss = info.get("test_loss") or {}
            budget = float(run_info.budget)
            self.epochs += budget if ok else 0.0
            emit(
                {
                    "event": "trial",
                    "params": {k: plain(v) for k, v in run_info.config.get_dictionary().items()},
                    "budget": budget,
                    "status": status,
                    "value": 1.0 - float(result.cost) if ok else None,
                    "test_value": 1.0 - float(test_loss["accuracy"]) if ok and test_loss else None,
                    "t_start": float(result.starttime),
                    "t_end": float(result.endtime),
                    "error": "" if ok else one_line(info.get("error") or info.get("info")),
                }
            )
            stop = settings["stop_epochs"]
            return False if stop is not None and self.epochs >= stop else None

    def smac_object(**kwargs: Any) -> Any:
        smac = get_smac_object(**kwargs)
        smac.register_callback(Stream())
        return smac

    data = np.load(settings["data"])
    work = settings["work_dir"]
    api = TabularClassificationTask(
        seed=settings["seed"],
        n_jobs=1,
        ensemble_size=0,
        temporary_directory=os.path.join(work, "tmp"),
        output_directory=os.path.join(work, "out"),
        include_components=settings["include_components"],
        exclude_components=settings["exclude_components"],
    )
    try:
        api.search(
            optimize_metric="accuracy",
            X_train=data["x_dev"],
            y_train=data["y_dev"],
            X_test=data["x_test"],
            y_test=data["y_test"],
            budget_type="epochs",
            min_budget=settings["min_budget"],
            max_budget=settings["max_budget"],
            total_walltime_limit=settings["total_walltime_limit"],
            func_eval_time_limit_secs=settings["func_eval_time_limit_secs"],
            enable_traditional_pipeline=False,
            memory_limit=settings["memory_limit"],
            smac_scenario_args=settings["smac_scenario_args"],
            get_smac_object_callback=smac_object,
            all_supported_metrics=False,
            load_models=False,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit({"event": "done", "time": time.time()})


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception:  # the adapter reports the last line of stderr
        traceback.print_exc()
        sys.exit(1)
