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
"""
from __future__ import annotations

import dataclasses
import gzip
import io
import math
import os
import re
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
from PIL import Image, UnidentifiedImageError

from ..config import DataConfig
from . import download
from .limits import UploadLimits

Progress = Optional[Callable[[str, float], None]]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
FOLDER_SIZE, FOLDER_CHANNELS = 32, 3  # folder defaults for image_size = 0 / channels = 0
DIGIT_NAMES = [str(i) for i in range(10)]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
IDX_SETS = {"mnist": ("MNIST", DIGIT_NAMES), "fashion_mnist": ("Fashion-MNIST", FASHION_NAMES)}
ENV_DATA_DIR = "GAN_PLAYGROUND_DATA"
NOT_IMAGE = "not an image file"


class DataError(ValueError):
    """A user-fixable data problem; the message says what to do."""


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


# ---------------------------------------------------------------- folder / zip of images

def _hidden(part: str) -> bool:
    return part.startswith(".") or part == "__MACOSX"  # macOS zips carry ._x.png resource forks


def _unsafe(name: str, parts: tuple) -> bool:
    return name.startswith("/") or bool(re.match(r"[A-Za-z]:", name)) or ".." in parts


def display_name(name) -> str:
    """A file name as text that can always be printed and sent to a browser: undecodable bytes (which the OS
    hands over as lone surrogates) and lone surrogates become U+FFFD."""
    name = os.fsdecode(name) if isinstance(name, (bytes, os.PathLike)) else str(name)
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


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


# ---- zip: the end record is checked before zipfile parses the central directory

_EOCD, _EOCD64, _EOCD64_LOC = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_UTF8_FLAG = 0x800


def _zip_directory(fh) -> Optional[tuple[int, int, int, int]]:
    """(members, central-directory bytes, its offset, where the directory really starts) as the end record
    claims them, located exactly as zipfile does (the zip64 record, when present, wins); None when no end
    record is found. Reads at most the last 64 KiB + 98 bytes."""
    fh.seek(0, 2)
    size = fh.tell()
    start = max(size - (1 << 16) - 22, 0)
    fh.seek(start)
    tail = fh.read()
    at = len(tail) - 22 if tail[-22:-18] == _EOCD and tail[-2:] == b"\0\0" else tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    _, _, _, entries, cd_size, cd_offset, _ = struct.unpack("<4xHHHHIIH", tail[at:at + 22])
    pos = start + at  # of the end record in the file
    if pos >= 20 + 56:
        fh.seek(pos - 20)
        loc = fh.read(20)
        if loc[:4] == _EOCD64_LOC:
            fh.seek(pos - 20 - 56)
            rec = fh.read(56)
            if rec[:4] == _EOCD64:
                entries, cd_size, cd_offset = struct.unpack("<QQQ", rec[32:56])
                pos -= 20 + 56
    return entries, cd_size, cd_offset, pos - cd_size  # zipfile's start_dir: data prepended to a zip is allowed


def _check_zip_directory(p: Path, limits: UploadLimits) -> None:
    """Refuse a zip whose end record declares more members or a bigger central directory than allowed,
    before anything parses it (zipfile reads the whole directory into memory and makes an object per member)."""
    with open(p, "rb") as fh:
        found = _zip_directory(fh)
    if found is None:
        raise DataError(f"{display_name(p)} is a damaged zip file (no end-of-central-directory record); re-create it")
    entries, cd_size = found[:2]
    if entries > limits.max_entries:
        raise DataError(f"{display_name(p)} has {entries} members, over the limit of {limits.max_entries} "
                        "(GAN_PLAYGROUND_MAX_ENTRIES)")
    cap = limits.max_central_directory_bytes
    if cd_size > cap:
        raise DataError(f"{display_name(p)} has a {cd_size / 2**20:.1f} MB central directory, over the "
                        f"{cap / 2**20:.1f} MB allowed for {limits.max_entries} members (GAN_PLAYGROUND_MAX_ENTRIES)")


class _PatchedFile(io.RawIOBase):
    """A read-only view of a file with some byte ranges replaced (used to clear a lying UTF-8 flag)."""

    def __init__(self, fh, patches: dict):
        super().__init__()
        self._fh, self._patches = fh, patches  # {offset: bytes}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def read(self, n: int = -1) -> bytes:
        pos = self._fh.tell()
        data = bytearray(self._fh.read(n))
        for off, patch in self._patches.items():
            lo, hi = max(off, pos), min(off + len(patch), pos + len(data))
            if lo < hi:
                data[lo - pos: hi - pos] = patch[lo - off: hi - off]
        return bytes(data)

    def close(self) -> None:
        self._fh.close()
        super().close()


def _bad_utf8_names(fh, cd_start: int, cd_offset: int, cd_size: int) -> tuple[dict, set]:
    """Patches clearing the UTF-8 flag (central and local headers) of members whose names are not UTF-8,
    and those names' raw bytes (zipfile would raise UnicodeDecodeError on them). ``cd_start`` is where the
    directory is, ``cd_offset`` where the end record says it is (they differ when data was prepended)."""
    fh.seek(cd_start)
    cd = fh.read(cd_size)
    patches, names, i = {}, set(), 0
    while i + 46 <= len(cd) and cd[i:i + 4] == b"PK\x01\x02":
        (flags,) = struct.unpack("<H", cd[i + 8:i + 10])
        n, m, k = struct.unpack("<HHH", cd[i + 28:i + 34])
        (local,) = struct.unpack("<I", cd[i + 42:i + 46])
        raw = cd[i + 46:i + 46 + n]
        if flags & _UTF8_FLAG:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                patches[cd_start + i + 8] = struct.pack("<H", flags & ~_UTF8_FLAG)
                local += cd_start - cd_offset
                fh.seek(local + 6)
                head = fh.read(2)
                if len(head) == 2:
                    patches[local + 6] = struct.pack("<H", struct.unpack("<H", head)[0] & ~_UTF8_FLAG)
                names.add(raw)
        i += 46 + n + m + k
    return patches, names


_ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, struct.error)


def _open_zip(p: Path, limits: UploadLimits) -> tuple[zipfile.ZipFile, set, Optional[io.RawIOBase]]:
    """(zip, raw names that were not UTF-8, a file to close after the zip or None), checked against the
    limits before zipfile parses anything; names that are not valid UTF-8 never raise."""
    _check_zip_directory(p, limits)
    try:
        return zipfile.ZipFile(p), set(), None
    except UnicodeDecodeError:  # a member flagged UTF-8 whose name is not: read it as raw bytes instead
        pass
    except _ZIP_ERRORS as e:
        raise DataError(f"{display_name(p)} is a damaged zip file ({display_name(e)}); re-create it") from None
    fh = open(p, "rb")
    try:
        _, cd_size, cd_offset, cd_start = _zip_directory(fh)
        patches, names = _bad_utf8_names(fh, cd_start, cd_offset, cd_size)
        view = _PatchedFile(fh, patches)
        return zipfile.ZipFile(view), names, view
    except (*_ZIP_ERRORS, TypeError) as e:
        fh.close()
        raise DataError(f"{display_name(p)} is a damaged zip file ({display_name(e)}); re-create it") from None


def _zip_name(info: zipfile.ZipInfo, raw_names: set) -> str:
    """A member's name as text: as flagged (UTF-8) or, unflagged, UTF-8 when it decodes, else cp437."""
    name = info.orig_filename
    if info.flag_bits & _UTF8_FLAG:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    if raw in raw_names:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return name


