"""scikit-learn classifiers tuned for validation accuracy on a fixed split.

scikit-learn itself is imported only when an estimator is first built.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tunebench.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.tasks import SKLEARN_MODELS, ReporterLike, Task, coerce_params
from tunebench.tasks.data import Split, SplitSpec, load_split

__all__ = ["DEFAULT_SPACES", "SklearnTask", "make_estimator"]

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
}


def make_estimator(model: str, params: Mapping[str, Any], seed: int) -> Any:
    """An unfitted estimator for ``model`` with ``params`` set and ``random_state=seed``.

    ``svc`` is wrapped in a pipeline after a :class:`~sklearn.preprocessing.StandardScaler`
    (``params`` name the SVC's own parameters). ``gboost`` is a
    :class:`~sklearn.ensemble.HistGradientBoostingClassifier` without early stopping, so that
    ``max_iter`` is the number of boosting rounds.

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
    raise ValueError(f"model: unknown model {model!r} (choose from: {', '.join(SKLEARN_MODELS)})")


class SklearnTask(Task):
    """Tune a scikit-learn classifier; the objective is validation accuracy (maximised).

    ``evaluate`` fits on the training rows of each validation fold and returns the mean
    validation accuracy (one fold for ``holdout``). ``test_score`` refits on all dev rows and
    scores on the held-out test rows. The task has no fidelity and never calls the reporter.
    """

    direction = "maximize"
    metric = "accuracy"
    max_fidelity = None
    known_optimum = None

    def __init__(
        self,
        *,
        name: str,
        model: str,
        split: SplitSpec,
        space: SearchSpace | None = None,
        threads: int | None = None,
    ) -> None:
        """Build the task; errors name ``tasks.<name>.<key>``.

        Args:
            name: The task's config name.
            model: One of :data:`~tunebench.tasks.SKLEARN_MODELS`.
            split: Dataset and split settings.
            space: Overrides the model's default space; its names must be estimator parameters
                (unnamed ones keep scikit-learn's defaults).
            threads: Cap on BLAS/OpenMP threads while fitting (``None``: no cap).
        """
        prefix = f"tasks.{name}"
        if model not in SKLEARN_MODELS:
            options = ", ".join(SKLEARN_MODELS)
            raise ValueError(f"{prefix}.model: unknown model {model!r} (choose from: {options})")
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
        ):
            raise ValueError(f"{prefix}.threads: must be a positive integer, got {threads!r}")
        space = DEFAULT_SPACES[model] if space is None else space
        known = {k.removeprefix("model__") for k in make_estimator(model, {}, 0).get_params()}
        unknown = [n for n in space.names if n not in known]
        if unknown:
            raise ValueError(f"{prefix}.space: {model} has no parameter(s) {unknown}")
        self.name = name
        self.model = model
        self.split = split
        self.space = space
        self.threads = threads

    def data(self) -> Split:
        """The task's split (loaded once per process)."""
        return load_split(self.split)

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        """Mean validation accuracy over the folds, with ``random_state=seed``."""
        data = self.data()
        values = coerce_params(self.space, params)
        scores = []
        with self.thread_limit():
            for train, val in data.folds:
                est = make_estimator(self.model, values, seed)
                est.fit(data.x_dev[train], data.y_dev[train])
                scores.append(est.score(data.x_dev[val], data.y_dev[val]))
        return float(np.mean(scores))

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        """Test accuracy after refitting on all dev rows with ``random_state=seed``."""
        data = self.data()
        est = make_estimator(self.model, coerce_params(self.space, params), seed)
        with self.thread_limit():
            est.fit(data.x_dev, data.y_dev)
            return float(est.score(data.x_test, data.y_test))

    def estimator(self, params: Mapping[str, Any], seed: int) -> Any:
        """An unfitted estimator with ``params`` (space names) and ``random_state=seed``."""
        return make_estimator(self.model, coerce_params(self.space, params), seed)

    def estimator_key(self, name: str) -> str:
        """The estimator parameter that space parameter ``name`` sets (``model__C`` for svc)."""
        return f"model__{name}" if self.model == "svc" else name

    @contextlib.contextmanager
    def thread_limit(self) -> Iterator[None]:
        """Cap BLAS/OpenMP threads at ``threads`` while fitting (no cap when ``None``)."""
        if self.threads is None:
            yield
            return
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.threads):
            yield
