# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_io: the one atomic write, sha256, file-mode rule and zip-safety check."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
import zlib

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils import _io
from ansible_collections.geofoss.netbox.plugins.module_utils._io import (
    DEFAULT_FILE_MODE, ZIP_RATIO_FLOOR, AtomicFile, atomic_write, ensure_mode, file_mode, sha256_file, write_bytes,
    zip_problem,
)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def strict_umask():
    """A umask that would give 0600 files: the modes below come from the rule, not from it."""
    old = os.umask(0o077)
    yield
    os.umask(old)


# -- the atomic write ----------------------------------------------------------------------
def test_streams_to_a_temporary_file_then_renames(tmp_path, strict_umask):
    path = str(tmp_path / "data.txt")
    with atomic_write(path) as out:
        out.write(b"one\n")
        assert not os.path.exists(path)
        assert os.listdir(tmp_path) == [os.path.basename(out.temp_path)]
        out.write(b"two\n")
    assert open(path, "rb").read() == b"one\ntwo\n"
    assert out.result == (path, hashlib.sha256(b"one\ntwo\n").hexdigest(), 8, True)
    assert mode_of(path) == DEFAULT_FILE_MODE == 0o644
    assert os.listdir(tmp_path) == ["data.txt"]


def test_an_identical_file_is_left_untouched(tmp_path):
    path = tmp_path / "data.txt"
    write_bytes(str(path), b"same")
    os.utime(path, (1000000000, 1000000000))
    before = os.stat(path)
    result = write_bytes(str(path), b"same")
    after = os.stat(path)
    assert result.changed is False and result.sha256 == hashlib.sha256(b"same").hexdigest()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert write_bytes(str(path), b"other").changed is True and path.read_bytes() == b"other"


def test_an_identical_file_gets_the_mode_and_that_is_a_change(tmp_path):
    path = tmp_path / "data.txt"
    write_bytes(str(path), b"same")
    inode = os.stat(path).st_ino
    assert write_bytes(str(path), b"same", mode=0o640).changed is True
    assert mode_of(path) == 0o640 and os.stat(path).st_ino == inode
    assert write_bytes(str(path), b"same", mode=0o640).changed is False


def test_an_error_removes_the_temporary_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "data.txt"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="the producer failed"):
        with atomic_write(str(path)) as out:
            out.write(b"half")
            raise RuntimeError("the producer failed")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.txt"]


def test_a_failing_fsync_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "data.txt"
    path.write_bytes(b"old")

    def full(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_io.os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        write_bytes(str(path), b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["data.txt"]


def test_discard_and_dry_run_write_nothing(tmp_path):
    path = tmp_path / "data.txt"
    with atomic_write(str(path)) as out:
        out.write(b"x")
        out.discard()
    assert out.result is None and os.listdir(tmp_path) == []
    with atomic_write(str(path), dry_run=True) as out:
        out.write(b"x")
    assert out.result.changed is True and os.listdir(tmp_path) == []
    write_bytes(str(path), b"x")
    assert write_bytes(str(path), b"x", dry_run=True).changed is False
    assert write_bytes(str(path), b"x", mode=0o600, dry_run=True).changed is True
    assert mode_of(path) == 0o644


def test_a_rewind_starts_over_as_a_download_retry_does(tmp_path):
    path = tmp_path / "data.txt"
    with atomic_write(str(path)) as out:
        out.write(b"truncated bo")
        out.seek(0)
        out.truncate()
        out.write(b"whole body")
    assert path.read_bytes() == b"whole body"
    assert out.result.sha256 == hashlib.sha256(b"whole body").hexdigest() and out.result.size == 10
    with pytest.raises(OSError, match=r"only start over"):
        AtomicFile(str(path), dry_run=True).seek(3)


def test_sha256_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * (3 << 20))
    assert sha256_file(str(path)) == hashlib.sha256(b"x" * (3 << 20)).hexdigest()
    with pytest.raises(FileNotFoundError, match="missing"):
        sha256_file(str(tmp_path / "missing"))


# -- the mode option -----------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (None, 0o644), (0o640, 0o640), (420, 0o644), ("0640", 0o640), ("640", 0o640), ("0o600", 0o600),
    ("u=rw,g=r,o=", 0o640), ("go-r", 0o600), ("a+x", 0o755), ("u=rwx,g=rx,o=rx", 0o755), ("=r", 0o444),
])
def test_file_mode_reads_what_ansible_builtin_copy_reads(value, expected):
    assert file_mode(value) == expected