def _list_zip(zf: zipfile.ZipFile, raw_names: set = frozenset()) -> tuple[list, list]:
    """Like ``_list_folder`` for zip members; absolute or ``..`` names are skipped as unsafe."""
    entries, skipped = [], []
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = _zip_name(info, raw_names).replace("\\", "/")
        parts = tuple(p for p in name.split("/") if p not in ("", "."))
        if _unsafe(name, parts):
            skipped.append((name, "unsafe path (absolute or with '..')"))
        elif any(_hidden(p) for p in parts):
            continue
        elif Path(name).suffix.lower() not in IMAGE_EXTS:
            skipped.append((name, NOT_IMAGE))
        else:
            entries.append((parts, info.file_size, info))
    return sorted(entries, key=lambda e: e[0]), skipped


# ---- decoding

_WIDE_GREY = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # 16-bit, 32-bit integer and float grey


def _to_8bit(img: Image.Image) -> Image.Image:
    """A 16-bit (or 32-bit integer / float) grey image as 8-bit "L" with its full range kept: I;16 is
    scaled by 1/257 (65535 -> 255); I and F are scaled the same way when their values fit 0..65535, kept when
    they fit 0..255 (or 0..1 for F, times 255), else stretched from their minimum to their maximum."""
    a = np.asarray(img)
    if img.mode.startswith("I;16"):
        a = a.astype(np.float32) / 257.0
    else:
        a = a.astype(np.float64)
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        if img.mode == "F" and lo >= 0 and hi <= 1:
            a = a * 255.0
        elif lo >= 0 and hi <= 255:
            pass
        elif lo >= 0 and hi <= 65535:
            a = a / 257.0
        else:
            a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        a = np.nan_to_num(a, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")


def _decode(data: bytes, size: int, mode: str, max_pixels: int) -> np.ndarray:
    """Bytes -> (size, size[, 3]) uint8: 16-bit grey scaled to 8 bits, alpha flattened onto white, centre-crop
    square, LANCZOS resize."""
    with Image.open(io.BytesIO(data)) as img:
        w, h = img.size
        if w * h > max_pixels:  # checked before load(): decoding is where the memory goes
            raise ValueError(f"{w}x{h} pixels is over the {max_pixels:,}-pixel limit")
        if img.format == "JPEG":
            img.draft(mode, (size, size))  # lets libjpeg decode big photos at a reduced scale
        im = _to_8bit(img) if img.mode in _WIDE_GREY else img
        im = im.convert("RGBA") if im.mode in ("P", "PA", "LA", "La", "RGBa", "RGBA") else im
        if im.mode == "RGBA":  # transparent pixels hide arbitrary colours; show them as white
            im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im)
        im = im.convert(mode)
        s = min(im.size)
        left, top = (im.size[0] - s) // 2, (im.size[1] - s) // 2
        im = im.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + s, top + s),
                       reducing_gap=3.0)  # big images: a fast box reduction first, LANCZOS for the rest
        return np.asarray(im, dtype=np.uint8)


def _reason(e: Exception) -> str:
    if isinstance(e, Image.DecompressionBombError):
        return "too many pixels (decompression bomb)"
    if isinstance(e, UnidentifiedImageError):
        return "not a readable image"
    return display_name(str(e) or type(e).__name__)


def _read_capped(src, zf: Optional[zipfile.ZipFile], budget: int) -> bytes:
    """A file's bytes, but never more than ``budget`` + 1 of them, whatever its header claims."""
    with (zf.open(src) if zf is not None else open(src, "rb")) as fh:
        return fh.read(max(budget, 0) + 1)


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
