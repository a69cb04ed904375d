"""Tests for gan_core.data.stacked (Stacked MNIST) on tiny IDX files written to tmp_path: batches built on
the fly with labels matching their channels, resizing, the config rules, a DCGAN Trainer on it, and the
real MNIST classifier counting modes of real stacks (skipped when ../shared/data/mnist is absent)."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_core.config import Config, DataConfig
from gan_core.data import load_dataset
from gan_core.data.images import DataError
from gan_core.data.stacked import StackedMNIST
from gan_core.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
N_DIGITS = 30


def write_idx(path: Path, arr: np.ndarray) -> None:
    arr = np.asarray(arr, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
                                   + arr.tobytes()))


@pytest.fixture()
def mnist_dir(tmp_path) -> tuple[Path, np.ndarray, np.ndarray]:
    g = np.random.default_rng(0)
    x = g.integers(0, 256, (N_DIGITS, 28, 28), dtype=np.uint8)  # distinct random "digits"
    y = np.arange(N_DIGITS) % 10
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz", x)
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", y)
    return tmp_path, x, y


def stacked_cfg(data_dir: Path, **kw) -> DataConfig:
    return DataConfig(dataset="stacked_mnist", data_dir=str(data_dir), download=False, **kw)


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def test_batches_are_stacks_with_matching_labels(mnist_dir):
    root, x, y = mnist_dir
    ds = load_dataset(stacked_cfg(root))
    assert isinstance(ds, StackedMNIST) and ds.name == "stacked_mnist"
    assert ds.shape == (3, 28, 28) and ds.dim == 3 * 28 * 28 and ds.num_classes == 1000 and len(ds) == N_DIGITS
    assert ds.digits.images.shape == (N_DIGITS, 1, 28, 28)  # only the 1-channel digits are held
    assert len(ds.class_names) == 1000 and ds.class_names[42] == "042"
    imgs, labels = ds.sample(64, torch.Generator().manual_seed(0), "cpu")
    assert imgs.shape == (64, 3, 28, 28) and labels.shape == (64,) and labels.dtype == torch.int64
    assert imgs.min() >= -1 and imgs.max() <= 1
    scaled = torch.from_numpy(x.astype(np.float32)) / 255 * 2 - 1  # (N, 28, 28)
    for img, label in zip(imgs, labels):
        digits = []
        for c in range(3):
            match = [i for i in range(N_DIGITS) if torch.equal(img[c], scaled[i])]
            assert len(match) == 1
            digits.append(int(y[match[0]]))
        assert int(label) == 100 * digits[0] + 10 * digits[1] + digits[2]
    assert len(set(labels.tolist())) > 1


def test_sampling_is_seeded_and_reference_is_fixed(mnist_dir):
    ds = load_dataset(stacked_cfg(mnist_dir[0]))
    a = ds.sample(16, torch.Generator().manual_seed(5), "cpu")
    b = ds.sample(16, torch.Generator().manual_seed(5), "cpu")
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    r1, l1 = ds.reference(100, seed=3)
    r2, l2 = ds.reference(100, seed=3)
    r3, _ = ds.reference(100, seed=4)
    assert r1.shape == (100, 3, 28, 28) and torch.equal(r1, r2) and torch.equal(l1, l2)
    assert not torch.equal(r1, r3)
    with pytest.raises(ValueError, match="n = 0"):
        ds.reference(0)


def test_image_size_and_channels(mnist_dir):
    root = mnist_dir[0]
    ds = load_dataset(stacked_cfg(root, image_size=32, channels=3))
    assert ds.shape == (3, 32, 32) and ds.sample(4, torch.Generator(), "cpu")[0].shape == (4, 3, 32, 32)
    with pytest.raises(DataError, match="3 channels"):
        load_dataset(stacked_cfg(root, channels=1))
    assert len(load_dataset(stacked_cfg(root, max_images=10))) == 10


def test_to_device_keeps_type(mnist_dir):
    ds = load_dataset(stacked_cfg(mnist_dir[0])).to("cpu")
    assert isinstance(ds, StackedMNIST) and ds.num_classes == 1000


def test_unlabelled_mnist_gives_unlabelled_stacks(tmp_path):
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28)))
    ds = load_dataset(stacked_cfg(tmp_path))
    assert ds.num_classes == 0 and ds.class_names == []
    assert ds.sample(3, torch.Generator(), "cpu")[1] is None


def test_missing_mnist_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="MNIST not found"):
        load_dataset(stacked_cfg(tmp_path))


def test_config_accepts_native_size_for_dcgan():
    assert Config.from_dict({"arch": "dcgan", "dataset": "stacked_mnist"}).data.image_size == 0
    assert Config.from_dict({"arch": "dcgan", "dataset": "stacked_mnist", "image_size": 32}).data.image_size == 32
    with pytest.raises(ValueError, match="image_size"):
        Config.from_dict({"arch": "dcgan", "dataset": "stacked_mnist", "image_size": 16})


@pytest.mark.parametrize("size, conditional", [(0, False), (32, False), (0, True)])
def test_dcgan_trainer_runs_on_stacked_mnist(mnist_dir, size, conditional):
    cfg = Config.from_dict({"dataset": "stacked_mnist", "data_dir": str(mnist_dir[0]), "download": False,
                            "image_size": size, "arch": "dcgan", "z_dim": 8, "ngf": 8, "ndf": 8,
                            "batch_size": 8, "device": "cpu", "cpu_threads": 1, "conditional": conditional})
    tr = Trainer(cfg)
    side = size or 28
    assert tr.data_shape == (3, side, side)
    for _ in range(2):
        out = tr.step()
    assert torch.isfinite(out[:4]).all() and tr.step_count == 2
    assert tr.sample(4).shape == (4, 3, side, side)


@pytest.mark.skipif(not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason=f"real MNIST test set not found at {SHARED_DATA / 'mnist'}")
def test_mnist_classifier_counts_modes_of_real_stacks():
    from gan_core.classifier import load_classifier
    from gan_core.quality import stacked_mnist_modes

    ds = load_dataset(DataConfig(dataset="stacked_mnist", data_dir=str(SHARED_DATA), download=False))
    x, labels = ds.reference(3000, seed=0)
    out = stacked_mnist_modes(x, load_classifier("mnist"))
    true_modes = len(set(labels.tolist()))  # ~1000 (1 - e^-3) = 950 distinct modes in 3000 draws
    assert abs(out["modes_captured"] - true_modes) <= 0.03 * true_modes
    true_hist = np.bincount(labels.numpy(), minlength=1000)
    assert np.abs(out["hist"] - true_hist).sum() / 2 <= 0.08 * len(x)  # >= 92% of stacks read right
    assert out["kl_to_uniform"] < 0.5  # real stacks are nearly uniform over the 1000 modes
