"""PyTorch classifiers (an MLP, a small CNN) trained epoch by epoch; the fidelity is the epoch.

Only this module imports torch, and :func:`tunebench.tasks.build_task` imports it only for
``kind: torch`` tasks. Training is deterministic for a given seed on CPU: initialisation and
dropout draw from a forked global RNG seeded with the trial seed (the caller's RNG state is
restored afterwards), and minibatch order comes from a local :class:`torch.Generator`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from tunebench.core.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from tunebench.tasks import OPENML_PREFIX, ReporterLike, Task, coerce_params
from tunebench.tasks.data import SplitSpec, load_split

__all__ = [
    "DEFAULT_SPACES",
    "FIXED_DEFAULTS",
    "TorchTask",
    "build_cnn",
    "build_mlp",
    "resolve_device",
]

_LR = FloatParam("lr", 1e-4, 1e-1, log=True)
_TRAINING = (
    FloatParam("dropout", 0.0, 0.5),
    FloatParam("weight_decay", 1e-6, 1e-2, log=True),
    CategoricalParam("batch_size", (32, 64, 128)),
    CategoricalParam("optimizer", ("adam", "sgd")),
)
DEFAULT_SPACES: dict[str, SearchSpace] = {
    "mlp": SearchSpace(
        (_LR, IntParam("hidden", 16, 256, log=True), IntParam("layers", 1, 3), *_TRAINING)
    ),
    "cnn": SearchSpace(
        (_LR, IntParam("width", 4, 32, log=True), IntParam("depth", 1, 3), *_TRAINING)
    ),
}
"""Search space of each model: learning rate, width, depth, dropout, weight decay, batch size
and optimizer (the MLP calls width and depth ``hidden`` and ``layers``)."""

_TRAINING_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "dropout": 0.0,
    "weight_decay": 0.0,
    "batch_size": 64,
    "optimizer": "adam",
}
FIXED_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {**_TRAINING_DEFAULTS, "hidden": 64, "layers": 2},
    "cnn": {**_TRAINING_DEFAULTS, "width": 16, "depth": 2},
}
"""Values used for hyperparameters that an overriding ``space`` leaves out, per model."""

_SGD_MOMENTUM = 0.9

# (x_train, y_train, x_val, y_val, x_test, y_test) on one device, standardised with train stats.
_Tensors = tuple[torch.Tensor, ...]


def resolve_device(device: str | None) -> torch.device:
    """``cuda`` when available and ``device`` is ``None`` or ``"auto"``, else ``device``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def build_mlp(n_in: int, n_out: int, *, hidden: int, layers: int, dropout: float) -> nn.Module:
    """``layers`` hidden blocks of Linear -> ReLU [-> Dropout if > 0], then a linear output."""
    blocks: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        if dropout > 0:
            blocks.append(nn.Dropout(dropout))
        width = hidden
    blocks.append(nn.Linear(width, n_out))
    return nn.Sequential(*blocks)


def build_cnn(side: int, n_out: int, *, width: int, depth: int, dropout: float) -> nn.Module:
    """``depth`` blocks of 3×3 Conv -> ReLU [-> 2×2 MaxPool while the image is over 2 pixels],
    then global average pooling [-> Dropout if > 0] and a linear output, for one-channel
    ``side``×``side`` images given as flat rows."""
    blocks: list[nn.Module] = [nn.Unflatten(1, (1, side, side))]
    channels = 1
    for _ in range(depth):
        blocks += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU()]
        if side > 2:
            blocks.append(nn.MaxPool2d(2))
            side //= 2
        channels = width
    blocks += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if dropout > 0:
        blocks.append(nn.Dropout(dropout))
    blocks.append(nn.Linear(channels, n_out))
    return nn.Sequential(*blocks)


@functools.lru_cache(maxsize=8)
def _tensors(split: SplitSpec, device: str) -> _Tensors:
    data = load_split(split)
    (train, val) = data.folds[0]
    x_train = data.x_dev[train]
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    arrays = (
        (x_train - mean) / std,
        data.y_dev[train],
        (data.x_dev[val] - mean) / std,
        data.y_dev[val],
        (data.x_test - mean) / std,
        data.y_test,
    )
    return tuple(
        torch.tensor(a, dtype=torch.float32 if a.dtype.kind == "f" else torch.int64, device=device)
        for a in arrays
    )


