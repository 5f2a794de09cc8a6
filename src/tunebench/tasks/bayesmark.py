"""Bayesmark's problems: scikit-learn models × bundled data sets × two metrics per problem type.

Bayesmark (Turner et al., 2021, "Bayesian Optimization is Superior to Random Search for Machine
Learning Hyperparameter Tuning: Analysis of the Black-Box Optimization Challenge 2020", PMLR 133;
https://github.com/uber/bayesmark) tunes nine scikit-learn models on scikit-learn's bundled data
sets. This module rewrites its problem definitions (``bayesmark/sklearn_funcs.py``,
``bayesmark/data.py``, version 0.0.8) on current scikit-learn, without importing ``bayesmark``:

- **Data.** ``breast``, ``digits``, ``iris``, ``wine`` (classification) and ``diabetes``
  (regression), unscaled as scikit-learn ships them; ``train_test_split(test_size=0.2,
  random_state=0, shuffle=True)`` gives the tuning rows and the held-out rows. (``boston`` is
  gone from scikit-learn.)
- **Objective.** The mean score of 5-fold cross-validation on the tuning rows
  (``cross_val_score(cv=5)``: unshuffled stratified folds for classifiers, plain folds for
  regressors); :meth:`BayesmarkTask.test_score` refits on all tuning rows and scores the held-out
  rows (Bayesmark's "generalization" objective).
- **Metrics.** ``nll`` (log loss), ``acc`` (accuracy) for classification, ``mse``, ``mae`` for
  regression. Bayesmark minimises the loss ``-score`` (so ``acc`` is minimised as ``-accuracy``);
  here ``acc`` is accuracy, maximised, and the three others are the positive losses, minimised.
  The values are Bayesmark's up to that sign.
- **Spaces.** Bayesmark's ``api_config`` per model: ``log`` becomes ``log: true``, ``bool`` a
  ``{False, True}`` categorical; ``logit`` (a warping of a real on ``(0, 1)``) has no
  counterpart in the neutral space and becomes uniform on the same range.
- **Models.** Bayesmark's fixed parameters, and ``random_state`` = the trial seed wherever the
  estimator has one (Bayesmark leaves it unset). Where current scikit-learn dropped an option:
  the classification ``lasso``/``linear`` (``LogisticRegression(solver="liblinear",
  multi_class="ovr")``) are a :class:`~sklearn.multiclass.OneVsRestClassifier` over binary
  liblinear fits, which is what liblinear's one-vs-rest was; the regression ``lasso``/``linear``
  ``normalize`` parameter is :class:`L2Normalizer` before the model (the removed
  ``normalize=True``: centre, divide each column by its L2 norm, only with an intercept);
  ``AdaBoostClassifier`` runs SAMME (SAMME.R, Bayesmark's default then, is gone).

Task names are Bayesmark's test-case names, ``<model>_<dataset>_<metric>`` (``kNN_iris_acc``,
``MLP-adam_diabetes_mse``), so results can be set beside its published ones. scikit-learn is
imported only when data or an estimator is first needed.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.tasks import Direction, ReporterLike, Task, coerce_params

__all__ = [
    "CV_FOLDS",
    "DATASETS",
    "METRICS",
    "MODELS",
    "SPACES",
    "BayesmarkTask",
    "L2Normalizer",
    "load_data",
    "make_estimator",
    "suite_tasks",
    "task_name",
]

MODELS: tuple[str, ...] = (
    "DT",
    "MLP-adam",
    "MLP-sgd",
    "RF",
    "SVM",
    "ada",
    "kNN",
    "lasso",
    "linear",
)
"""Bayesmark's model names (``bayesmark.constants.MODEL_NAMES``)."""
DATASETS: dict[str, str] = {
    "breast": "clf",
    "digits": "clf",
    "iris": "clf",
    "wine": "clf",
    "diabetes": "reg",
}
"""Data set → problem type (``clf`` or ``reg``), Bayesmark's names."""
METRICS: dict[str, tuple[str, ...]] = {"clf": ("nll", "acc"), "reg": ("mae", "mse")}
"""Problem type → metrics (``bayesmark.constants.SCORERS_CLF`` / ``SCORERS_REG``)."""
CV_FOLDS = 5
"""Folds of the cross-validation (Bayesmark's ``CV_SPLITS``)."""
TEST_SIZE = 0.2
"""Share of the rows held out for :meth:`BayesmarkTask.test_score`."""

