"""The data set a study tuned on, as MLflow dataset inputs of the study's run.

An input is a *reference*: the data set's name (``breast_cancer``), a digest of the split's
rows, their schema and shape, and a source naming the loader and the split settings; no array is
uploaded. Only scikit-learn and PyTorch tasks have inputs: synthetic functions and BBOB have no
data, and the ``dataset`` of a tabular benchmark or a Bayesmark problem names another loader.
Each split's description is built once per process, however many studies share it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from tunebench.tasks import OPENML_PREFIX, SPEC_KEYS
from tunebench.tasks.data import SplitSpec, load_split, split_spec_from_config

__all__ = ["DATA_KINDS", "dataset_inputs"]

DATA_KINDS = tuple(kind for kind, keys in SPEC_KEYS.items() if "split_seed" in keys)
"""Task kinds whose ``dataset`` is loaded by :func:`tunebench.tasks.data.load_split` (those
with the split's keys: ``sklearn``, ``torch``)."""


def dataset_inputs(task_spec: Mapping[str, Any]) -> list[Any]:
    """``mlflow.entities.DatasetInput`` of the task's rows: ``training`` (what models are fit
    on: the dev rows with ``validation: cv``), ``validation`` (with ``holdout``) and ``test``
    (the held-out rows its incumbent is scored on), each tagged ``mlflow.data.context``."""
    if task_spec.get("kind") not in DATA_KINDS or task_spec.get("dataset") is None:
        return []
    return list(_inputs(split_spec_from_config("task", task_spec)))


@functools.lru_cache(maxsize=32)
def _inputs(spec: SplitSpec) -> tuple[Any, ...]:
    import mlflow.data
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.entities import DatasetInput, InputTag

    data = load_split(spec)
    if spec.dataset.startswith(OPENML_PREFIX):
        loader = f"sklearn.datasets.fetch_openml({spec.dataset[len(OPENML_PREFIX) :]!r})"
    else:
        loader = f"sklearn.datasets.load_{spec.dataset}"
    settings = {k: v for k, v in asdict(spec).items() if k not in ("dataset", "data_home")}
    source = CodeDatasetSource(
        {"tunebench.loader": loader, "tunebench.split": json.dumps(settings, sort_keys=True)}
    )
    if spec.validation == "holdout":
        train, val = data.folds[0]
        parts = [
            ("training", data.x_dev[train], data.y_dev[train]),
            ("validation", data.x_dev[val], data.y_dev[val]),
        ]
    else:
        parts = [("training", data.x_dev, data.y_dev)]
    parts.append(("test", data.x_test, data.y_test))
    inputs = []
    for context, x, y in parts:
        dataset = mlflow.data.from_numpy(x, source=source, targets=y, name=spec.dataset)
        tags = [InputTag("mlflow.data.context", context)]
        inputs.append(DatasetInput(dataset._to_mlflow_entity(), tags=tags))
    return tuple(inputs)
