"""Decoding one image file to a fixed-size uint8 array, and the file types ``load_folder`` accepts.

``_decode`` refuses an image over the pixel limit before decoding it (decoding is where the memory goes),
lets libjpeg decode big JPEGs at a reduced scale, converts 16-bit, 32-bit integer and float greyscale to
8 bits with their full range kept (``_to_8bit``: not clipped to white), flattens alpha and palette modes onto
white, converts to "L" or "RGB", centre-crops to a square and resizes with LANCZOS. ``_read_capped`` reads a
file's bytes (from a folder or a zip) never past the remaining byte budget, and ``_reason`` says in a few
words why a file could not be used. The decode time budget and cancelling are checked between files by
``images.load_folder``.
"""
from __future__ import annotations

import io
import zipfile
from typing import Optional

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import display_name

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
NOT_IMAGE = "not an image file"

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


def decode_upload(data: bytes, shape: tuple, max_pixels: int):
    """One uploaded image file as a (1, C, H, W) float tensor in [-1, 1] of a square ``shape`` (C, H, W):
    centre-cropped, resized, grey or RGB. Raises ValueError with the reason (not an image, too many pixels)."""
    import torch
    channels, size = shape[0], shape[-1]
    try:
        arr = _decode(data, size, "L" if channels == 1 else "RGB", max_pixels)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError(f"cannot read this image: {_reason(exc)}") from None
    t = torch.from_numpy(arr.copy()).float().div_(127.5).sub_(1)
    t = t.unsqueeze(0) if channels == 1 else t.permute(2, 0, 1)
    return t.unsqueeze(0)


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