_SCORERS = {
    "nll": "neg_log_loss",
    "acc": "accuracy",
    "mae": "neg_mean_absolute_error",
    "mse": "neg_mean_squared_error",
}
_LOADERS = {"breast": "load_breast_cancer"}


def _space(*params: FloatParam | IntParam | CategoricalParam) -> SearchSpace:
    return SearchSpace(params)


_KNN = _space(IntParam("n_neighbors", 1, 25), IntParam("p", 1, 4))
_SVM = _space(
    FloatParam("C", 1.0, 1e3, log=True),
    FloatParam("gamma", 1e-4, 1e-3, log=True),
    FloatParam("tol", 1e-5, 1e-1, log=True),
)
_TREE = (  # logit-warped reals in Bayesmark
    FloatParam("min_samples_split", 0.01, 0.99),
    FloatParam("min_samples_leaf", 0.01, 0.49),
    FloatParam("min_weight_fraction_leaf", 0.01, 0.49),
    FloatParam("max_features", 0.01, 0.99),
)
_MLP = (
    IntParam("hidden_layer_sizes", 50, 200),
    FloatParam("alpha", 1e-5, 1e1, log=True),
    IntParam("batch_size", 10, 250),
    FloatParam("learning_rate_init", 1e-5, 1e-1, log=True),
)
_ADA = _space(IntParam("n_estimators", 10, 100), FloatParam("learning_rate", 1e-4, 1e1, log=True))
_LOGISTIC = _space(
    FloatParam("C", 1e-2, 1e2, log=True), FloatParam("intercept_scaling", 1e-2, 1e2, log=True)
)
_BOOL = (False, True)

SPACES: dict[str, dict[str, SearchSpace]] = {
    "clf": {
        "kNN": _KNN,
        "SVM": _SVM,
        "DT": _space(
            IntParam("max_depth", 1, 15),
            *_TREE,
            FloatParam("min_impurity_decrease", 0.0, 0.5),
        ),
        "RF": _space(
            IntParam("max_depth", 1, 15),
            _TREE[3],
            *_TREE[:3],
            FloatParam("min_impurity_decrease", 0.0, 0.5),
        ),
        "MLP-adam": _space(
            *_MLP,
            FloatParam("tol", 1e-5, 1e-1, log=True),
            FloatParam("validation_fraction", 0.1, 0.9),  # logit
            FloatParam("beta_1", 0.5, 0.99),  # logit
            FloatParam("beta_2", 0.9, 1.0 - 1e-6),  # logit
            FloatParam("epsilon", 1e-9, 1e-6, log=True),
        ),
        "MLP-sgd": _space(
            *_MLP,
            FloatParam("power_t", 0.1, 0.9),  # logit
            FloatParam("tol", 1e-5, 1e-1, log=True),
            FloatParam("momentum", 0.001, 0.999),  # logit
            FloatParam("validation_fraction", 0.1, 0.9),  # logit
        ),
        "ada": _ADA,
        "lasso": _LOGISTIC,
        "linear": _LOGISTIC,
    },
}
SPACES["reg"] = {
    **SPACES["clf"],
    "lasso": _space(
        FloatParam("alpha", 1e-2, 1e2, log=True),
        CategoricalParam("fit_intercept", _BOOL),
        CategoricalParam("normalize", _BOOL),
        IntParam("max_iter", 10, 5000, log=True),
        FloatParam("tol", 1e-5, 1e-1, log=True),
        CategoricalParam("positive", _BOOL),
    ),
    "linear": _space(
        FloatParam("alpha", 1e-2, 1e2, log=True),
        CategoricalParam("fit_intercept", _BOOL),
        CategoricalParam("normalize", _BOOL),
        IntParam("max_iter", 10, 5000, log=True),
        FloatParam("tol", 1e-4, 1e-1, log=True),
    ),
}
"""Problem type → model → search space: Bayesmark's ``api_config`` (``logit`` reals uniform)."""


def task_name(model: str, dataset: str, metric: str) -> str:
    """Bayesmark's test-case name, e.g. ``kNN_iris_acc``."""
    return f"{model}_{dataset}_{metric}"


