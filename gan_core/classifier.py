"""Small digit classifiers the project trains and ships, used as the feature extractor for image-quality
metrics (no Inception weights can be downloaded here; see DESIGN.md "Reference protocols and numbers").

Two networks, both taking images in [-1, 1]:

- ``MnistNet``: LeNet-style conv-pool-conv-pool-fc for (B, 1, 28, 28); 128-d penultimate features.
- ``DigitsNet``: a two-conv net for scikit-learn's 8x8 digits (B, 1, 8, 8); 64-d penultimate features.

Weights live in ``assets/classifier_<kind>.safetensors`` (read with ``safetensors.torch.load_file``; pickle is
never used), written by ``python scripts/train_classifier.py``, whose docstring gives the data, split and
accuracy. ``load_classifier(kind)`` returns a cached, thread-safe, eval-mode ``Classifier`` wrapper that
batches under ``torch.no_grad()``, resizes other image sizes (bilinear, antialiased), averages 3 channels to
1 and moves inputs to its own device. ``load_for_dataset(name)`` also handles Stacked MNIST (each RGB
channel is one MNIST digit; 1000 joint classes).

    from gan_core.classifier import load_classifier
    clf = load_classifier("mnist")
    clf.predict(images)           # (B,) int64 digits for (B, 1|3, H, W) images in [-1, 1]
    clf.features(images)          # (B, 128) float32, on the CPU
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

ROOT = Path(__file__).resolve().parent.parent  # the repository root (gan_core/ lives directly in it)
ASSETS = ROOT / "assets"
FORMAT = "gan-playground-classifier/1"
KINDS = ("mnist", "digits")
DATASET_CLASSIFIER = {"mnist": "mnist", "digits": "digits", "stacked_mnist": "mnist"}  # others: none
MNIST_TRAIN, MNIST_HELDOUT = 8000, 2000  # MNIST t10k split: first 8,000 train, last 2,000 held out
DIGITS_TEST_FRACTION, DIGITS_SPLIT_SEED = 0.2, 0  # stratified 80/20 split of sklearn digits

_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()


class ClassifierError(ValueError):
    """A classifier that cannot be loaded or used as asked; the message says what to do."""


# ---------------------------------------------------------------- networks

class MnistNet(nn.Module):
    """LeNet-style: conv5-pool-conv5-pool-fc128-fc10 on (B, 1, 28, 28) in [-1, 1]."""

    size, n_features, n_classes = 28, 128, 10

    def __init__(self, dropout: float = 0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5)  # (B, 32, 24, 24) -> pool (B, 32, 12, 12)
        self.conv2 = nn.Conv2d(32, 64, 5)  # (B, 64, 8, 8) -> pool (B, 64, 4, 4)
        self.fc1 = nn.Linear(64 * 4 * 4, self.n_features)
        self.fc2 = nn.Linear(self.n_features, self.n_classes)
        self.drop = nn.Dropout(dropout)

    def features(self, x: Tensor) -> Tensor:
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 32, 12, 12)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)  # (B, 64, 4, 4)
        return F.relu(self.fc1(self.drop(h.flatten(1))))  # (B, 128)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.drop(self.features(x)))  # (B, 10) logits


class DigitsNet(nn.Module):
    """conv3-conv3-pool-fc64-fc10 on scikit-learn digits (B, 1, 8, 8) in [-1, 1]."""

    size, n_features, n_classes = 8, 64, 10

    def __init__(self, dropout: float = 0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)  # (B, 32, 8, 8)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)  # (B, 64, 8, 8) -> pool (B, 64, 4, 4)
        self.fc1 = nn.Linear(64 * 4 * 4, self.n_features)
        self.fc2 = nn.Linear(self.n_features, self.n_classes)
        self.drop = nn.Dropout(dropout)

    def features(self, x: Tensor) -> Tensor:
        h = F.relu(self.conv1(x))
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)  # (B, 64, 4, 4)
        return F.relu(self.fc1(self.drop(h.flatten(1))))  # (B, 64)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.drop(self.features(x)))  # (B, 10) logits


NETS = {"mnist": MnistNet, "digits": DigitsNet}


def build_net(kind: str) -> nn.Module:
    if kind not in NETS:
        raise ClassifierError(f"unknown classifier kind {kind!r}; choices: {list(NETS)}")
    return NETS[kind]()


def asset_path(kind: str) -> Path:
    return ASSETS / f"classifier_{kind}.safetensors"


# ---------------------------------------------------------------- input handling

def prepare(x: Union[Tensor, np.ndarray], size: int, device: torch.device) -> Tensor:
    """Images (B, C, H, W) or (B, H, W) in [-1, 1] -> float32 (B, 1, size, size) on ``device``.

    3 channels are averaged to 1 (bilinear antialiased resize when the size differs)."""
    x = torch.as_tensor(x)
    if x.ndim == 3:
        x = x.unsqueeze(1)  # (B, H, W) -> (B, 1, H, W)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ClassifierError(f"classifier input must be (B, 1 or 3, H, W) images, got shape {tuple(x.shape)}")
    x = x.to(device=device, dtype=torch.float32)
    if x.shape[1] == 3:
        x = x.mean(1, keepdim=True)  # (B, 1, H, W)
    if tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


class Classifier:
    """A trained ``MnistNet``/``DigitsNet`` in eval mode with batched, no-grad helpers.

    Every method takes images (B, C, H, W) in [-1, 1] on any device and returns CPU tensors."""

    def __init__(self, kind: str, net: nn.Module, meta: Optional[dict] = None, device="cpu"):
        self.kind = kind
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.size: int = net.size
        self.n_features: int = net.n_features
        self.n_classes: int = net.n_classes
        self.meta = dict(meta or {})

    def __repr__(self) -> str:
        acc = self.meta.get("heldout_accuracy", "?")
        return f"Classifier({self.kind!r}, size={self.size}, features={self.n_features}, heldout_accuracy={acc})"

    @torch.no_grad()
    def embed(self, x, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
        """(features (B, F), probs (B, K)) float32 on the CPU, in one pass."""
        if batch_size < 1:
            raise ClassifierError(f"batch_size = {batch_size} must be >= 1")
        x = torch.as_tensor(x)
        feats, probs = [], []
        for i in range(0, x.shape[0], batch_size):
            xb = prepare(x[i:i + batch_size], self.size, self.device)  # (b, 1, S, S)
            h = self.net.features(xb)  # (b, F)
            feats.append(h.float().cpu())
            probs.append(F.softmax(self.net.fc2(h), 1).float().cpu())
        if not feats:
            return torch.zeros(0, self.n_features), torch.zeros(0, self.n_classes)
        return torch.cat(feats), torch.cat(probs)

    def features(self, x, batch_size: int = 1000) -> Tensor:
        return self.embed(x, batch_size)[0]  # (B, F)

    def probs(self, x, batch_size: int = 1000) -> Tensor:
        return self.embed(x, batch_size)[1]  # (B, K)

    @torch.no_grad()
    def logits(self, x, batch_size: int = 1000) -> Tensor:
        x = torch.as_tensor(x)
        out = [self.net(prepare(x[i:i + batch_size], self.size, self.device)).float().cpu()
               for i in range(0, x.shape[0], batch_size)]
        return torch.cat(out) if out else torch.zeros(0, self.n_classes)

    def predict(self, x, batch_size: int = 1000) -> Tensor:
        return self.probs(x, batch_size).argmax(1)  # (B,) int64


class PerChannel:
    """Classifies each channel of (B, C, H, W) images separately (Stacked MNIST): joint class
    = digits read as a base-K number (100*d_R + 10*d_G + d_B for K = 10, C = 3), joint probs = the
    outer product of the per-channel probs (B, K**C), features = per-channel features concatenated (B, C*F)."""

    def __init__(self, base: Classifier, channels: int = 3):
        self.base, self.channels = base, channels
        self.kind = f"{base.kind}_per_channel"
        self.size = base.size
        self.n_features = base.n_features * channels
        self.n_classes = base.n_classes ** channels
        self.meta = base.meta

    def _check(self, x) -> Tensor:
        x = torch.as_tensor(x)
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ClassifierError(f"per-channel classifier needs (B, {self.channels}, H, W) images, "
                                  f"got shape {tuple(x.shape)}")
        return x

    def embed(self, x, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
        x = self._check(x)
        parts = [self.base.embed(x[:, c:c + 1], batch_size) for c in range(self.channels)]
        feats = torch.cat([f for f, _ in parts], 1)  # (B, C*F)
        probs = parts[0][1]  # (B, K)
        for _, p in parts[1:]:
            probs = (probs[:, :, None] * p[:, None, :]).flatten(1)  # (B, K^c) -> (B, K^(c+1))
        return feats, probs

    def features(self, x, batch_size: int = 1000) -> Tensor:
        return self.embed(x, batch_size)[0]

    def probs(self, x, batch_size: int = 1000) -> Tensor:
        return self.embed(x, batch_size)[1]

    def channel_predictions(self, x, batch_size: int = 1000) -> Tensor:
        """(B, C) int64: the base classifier's class for each channel."""
        x = self._check(x)
        return torch.stack([self.base.predict(x[:, c:c + 1], batch_size) for c in range(self.channels)], 1)

    def predict(self, x, batch_size: int = 1000) -> Tensor:
        d = self.channel_predictions(x, batch_size)  # (B, C)
        weights = self.base.n_classes ** torch.arange(self.channels - 1, -1, -1)
        return (d * weights).sum(1)  # (B,)


