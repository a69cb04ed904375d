"""Tests for gan_core.data.images (and its download helper) on tiny files written to tmp_path; no network."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.config import DataConfig
from gan_core.data import download
from gan_core.data.images import DataError, ImageDataset, load_folder, load_images, read_idx

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- helpers

def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_idx(path: Path, arr: np.ndarray) -> Path:
    data = idx_bytes(arr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def make_split(d: Path, split: str, n: int = 5, gz: bool = True, labels: bool = True, dotted: bool = False):
    x = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = RNG.integers(0, 10, n, dtype=np.uint8)
    sep = "." if dotted else "-"
    ext = ".gz" if gz else ""
    write_idx(d / f"{split}-images{sep}idx3-ubyte{ext}", x)
    if labels:
        write_idx(d / f"{split}-labels{sep}idx1-ubyte{ext}", y)
    return x, y


def cfg(**kw) -> DataConfig:
    kw.setdefault("dataset", "mnist")
    return DataConfig(**kw)


class FakeResp(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def files_under(p: Path) -> list[Path]:
    return sorted(f for f in p.rglob("*") if f.is_file())


def png(mode: str, size: tuple, color) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB" if mode == "P" else mode, size, color)
    if mode == "P":
        img = img.convert("P")
    img.save(buf, "PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- read_idx

@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_read_idx_roundtrip(tmp_path, name):
    x = RNG.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    got = read_idx(write_idx(tmp_path / name, x))
    assert got.dtype == np.uint8 and got.shape == (3, 4, 5) and np.array_equal(got, x)
    got.flat[0] = 1  # writable
    y = read_idx(write_idx(tmp_path / ("y-" + name.replace("idx3", "idx1")), np.arange(7)))
    assert y.shape == (7,) and list(y) == list(range(7))


def test_read_idx_rejects_bad_files(tmp_path):
    bad_magic = tmp_path / "magic-idx3-ubyte"
    bad_magic.write_bytes(b"\x00\x00\x0d\x03" + b"\x00" * 20)
    with pytest.raises(DataError, match="magic-idx3-ubyte.*not an IDX"):
        read_idx(bad_magic)
    good = idx_bytes(np.zeros((2, 3, 3)))
    short = tmp_path / "short-idx3-ubyte"
    short.write_bytes(good[:-4])
    with pytest.raises(DataError, match="short-idx3-ubyte.*truncated"):
        read_idx(short)
    head = tmp_path / "head-idx3-ubyte"
    head.write_bytes(good[:9])
    with pytest.raises(DataError, match="head-idx3-ubyte.*truncated"):
        read_idx(head)
    tiny = tmp_path / "tiny-idx3-ubyte"
    tiny.write_bytes(b"\x00")
    with pytest.raises(DataError, match="tiny-idx3-ubyte"):
        read_idx(tiny)
    bad_gz = tmp_path / "cut-idx3-ubyte.gz"
    bad_gz.write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(DataError, match="cut-idx3-ubyte.gz"):
        read_idx(bad_gz)
    not_gz = tmp_path / "plain-idx3-ubyte.gz"
    not_gz.write_bytes(good)
    with pytest.raises(DataError, match="plain-idx3-ubyte.gz"):
        read_idx(not_gz)


# ---------------------------------------------------------------- mnist / fashion_mnist from disk

def test_mnist_in_subdir_concatenates_splits(tmp_path):
    x1, y1 = make_split(tmp_path / "mnist", "train")
    x2, y2 = make_split(tmp_path / "mnist", "t10k", gz=False)
    ds = load_images(cfg(data_dir=str(tmp_path), download=False))
    assert isinstance(ds, ImageDataset) and ds.name == "mnist"
    assert ds.images.shape == (10, 1, 28, 28) and ds.images.dtype == torch.float32
    assert ds.shape == (1, 28, 28) and ds.dim == 784 and len(ds) == 10
    assert ds.images.min() >= -1 and ds.images.max() <= 1
    want = torch.from_numpy(np.concatenate([x1, x2]).astype(np.float32)) / 255 * 2 - 1
    assert torch.allclose(ds.images[:, 0], want, atol=1e-6)
    assert ds.labels.dtype == torch.int64 and ds.labels.tolist() == list(np.concatenate([y1, y2]))
    assert ds.num_classes == 10 and ds.class_names == [str(i) for i in range(10)]


def test_mnist_in_data_dir_itself_dotted_raw_unlabelled(tmp_path):
    make_split(tmp_path, "train", n=4, gz=False, labels=False, dotted=True)
    ds = load_images(cfg(data_dir=str(tmp_path), download=False))
    assert ds.images.shape == (4, 1, 28, 28)
    assert ds.labels is None and ds.num_classes == 0 and ds.class_names == []


def test_partial_labels_make_set_unlabelled_and_mismatch_is_error(tmp_path):
    make_split(tmp_path / "mnist", "train")
    make_split(tmp_path / "mnist", "t10k", labels=False)
    assert load_images(cfg(data_dir=str(tmp_path), download=False)).labels is None
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(3))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        load_images(cfg(data_dir=str(tmp_path), download=False))


def test_mnist_resize_channels_max_images(tmp_path):
    make_split(tmp_path / "mnist", "train")
    make_split(tmp_path / "mnist", "t10k")
    base = dict(data_dir=str(tmp_path), download=False)
    ds = load_images(cfg(image_size=32, **base))
    assert ds.images.shape == (10, 1, 32, 32) and ds.images.abs().max() <= 1
    ds = load_images(cfg(image_size=14, **base))
    assert ds.images.shape == (10, 1, 14, 14) and ds.images.abs().max() <= 1
    ds = load_images(cfg(channels=3, **base))
    assert ds.images.shape == (10, 3, 28, 28) and torch.equal(ds.images[:, 0], ds.images[:, 2])
    ds = load_images(cfg(max_images=3, image_size=28, **base))
    assert ds.images.shape == (3, 1, 28, 28) and ds.labels.shape == (3,)


def test_fashion_class_names(tmp_path):
    make_split(tmp_path / "fashion_mnist", "t10k")
    ds = load_images(cfg(dataset="fashion_mnist", data_dir=str(tmp_path), download=False))
    assert len(ds) == 5 and ds.num_classes == 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"


def test_env_var_and_relative_default(tmp_path, monkeypatch):
    make_split(tmp_path / "envdata" / "mnist", "train", n=2)
    monkeypatch.setenv("GAN_PLAYGROUND_DATA", str(tmp_path / "envdata"))
    assert len(load_images(cfg(download=False))) == 2
    monkeypatch.delenv("GAN_PLAYGROUND_DATA")
    make_split(tmp_path / "data" / "mnist", "train", n=3)
    monkeypatch.chdir(tmp_path)
    assert len(load_images(cfg(download=False))) == 3  # ./data relative to cwd


# ---------------------------------------------------------------- downloading (fake opener only)

def test_offline_gives_one_clear_error(tmp_path, monkeypatch):
    calls = []

    def offline(url, timeout=None):
        calls.append(url)
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(download, "_urlopen", offline)
    with pytest.raises(DataError) as err:
        load_images(cfg(data_dir=str(tmp_path)))
    msg = str(err.value)
    assert str(tmp_path / "mnist") in msg and "train-images-idx3-ubyte" in msg and "no network" in msg
    assert "GAN_PLAYGROUND_DATA" in msg
    assert [u.rsplit("/", 1)[0] + "/" for u in calls] == list(download.MIRRORS["mnist"])  # tried both mirrors
    assert files_under(tmp_path) == []


def test_download_off_never_calls_opener(tmp_path, monkeypatch):
    def never(*a, **k):
        raise AssertionError("opener called with download=False")
    monkeypatch.setattr(download, "_urlopen", never)
    with pytest.raises(DataError) as err:
        load_images(cfg(dataset="fashion_mnist", data_dir=str(tmp_path), download=False))
    msg = str(err.value)
    assert "Fashion-MNIST" in msg and str(tmp_path / "fashion_mnist") in msg
    assert "train-images-idx3-ubyte" in msg


def test_download_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "_urlopen", lambda url, timeout=None: FakeResp(b"not the real file"))
    with pytest.raises(DataError, match="checksum"):
        load_images(cfg(data_dir=str(tmp_path)))
    assert files_under(tmp_path) == []


def _fake_set(n=3):
    x = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = RNG.integers(0, 10, n, dtype=np.uint8)
    served = {}
    for split in ("train", "t10k"):
        served[f"{split}-images-idx3-ubyte.gz"] = gzip.compress(idx_bytes(x))
        served[f"{split}-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(y))
    return served


def test_download_success_with_mirror_fallback(tmp_path, monkeypatch):
    served = _fake_set()
    monkeypatch.setitem(download.MD5, "mnist", {k: hashlib.md5(v).hexdigest() for k, v in served.items()})
    calls = []

    def opener(url, timeout=None):
        calls.append(url)
        assert timeout is not None
        if url.startswith(download.MIRRORS["mnist"][0]):
            raise urllib.error.URLError("first mirror down")
        return FakeResp(served[url.rsplit("/", 1)[1]])
    monkeypatch.setattr(download, "_urlopen", opener)
    fractions = []
    ds = load_images(cfg(data_dir=str(tmp_path)), progress=lambda msg, f: fractions.append(f))
    assert len(ds) == 6 and ds.labels is not None
    assert sorted(p.name for p in files_under(tmp_path)) == sorted(served)
    assert all((tmp_path / "mnist" / k).read_bytes() == v for k, v in served.items())
    assert len(calls) == 8
    assert fractions and fractions[-1] == 1.0 and all(0 <= f <= 1 for f in fractions)
    assert fractions == sorted(fractions)
    # second load finds the files: no further network calls
    monkeypatch.setattr(download, "_urlopen", lambda *a, **k: pytest.fail("network used"))
    assert len(load_images(cfg(data_dir=str(tmp_path)))) == 6


# ---------------------------------------------------------------- digits

def test_digits():
    ds = load_images(DataConfig(dataset="digits"))
    assert ds.images.shape == (1797, 1, 8, 8) and ds.num_classes == 10 and ds.labels.shape == (1797,)
    assert ds.images.min() == -1 and ds.images.max() == 1
    assert sorted(set(ds.labels.tolist())) == list(range(10))


# ---------------------------------------------------------------- folder / zip

def _mixed_images() -> dict:
    return {
        "a.png": png("RGBA", (20, 30), (255, 0, 0, 255)),
        "b.png": png("P", (40, 20), (0, 255, 0)),
        "c.png": png("L", (16, 16), 0),
        "d.jpg": _jpeg((50, 50)),
        "e.png": png("RGBA", (10, 10), (0, 0, 0, 0)),  # fully transparent -> white
    }


def _jpeg(size) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 20, 200)).save(buf, "JPEG")
    return buf.getvalue()


def _write_tree(root: Path, files: dict) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _write_zip(path: Path, files: dict) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in files.items():
            zf.writestr(rel, data)
    return path


@pytest.mark.parametrize("channels", [1, 3])
def test_folder_mixed_modes_resized(tmp_path, channels):
    root = _write_tree(tmp_path / "imgs", _mixed_images())
    ds = load_images(DataConfig(dataset="folder", path=str(root), image_size=16, channels=channels))
    assert ds.images.shape == (5, channels, 16, 16) and ds.labels is None and ds.num_classes == 0
    assert ds.images.min() >= -1 and ds.images.max() <= 1
    assert torch.allclose(ds.images[4], torch.ones(channels, 16, 16))  # transparent shown as white
    if channels == 3:
        assert torch.allclose(ds.images[0, :, 8, 8], torch.tensor([1.0, -1.0, -1.0]))  # red stays red


def test_folder_defaults_size_32_rgb(tmp_path):
    root = _write_tree(tmp_path / "imgs", {"x.png": png("L", (5, 7), 128)})
    ds = load_images(DataConfig(dataset="folder", path=str(root)))
    assert ds.images.shape == (1, 3, 32, 32)


def test_folder_class_subfolders(tmp_path):
    files = {"dog/1.png": png("L", (8, 8), 255), "cat/1.png": png("L", (8, 8), 0),
             "cat/2.png": png("L", (9, 8), 0), "readme.txt": b"a loose non-image does not matter"}
    root = _write_tree(tmp_path / "pets", files)
    ds = load_folder(root, image_size=8, channels=1)
    assert ds.class_names == ["cat", "dog"] and ds.num_classes == 2
    assert ds.labels.tolist() == [0, 0, 1]
    assert ds.images[2].min() == 1 and ds.images[0].max() == -1
    (root / "loose.png").write_bytes(png("L", (8, 8), 9))  # a loose image: no longer a clean class split
    assert load_folder(root, image_size=8, channels=1).labels is None


def test_zip_in_memory_with_classes(tmp_path):
    files = {f"pics/{k}": v for k, v in {"cat/a.png": png("RGB", (12, 12), (0, 0, 0)),
                                         "dog/b.png": png("RGBA", (12, 20), (255, 255, 255, 255)),
                                         "dog/c.png": png("P", (30, 12), (5, 5, 5))}.items()}
    z = _write_zip(tmp_path / "pics.zip", files)
    before = files_under(tmp_path)
    ds = load_images(DataConfig(dataset="folder", path=str(z), image_size=16, channels=3))
    assert ds.images.shape == (3, 3, 16, 16) and ds.class_names == ["cat", "dog"]
    assert ds.labels.tolist() == [0, 1, 1]
    assert files_under(tmp_path) == before  # nothing extracted


def test_zip_skips_unsafe_and_non_images(tmp_path):
    (tmp_path / "inner").mkdir()
    z = _write_zip(tmp_path / "inner" / "bad.zip", {
        "ok.png": png("L", (8, 8), 100),
        "../evil.png": png("L", (8, 8), 0),
        "/abs.png": png("L", (8, 8), 0),
        "notes.txt": b"hello",
        "fake.png": b"not a png at all",
        "__MACOSX/._ok.png": b"resource fork",
    })
    ds = load_folder(z, image_size=8, channels=1)
    assert len(ds) == 1 and ds.labels is None
    assert files_under(tmp_path) == [z] and not (tmp_path / "evil.png").exists()
    assert not (tmp_path.parent / "evil.png").exists()


def test_zip_total_size_limit_checked_before_reading(tmp_path):
    z = _write_zip(tmp_path / "big.zip", {"a.png": png("L", (64, 64), 3), "b.png": png("L", (64, 64), 4)})
    with pytest.raises(DataError, match="over the limit"):
        load_folder(z, max_total_bytes=100)
    with pytest.raises(DataError, match="over the limit of 1"):
        load_folder(z, max_files=1)
    assert len(load_folder(z, max_files=1, max_images=1)) == 1


def test_pixel_limit_skips_image(tmp_path):
    root = _write_tree(tmp_path / "imgs", {"big.png": png("L", (100, 100), 0)})
    with pytest.raises(DataError, match=r"1 file\(s\) skipped.*pixel"):
        load_folder(root, max_pixels=5000)


def test_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="contains no image files"):
        load_images(DataConfig(dataset="folder", path=str(tmp_path / "empty")))
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match=str(missing)):
        load_images(DataConfig(dataset="folder", path=str(missing)))
    _write_tree(tmp_path / "junk", {"a.png": b"xx", "b.jpg": b"yy", "c.txt": b"zz"})
    with pytest.raises(DataError, match=r"3 file\(s\) skipped.*not a readable image"):
        load_folder(tmp_path / "junk")
    (tmp_path / "file.txt").write_text("hi")
    with pytest.raises(DataError, match="neither a folder nor a .zip"):
        load_folder(tmp_path / "file.txt")


# ---------------------------------------------------------------- ImageDataset

def test_sample_reproducible_and_to():
    ds = ImageDataset("t", torch.rand(20, 1, 4, 4) * 2 - 1, torch.arange(20), 20, [str(i) for i in range(20)])
    a = ds.sample(7, torch.Generator().manual_seed(3), "cpu")
    b = ds.sample(7, torch.Generator().manual_seed(3), "cpu")
    assert a[0].shape == (7, 1, 4, 4) and a[1].shape == (7,) and a[1].dtype == torch.int64
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(a[0], ds.images[a[1]])  # images and labels drawn with the same indices
    un = ImageDataset("u", ds.images, None, 0, [])
    x, y = un.sample(5, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert x.shape == (5, 1, 4, 4) and y is None
    moved = ds.to("cpu")
    assert moved is not ds and moved.shape == (1, 4, 4) and moved.dim == 16 and moved.labels is not None


# ---------------------------------------------------------------- 16-bit images, skip reports, odd names, time

def png16(values: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(values.astype(np.uint16)).save(buf, "PNG")  # mode I;16: a 16-bit greyscale PNG
    return buf.getvalue()


def as_bytes(ds: ImageDataset) -> np.ndarray:
    return ((ds.images + 1) / 2 * 255).round().to(torch.int64).numpy()


def test_16_bit_png_keeps_its_tones(tmp_path):
    ramp = (np.arange(64).reshape(8, 8) * 1040)  # 0 .. 65520
    z = _write_zip(tmp_path / "x.zip", {"ramp.png": png16(ramp), "mid.png": png16(np.full((8, 8), 32896)),
                                         "eight.png": png("L", (8, 8), 128)})
    ds = load_folder(z, image_size=8, channels=1)
    eight, mid, ramp_img = as_bytes(ds)[:, 0]  # sorted by name
    assert (eight == 128).all()
    assert (mid == 128).all()  # 32896 / 257 = 128, not white (255) as before
    np.testing.assert_array_equal(ramp_img, np.rint(ramp / 257.0))
    rgb = as_bytes(load_folder(z, image_size=8, channels=3))
    assert (rgb[1] == 128).all()  # grey to RGB goes through the same scaling


def test_skipped_files_are_reported_not_dropped_silently(tmp_path):
    files = {"a.png": png("L", (8, 8), 10), "b.png": png("L", (8, 8), 20), "broken.png": b"\x89PNG garbage",
             "notes.txt": b"hello", "empty.jpg": b""}
    root = _write_tree(tmp_path / "imgs", files)
    said = []
    ds = load_folder(root, image_size=8, channels=1, progress=lambda msg, f: said.append(msg))
    assert len(ds) == 2
    assert sorted(n for n, _ in ds.skipped) == ["broken.png", "empty.jpg", "notes.txt"]
    assert len(ds.notes) == 1 and "\n" not in ds.notes[0]
    assert ds.notes[0].startswith("3 of 5 file(s) skipped") and "not a readable image" in ds.notes[0]
    assert ds.notes[0] in said  # the CLI prints progress lines: the report reaches it too
    assert ds.to("cpu").notes == ds.notes  # survives the Trainer's move to its device
    ok = load_folder(_write_tree(tmp_path / "ok", {"a.png": png("L", (8, 8), 1)}), image_size=8)
    assert ok.notes == [] and ok.skipped == []
    many = _write_tree(tmp_path / "many", {**{f"bad{i}.png": b"x" for i in range(6)}, "a.png": png("L", (8, 8), 0)})
    note = load_folder(many, image_size=8).notes[0]
    assert note.startswith("6 of 7") and note.endswith("and 3 more)") and note.count("bad") == 3


@pytest.mark.skipif(os.name != "posix", reason="needs a file system that takes arbitrary bytes in names")
def test_non_utf8_folder_names_never_raise_and_print_cleanly(tmp_path):
    root = os.fsencode(tmp_path / "odd")
    for sub in (b"caf\xe9", b"dog"):
        os.makedirs(os.path.join(root, sub))
        with open(os.path.join(root, sub, b"ok\xff.png"), "wb") as f:
            f.write(png("L", (8, 8), 50))
    with open(os.path.join(root, b"dog", b"bad\xfe.png"), "wb") as f:
        f.write(b"not a png")
    ds = load_folder(os.fsdecode(root), image_size=8, channels=1)
    assert len(ds) == 2 and ds.class_names == ["caf\ufffd", "dog"]
    text = " ".join(ds.class_names + ds.notes + [n for n, _ in ds.skipped])
    text.encode("utf-8")  # what a browser page or a safetensors header needs; surrogates would raise here
    assert "bad\ufffd.png" in ds.notes[0]
    os.remove(os.path.join(root, b"caf\xe9", b"ok\xff.png"))
    os.remove(os.path.join(root, b"dog", b"ok\xff.png"))
    with pytest.raises(DataError) as info:
        load_folder(os.fsdecode(root), image_size=8)
    str(info.value).encode("utf-8")
    assert "bad\ufffd.png" in str(info.value)


def test_decoding_stops_after_the_time_budget(tmp_path, monkeypatch):
    from gan_core.data import images
    from gan_core.data.limits import UploadLimits
    root = _write_tree(tmp_path / "imgs", {f"{i:02d}.png": png("L", (8, 8), i) for i in range(20)})
    clock = iter(range(0, 10_000, 2))  # each image "takes" 2 s, like a pixel-dense 9 MB PNG
    monkeypatch.setattr(images.time, "monotonic", lambda: next(clock))
    with pytest.raises(DataError) as info:
        load_folder(root, image_size=8, limits=UploadLimits(max_decode_s=7))
    msg = str(info.value)
    assert "GAN_PLAYGROUND_MAX_DECODE_S" in msg and "over 7 s" in msg and "after 3 of 20 files" in msg, msg
    monkeypatch.undo()
    monkeypatch.setenv("GAN_PLAYGROUND_MAX_DECODE_S", "0")
    with pytest.raises(ValueError, match="GAN_PLAYGROUND_MAX_DECODE_S = 0"):
        load_folder(root, image_size=8)
    monkeypatch.setenv("GAN_PLAYGROUND_MAX_DECODE_S", "60")
    assert len(load_folder(root, image_size=8)) == 20


def test_loading_can_be_cancelled_between_files(tmp_path):
    import threading
    from gan_core.data.images import LoadCancelled
    root = _write_tree(tmp_path / "imgs", {f"{i:02d}.png": png("L", (8, 8), i) for i in range(10)})
    stop = threading.Event()
    seen = []

    def progress(msg, frac):
        seen.append(msg)
        if len(seen) == 3:
            stop.set()  # e.g. the page's Cancel button, from another thread

    with pytest.raises(LoadCancelled, match="cancelled after 3 of 10 files"):
        load_folder(root, image_size=8, progress=progress, cancel=stop)
    with pytest.raises(LoadCancelled):
        load_images(DataConfig(dataset="folder", path=str(root), image_size=8), cancel=lambda: True)
    assert len(load_folder(root, image_size=8, cancel=lambda: False)) == 10
