"""Hostile and broken user images: fuzzed zips and folders, decompression bombs, zip bombs (honest and
lying headers), too many members, damaged zips, limits from the environment. Every case ends in a dataset
or a ``DataError`` (a clear message), never another exception, and nothing is written anywhere."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gan_core.config import DataConfig
from gan_core.data.images import DataError, load_folder, load_images
from gan_core.data.limits import UploadLimits


def png(size=(8, 8), color=128, mode="L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def files_under(p: Path) -> list:
    return sorted(str(f.relative_to(p)) for f in p.rglob("*"))


def huge_png_header(width: int, height: int) -> bytes:
    """A valid 1x1 grey PNG whose header claims ``width`` x ``height``: a decompression bomb's signature."""
    raw = bytearray(png((1, 1)))
    ihdr = raw.index(b"IHDR")
    raw[ihdr + 4: ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(raw[ihdr: ihdr + 17]))
    raw[ihdr + 17: ihdr + 21] = struct.pack(">I", crc)
    return bytes(raw)


def lie_about_sizes(zip_bytes: bytes, claimed: int) -> bytes:
    """Rewrite every member's uncompressed size (local and central headers) to ``claimed`` bytes."""
    b = bytearray(zip_bytes)
    i = 0
    while (i := b.find(b"PK\x03\x04", i)) >= 0:
        b[i + 22: i + 26] = struct.pack("<I", claimed)
        i += 4
    i = 0
    while (i := b.find(b"PK\x01\x02", i)) >= 0:
        b[i + 24: i + 28] = struct.pack("<I", claimed)
        i += 4
    return bytes(b)


def make_zip(members: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ---------------------------------------------------------------- specific attacks

def test_decompression_bomb_image_is_skipped_before_decoding(tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "bomb.png").write_bytes(huge_png_header(60_000, 60_000))  # 3.6 G pixels
    (tmp_path / "imgs" / "ok.png").write_bytes(png())
    ds = load_folder(tmp_path / "imgs", image_size=8, channels=1)
    assert len(ds) == 1
    (tmp_path / "imgs" / "ok.png").unlink()
    with pytest.raises(DataError, match="pixel|decompression bomb"):
        load_folder(tmp_path / "imgs", image_size=8, channels=1)


def test_zip_bomb_with_honest_headers_is_refused_before_reading(tmp_path):
    z = tmp_path / "bomb.zip"
    z.write_bytes(make_zip({f"{i}.png": bytes(8 * 2**20) for i in range(4)}))  # 32 MB of zeros, ~32 KB zipped
    assert z.stat().st_size < 200_000
    with pytest.raises(DataError, match=r"32 MB of images, over the limit of 4 MB"):
        load_folder(z, limits=UploadLimits(max_total_mb=4))


def test_zip_bomb_with_lying_headers_reads_no_more_than_the_cap(tmp_path):
    z = tmp_path / "liar.zip"
    z.write_bytes(lie_about_sizes(make_zip({f"{i}.png": bytes(8 * 2**20) for i in range(4)}), claimed=100))
    with pytest.raises(DataError) as info:
        load_folder(z, limits=UploadLimits(max_total_mb=4))
    assert "zip bomb" in str(info.value) or "skipped" in str(info.value)
    assert files_under(tmp_path) == ["liar.zip"]


def test_too_many_zip_members_refused_unread(tmp_path):
    z = tmp_path / "many.zip"
    z.write_bytes(make_zip({f"n{i}.txt": b"" for i in range(50)}))
    with pytest.raises(DataError, match="50 members, over the limit of 10"):
        load_folder(z, limits=UploadLimits(max_entries=10))


def test_damaged_zip_is_a_clear_error(tmp_path):
    good = make_zip({"a.png": png(), "b.png": png()})
    for cut in (len(good) // 2, len(good) - 10):
        z = tmp_path / f"cut{cut}.zip"
        z.write_bytes(good[:cut])
        with pytest.raises(DataError):
            load_folder(z)


def test_mixed_sizes_and_modes_in_one_zip(tmp_path):
    z = tmp_path / "mixed.zip"
    z.write_bytes(make_zip({"a.png": png((5, 40), 3, "L"), "b.png": png((64, 9), (1, 2, 3), "RGB"),
                            "c.png": png((30, 30), (1, 2, 3, 0), "RGBA"), "d.gif": png((7, 7), 4, "P")}))
    ds = load_folder(z, image_size=16, channels=3)
    assert tuple(ds.images.shape) == (4, 3, 16, 16)


def test_limits_come_from_the_environment_and_bad_ones_name_the_variable(tmp_path, monkeypatch):
    root = tmp_path / "imgs"
    root.mkdir()
    for i in range(3):
        (root / f"{i}.png").write_bytes(png())
    monkeypatch.setenv("GAN_PLAYGROUND_MAX_FILES", "2")
    with pytest.raises(DataError, match=r"3 image files, over the limit of 2 \(GAN_PLAYGROUND_MAX_FILES\)"):
        load_images(DataConfig(dataset="folder", path=str(root), image_size=8))
    monkeypatch.setenv("GAN_PLAYGROUND_MAX_FILES", "lots")
    with pytest.raises(ValueError, match=r"GAN_PLAYGROUND_MAX_FILES = 'lots' must be an integer in \[1, "):
        load_images(DataConfig(dataset="folder", path=str(root), image_size=8))
    monkeypatch.setenv("GAN_PLAYGROUND_MAX_FILES", "0")
    with pytest.raises(ValueError, match="GAN_PLAYGROUND_MAX_FILES = 0"):
        UploadLimits.from_env()
    monkeypatch.delenv("GAN_PLAYGROUND_MAX_FILES")
    assert UploadLimits.from_env() == UploadLimits()
    assert len(load_images(DataConfig(dataset="folder", path=str(root), image_size=8))) == 3


# ---------------------------------------------------------------- fuzzing

_names = st.one_of(
    st.sampled_from(["a.png", "b.jpg", "c.gif", "d.txt", "../up.png", "/abs.png", "C:/win.png", "dir/e.png",
                     "dir/../../f.png", "x\\..\\g.png", "__MACOSX/._a.png", ".hidden.png", "cls1/h.png",
                     "cls2/i.png", "deep/er/j.webp", "k.PNG", "l.bmp", "./m.png"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
            max_size=12).map(lambda s: s + ".png"),
)
_contents = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([png(), png((3, 50), 9), png((20, 20), (1, 2, 3), "RGB"), huge_png_header(70_000, 70_000)]),
    st.builds(lambda b, cut: b[:cut], st.just(png((16, 16), 77)), st.integers(0, 120)),  # truncated PNGs
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.dictionaries(_names, _contents, min_size=0, max_size=6),
       deflate=st.booleans(), lie=st.sampled_from([None, 0, 10, 2**31]))
def test_fuzzed_zips_give_a_dataset_or_a_data_error_and_write_nothing(tmp_path, members, deflate, lie):
    work = tmp_path / "fz"
    work.mkdir(exist_ok=True)
    for f in work.iterdir():
        f.unlink()
    data = make_zip(members, zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)
    if lie is not None:
        data = lie_about_sizes(data, lie)
    z = work / "u.zip"
    z.write_bytes(data)
    try:
        ds = load_folder(z, image_size=8, channels=1, limits=UploadLimits(max_total_mb=1, max_files=5))
    except DataError as exc:
        assert str(exc)
    else:
        assert 1 <= len(ds) <= 5 and tuple(ds.images.shape[1:]) == (1, 8, 8)
        assert ds.images.min() >= -1 and ds.images.max() <= 1
    assert files_under(work) == ["u.zip"]  # never extracted, nothing written beside it (or above it)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fz"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(st.sampled_from(["a.png", "b.jpg", "s/c.png", "t/d.png", "e.bin", "f.gif"]),
                             _contents, min_size=1, max_size=5))