# ---------------------------------------------------------------- loading

def _read(kind: str, device: torch.device) -> Classifier:
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = asset_path(kind)
    if not path.is_file():
        raise ClassifierError(f"classifier weights {path} are missing; make them with "
                              f"`python scripts/train_classifier.py --kind {kind}`")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ClassifierError(f"{path} is not a readable safetensors file ({exc}); pickles are never loaded") from None
    if meta.get("format") != FORMAT or meta.get("kind") != kind:
        raise ClassifierError(f"{path} is not a {kind} classifier of format {FORMAT!r} "
                              f"(format {meta.get('format')!r}, kind {meta.get('kind')!r})")
    net = build_net(kind)
    try:
        net.load_state_dict(tensors)
    except RuntimeError as exc:
        raise ClassifierError(f"{path} does not fit the {kind} network: {exc}") from None
    for key in ("heldout_accuracy",):
        if key in meta:
            meta[key] = float(meta[key])
    for key in ("n_train", "n_heldout"):
        if key in meta:
            meta[key] = int(meta[key])
    return Classifier(kind, net, meta, device)


def load_classifier(kind: str, device: Union[str, torch.device] = "cpu") -> Classifier:
    """The shipped classifier ``kind`` ("mnist" or "digits") on ``device``, loaded once per process."""
    if kind not in KINDS:
        raise ClassifierError(f"unknown classifier kind {kind!r}; choices: {list(KINDS)}")
    dev = torch.device(device)
    key = (kind, str(dev))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _read(kind, dev)
        return _CACHE[key]


