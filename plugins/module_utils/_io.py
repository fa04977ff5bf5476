# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files, one way: the atomic write, the sha256 of a file, the zip-safety check and the
file-mode rule that every module_utils writer uses.

- ``atomic_write(path, mode)`` (an ``AtomicFile``): bytes stream into a temporary file in
  the folder of ``path`` (same file system, so the rename is atomic) and are hashed on the
  way. ``commit()`` fsyncs it and renames it over ``path``, unless ``path`` already holds
  the same bytes: that file is left in place (same inode and mtime) and only its mode is
  set. Any error, or ``discard()``, removes the temporary file; ``path`` stays as it was.
- ``file_mode(value)``: a module's ``mode`` option (like ansible.builtin.copy's) as an int.
  Every file the collection writes is created with that mode; the default is
  ``DEFAULT_FILE_MODE`` (0644: source data and datasets are not secret).
- ``sha256_file(path)``.
- ``zip_problem(path)`` / ``archive_problem(archive)``: why a zip is unsafe, or None.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
import zipfile
import zlib
from typing import IO, Iterable, Iterator, NamedTuple

DEFAULT_FILE_MODE = 0o644
HASH_CHUNK = 1 << 20
TEMP_SUFFIX = ".tmp"

# Zip safety. Real GeoNames and Natural Earth archives compress 3 to 25 times (allCountries.zip:
# ~400 MB to ~1.6 GB); a bomb, about 1000 times. Below the floor any ratio is harmless: the
# collection never unpacks to disk, streams text members line by line and holds at most a
# shapefile's members in memory, and 32 MiB of that is nothing. A lower floor would only
# refuse small, very compressible real files (a .dbf is mostly padding).
ZIP_MAX_RATIO = 100
ZIP_RATIO_FLOOR = 32 << 20
ZIP_MAX_UNPACKED = 16 << 30

_OCTAL_MODE = re.compile(r"0?o?([0-7]{1,4})\Z")
_SYMBOLIC_CLAUSE = re.compile(r"([ugoa]*)([-+=])([rwxst]*)\Z")
_WHO_BITS = {
    "u": {"r": 0o400, "w": 0o200, "x": 0o100, "s": 0o4000, "t": 0},
    "g": {"r": 0o040, "w": 0o020, "x": 0o010, "s": 0o2000, "t": 0},
    "o": {"r": 0o004, "w": 0o002, "x": 0o001, "s": 0, "t": 0o1000},
}


class WriteResult(NamedTuple):
    path: str
    sha256: str
    size: int
    changed: bool  # the content or the mode of `path` changed (or would, in a dry run)


# -- modes ---------------------------------------------------------------------------------
def file_mode(value: object, default: int = DEFAULT_FILE_MODE) -> int:
    """The file mode a module's ``mode`` option asks for (type raw, as ansible.builtin.copy):
    an octal number (YAML ``0640``), an octal string (``'0640'``, ``'640'``) or a symbolic
    mode (``u=rw,g=r,o=``, applied to ``default``); None gives ``default``.
    Raises ValueError naming the value."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 0o7777:
            return value
    elif isinstance(value, str):
        text = value.strip()
        octal = _OCTAL_MODE.match(text)
        if octal:
            return int(octal.group(1), 8)
        symbolic = _symbolic_mode(text, default)
        if symbolic is not None:
            return symbolic
    raise ValueError("mode %r is neither an octal mode (0644, '0640') nor a symbolic one (u=rw,g=r,o=)" % (value,))


def _symbolic_mode(text: str, base: int) -> int | None:
    mode = base
    for clause in text.split(","):
        match = _SYMBOLIC_CLAUSE.match(clause.strip())
        if not match:
            return None
        who, operator, permissions = match.groups()
        bits = 0
        for person in who.replace("a", "ugo") or "ugo":
            for permission in permissions:
                bits |= _WHO_BITS[person][permission]
        if operator == "=":
            for person in who.replace("a", "ugo") or "ugo":
                mode &= ~sum(set(_WHO_BITS[person].values()))
            mode |= bits
        elif operator == "+":
            mode |= bits
        else:
            mode &= ~bits
    return mode


def ensure_mode(path: str, mode: int, dry_run: bool = False) -> bool:
    """Give the existing file ``path`` the permission bits ``mode``; True when they differed."""
    if stat.S_IMODE(os.stat(path).st_mode) == mode:
        return False
    if not dry_run:
        os.chmod(path, mode)
    return True


# -- sha256 --------------------------------------------------------------------------------
def sha256_file(path: str) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _same_file(path: str, size: int, sha256: str) -> bool:
    """True when ``path`` is a regular file holding exactly these bytes."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) or os.path.getsize(path) != size:
            return False
        return sha256_file(path) == sha256
    except FileNotFoundError:
        return False


