"""Safety limits for user images (folders, zips, uploads), configurable through environment variables.

    GAN_PLAYGROUND_MAX_FILES      image files per folder or zip            (default 20000)
    GAN_PLAYGROUND_MAX_ENTRIES    members of a zip, images or not          (default 100000)
    GAN_PLAYGROUND_MAX_TOTAL_MB   uncompressed megabytes read per set      (default 512)
    GAN_PLAYGROUND_MAX_PIXELS     pixels per image, checked before decode  (default 40000000)
    GAN_PLAYGROUND_MAX_UPLOAD_MB  size of one uploaded file in the app     (default 200)
    GAN_PLAYGROUND_MAX_DECODE_S   seconds spent decoding one set's images  (default 60)

A zip's member count and central-directory size are read from its end record and checked before the
directory itself is parsed (at most max(1 MiB, 512 bytes x GAN_PLAYGROUND_MAX_ENTRIES) of directory).

A bad value is a ValueError naming the variable and its range, like a bad config field.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields

ENV_PREFIX = "GAN_PLAYGROUND_"
RANGES = {"max_files": (1, 10_000_000), "max_entries": (1, 100_000_000), "max_total_mb": (1, 1_000_000),
          "max_pixels": (1, 10**10), "max_upload_mb": (1, 100_000), "max_decode_s": (1, 86_400)}
CD_BYTES_PER_ENTRY = 512  # central-directory bytes allowed per permitted zip member (46 + name + extras)
CD_MIN_BYTES = 2**20


@dataclass(frozen=True)
class UploadLimits:
    max_files: int = 20_000
    max_entries: int = 100_000  # zip members of any kind: a huge central directory is refused unread
    max_total_mb: int = 512
    max_pixels: int = 40_000_000
    max_upload_mb: int = 200
    max_decode_s: int = 60  # decoding stops with a clear error after this long (pixel-dense PNGs are slow)

    def __post_init__(self) -> None:
        for f in fields(self):
            lo, hi = RANGES[f.name]
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"{ENV_PREFIX}{f.name.upper()} = {value!r} must be an integer in [{lo}, {hi}]")

    @property
    def max_total_bytes(self) -> int:
        return self.max_total_mb * 2**20

    @property
    def max_central_directory_bytes(self) -> int:
        return max(CD_MIN_BYTES, CD_BYTES_PER_ENTRY * self.max_entries)

    @classmethod
    def from_env(cls, environ=None) -> "UploadLimits":
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            text = env.get(ENV_PREFIX + f.name.upper(), "").strip()
            if text:
                try:
                    values[f.name] = int(text)
                except ValueError:
                    lo, hi = RANGES[f.name]
                    raise ValueError(f"{ENV_PREFIX}{f.name.upper()} = {text!r} must be an integer in "
                                     f"[{lo}, {hi}]") from None
        return cls(**values)
