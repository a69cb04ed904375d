"""Reading an uploaded .zip safely, in memory and never extracted: the zip-safety half of ``load_folder``.

The end-of-central-directory record (the zip64 one when present) is located exactly as zipfile does and
checked against the member and directory limits before zipfile parses anything (``_check_zip_directory``).
Members flagged UTF-8 whose names are not are read through ``_PatchedFile``, a byte-patched view that
clears the lying flag, so no name ever raises; unflagged names are read as UTF-8 when they decode, else
cp437 (``_zip_name``). ``_list_zip`` lists the image members, skipping absolute or ``..`` names as unsafe
and hidden ones (dot files, macOS ``__MACOSX`` resource forks) silently.
"""
from __future__ import annotations

import io
import re
import struct
import zipfile
from pathlib import Path
from typing import Optional

from .decode import IMAGE_EXTS, NOT_IMAGE
from .errors import DataError, display_name
from .limits import UploadLimits


def _hidden(part: str) -> bool:
    return part.startswith(".") or part == "__MACOSX"  # macOS zips carry ._x.png resource forks


def _unsafe(name: str, parts: tuple) -> bool:
    return name.startswith("/") or bool(re.match(r"[A-Za-z]:", name)) or ".." in parts


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