# -- the atomic write ----------------------------------------------------------------------
class AtomicFile:
    """A binary file object whose bytes replace ``path`` atomically on ``commit()``.

    Use it as a context manager: leaving the block normally commits (unless committed or
    discarded already), an exception discards. ``dry_run``: nothing is written anywhere,
    the result tells what a commit would do. The writer may rewind (``seek(0)`` then
    ``truncate()``, as a download retry does); other seeks are refused.
    """

    def __init__(self, path: str, mode: int = DEFAULT_FILE_MODE, dry_run: bool = False) -> None:
        self.path = path
        self.mode = mode
        self.dry_run = dry_run
        self.size = 0
        self.result: WriteResult | None = None
        self._open = True  # neither committed nor discarded yet
        self._digest = hashlib.sha256()
        self._handle: IO[bytes] | None = None
        self.temp_path: str | None = None
        if not dry_run:
            folder = os.path.dirname(os.path.abspath(path))
            descriptor, self.temp_path = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(path),
                                                          suffix=TEMP_SUFFIX)
            self._handle = os.fdopen(descriptor, "wb")

    # the file object -------------------------------------------------------------------
    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        if self._handle is not None:
            self._handle.write(data)
        return len(data)

    def writelines(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def tell(self) -> int:
        return self.size

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if (offset, whence) != (0, os.SEEK_SET):
            raise OSError("an atomic write can only start over (seek(0))")
        self._digest = hashlib.sha256()
        self.size = 0
        if self._handle is not None:
            self._handle.seek(0)
        return 0

    def truncate(self, size: int | None = None) -> int:
        if (self.size if size is None else size) != self.size:
            raise OSError("an atomic write can only truncate where it stands")
        if self._handle is not None:
            self._handle.truncate()
        return self.size

    @property
    def sha256(self) -> str:
        """The sha256 of the bytes written so far."""
        return self._digest.hexdigest()

    # the outcome -----------------------------------------------------------------------
    def commit(self) -> WriteResult:
        """Put the bytes at ``path`` (or leave an identical file there, with ``mode`` set)."""
        if self.result is not None:
            return self.result
        if not self._open:
            raise ValueError("%s: the atomic write was discarded" % self.path)
        sha256 = self.sha256
        same = _same_file(self.path, self.size, sha256)
        if self.dry_run:
            changed = not same or ensure_mode(self.path, self.mode, dry_run=True)
        else:
            handle, temp_path = self._handle, self.temp_path
            if handle is None or temp_path is None:
                raise ValueError("%s: the atomic write has no temporary file" % self.path)
            try:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                if same:
                    os.unlink(temp_path)
                    changed = ensure_mode(self.path, self.mode)
                else:
                    os.chmod(temp_path, self.mode)
                    os.replace(temp_path, self.path)
                    _fsync_folder(self.path)
                    changed = True
                self.temp_path = None
            finally:
                self.discard()
        self._open = False
        self.result = WriteResult(self.path, sha256, self.size, changed)
        return self.result

    def discard(self) -> None:
        """Drop what was written; ``path`` is left as it was."""
        self._open = False
        if self._handle is not None and not self._handle.closed:
            self._handle.close()
        if self.temp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp_path)
            self.temp_path = None

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type | None, value: BaseException | None, traceback: object) -> None:
        if kind is None and self._open:
            self.commit()
        else:
            self.discard()


def _fsync_folder(path: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_write(path: str, mode: int = DEFAULT_FILE_MODE, dry_run: bool = False) -> Iterator[AtomicFile]:
    """``with atomic_write(path) as out: out.write(...)``; ``out.result`` after the block."""
    out = AtomicFile(path, mode=mode, dry_run=dry_run)
    with out:
        yield out


def write_bytes(path: str, data: bytes, mode: int = DEFAULT_FILE_MODE, dry_run: bool = False) -> WriteResult:
    """``data`` written to ``path`` through the atomic write."""
    with atomic_write(path, mode=mode, dry_run=dry_run) as out:
        out.write(data)
        return out.commit()


# -- zip safety ----------------------------------------------------------------------------
def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "member %r has an absolute path" % name
    if ".." in parts:
        return "member %r would escape the folder it is unpacked in (../)" % name
    if stat.S_ISLNK(info.external_attr >> 16):
        return "member %r is a symbolic link" % name
    return None


def archive_problem(archive: zipfile.ZipFile) -> str | None:
    """Why an open zip looks forged or hostile, or None, from its directory alone: no
    members, a member with an absolute or ../ path or a symbolic link (nothing here unpacks
    to disk, but real releases never have them), more than ZIP_MAX_UNPACKED bytes, or a
    compression ratio above ZIP_MAX_RATIO beyond ZIP_RATIO_FLOOR bytes (a zip bomb).
    CRCs are not read here: readers check them as they read, zip_problem up front."""
    members = archive.infolist()
    if not members:
        return "the archive is empty"
    for info in members:
        problem = _member_problem(info)
        if problem:
            return problem
    unpacked = sum(info.file_size for info in members)
    packed = sum(info.compress_size for info in members) or 1
    if unpacked > ZIP_RATIO_FLOOR and unpacked / packed > ZIP_MAX_RATIO:
        return "compression ratio %.0f exceeds %d (%d bytes unpack from %d): refused as a zip bomb" % (
            unpacked / packed, ZIP_MAX_RATIO, unpacked, packed)
    if unpacked > ZIP_MAX_UNPACKED:
        return "it unpacks to %d bytes, more than the %d allowed" % (unpacked, ZIP_MAX_UNPACKED)
    return None


def zip_problem(path: str | IO[bytes]) -> str | None:
    """None when ``path`` is a readable, safe zip (archive_problem) whose members all pass
    their CRC check; else why not."""
    try:
        with zipfile.ZipFile(path) as archive:
            problem = archive_problem(archive)
            if problem:
                return problem
            bad = archive.testzip()
            if bad is not None:
                return "member %s fails its CRC check" % bad
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        return "not a valid zip file (%s)" % exc
    return None
