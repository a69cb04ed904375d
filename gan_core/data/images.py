"""Image datasets as one in-memory tensor: digits (sklearn, offline), MNIST, Fashion-MNIST, a folder or .zip.

``load_images(cfg.data)`` returns an ``ImageDataset`` with images (N, C, H, W) float32 in [-1, 1] and
optional int64 labels. MNIST-style sets are read from IDX files under the data directory
(``data.data_dir``, else ``$GAN_PLAYGROUND_DATA``, else ``./data``) and downloaded with md5 checks when
absent (see ``download.py``). Folders and zips are read in memory (zips are never extracted) within
the ``UploadLimits`` (``limits.py``, set through environment variables); first-level subfolders become class labels. Every user-fixable problem
raises ``DataError`` with a message that says what to do.

Hostile or odd folders and zips: a zip's end record is checked against the member and directory limits before
zipfile parses anything; 16-bit greyscale PNGs are scaled to 8 bits (not clipped to white); names that are not
UTF-8 never raise and are shown with U+FFFD; files that cannot be used are skipped and reported in the
dataset's ``notes`` (one line for the user) and ``skipped`` (name, reason); decoding stops after
GAN_PLAYGROUND_MAX_DECODE_S seconds, and a ``cancel`` callable or event is checked between files.

This module holds the dataset and loader API (``ImageDataset``, ``load_images``, ``load_folder``, IDX
reading, resizing, cancelling and the decode time budget); the zip-safety part lives in ``zipread.py``,
decoding one image in ``decode.py``, and ``DataError`` / ``display_name`` in ``errors.py`` (all three
re-exported here).
"""
from __future__ import annotations

import dataclasses
import gzip
import math
import os
import struct
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F

from ..config import DataConfig
from . import download
from .decode import IMAGE_EXTS, NOT_IMAGE, _decode, _read_capped, _reason
from .errors import DataError, display_name
from .limits import UploadLimits
from .zipread import _hidden, _list_zip, _open_zip

Progress = Optional[Callable[[str, float], None]]

FOLDER_SIZE, FOLDER_CHANNELS = 32, 3  # folder defaults for image_size = 0 / channels = 0
DIGIT_NAMES = [str(i) for i in range(10)]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
IDX_SETS = {"mnist": ("MNIST", DIGIT_NAMES), "fashion_mnist": ("Fashion-MNIST", FASHION_NAMES)}
ENV_DATA_DIR = "GAN_PLAYGROUND_DATA"


