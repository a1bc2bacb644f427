"""Files in and out, safely: what a user names is read only if it is a regular file of bounded
size, and what evoengine writes appears whole or not at all.

- :func:`read_input` opens without blocking and checks the open file itself (``fstat``), so a
  FIFO cannot hang the run, a link to ``/dev/zero`` cannot fill memory, and a directory is not
  reported as missing; it reads at most ``limit`` bytes, whatever the file claims.
- :func:`load_npz` reads NumPy's ``.npz`` without pickle, each array's header checked against
  the bytes it really has before anything is allocated.
- :func:`write_atomic` writes to a fresh temporary name made with ``O_EXCL`` (never following
  a link planted there), fsyncs and renames over the target.
"""

from __future__ import annotations

import io
import math
import os
import secrets
import stat
import zipfile
from pathlib import Path

import numpy as np

from evoengine.errors import ConfigError
from evoengine.limits import memory_share

MiB = 1 << 20


class InputFileError(ConfigError):
    """A file the user named cannot be read as input; the message says why."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


def read_input(path: str | os.PathLike, what: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path``.

    :param what: how the error names the file, e.g. ``"config file"``.
    :param limit: the most bytes accepted; default: half the memory available (data sets).
    :raises InputFileError: it does not exist, is not a regular file, cannot be read or is
        larger than ``limit``; one line naming the file and the reason.
    """
    name = f"{what} {str(path)!r}"
    limit = memory_share() if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputFileError(f"{name} does not exist") from None
    except OSError as exc:
        raise InputFileError(f"{name} cannot be opened: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"{name} is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise InputFileError(f"{name} is {_size(info.st_size)}; the limit is {_size(limit)}")
        chunks, total = [], 0
        while total <= limit:  # the file may grow while it is read
            chunk = os.read(fd, min(limit + 1 - total, 4 * MiB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise InputFileError(f"{name} grew past the limit of {_size(limit)} while read")
        return b"".join(chunks)
    except OSError as exc:
        raise InputFileError(f"{name} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_input_text(path: str | os.PathLike, what: str, limit: int) -> str:
    """:func:`read_input` decoded as UTF-8 (a leading byte-order mark is dropped).

    :raises InputFileError: also when the bytes are not UTF-8, naming the first bad byte.
    """
    data = read_input(path, what, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputFileError(
            f"{what} {str(path)!r} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line "
            f"{line}; save it as UTF-8") from None


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either the old or the new file.

    The temporary file gets a random name created exclusively (``O_EXCL``, ``O_NOFOLLOW``), so
    a link planted in the folder is never followed and two writers never share a temporary;
    it is removed again if anything fails before the rename.
    """
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_CLOEXEC", 0)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise


def load_npz(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` held in ``data``: plain numeric dtypes only (no pickle, no
    objects), and each header's shape checked against the bytes its member holds, since a
    header may claim 1e10 rows.

    :raises ValueError: naming the array and what is wrong (``zipfile.BadZipFile`` is one).
    """
    arrays = {}
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not an .npz file ({exc})") from None
    with archive:
        for member in archive.infolist():
            if not member.filename.endswith(".npy"):
                raise ValueError(f"unexpected member {member.filename!r}")
            name = member.filename[:-4]
            try:
                with archive.open(member) as fh:
                    version = np.lib.format.read_magic(fh)
                    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                    if read_header is None:
                        raise ValueError(f"array {name!r} has .npy version {version}")
                    shape, _, dtype = read_header(fh)
                    if dtype.hasobject or dtype.kind not in "biuf":
                        raise ValueError(f"array {name!r} has dtype {dtype}, not numbers")
                    needed = dtype.itemsize * math.prod(shape)
                    if needed > member.file_size:
                        raise ValueError(f"array {name!r} claims shape {shape}, {needed} bytes, "
                                         f"in {member.file_size} bytes")
                with archive.open(member) as fh:
                    arrays[name] = np.lib.format.read_array(fh, allow_pickle=False)
            except (OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as exc:
                raise ValueError(f"array {name!r} cannot be read ({exc})") from None
    return arrays