def test_fuzzed_folders_give_a_dataset_or_a_data_error(tmp_path, files):
    root = tmp_path / "fd"
    if root.exists():
        for f in sorted(root.rglob("*"), reverse=True):
            f.rmdir() if f.is_dir() else f.unlink()
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    before = files_under(tmp_path)
    try:
        ds = load_folder(root, image_size=8, channels=3, limits=UploadLimits(max_total_mb=1))
    except DataError as exc:
        assert str(exc)
    else:
        assert tuple(ds.images.shape[1:]) == (3, 8, 8)
    assert files_under(tmp_path) == before


def test_app_upload_over_the_size_limit_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    import ui.setup as setup

    class Upload:  # what st.file_uploader hands the page
        def __init__(self, data):
            self.data = data

        def getvalue(self):
            return self.data

    monkeypatch.setattr(setup, "UPLOAD_DIR", tmp_path / "uploads")
    monkeypatch.setenv("GAN_PLAYGROUND_MAX_UPLOAD_MB", "1")
    with pytest.raises(ValueError, match=r"2 MB, over the 1 MB limit \(GAN_PLAYGROUND_MAX_UPLOAD_MB\)"):
        setup._save_upload(Upload(bytes(2 * 2**20)))
    assert not (tmp_path / "uploads").exists()
    small = make_zip({"a.png": png()})
    path = Path(setup._save_upload(Upload(small)))
    assert path.parent == tmp_path / "uploads" and path.read_bytes() == small
    assert setup._save_upload(Upload(small)) == str(path)  # same content, same file: nothing piles up
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == [path.name]


# ---------------------------------------------------------------- central directories, checked before parsing