@dataclass
class ImageDataset:
    name: str
    images: torch.Tensor  # (N, C, H, W) float32 in [-1, 1]
    labels: Optional[torch.Tensor]  # (N,) int64, or None when unlabelled
    num_classes: int  # 0 when unlabelled
    class_names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # non-fatal news for the user, e.g. "3 of 40 file(s) skipped (...)"
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (printable file name, reason) per skipped file

    @property
    def shape(self) -> tuple:
        return tuple(self.images.shape[1:])

    @property
    def dim(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        return self.images.shape[0]

    def sample(self, n: int, gen: torch.Generator, device) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``n`` random images (with replacement); ``gen`` must live on ``self.images.device``."""
        idx = torch.randint(0, len(self), (n,), generator=gen, device=self.images.device)
        y = self.labels[idx].to(device) if self.labels is not None else None
        return self.images[idx].to(device), y

    def to(self, device) -> "ImageDataset":
        labels = self.labels.to(device) if self.labels is not None else None
        return dataclasses.replace(self, images=self.images.to(device), labels=labels)


# ---------------------------------------------------------------- IDX (MNIST, Fashion-MNIST)

def read_idx(path: Union[str, Path]) -> np.ndarray:
    """An IDX file (raw or .gz) of unsigned bytes: labels (N,) or images (N, H, W), both uint8."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise DataError(f"{path} cannot be read ({e}); delete it and fetch it again") from None
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic not in (0x801, 0x803):
        got = f"magic 0x{magic:08x}" if magic is not None else f"only {len(raw)} bytes"
        raise DataError(f"{path} is not an IDX file ({got}; expected 0x00000801 for labels or "
                        "0x00000803 for images); delete it and fetch it again")
    ndim = magic & 0xFF
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise DataError(f"{path} is truncated: {len(raw)} bytes, shorter than its {head}-byte header")
    dims = struct.unpack(f">{ndim}I", raw[4:head])
    need = head + math.prod(dims)
    if len(raw) != need:
        what = "truncated" if len(raw) < need else "corrupt (trailing bytes)"
        raise DataError(f"{path} is {what}: {len(raw)} bytes, but its header {dims} implies {need}; "
                        "delete it and fetch it again")
    return np.frombuffer(raw, np.uint8, math.prod(dims), head).reshape(dims).copy()  # copy: writable


def data_root(cfg: DataConfig) -> Path:
    """Absolute data directory: ``data_dir``, else ``$GAN_PLAYGROUND_DATA``, else ``./data``."""
    return Path(cfg.data_dir or os.environ.get(ENV_DATA_DIR) or "data").expanduser().resolve()


def _idx_file(d: Path, split: str, kind: str) -> Optional[Path]:
    nd = 3 if kind == "images" else 1
    for stem in (f"{split}-{kind}-idx{nd}-ubyte", f"{split}-{kind}.idx{nd}-ubyte"):
        for suffix in ("", ".gz"):
            if (d / (stem + suffix)).is_file():
                return d / (stem + suffix)
    return None


def _find_splits(dirs: list[Path]) -> list[tuple[Path, Optional[Path]]]:
    """(images, labels or None) per split, from the first directory holding any images file."""
    for d in dirs:
        found = [(img, _idx_file(d, s, "labels")) for s in ("train", "t10k")
                 if (img := _idx_file(d, s, "images")) is not None]
        if found:
            return found
    return []


def _load_idx_set(key: str, cfg: DataConfig, progress: Progress) -> ImageDataset:
    title, names = IDX_SETS[key]
    root = data_root(cfg)
    sub = root / key
    splits = _find_splits([sub, root])
    if not splits:
        why = "downloading is turned off (data.download = false)"
        if cfg.download:
            try:
                download.download_set(key, sub, progress)
                splits = _find_splits([sub])
            except download.DownloadFailed as e:
                why = f"it could not be downloaded ({e})"
        if not splits:
            raise DataError(f"{title} not found in {sub} or {root}, and {why}. Put train-images-idx3-ubyte.gz, "
                            f"train-labels-idx1-ubyte.gz (and/or the t10k-* files) into {sub}{os.sep}, "
                            f"or set --data-dir / {ENV_DATA_DIR}.")
    xs, ys = [], []
    for img_path, lbl_path in splits:
        x = read_idx(img_path)
        if x.ndim != 3:
            raise DataError(f"{img_path} holds labels, not images (expected a 3-D IDX file)")
        xs.append(x)
        ys.append(_read_labels(lbl_path, len(x), len(names)) if lbl_path is not None else None)
    if len({x.shape[1:] for x in xs}) > 1:
        raise DataError(f"{splits[0][0]} and {splits[1][0]} have different image sizes; remove one of them")
    x = np.concatenate(xs)
    y = np.concatenate(ys) if all(v is not None for v in ys) else None  # labelled only if every split is
    return _finish(key, x, y, names, 255.0, cfg)


def _read_labels(path: Path, n: int, num_classes: int) -> np.ndarray:
    y = read_idx(path)
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{path} has {y.shape} labels but its images file has {n} images; "
                        "the two files do not belong together")
    if len(y) and int(y.max()) >= num_classes:
        raise DataError(f"{path} has label {int(y.max())}, outside 0..{num_classes - 1}")
    return y


# ---------------------------------------------------------------- shared post-processing

def _finish(name: str, x: np.ndarray, y: Optional[np.ndarray], names: list[str], vmax: float,
            cfg: DataConfig) -> ImageDataset:
    """(N, H, W) raw values in [0, vmax] -> ImageDataset after max_images, scaling, resize, channels."""
    if cfg.max_images:
        x, y = x[:cfg.max_images], (y[:cfg.max_images] if y is not None else None)
    t = torch.from_numpy(x.astype(np.float32)).unsqueeze(1).div_(vmax).mul_(2).sub_(1)
    t = _fit(t, cfg.image_size, cfg.channels)
    labels = torch.from_numpy(y.astype(np.int64)) if y is not None else None
    return ImageDataset(name, t, labels, len(names) if labels is not None else 0,
                        list(names) if labels is not None else [])


