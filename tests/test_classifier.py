"""Tests for gan_core.classifier: the shipped weights load without pickle, reach their held-out accuracy
(MNIST checks skip when ../shared/data/mnist is absent, as in CI), accept other sizes and 3 channels,
are cached per process, and the per-channel (Stacked MNIST) wrapper composes digits correctly."""
from __future__ import annotations

import pickle
import threading
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import gan_core.classifier as C
from gan_core.classifier import (ClassifierError, PerChannel, accuracy, classifier_for, digits_split,
                                 load_classifier, load_for_dataset, mnist_split)

ROOT = Path(__file__).resolve().parent.parent
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                                 reason=f"real MNIST test set not found at {MNIST_DIR}")


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture(scope="module")
def digits_data():
    return digits_split()


@pytest.fixture(scope="module")
def mnist_data():
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST test set not found at {MNIST_DIR}")
    return mnist_split(MNIST_DIR)


# ---------------------------------------------------------------- the shipped files

@pytest.mark.parametrize("kind", ["mnist", "digits"])
def test_assets_are_small_safetensors(kind):
    path = C.asset_path(kind)
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    assert raw[8:9] == b"{" and 8 + header_len < len(raw)  # safetensors layout, not a zip/pickle
    assert len(raw) < 2 * 2**20


@pytest.mark.parametrize("kind", ["mnist", "digits"])
def test_loads_without_pickle(kind, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(C, "_CACHE", {})
    clf = load_classifier(kind)
    assert clf.kind == kind and not clf.net.training
    assert all(p.device.type == "cpu" for p in clf.net.parameters())


def test_metadata_records_training():
    m, d = load_classifier("mnist").meta, load_classifier("digits").meta
    assert m["heldout_accuracy"] >= 0.98 and m["n_train"] == 8000 and m["n_heldout"] == 2000
    assert d["heldout_accuracy"] >= 0.95 and d["n_train"] + d["n_heldout"] == 1797
    for meta in (m, d):
        assert meta["command"].startswith("python scripts/train_classifier.py") and meta["date"]


def test_cached_once_per_process_across_threads(monkeypatch):
    monkeypatch.setattr(C, "_CACHE", {})
    calls = []
    real_read = C._read
    monkeypatch.setattr(C, "_read", lambda kind, dev: calls.append(kind) or real_read(kind, dev))
    got = []
    threads = [threading.Thread(target=lambda: got.append(load_classifier("digits"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["digits"] and all(g is got[0] for g in got)


def test_missing_and_pickled_assets_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "ASSETS", tmp_path)
    monkeypatch.setattr(C, "_CACHE", {})
    with pytest.raises(ClassifierError, match="train_classifier.py"):
        load_classifier("digits")
    torch.save(C.DigitsNet().state_dict(), tmp_path / "classifier_digits.safetensors")  # a pickle in disguise
    with pytest.raises(ClassifierError, match="safetensors"):
        load_classifier("digits")


def test_unknown_kind_and_dataset_mapping():
    with pytest.raises(ValueError, match="unknown classifier kind"):
        load_classifier("cifar")
    assert classifier_for("mnist") == "mnist" and classifier_for("digits") == "digits"
    assert classifier_for("stacked_mnist") == "mnist"
    for name in ("fashion_mnist", "folder", "ring8", "gauss1d"):
        assert classifier_for(name) is None and load_for_dataset(name) is None
    assert isinstance(load_for_dataset("stacked_mnist"), PerChannel)


# ---------------------------------------------------------------- accuracy

@needs_mnist
def test_mnist_heldout_accuracy(mnist_data):
    _, _, xb, yb = mnist_data
    assert len(xb) == 2000
    assert accuracy(load_classifier("mnist"), xb, yb) >= 0.98


@needs_mnist
def test_mnist_accepts_32px_and_3_channels(mnist_data):
    _, _, xb, yb = mnist_data
    clf = load_classifier("mnist")
    big = F.interpolate(xb[:500], size=(32, 32), mode="bilinear", align_corners=False)  # (500, 1, 32, 32)
    assert accuracy(clf, big, yb[:500]) >= 0.97
    assert accuracy(clf, big.repeat(1, 3, 1, 1), yb[:500]) >= 0.97


def test_digits_heldout_accuracy(digits_data):
    _, _, xb, yb = digits_data
    assert len(xb) == 360
    assert accuracy(load_classifier("digits"), xb, yb) >= 0.95


def test_digits_accepts_other_sizes_and_3_channels(digits_data):
    _, _, xb, yb = digits_data
    clf = load_classifier("digits")
    big = F.interpolate(xb, size=(16, 16), mode="bilinear", align_corners=False)
    assert accuracy(clf, big, yb) >= 0.9
    assert accuracy(clf, big.repeat(1, 3, 1, 1), yb) >= 0.9


# ---------------------------------------------------------------- shapes and input handling

def test_mnist_shapes_and_batching():
    clf = load_classifier("mnist")
    x = torch.rand(37, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    feats, probs = clf.embed(x, batch_size=10)
    assert feats.shape == (37, 128) and probs.shape == (37, 10) and feats.dtype == torch.float32
    assert torch.allclose(probs.sum(1), torch.ones(37), atol=1e-5)
    assert torch.allclose(clf.features(x), feats, atol=1e-5)  # batch size does not matter
    assert torch.equal(clf.predict(x), probs.argmax(1))
    assert torch.allclose(clf.probs(x.repeat(1, 3, 1, 1)), probs, atol=1e-5)  # equal channels average to x
    assert torch.allclose(clf.probs(x[:, 0]), probs, atol=1e-5)  # (B, H, W) is read as 1 channel
    assert torch.allclose(F.softmax(clf.logits(x), 1), probs, atol=1e-5)
    assert clf.features(x[:0]).shape == (0, 128)


def test_resize_is_bilinear_antialiased():
    clf = load_classifier("mnist")
    x = torch.rand(8, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    resized = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    assert torch.allclose(clf.features(x), clf.features(resized), atol=1e-5)


def test_digits_features_shape():
    feats = load_classifier("digits").features(torch.zeros(5, 1, 8, 8))
    assert feats.shape == (5, 64)


def test_bad_input_shapes_are_value_errors():
    clf = load_classifier("mnist")
    with pytest.raises(ValueError, match="1 or 3"):
        clf.predict(torch.zeros(2, 2, 28, 28))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        PerChannel(clf).predict(torch.zeros(2, 1, 28, 28))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_inputs_on_another_device_are_moved():
    clf = load_classifier("digits")
    x = torch.zeros(3, 1, 8, 8)
    assert torch.allclose(clf.probs(x.cuda()), clf.probs(x))


# ---------------------------------------------------------------- per channel (Stacked MNIST)

def test_per_channel_composes_digits(digits_data):
    _, _, xb, _ = digits_data
    base = load_classifier("digits")
    pc = PerChannel(base)
    x = torch.cat([xb[0:20], xb[20:40], xb[40:60]], 1)  # (20, 3, 8, 8): three different digits per image
    d = torch.stack([base.predict(xb[0:20]), base.predict(xb[20:40]), base.predict(xb[40:60])], 1)
    assert torch.equal(pc.channel_predictions(x), d)
    assert torch.equal(pc.predict(x), d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2])
    feats, probs = pc.embed(x)
    assert feats.shape == (20, 3 * 64) and probs.shape == (20, 1000)
    assert torch.allclose(probs.sum(1), torch.ones(20), atol=1e-5)
    assert torch.equal(probs.argmax(1), pc.predict(x))  # the product's argmax is the digits' argmaxes
    assert pc.n_classes == 1000 and pc.n_features == 192
