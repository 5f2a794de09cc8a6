"""scikit-learn classifiers tuned for validation accuracy on a fixed split.

With ``max_epochs`` set, the models that train iteratively report a validation accuracy per
epoch, so pruners and schedulers can stop them early: ``gboost`` grows
:data:`ROUNDS_PER_EPOCH` boosting rounds an epoch (``warm_start``; the number of rounds is then
the fidelity, not a hyperparameter), ``sgd`` makes one pass over the training rows an epoch
(``partial_fit``). ``svc`` has no epochs. scikit-learn itself is imported only when an
estimator is first built.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.tasks import SKLEARN_MODELS, ReporterLike, Task, coerce_params
from tunebench.tasks.data import Split, SplitSpec, load_split

__all__ = ["DEFAULT_SPACES", "EPOCH_MODELS", "ROUNDS_PER_EPOCH", "SklearnTask", "make_estimator"]

ROUNDS_PER_EPOCH = 10
"""Boosting rounds of one ``gboost`` epoch."""
EPOCH_MODELS = ("gboost", "sgd")
"""Models that can train epoch by epoch (``max_epochs``)."""

DEFAULT_SPACES: dict[str, SearchSpace] = {
    "svc": SearchSpace(
        (
            FloatParam("C", 1e-2, 1e3, log=True),
            FloatParam("gamma", 1e-4, 1.0, log=True),
            CategoricalParam("kernel", ("rbf",)),
        )
    ),
    "gboost": SearchSpace(
        (
            FloatParam("learning_rate", 1e-3, 0.5, log=True),
            IntParam("max_iter", 20, 200),
            IntParam("max_leaf_nodes", 4, 64, log=True),
            FloatParam("l2_regularization", 1e-6, 1.0, log=True),
        )
    ),
    "sgd": SearchSpace(
        (
            FloatParam("alpha", 1e-6, 1e-1, log=True),
            CategoricalParam("loss", ("log_loss", "hinge", "modified_huber")),
            CategoricalParam("penalty", ("l2", "l1", "elasticnet")),
            FloatParam("l1_ratio", 0.0, 1.0),
        )
    ),
}


def make_estimator(model: str, params: Mapping[str, Any], seed: int) -> Any:
    """An unfitted estimator for ``model`` with ``params`` set and ``random_state=seed``.

    ``svc`` is wrapped in a pipeline after a :class:`~sklearn.preprocessing.StandardScaler`
    (``params`` name the SVC's own parameters). ``gboost`` is a
    :class:`~sklearn.ensemble.HistGradientBoostingClassifier` without early stopping, so that
    ``max_iter`` is the number of boosting rounds. ``sgd`` is an
    :class:`~sklearn.linear_model.SGDClassifier` (``tol=None``: ``max_iter`` passes) after a
    :class:`~sklearn.preprocessing.StandardScaler`.

    Raises:
        ValueError: ``params`` names something the estimator does not have.
    """
    if model == "svc":
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        pipe = Pipeline([("scale", StandardScaler()), ("model", SVC(random_state=seed))])
        return pipe.set_params(**{f"model__{k}": v for k, v in params.items()})
    if model == "gboost":
        from sklearn.ensemble import HistGradientBoostingClassifier

        est = HistGradientBoostingClassifier(early_stopping=False, random_state=seed)
        return est.set_params(**params)
    if model == "sgd":
        from sklearn.linear_model import SGDClassifier
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        sgd = SGDClassifier(max_iter=20, tol=None, random_state=seed)
        pipe = Pipeline([("scale", StandardScaler()), ("model", sgd)])
        return pipe.set_params(**{f"model__{k}": v for k, v in params.items()})
    raise ValueError(f"model: unknown model {model!r} (choose from: {', '.join(SKLEARN_MODELS)})")


class SklearnTask(Task):
    """Tune a scikit-learn classifier; the objective is validation accuracy (maximised).

    ``evaluate`` fits on the training rows of each validation fold and returns the mean
    validation accuracy (one fold for ``holdout``). ``test_score`` refits on all dev rows and
    scores on the held-out test rows. With ``max_epochs`` (``gboost``, ``sgd``) the folds train
    in step, epoch by epoch, and the mean validation accuracy after each epoch goes to the
    reporter; without it the task has no fidelity and never calls the reporter.
    """

    direction = "maximize"
    metric = "accuracy"
    known_optimum = None

    def __init__(
        self,
        *,
        name: str,
        model: str,
        split: SplitSpec,
        space: SearchSpace | None = None,
        threads: int | None = None,
        max_epochs: int | None = None,
    ) -> None:
        """Build the task; errors name ``tasks.<name>.<key>``.

        Args:
            name: The task's config name.
            model: One of :data:`~tunebench.tasks.SKLEARN_MODELS`.
            split: Dataset and split settings.
            space: Overrides the model's default space; its names must be estimator parameters
                (unnamed ones keep scikit-learn's defaults).
            threads: Cap on BLAS/OpenMP threads while fitting (``None``: no cap).
            max_epochs: Train epoch by epoch (:data:`EPOCH_MODELS` only): ``gboost`` up to
                ``max_epochs`` × :data:`ROUNDS_PER_EPOCH` rounds, ``sgd`` ``max_epochs`` passes.
        """
        prefix = f"tasks.{name}"
        if model not in SKLEARN_MODELS:
            options = ", ".join(SKLEARN_MODELS)
            raise ValueError(f"{prefix}.model: unknown model {model!r} (choose from: {options})")
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
        ):
            raise ValueError(f"{prefix}.threads: must be a positive integer, got {threads!r}")
        if max_epochs is not None:
            if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
                raise ValueError(
                    f"{prefix}.max_epochs: must be a positive integer, got {max_epochs!r}"
                )
            if model not in EPOCH_MODELS:
                raise ValueError(
                    f"{prefix}.max_epochs: {model} does not train in epochs "
                    f"(models that do: {', '.join(EPOCH_MODELS)})"
                )
        if space is None:
            space = DEFAULT_SPACES[model]
            if model == "gboost" and max_epochs is not None:  # the rounds are the fidelity
                space = SearchSpace(tuple(p for p in space if p.name != "max_iter"))
        elif model == "gboost" and max_epochs is not None and "max_iter" in space.names:
            raise ValueError(
                f"{prefix}.space: max_iter is the fidelity when max_epochs is set "
                f"({ROUNDS_PER_EPOCH} rounds an epoch); drop it from the space"
            )
        known = {k.removeprefix("model__") for k in make_estimator(model, {}, 0).get_params()}
        unknown = [n for n in space.names if n not in known]
        if unknown:
            raise ValueError(f"{prefix}.space: {model} has no parameter(s) {unknown}")
        self.name = name
        self.model = model
        self.split = split
        self.space = space
        self.threads = threads
        self.max_fidelity = max_epochs

    def data(self) -> Split:
        """The task's split (loaded once per process)."""
        return load_split(self.split)

    def prepare(self) -> None:
        """Load the split."""
        self.data()

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        """Mean validation accuracy over the folds, with ``random_state=seed``."""
        data = self.data()
        folds = [
            (data.x_dev[train], data.y_dev[train], data.x_dev[val], data.y_dev[val])
            for train, val in data.folds
        ]
        with self.thread_limit():
            if self.max_fidelity:
                return self._epochs(params, seed, folds, reporter)
            scores = []
            for x_train, y_train, x_val, y_val in folds:
                est = self.estimator(params, seed)
                est.fit(x_train, y_train)
                scores.append(est.score(x_val, y_val))
        return float(np.mean(scores))

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        """Test accuracy after refitting on all dev rows with ``random_state=seed``."""
        data = self.data()
        with self.thread_limit():
            if self.max_fidelity:
                fold = (data.x_dev, data.y_dev, data.x_test, data.y_test)
                return self._epochs(params, seed, [fold], None)
            est = self.estimator(params, seed)
            est.fit(data.x_dev, data.y_dev)
            return float(est.score(data.x_test, data.y_test))

    def _epochs(
        self,
        params: Mapping[str, Any],
        seed: int,
        folds: list[tuple[np.ndarray, ...]],
        reporter: ReporterLike | None,
    ) -> float:
        """Train every fold epoch by epoch; report the mean validation accuracy after each."""
        models = [self.estimator(params, seed) for _ in folds]
        if self.model == "sgd":  # scale once, then one partial_fit pass an epoch
            scaled = []
            for pipe, (x_train, y_train, x_val, y_val) in zip(models, folds, strict=True):
                scaler = pipe[0].fit(x_train)
                scaled.append((scaler.transform(x_train), y_train, scaler.transform(x_val), y_val))
            folds, models = scaled, [pipe[-1] for pipe in models]
        value = float("nan")
        for epoch in range(1, self.max_fidelity + 1):
            scores = []
            for est, (x_train, y_train, x_val, y_val) in zip(models, folds, strict=True):
                if self.model == "sgd":
                    rng = np.random.default_rng([est.random_state, epoch])
                    order = rng.permutation(len(y_train))
                    est.partial_fit(x_train[order], y_train[order], classes=np.unique(y_train))
                else:
                    est.set_params(warm_start=True, max_iter=epoch * ROUNDS_PER_EPOCH)
                    est.fit(x_train, y_train)
                scores.append(est.score(x_val, y_val))
            value = float(np.mean(scores))
            if reporter is not None and reporter.report(epoch, value):
                break
        return value

    def fit_epochs(self, resource: str | None, n_resources: float | None) -> int:
        """Epochs one fit trains: ``max_epochs`` (0 without epochs), or, for a fit that
        halving gave ``n_resources`` of an epoch-like ``resource``, the epochs those make."""
        if not self.max_fidelity:
            return 0
        if resource == "max_iter" and self.model == "gboost" and n_resources is not None:
            return math.ceil(n_resources / ROUNDS_PER_EPOCH)
        if resource == "model__max_iter" and self.model == "sgd" and n_resources is not None:
            return int(n_resources)
        return self.max_fidelity

    def estimator(self, params: Mapping[str, Any], seed: int) -> Any:
        """An unfitted estimator with ``params`` (space names) and ``random_state=seed``; with
        ``max_epochs``, set to train the full ``max_epochs`` in one ``fit``."""
        est = make_estimator(self.model, coerce_params(self.space, params), seed)
        if self.max_fidelity and self.model == "gboost":
            est.set_params(max_iter=self.max_fidelity * ROUNDS_PER_EPOCH)
        elif self.max_fidelity and self.model == "sgd":
            est.set_params(model__max_iter=self.max_fidelity)
        return est

    def estimator_key(self, name: str) -> str:
        """The estimator parameter that space parameter ``name`` sets (``model__C`` for svc)."""
        return f"model__{name}" if self.model in ("svc", "sgd") else name

    @contextlib.contextmanager
    def thread_limit(self) -> Iterator[None]:
        """Cap BLAS/OpenMP threads at ``threads`` while fitting (no cap when ``None``)."""
        if self.threads is None:
            yield
            return
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.threads):
            yield