def classifier_for(dataset: str) -> Optional[str]:
    """The classifier kind that can judge samples of ``dataset`` (None: no classifier fits it).

    "stacked_mnist" maps to "mnist", applied per channel (see ``load_for_dataset``)."""
    return DATASET_CLASSIFIER.get(dataset)


def load_for_dataset(dataset: str, device: Union[str, torch.device] = "cpu"):
    """A ready classifier for ``dataset``: ``Classifier``, ``PerChannel`` for Stacked MNIST, or None."""
    kind = classifier_for(dataset)
    if kind is None:
        return None
    clf = load_classifier(kind, device)
    return PerChannel(clf, 3) if dataset == "stacked_mnist" else clf


# ---------------------------------------------------------------- the shipped splits (script and tests)

def mnist_split(mnist_dir: Union[str, Path]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """MNIST t10k in [-1, 1]: (x_train (8000, 1, 28, 28), y_train, x_heldout (2000, 1, 28, 28), y_heldout)."""
    from .data.images import _idx_file, read_idx

    d = Path(mnist_dir)
    img, lbl = _idx_file(d, "t10k", "images"), _idx_file(d, "t10k", "labels")
    if img is None or lbl is None:
        raise ClassifierError(f"no t10k-images/t10k-labels IDX files in {d}")
    x = torch.from_numpy(read_idx(img).astype(np.float32)).div_(127.5).sub_(1).unsqueeze(1)  # (N, 1, 28, 28)
    y = torch.from_numpy(read_idx(lbl).astype(np.int64))
    if len(x) < MNIST_TRAIN + MNIST_HELDOUT or len(y) != len(x):
        raise ClassifierError(f"{img} holds {len(x)} images ({len(y)} labels); "
                              f"need {MNIST_TRAIN + MNIST_HELDOUT} labelled ones")
    n = MNIST_TRAIN + MNIST_HELDOUT
    return x[:MNIST_TRAIN], y[:MNIST_TRAIN], x[n - MNIST_HELDOUT:n], y[n - MNIST_HELDOUT:n]


def digits_split() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """sklearn digits in [-1, 1], stratified 80/20: (x_train (N, 1, 8, 8), y_train, x_heldout, y_heldout)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.images.astype(np.float32) / 8.0 - 1.0  # values 0..16 -> [-1, 1]
    xa, xb, ya, yb = train_test_split(x, d.target, test_size=DIGITS_TEST_FRACTION, stratify=d.target,
                                      random_state=DIGITS_SPLIT_SEED)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).unsqueeze(1)  # noqa: E731  (N, 1, 8, 8)
    return t(xa), torch.from_numpy(ya.astype(np.int64)), t(xb), torch.from_numpy(yb.astype(np.int64))


def accuracy(clf, x, y) -> float:
    """Fraction of ``x`` that ``clf`` labels as ``y``."""
    return float((clf.predict(x) == torch.as_tensor(y)).float().mean())