def _fit(x: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """Resize (N, C, H, W) to size x size (0 = keep) and repeat grey to 3 channels if asked."""
    if size and tuple(x.shape[-2:]) != (size, size):
        out = x.new_empty(x.shape[0], x.shape[1], size, size)
        for i in range(0, x.shape[0], 4096):  # chunks: bounds the temporary memory of big sets
            out[i:i + 4096] = F.interpolate(x[i:i + 4096], size=(size, size), mode="bilinear",
                                            antialias=True, align_corners=False)
        x = out.clamp_(-1, 1)
    if channels == 3 and x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    return x


def _load_digits(cfg: DataConfig) -> ImageDataset:
    from sklearn.datasets import load_digits  # lazy: sklearn is slow to import and only needed here
    d = load_digits()
    return _finish("digits", d.images, d.target, DIGIT_NAMES, 16.0, cfg)


def _load_digits_inverted(cfg: DataConfig) -> ImageDataset:
    """The digits as dark ink on light paper (16 - value): CycleGAN's offline image pair with ``digits``."""
    from sklearn.datasets import load_digits
    d = load_digits()
    return _finish("digits_inverted", 16.0 - d.images, d.target, DIGIT_NAMES, 16.0, cfg)


# ---------------------------------------------------------------- folder / zip of images

def _list_folder(root: Path) -> tuple[list, list]:
    """([(parts, size, path)], [(name, reason)]) for files under ``root``, sorted."""
    entries, skipped = [], []
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinked dirs
        dirnames[:] = sorted(d for d in dirnames if not _hidden(d))
        for fn in sorted(f for f in filenames if not _hidden(f)):
            p = Path(dirpath) / fn
            parts = p.relative_to(root).parts
            if p.suffix.lower() not in IMAGE_EXTS:
                skipped.append(("/".join(parts), NOT_IMAGE))
                continue
            try:
                entries.append((parts, p.stat().st_size, p))
            except OSError as e:  # a dangling symlink, a file removed while listing
                skipped.append(("/".join(parts), e.strerror or type(e).__name__))
    return entries, skipped


class LoadCancelled(DataError):
    """Loading stopped because the caller asked (the ``cancel`` callable or event)."""


Cancel = Optional[Union[Callable[[], bool], threading.Event]]


def _cancelled(cancel: Cancel) -> bool:
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if is_set is not None else cancel())


SKIP_NAMES_SHOWN = 3


def skipped_note(skipped: list, total: int) -> str:
    """One line for the user: how many of ``total`` files were skipped, and the first few with why."""
    shown = "; ".join(f"{display_name(n)}: {why}" for n, why in skipped[:SKIP_NAMES_SHOWN])
    more = f"; and {len(skipped) - SKIP_NAMES_SHOWN} more" if len(skipped) > SKIP_NAMES_SHOWN else ""
    return f"{len(skipped)} of {total} file(s) skipped ({shown}{more})"