def raw_zip(names: list, claim_entries=None, claim_cd_size=None, zip64: bool = False, zip64_entries=None,
            zip64_cd_size=None, flags: int = 0) -> bytes:
    """A zip of empty stored members written byte by byte (fast for many members), with optionally forged
    end records: the classic one, and a zip64 record + locator as zipfile looks for them."""
    local, central = bytearray(), bytearray()
    for name in names:
        raw = name if isinstance(name, bytes) else name.encode()
        offset = len(local)
        local += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, flags, 0, 0, 0x21, 0, 0, 0, len(raw), 0) + raw
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, flags, 0, 0, 0x21, 0, 0, 0, len(raw), 0, 0,
                               0, 0, 0, offset) + raw
    n, cd_size, cd_offset = len(names), len(central), len(local)
    out = local + central
    if zip64:
        z64_at = len(out)
        out += struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, zip64_entries or n, zip64_entries or n,
                           zip64_cd_size or cd_size, cd_offset)
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, z64_at, 1)
        claim_entries = 0xFFFF if claim_entries is None else claim_entries
        claim_cd_size = 0xFFFFFFFF if claim_cd_size is None else claim_cd_size
    entries = n if claim_entries is None else claim_entries
    size = cd_size if claim_cd_size is None else claim_cd_size
    out += struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, min(entries, 0xFFFF), min(entries, 0xFFFF),
                       min(size, 0xFFFFFFFF), cd_offset, 0)
    return bytes(out)


@pytest.fixture
def no_zip_parsing(monkeypatch):
    """Records every zipfile.ZipFile the loader opens: a refusal must come before any."""
    import gan_core.data.images as images
    opened = []
    real = zipfile.ZipFile

    def tracking(*a, **k):
        opened.append(a)
        return real(*a, **k)

    monkeypatch.setattr(images.zipfile, "ZipFile", tracking)
    return opened


def test_many_members_refused_from_the_end_record_before_parsing(tmp_path, no_zip_parsing):
    z = tmp_path / "many.zip"
    z.write_bytes(raw_zip([f"{i}.png" for i in range(5000)]))
    assert zipfile.is_zipfile(z) and len(zipfile.ZipFile(z).infolist()) == 5000  # a real, valid zip
    no_zip_parsing.clear()
    with pytest.raises(DataError, match=r"5000 members, over the limit of 100 \(GAN_PLAYGROUND_MAX_ENTRIES\)"):
        load_folder(z, limits=UploadLimits(max_entries=100))
    assert no_zip_parsing == []


def test_forged_zip64_end_record_claiming_millions_is_refused_at_once(tmp_path, no_zip_parsing):
    import time
    z = tmp_path / "forged.zip"
    z.write_bytes(raw_zip(["a.png"], zip64=True, zip64_entries=3_500_000, zip64_cd_size=177 * 2**20))
    t0 = time.perf_counter()
    with pytest.raises(DataError, match=r"3500000 members, over the limit of 100000"):
        load_folder(z)  # default limits
    assert time.perf_counter() - t0 < 1.0 and no_zip_parsing == []


def test_huge_central_directory_refused_even_when_the_count_lies(tmp_path, no_zip_parsing):
    """zipfile parses the whole directory whatever the count says: its size is the bound that holds."""
    z = tmp_path / "liar.zip"
    z.write_bytes(raw_zip([f"member{i:06d}.png" for i in range(40_000)], claim_entries=1))  # ~2.4 MB directory
    with pytest.raises(DataError, match=r"central directory, over the 1.0 MB allowed for 100 members"):
        load_folder(z, limits=UploadLimits(max_entries=100))
    assert no_zip_parsing == []
    z.write_bytes(raw_zip([f"m{i}.txt" for i in range(300)], claim_entries=1))  # small directory, lying count:
    with pytest.raises(DataError, match="300 members, over the limit of 100"):  # caught after parsing
        load_folder(z, limits=UploadLimits(max_entries=100))


def test_a_real_zip64_directory_is_read_like_zipfile_reads_it(tmp_path):
    z = tmp_path / "z64.zip"
    # the classic end record says 0xFFFF members / 0xFFFFFFFF bytes, as for > 65535 members; zip64 holds the truth
    z.write_bytes(raw_zip([f"{i}.txt" for i in range(300)], zip64=True))
    assert len(zipfile.ZipFile(z).infolist()) == 300
    with pytest.raises(DataError, match="300 members, over the limit of 299"):
        load_folder(z, limits=UploadLimits(max_entries=299))
    with pytest.raises(DataError, match="no image could be read"):  # within the limit: parsed, no images
        load_folder(z, limits=UploadLimits(max_entries=300))


def test_zip_member_names_that_are_not_utf8_never_raise(tmp_path):
    good = make_zip({"cat\u00e9/a.png": png(), "dog/b.png": png(color=9), "cat\u00e9/junk.png": b"junk"})
    z = tmp_path / "odd.zip"
    z.write_bytes(good.replace("\u00e9".encode(), b"\xff\xfe"))  # flagged UTF-8, but not UTF-8
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(z)  # what the loader used to run into
    ds = load_folder(z, image_size=8, channels=1)
    assert len(ds) == 2 and ds.class_names == ["cat\ufffd\ufffd", "dog"]
    assert "cat\ufffd\ufffd/junk.png" in ds.notes[0]
    " ".join(ds.class_names + ds.notes).encode("utf-8")
    z.write_bytes(raw_zip([b"caf\xe9.png", "b\u00e9.png".encode()]))  # unflagged: cp437 or UTF-8, never an error
    with pytest.raises(DataError) as info:
        load_folder(z)
    str(info.value).encode("utf-8")
    assert files_under(tmp_path) == ["odd.zip"]