class TorchTask(Task):
    """Tune a PyTorch classifier (``mlp`` or ``cnn``); the objective is validation accuracy.

    Each epoch trains on the training rows in a seeded random order, then evaluates on the
    validation rows and calls ``reporter.report(epoch, val_accuracy, val_loss=...)``; training
    stops early when that returns ``True``. A run whose loss becomes NaN/inf returns NaN.
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
        max_epochs: int = 20,
        device: str | None = None,
        threads: int | None = None,
    ) -> None:
        """Build the task; errors name ``tasks.<name>.<key>``.

        Args:
            name: The task's config name.
            model: ``mlp``, or ``cnn`` (its rows must be square one-channel images: digits).
            split: Dataset and split settings (holdout validation only).
            space: Overrides the model's :data:`DEFAULT_SPACES` entry; may name a subset of its
                parameters (the rest take :data:`FIXED_DEFAULTS`), nothing else.
            max_epochs: Epochs of a full trial (the task's ``max_fidelity``).
            device: ``cpu``, ``cuda``, ``cuda:1``...; ``None`` or ``auto`` picks cuda if present.
            threads: ``torch.set_num_threads`` before each run (``None``: leave as is).
        """
        prefix = f"tasks.{name}"
        if split.validation != "holdout":
            raise ValueError(
                f"{prefix}.validation: torch tasks support only 'holdout', "
                f"got {split.validation!r}"
            )
        for key, value in (("max_epochs", max_epochs), ("threads", threads)):
            if value is None and key == "threads":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{prefix}.{key}: must be a positive integer, got {value!r}")
        try:
            self.device = resolve_device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"{prefix}.device: invalid device {device!r} ({exc})") from exc
        if model not in DEFAULT_SPACES:
            raise ValueError(
                f"{prefix}.model: unknown model {model!r} "
                f"(choose from: {', '.join(DEFAULT_SPACES)})"
            )
        space = DEFAULT_SPACES[model] if space is None else space
        unknown = [n for n in space.names if n not in FIXED_DEFAULTS[model]]
        if unknown:
            raise ValueError(
                f"{prefix}.space: {model} has no hyperparameter(s) {unknown} "
                f"(choose from: {', '.join(FIXED_DEFAULTS[model])})"
            )
        self.name = name
        self.model = model
        self.split = split
        self.space = space
        self.max_fidelity = max_epochs
        self.threads = threads
        if model == "cnn" and not split.dataset.startswith(OPENML_PREFIX):
            self._image_side(load_split(split).x_dev.shape[1])  # fail at build, not in a trial

    def evaluate(self, params: Mapping[str, Any], seed: int, reporter: ReporterLike) -> float:
        """Train up to ``max_fidelity`` epochs; return the last validation accuracy."""
        x_train, y_train, x_val, y_val, _, _ = self._data()
        last = math.nan

        def on_epoch(epoch: int, model: nn.Module) -> bool:
            nonlocal last
            accuracy, loss = _score(model, x_val, y_val)
            if not math.isfinite(loss):
                last = math.nan
                return True
            last = accuracy
            return bool(reporter.report(epoch, accuracy, val_loss=loss))

        if not self._train(params, seed, x_train, y_train, on_epoch):
            return math.nan
        return last

    def test_score(self, params: Mapping[str, Any], seed: int) -> float:
        """Retrain ``max_fidelity`` epochs with ``seed`` on the same rows; test accuracy."""
        x_train, y_train, _, _, x_test, y_test = self._data()
        scores: list[float] = []

        def on_end(epoch: int, model: nn.Module) -> bool:
            if epoch == self.max_fidelity:
                accuracy, loss = _score(model, x_test, y_test)
                scores.append(accuracy if math.isfinite(loss) else math.nan)
            return False

        if not self._train(params, seed, x_train, y_train, on_end):
            return math.nan
        return scores[0]

    def prepare(self) -> None:
        """Load the split as tensors on the task's device."""
        self._data()

    def _data(self) -> _Tensors:
        return _tensors(self.split, str(self.device))

    def _train(
        self,
        params: Mapping[str, Any],
        seed: int,
        x: torch.Tensor,
        y: torch.Tensor,
        on_epoch: Callable[[int, nn.Module], bool],
    ) -> bool:
        """Train epoch by epoch, calling ``on_epoch`` after each; False if the loss diverged."""
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        hp = {**FIXED_DEFAULTS[self.model], **coerce_params(self.space, params)}
        n_classes = load_split(self.split).n_classes
        devices = []
        if self.device.type == "cuda":
            index = self.device.index
            devices = [torch.cuda.current_device() if index is None else index]
        order = torch.Generator().manual_seed(seed)
        batch = int(hp["batch_size"])
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            model = self._build(x.shape[1], n_classes, hp).to(self.device)
            optimizer = _optimizer(model, hp)
            for epoch in range(1, self.max_fidelity + 1):
                model.train()
                total = torch.zeros((), device=self.device)
                perm = torch.randperm(len(y), generator=order).to(self.device)
                xs, ys = x[perm], y[perm]
                for start in range(0, len(y), batch):
                    stop = start + batch
                    loss = nn.functional.cross_entropy(model(xs[start:stop]), ys[start:stop])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += loss.detach()
                if not torch.isfinite(total):
                    return False
                if on_epoch(epoch, model):
                    break
        return True

    def _build(self, n_in: int, n_out: int, hp: Mapping[str, Any]) -> nn.Module:
        dropout = float(hp["dropout"])
        if self.model == "mlp":
            hidden, layers = int(hp["hidden"]), int(hp["layers"])
            return build_mlp(n_in, n_out, hidden=hidden, layers=layers, dropout=dropout)
        width, depth = int(hp["width"]), int(hp["depth"])
        return build_cnn(self._image_side(n_in), n_out, width=width, depth=depth, dropout=dropout)

    def _image_side(self, n_features: int) -> int:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"tasks.{self.name}.model: cnn needs square one-channel images, "
                f"{self.split.dataset} rows have {n_features} features"
            )
        return side


def _optimizer(model: nn.Module, hp: Mapping[str, Any]) -> torch.optim.Optimizer:
    """Adam, or SGD with momentum 0.9; the fused kernels where this torch has them (faster)."""
    kwargs: dict[str, Any] = {"lr": float(hp["lr"]), "weight_decay": float(hp["weight_decay"])}
    if hp["optimizer"] == "adam":
        cls: type[torch.optim.Optimizer] = torch.optim.Adam
    elif hp["optimizer"] == "sgd":
        cls, kwargs["momentum"] = torch.optim.SGD, _SGD_MOMENTUM
    else:
        raise ValueError(f"params.optimizer: unknown optimizer {hp['optimizer']!r} (adam, sgd)")
    try:
        return cls(model.parameters(), fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device/version
        return cls(model.parameters(), **kwargs)


@torch.no_grad()
def _score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Accuracy and mean cross-entropy of ``model`` on ``(x, y)``, in eval mode."""
    model.eval()
    logits = model(x)
    loss = float(nn.functional.cross_entropy(logits, y))
    accuracy = float((logits.argmax(dim=1) == y).float().mean())
    return accuracy, loss
