"""Classification datasets and the fixed dev/test and train/validation splits tuned on.

The test split is held out once per ``(dataset, test_size, split_seed)``: every optimizer and
every seed scores on the same rows, and tuning never sees them. Validation rows are carved from
the remaining dev rows, as one stratified holdout or as stratified K folds. Loaded arrays and
splits are cached per process and returned read-only.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tunebench.tasks import DATASETS, OPENML_PREFIX

__all__ = [
    "Split",
    "SplitSpec",
    "check_dataset",
    "load_dataset",
    "load_split",
    "split_spec_from_config",
]

Validation = Literal["holdout", "cv"]
_VALIDATIONS: tuple[str, ...] = ("holdout", "cv")


@dataclass(frozen=True)
class SplitSpec:
    """Which dataset, and how it is split (hashable: it keys the per-process cache).

    Attributes:
        dataset: One of :data:`~tunebench.tasks.DATASETS` or ``openml:<name-or-id>``.
        test_size: Fraction of all rows held out for the test score.
        split_seed: Seed of the test and validation splits (not of training).
        validation: ``holdout`` (one stratified split of dev) or ``cv`` (stratified K-fold).
        val_size: Fraction of dev rows used for validation with ``holdout``.
        cv_folds: Number of folds with ``cv``.
        data_home: Cache directory for ``openml:`` downloads (scikit-learn's default if None).
    """

    dataset: str
    test_size: float = 0.25
    split_seed: int = 0
    validation: Validation = "holdout"
    val_size: float = 0.2
    cv_folds: int = 5
    data_home: str | None = None

    def __post_init__(self) -> None:
        check_dataset(self.dataset, key="dataset")
        _check_fraction("test_size", self.test_size)
        _check_fraction("val_size", self.val_size)
        if self.validation not in _VALIDATIONS:
            raise ValueError(
                f"validation: unknown validation {self.validation!r} (choose from: holdout, cv)"
            )
        if isinstance(self.cv_folds, bool) or not isinstance(self.cv_folds, int):
            raise ValueError(f"cv_folds: must be an integer, got {self.cv_folds!r}")
        if self.cv_folds < 2:
            raise ValueError(f"cv_folds: must be >= 2, got {self.cv_folds!r}")
        if isinstance(self.split_seed, bool) or not isinstance(self.split_seed, int):
            raise ValueError(f"split_seed: must be an integer, got {self.split_seed!r}")


@dataclass(frozen=True, eq=False)
class Split:
    """A dataset split into dev and test rows, with validation folds over the dev rows.

    Attributes:
        x_dev: Features of the dev rows (everything tuning may use).
        y_dev: Labels of the dev rows, encoded ``0..n_classes-1``.
        x_test: Features of the held-out test rows.
        y_test: Labels of the test rows.
        dev_index: Row numbers of the dev rows in the full dataset.
        test_index: Row numbers of the test rows in the full dataset.
        folds: ``(train, val)`` index pairs into the dev rows: one pair for holdout, K for cv.
        n_classes: Number of classes.
    """

    x_dev: np.ndarray
    y_dev: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    dev_index: np.ndarray
    test_index: np.ndarray
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]
    n_classes: int


def check_dataset(name: Any, *, key: str) -> None:
    """Raise ``ValueError`` naming ``key`` unless ``name`` is a known dataset."""
    if name in DATASETS:
        return
    if isinstance(name, str) and name.startswith(OPENML_PREFIX) and name[len(OPENML_PREFIX) :]:
        return
    options = ", ".join([*DATASETS, f"{OPENML_PREFIX}<name-or-id>"])
    raise ValueError(f"{key}: unknown dataset {name!r} (choose from: {options})")


def split_spec_from_config(prefix: str, spec: Mapping[str, Any]) -> SplitSpec:
    """Read a :class:`SplitSpec` from a task's config entry; errors name ``prefix.<key>``."""
    data_home = spec.get("data_home")
    try:
        return SplitSpec(
            dataset=spec.get("dataset"),
            test_size=spec.get("test_size", 0.25),
            split_seed=spec.get("split_seed", 0),
            validation=spec.get("validation", "holdout"),
            val_size=spec.get("val_size", 0.2),
            cv_folds=spec.get("cv_folds", 5),
            data_home=None if data_home is None else str(data_home),
        )
    except ValueError as exc:
        raise ValueError(f"{prefix}.{exc}") from exc


@functools.lru_cache(maxsize=8)
def load_dataset(name: str, data_home: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ``name`` as ``(X, y)``: float64 features and int64 labels ``0..n_classes-1``."""
    check_dataset(name, key="dataset")
    if name.startswith(OPENML_PREFIX):
        x, y = _load_openml(name[len(OPENML_PREFIX) :], data_home)
    else:
        from sklearn import datasets

        loader = getattr(datasets, f"load_{name}")
        x, y = loader(return_X_y=True)
        _, y = np.unique(y, return_inverse=True)
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    for arr in (x, y):
        arr.setflags(write=False)
    return x, y


@functools.lru_cache(maxsize=16)
def load_split(spec: SplitSpec) -> Split:
    """Load and split ``spec.dataset`` (cached per process; arrays are read-only)."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    x, y = load_dataset(spec.dataset, spec.data_home)
    rows = np.arange(len(y))
    dev_index, test_index = train_test_split(
        rows, test_size=spec.test_size, random_state=spec.split_seed, stratify=y
    )
    dev_index, test_index = np.sort(dev_index), np.sort(test_index)
    y_dev = y[dev_index]
    if spec.validation == "holdout":
        train, val = train_test_split(
            np.arange(len(dev_index)),
            test_size=spec.val_size,
            random_state=spec.split_seed,
            stratify=y_dev,
        )
        folds = ((np.sort(train), np.sort(val)),)
    else:
        kfold = StratifiedKFold(n_splits=spec.cv_folds, shuffle=True, random_state=spec.split_seed)
        folds = tuple(kfold.split(np.zeros(len(y_dev)), y_dev))
    split = Split(
        x_dev=x[dev_index],
        y_dev=y_dev,
        x_test=x[test_index],
        y_test=y[test_index],
        dev_index=dev_index,
        test_index=test_index,
        folds=folds,
        n_classes=int(y.max()) + 1,
    )
    for arr in (split.x_dev, split.y_dev, split.x_test, split.y_test, dev_index, test_index):
        arr.setflags(write=False)
    for pair in folds:
        for arr in pair:
            arr.setflags(write=False)
    return split


def _load_openml(ref: str, data_home: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Fetch an OpenML dataset by id or name; one-hot encode categoricals, impute NaN."""
    import pandas as pd
    from sklearn.datasets import fetch_openml

    by = {"data_id": int(ref)} if ref.isdigit() else {"name": ref}
    frame_x, frame_y = fetch_openml(
        **by, data_home=data_home, as_frame=True, parser="auto", return_X_y=True
    )
    if frame_y is None or getattr(frame_y, "ndim", 1) != 1:
        raise ValueError(f"dataset: {OPENML_PREFIX}{ref} has no single default target")
    frame_x = pd.get_dummies(frame_x, dtype=np.float64).astype(np.float64)
    frame_x = frame_x.fillna(frame_x.median()).fillna(0.0)
    _, y = np.unique(frame_y.astype(str).to_numpy(), return_inverse=True)
    return frame_x.to_numpy(), y


def _check_fraction(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError(f"{key}: must be a fraction in (0, 1), got {value!r}")
