"""Checksummed download of the MNIST and Fashion-MNIST IDX files (4 .gz files each) from public mirrors.

Only ``gan_core.data.images`` calls this, when the files are absent and ``data.download`` is on.
Files are streamed to ``<name>.part`` and renamed into place only once all four passed their md5
check, so an interrupted download never leaves a half set that the loader would pick up; verified
``.part`` files are reused by the next attempt. Tests replace ``_urlopen`` so they never touch the network.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

MIRRORS = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
}

MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

TIMEOUT_S = 20.0
CHUNK = 1 << 16
MAX_DOWNLOAD_BYTES = 100 * 2**20  # the largest real file is ~26 MB; stops a misbehaving mirror early

_urlopen = urllib.request.urlopen  # replaced by tests


class DownloadFailed(Exception):
    """Every mirror failed for some file; the message lists why, one reason per mirror."""


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, part: Path, want_md5: str, report: Callable[[int, Optional[int]], None]) -> None:
    """Stream ``url`` into ``part``; raise on network error or checksum mismatch (part file removed)."""
    h = hashlib.md5()
    done = 0
    try:
        with _urlopen(url, timeout=TIMEOUT_S) as resp, open(part, "wb") as out:
            length = getattr(resp, "headers", None)
            length = length.get("Content-Length") if length is not None else None
            total = int(length) if length and str(length).isdigit() else None
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                done += len(chunk)
                if done > MAX_DOWNLOAD_BYTES:
                    raise OSError(f"more than {MAX_DOWNLOAD_BYTES} bytes, not an MNIST file")
                h.update(chunk)
                out.write(chunk)
                report(done, total)
        if h.hexdigest() != want_md5:
            raise OSError(f"checksum mismatch (md5 {h.hexdigest()}, expected {want_md5})")
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def download_set(key: str, dest: Path, progress: Optional[Callable[[str, float], None]] = None) -> None:
    """Download the 4 files of ``key`` ("mnist" / "fashion_mnist") into ``dest``; raise DownloadFailed."""
    dest.mkdir(parents=True, exist_ok=True)
    expected = MD5[key]
    parts = []
    for i, name in enumerate(FILES):
        part = dest / (name + ".part")
        parts.append(part)
        if part.exists() and _md5(part) == expected[name]:
            continue  # verified by an earlier, interrupted attempt
        reasons = []
        for base in MIRRORS[key]:
            url = base + name

            def report(done: int, total: Optional[int], i=i, name=name) -> None:
                if progress is not None:
                    frac = min(done / total, 1.0) if total else 0.0
                    size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
                    progress(f"Downloading {name} ({size})", (i + frac) / len(FILES))
            try:
                _fetch(url, part, expected[name], report)
                break
            except (OSError, ValueError, http.client.HTTPException) as e:  # URLError and timeouts are OSErrors
                reasons.append(f"{urlparse(url).netloc}: {getattr(e, 'reason', None) or e}")
        else:
            _cleanup_empty(dest)
            raise DownloadFailed(f"{name}: " + "; ".join(reasons))
    for part in parts:
        os.replace(part, part.with_suffix(""))  # atomic: only complete, verified files get the real name
    if progress is not None:
        progress(f"Downloaded {key} into {dest}", 1.0)


def _cleanup_empty(dest: Path) -> None:
    try:
        dest.rmdir()  # only succeeds when empty, i.e. when we created it for nothing
    except OSError:
        pass