@functools.lru_cache(maxsize=8)
def load_data(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` of ``dataset``, read-only, cached per process.

    Features are float64, classification labels int64, regression targets float64; the split is
    Bayesmark's (``train_test_split(test_size=0.2, random_state=0, shuffle=True)``).
    """
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    x, y = getattr(datasets, _LOADERS.get(dataset, f"load_{dataset}"))(return_X_y=True)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64 if DATASETS[dataset] == "clf" else np.float64)
    arrays = train_test_split(x, y, test_size=TEST_SIZE, random_state=0, shuffle=True)
    x_train, x_test, y_train, y_test = (np.ascontiguousarray(a) for a in arrays)
    for arr in (x_train, y_train, x_test, y_test):
        arr.setflags(write=False)
    return x_train, y_train, x_test, y_test


class L2Normalizer:
    """Centre each column and divide it by its L2 norm (scikit-learn < 1.2's ``normalize=True``).

    Columns of zero norm are left unscaled, as scikit-learn did. A transformer for a
    :class:`~sklearn.pipeline.Pipeline` (``fit`` / ``transform`` / ``get_params``).
    """

    def fit(self, x: np.ndarray, y: Any = None) -> L2Normalizer:
        """Learn the column means and the norms of the centred columns."""
        self.mean_ = np.mean(x, axis=0)
        norm = np.linalg.norm(x - self.mean_, axis=0)
        self.scale_ = np.where(norm == 0.0, 1.0, norm)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / norm``."""
        return (x - self.mean_) / self.scale_

    def fit_transform(self, x: np.ndarray, y: Any = None) -> np.ndarray:
        """Fit, then transform ``x``."""
        return self.fit(x).transform(x)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """No parameters."""
        return {}

    def set_params(self, **params: Any) -> L2Normalizer:
        """No parameters to set."""
        return self


def make_estimator(problem: str, model: str, params: Mapping[str, Any], seed: int) -> Any:
    """An unfitted estimator for ``model`` on a ``problem`` (``clf``/``reg``) data set.

    ``params`` are the space's parameters; Bayesmark's fixed parameters are added and
    ``random_state=seed`` is set wherever the estimator has one.
    """
    from sklearn import ensemble, linear_model, neighbors, neural_network, svm, tree

    clf = problem == "clf"
    params = dict(params)
    if model == "kNN":
        return (neighbors.KNeighborsClassifier if clf else neighbors.KNeighborsRegressor)(**params)
    if model == "SVM":
        if clf:
            return svm.SVC(kernel="rbf", probability=True, random_state=seed, **params)
        return svm.SVR(kernel="rbf", **params)
    if model in ("DT", "RF"):
        if model == "DT":
            cls = tree.DecisionTreeClassifier if clf else tree.DecisionTreeRegressor
            fixed: dict[str, Any] = {}
        else:
            cls = ensemble.RandomForestClassifier if clf else ensemble.RandomForestRegressor
            fixed = {"n_estimators": 10}
        return cls(max_leaf_nodes=None, random_state=seed, **fixed, **params)
    if model.startswith("MLP"):
        cls = neural_network.MLPClassifier if clf else neural_network.MLPRegressor
        if model == "MLP-adam":
            fixed = {"solver": "adam", "early_stopping": True}
        else:
            fixed = {"solver": "sgd", "early_stopping": True, "learning_rate": "invscaling"}
            fixed |= {"nesterovs_momentum": True, **({} if clf else {"activation": "tanh"})}
        return cls(random_state=seed, **fixed, **params)
    if model == "ada":
        cls = ensemble.AdaBoostClassifier if clf else ensemble.AdaBoostRegressor
        return cls(random_state=seed, **params)
    if clf:  # lasso, linear: one-vs-rest liblinear logistic regression, L1 or L2
        from sklearn.multiclass import OneVsRestClassifier

        logistic = linear_model.LogisticRegression(
            l1_ratio=1.0 if model == "lasso" else 0.0,
            fit_intercept=True,
            solver="liblinear",
            random_state=seed,
            **params,
        )
        return OneVsRestClassifier(logistic)
    normalize = params.pop("normalize")
    if model == "lasso":
        est = linear_model.Lasso(random_state=seed, **params)
    else:
        est = linear_model.Ridge(solver="auto", random_state=seed, **params)
    if normalize and params["fit_intercept"]:
        from sklearn.pipeline import Pipeline

        return Pipeline([("normalize", L2Normalizer()), ("model", est)])
    return est


class BayesmarkTask(Task):
    """One Bayesmark problem: a model, a data set and a metric.

    ``evaluate`` returns the mean 5-fold CV score on the tuning rows, ``test_score`` the score on
    the held-out rows after refitting on all tuning rows; ``acc`` is maximised, ``nll``, ``mse``
    and ``mae`` are minimised. No fidelity, no known optimum.
    """

    known_optimum = None
    max_fidelity = None

    def __init__(self, *, name: str, model: str, dataset: str, metric: str) -> None:
        """Build the task; errors name ``tasks.<name>.<key>``.

        Args:
            name: The task's config name.
            model: One of :data:`MODELS`.
            dataset: One of :data:`DATASETS`.
            metric: One of the data set's problem type's :data:`METRICS`.
        """
        prefix = f"tasks.{name}"
        _check(f"{prefix}.model", "model", model, MODELS)
        _check(f"{prefix}.dataset", "dataset", dataset, tuple(DATASETS))
        problem = DATASETS[dataset]
        _check(f"{prefix}.metric", f"metric for {dataset}", metric, METRICS[problem])
        self.name = name
        self.model = model
        self.dataset = dataset
        self.problem = problem
        self.metric = metric
        self.direction: Direction = "maximize" if metric == "acc" else "minimize"
        self.space = SPACES[problem][model]

    def estimator(self, params: Mapping[str, Any], seed: int) -> Any:
        """An unfitted estimator with ``params`` and ``random_state=seed``."""
        return make_estimator(self.problem, self.model, coerce_params(self.space, params), seed)

    def prepare(self) -> None:
        """Load the data set and its split."""
        load_data(self.dataset)

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        """Mean CV score (``acc``) or loss (``nll``, ``mse``, ``mae``) over 5 folds."""
        from sklearn.model_selection import cross_val_score

        x_train, y_train, _, _ = load_data(self.dataset)
        with _quiet():
            scores = cross_val_score(
                self.estimator(params, seed),
                x_train,
                y_train,
                scoring=self._scorer(),
                cv=CV_FOLDS,
                error_score="raise",
            )
        return self._value(float(np.mean(scores)))

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        """The held-out score after refitting on all tuning rows, in the objective's units."""
        x_train, y_train, x_test, y_test = load_data(self.dataset)
        est = self.estimator(params, seed)
        with _quiet():
            est.fit(x_train, y_train)
            return self._value(float(self._scorer()(est, x_test, y_test)))

    def _scorer(self) -> Any:
        from sklearn.metrics import get_scorer

        return get_scorer(_SCORERS[self.metric])

    def _value(self, score: float) -> float:
        """scikit-learn's score (greater is better) in the task's units."""
        return score if self.metric == "acc" else -score


def suite_tasks(prefix: str, selection: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Task entries of the Bayesmark problems that ``selection`` picks.

    Args:
        prefix: Key path of the suite entry, for errors (``suites.bm``).
        selection: ``models``, ``datasets``, ``metrics``: each a list of names, or ``all``
            (also when absent). A metric applies to the data sets of its problem type.

    Returns:
        Bayesmark's test-case name → ``{kind: bayesmark, model, dataset, metric}``.

    Raises:
        ValueError: An unknown key or name, or a selection that picks no problem.
    """
    allowed = {"models": MODELS, "datasets": tuple(DATASETS),
               "metrics": tuple(m for ms in METRICS.values() for m in ms)}  # fmt: skip
    unknown = sorted(set(selection) - set(allowed))
    if unknown:
        raise ValueError(
            f"{prefix}: unknown key(s) {unknown} for suite 'bayesmark' "
            f"(allowed: {', '.join(allowed)})"
        )
    chosen = {}
    for key, options in allowed.items():
        value = selection.get(key, "all")
        if value == "all" or value is None:
            chosen[key] = options
            continue
        if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
            raise ValueError(f"{prefix}.{key}: must be 'all' or a non-empty list, got {value!r}")
        for item in value:
            _check(f"{prefix}.{key}", key.removesuffix("s"), item, options)
        chosen[key] = tuple(dict.fromkeys(value))
    out = {
        task_name(model, dataset, metric): {
            "kind": "bayesmark",
            "model": model,
            "dataset": dataset,
            "metric": metric,
        }
        for dataset in chosen["datasets"]
        for model in chosen["models"]
        for metric in chosen["metrics"]
        if metric in METRICS[DATASETS[dataset]]
    }
    if not out:
        raise ValueError(
            f"{prefix}.metrics: none of {list(chosen['metrics'])} applies to the data sets "
            f"{list(chosen['datasets'])} (classification: {', '.join(METRICS['clf'])}; "
            f"regression: {', '.join(METRICS['reg'])})"
        )
    return out


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Bayesmark's filter (no ``UserWarning``: optimizers try odd settings), and no notice that
    ``SVC(probability=True)`` is deprecated (scikit-learn 1.9; removed in 1.11)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.filterwarnings("ignore", "The `probability` parameter", FutureWarning)
        yield


def _check(path: str, what: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"{path}: unknown {what} {value!r} (choose from: {', '.join(options)})")