@pytest.mark.parametrize("value", ["rw-r--r--", "0999", "u=q", True, -1, 0o10000, 1.5, "", "preserve"])
def test_file_mode_refuses_the_rest_naming_the_value(value):
    with pytest.raises(ValueError, match="mode %s" % repr(value).replace("(", r"\(").replace(".", r"\.")):
        file_mode(value)


def test_ensure_mode(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"")
    os.chmod(path, 0o600)
    assert ensure_mode(str(path), 0o644, dry_run=True) is True and mode_of(path) == 0o600
    assert ensure_mode(str(path), 0o644) is True and mode_of(path) == 0o644
    assert ensure_mode(str(path), 0o644) is False


# -- zip safety ----------------------------------------------------------------------------
def zip_bytes(name="cities.txt", text="1\tBerlin\n"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def _zip_with(tmp_path, name, data=b"x", external_attr=None, compression=zipfile.ZIP_STORED):
    path = tmp_path / "hostile.zip"
    info = zipfile.ZipInfo(name)
    info.compress_type = compression
    if external_attr is not None:
        info.external_attr = external_attr
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(info, data)
    return str(path)


def test_zip_problem_detects_crc_errors(tmp_path):
    path = tmp_path / "a.zip"
    data = bytearray(zip_bytes(text="hello world " * 50))
    assert zip_problem(io.BytesIO(bytes(data))) is None
    data[45] ^= 0xFF
    path.write_bytes(bytes(data))
    assert zip_problem(str(path)) is not None


def test_zip_problem_reports_inflate_errors(tmp_path, monkeypatch):
    """A damaged deflate stream raises zlib.error inside testzip(), not BadZipFile."""
    path = tmp_path / "a.zip"
    path.write_bytes(zip_bytes())

    def inflate_error(self):
        raise zlib.error("Error -3 while decompressing data: invalid bit length repeat")

    monkeypatch.setattr(zipfile.ZipFile, "testzip", inflate_error)
    assert "invalid bit length repeat" in zip_problem(str(path))


def test_zip_problem_refuses_an_empty_archive_and_other_files(tmp_path):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    assert zip_problem(str(empty)) == "the archive is empty"
    page = tmp_path / "page.zip"
    page.write_bytes(b"<html>503 Service Unavailable</html>")
    assert zip_problem(str(page)).startswith("not a valid zip file")


@pytest.mark.parametrize("name, attr, words", [
    ("../../etc/cron.d/x", None, "escape"),
    ("data/../../x.txt", None, "escape"),
    ("/etc/passwd", None, "absolute"),
    ("C:/Windows/x.txt", None, "absolute"),
    ("cities15000.txt", (0o120777 << 16), "symbolic link"),
])
def test_zip_problem_refuses_unsafe_members(tmp_path, name, attr, words):
    assert words in zip_problem(_zip_with(tmp_path, name, external_attr=attr))


def test_zip_problem_refuses_a_bomb_but_not_real_ratios_nor_small_archives(tmp_path):
    bomb = _zip_with(tmp_path, "cities15000.txt", b"\0" * (ZIP_RATIO_FLOOR + (1 << 20)),
                     compression=zipfile.ZIP_DEFLATED)
    assert "zip bomb" in zip_problem(bomb)
    small = _zip_with(tmp_path, "cities15000.txt", b"\0" * (ZIP_RATIO_FLOOR - 1), compression=zipfile.ZIP_DEFLATED)
    assert zip_problem(small) is None  # harmless below the floor, whatever the ratio
    text = ("2867714\tMunich\tMunich\t\t48.13\t11.57\tP\tPPLA\tDE\t%d\n" * 40000) % tuple(range(40000))
    real = _zip_with(tmp_path, "cities15000.txt", text.encode(), compression=zipfile.ZIP_DEFLATED)
    assert zip_problem(real) is None