def load_folder(path: Union[str, Path], image_size: int = 0, channels: int = 0, max_images: int = 0,
                progress: Progress = None, *, limits: Optional[UploadLimits] = None,
                max_files: Optional[int] = None, max_total_bytes: Optional[int] = None,
                max_pixels: Optional[int] = None, cancel: Cancel = None) -> ImageDataset:
    """Images from a directory or .zip; >= 2 first-level subfolders (and no loose images) = classes.
    Limits default to ``UploadLimits.from_env()``; the keyword arguments override single ones.

    Files that cannot be used are skipped, and said so: the dataset's ``skipped`` lists (name, reason) and its
    ``notes`` hold one line for the user (also sent to ``progress``). ``cancel`` (a callable returning True,
    or a ``threading.Event``) is checked between files and stops the load with ``LoadCancelled``; decoding
    stops with a ``DataError`` after ``limits.max_decode_s`` seconds (GAN_PLAYGROUND_MAX_DECODE_S)."""
    limits = limits or UploadLimits.from_env()
    max_files = max_files or limits.max_files
    max_total_bytes = max_total_bytes or limits.max_total_bytes
    max_pixels = max_pixels or limits.max_pixels
    p = Path(path).expanduser().resolve()
    shown = display_name(p)
    size, channels = image_size or FOLDER_SIZE, channels or FOLDER_CHANNELS
    mode = "L" if channels == 1 else "RGB"
    if not p.exists():
        raise DataError(f"image folder or zip {shown} does not exist; check data.path")
    if p.is_dir():
        zf = own = None
        entries, skipped = _list_folder(p)
    elif zipfile.is_zipfile(p):
        zf, raw_names, own = _open_zip(p, limits)
        n = len(zf.infolist())
        if n > limits.max_entries:  # the end record can understate the count
            zf.close()
            if own is not None:
                own.close()
            raise DataError(f"{shown} has {n} members, over the limit of {limits.max_entries} "
                            "(GAN_PLAYGROUND_MAX_ENTRIES)")
        entries, skipped = _list_zip(zf, raw_names)
    else:
        raise DataError(f"{shown} is neither a folder nor a .zip file; point data.path at one")
    try:
        while entries and all(len(e[0]) > 1 for e in entries) and len({e[0][0] for e in entries}) == 1:
            entries = [(e[0][1:],) + e[1:] for e in entries]  # a zip of "photos/" -> look inside it
        tops = sorted({e[0][0] for e in entries if len(e[0]) > 1})
        labelled = len(tops) >= 2 and all(len(e[0]) > 1 for e in entries)
        if max_images:
            entries = entries[:max_images]
        if len(entries) > max_files:
            raise DataError(f"{shown} has {len(entries)} image files, over the limit of {max_files} "
                            "(GAN_PLAYGROUND_MAX_FILES); set data.max_images or use a smaller folder")
        total = sum(e[1] for e in entries)  # declared sizes, before anything is read
        if total > max_total_bytes:
            raise DataError(f"{shown} holds {total / 2**20:.0f} MB of images, over the limit of "
                            f"{max_total_bytes / 2**20:.0f} MB (GAN_PLAYGROUND_MAX_TOTAL_MB); set data.max_images "
                            "or use a smaller folder")
        arrays, labels, read = [], [], 0
        step = max(1, len(entries) // 100)
        started = time.monotonic()
        for i, (parts, _, src) in enumerate(entries):
            if _cancelled(cancel):
                raise LoadCancelled(f"loading {shown} was cancelled after {i} of {len(entries)} files")
            if time.monotonic() - started > limits.max_decode_s:
                raise DataError(f"reading the images of {shown} took over {limits.max_decode_s} s "
                                f"(GAN_PLAYGROUND_MAX_DECODE_S) and stopped after {i} of {len(entries)} files; "
                                "use fewer or smaller images, or set data.max_images")
            try:
                data = _read_capped(src, zf, max_total_bytes - read)
                read += len(data)
                if read > max_total_bytes:  # the sizes a zip declares can lie (a zip bomb): count real bytes
                    raise DataError(f"{shown} unpacks to more than {max_total_bytes / 2**20:.0f} MB, over the "
                                    "limit (GAN_PLAYGROUND_MAX_TOTAL_MB); it may be a zip bomb")
                arrays.append(_decode(data, size, mode, max_pixels))
                labels.append(tops.index(parts[0]) if labelled else 0)
            except DataError:
                raise
            except Exception as e:  # any unreadable file is skipped, counted and reported
                skipped.append(("/".join(parts), _reason(e)))
            if progress is not None and (i % step == 0 or i == len(entries) - 1):
                progress(f"Reading images {i + 1}/{len(entries)}", (i + 1) / len(entries))
    finally:
        if zf is not None:
            zf.close()
        if own is not None:  # our patched view: ZipFile does not close a file it was given
            own.close()
    if not arrays:
        if skipped:
            name, why = next((s for s in skipped if s[1] != NOT_IMAGE), skipped[0])  # most telling first
            raise DataError(f"no image could be read from {shown}: {len(skipped)} file(s) skipped "
                            f"(first: {display_name(name)}: {why})")
        raise DataError(f"{shown} contains no image files ({', '.join(IMAGE_EXTS)})")
    skipped = [(display_name(n), why) for n, why in skipped]
    notes = [skipped_note(skipped, len(arrays) + len(skipped))] if skipped else []
    if notes and progress is not None:
        progress(notes[0], 1.0)
    x = torch.from_numpy(np.stack(arrays)).float().div_(255).mul_(2).sub_(1)
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2).contiguous()
    y = torch.tensor(labels, dtype=torch.int64) if labelled else None
    names = [display_name(t) for t in tops] if labelled else []
    return ImageDataset("folder", x, y, len(tops) if labelled else 0, names, notes=notes, skipped=skipped)


# ---------------------------------------------------------------- entry point

def load_images(cfg: DataConfig, progress: Progress = None, cancel: Cancel = None) -> ImageDataset:
    """Load ``cfg.dataset`` (digits, mnist, fashion_mnist or folder) as an in-memory ImageDataset;
    stacked_mnist gives a ``StackedMNIST`` (same interface, batches stacked on the fly). ``cancel``: see
    ``load_folder`` (checked between files of a folder or zip, and before loading anything else)."""
    if _cancelled(cancel):
        raise LoadCancelled(f"loading {cfg.dataset} was cancelled")
    if cfg.dataset == "digits":
        ds = _load_digits(cfg)
    elif cfg.dataset == "digits_inverted":
        ds = _load_digits_inverted(cfg)
    elif cfg.dataset in IDX_SETS:
        ds = _load_idx_set(cfg.dataset, cfg, progress)
    elif cfg.dataset == "folder":
        ds = load_folder(cfg.path, cfg.image_size, cfg.channels, cfg.max_images, progress, cancel=cancel)
    elif cfg.dataset == "stacked_mnist":
        from .stacked import load_stacked  # lazy: stacked.py imports this module
        ds = load_stacked(cfg, progress)
    else:
        raise DataError(f"data.dataset = {cfg.dataset!r} is not an image dataset; use gan_core.data.toy")
    if progress is not None:
        progress(f"Loaded {len(ds)} images of shape {ds.shape}", 1.0)
    return ds
