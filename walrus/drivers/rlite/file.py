"""rlite database files: the checks made before rlite reads one, and creation.

rlite trusts its file: a truncated database opens without error, reads answer
nil ("Unable to read page ..." on stderr) and the next write crashes the
interpreter; a damaged page can crash any command. So the rlite driver reads
the file's header itself (a few bytes, on every open and at the start of
every operation) and compares it with the file's size, and a deeper check,
rlite's own walk of every reachable page, runs in a child process where a
crash only fails the check (:func:`deep_check`).

The header is page 0 (rlite 0.3's ``rl_header_serialize``): the identifier
``rlite0.0``, then big-endian 4-byte integers: the page size, the next empty
page, the number of pages, the number of databases, and the root page of
each database (numbered ones, then rlite's six internal ones; 0 for none).
Every page is written whole, so a sound file is exactly ``number of pages *
page size`` bytes; shorter means truncated.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from walrus.exceptions import CorruptDatabase, DatabaseOpenError

__all__ = [
    "HEADER_READ",
    "MAGIC",
    "Header",
    "create",
    "deep_check",
    "open_main",
    "parse_header",
    "read_header",
    "resolve",
]

MAGIC = b"rlite0.0"
_FAMILY = b"rlite"  # what the first bytes of any rlite file start with
HEADER_READ = 200  # rlite reads page 0 with this many bytes before it knows more
_INTERNAL_DATABASES = 6
_FIXED = struct.Struct(">8sIIII")
_MAX_DATABASES = (HEADER_READ - _FIXED.size) // 4 - _INTERNAL_DATABASES
_MIN_PAGE, _MAX_PAGE = 256, 1 << 24
DEEP_CHECK_TIMEOUT = 600.0  # seconds; a larger file takes longer to walk


class Header(NamedTuple):
    """What page 0 of an rlite file says about the file."""

    page_size: int
    next_empty_page: int
    number_of_pages: int
    databases: tuple[int, ...]

    @property
    def size(self) -> int:
        """The size in bytes a sound file with this header has."""
        return self.page_size * self.number_of_pages


def parse_header(raw: bytes, size: int, path: str) -> Header:
    """Page 0's fields, checked against each other and the file's ``size``.

    Raises :class:`CorruptDatabase` with the reason. O(1).
    """
    if len(raw) < _FIXED.size or not raw.startswith(_FAMILY):
        raise CorruptDatabase(f"{path!r} is not an rlite database")
    magic, page_size, next_empty, pages, count = _FIXED.unpack_from(raw)
    if magic != MAGIC:
        raise CorruptDatabase(
            f"{path!r} is an rlite file of another format ({magic!r})"
        )
    if not _MIN_PAGE <= page_size <= _MAX_PAGE or not 1 <= count <= _MAX_DATABASES:
        raise CorruptDatabase(f"{path!r} is damaged: its header is not rlite's")
    end = _FIXED.size + 4 * (count + _INTERNAL_DATABASES)
    if len(raw) < end:
        raise CorruptDatabase(f"{path!r} is damaged: its header is cut short")
    roots = struct.unpack_from(f">{count + _INTERNAL_DATABASES}I", raw, _FIXED.size)
    header = Header(page_size, next_empty, pages, roots)
    if pages < 1 or not 1 <= next_empty <= pages:
        raise CorruptDatabase(f"{path!r} is damaged: its page count is wrong")
    if any(root >= pages for root in roots):
        raise CorruptDatabase(f"{path!r} is damaged: a database root is out of range")
    if size < header.size:
        raise CorruptDatabase(
            f"{path!r} is damaged: it has {size} bytes where its header "
            f"promises {header.size} (truncated)"
        )
    return header


def read_header(fd: int, path: str) -> Header:
    """The checked header of the open rlite file ``fd``. Two system calls."""
    size = os.fstat(fd).st_size
    return parse_header(os.pread(fd, HEADER_READ, 0), size, path)


def resolve(path: str) -> str:
    """Check a database path before anything is created or opened; return it
    absolute, with symbolic links resolved (every process then uses the same
    companion file). Raises :class:`DatabaseOpenError` with the reason."""
    if not path:
        raise DatabaseOpenError(
            "an empty path names no rlite database (':memory:' is one in memory)"
        )
    target = Path(path)
    if target.is_dir():
        raise DatabaseOpenError(f"cannot open rlite database {path!r}: a directory")
    directory = target.parent
    if not directory.is_dir():
        raise DatabaseOpenError(
            f"cannot open rlite database {path!r}: no directory {str(directory)!r}"
        )
    return os.path.realpath(path)


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "a read-only file system"
    return exc.strerror or str(exc)


def open_main(path: str, writable: bool) -> tuple[int, os.stat_result]:
    """Open an existing database file for the driver's own reads and writes.

    Refuses what rlite cannot use: a file that is not a regular file
    (``/dev/null``, a FIFO), a file or directory it may not write (rlite
    writes a log next to the file on every command, reads included).
    """
    display = repr(path)
    flags = (os.O_RDWR if writable else os.O_RDONLY) | getattr(os, "O_CLOEXEC", 0)
    hint = "; WalrusLite(path, read_only=True) can read it"
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        extra = hint if writable and exc.errno in (errno.EACCES, errno.EROFS) else ""
        raise DatabaseOpenError(
            f"cannot open rlite database {display}: {_reason(exc)}{extra}"
        ) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise DatabaseOpenError(
            f"cannot open rlite database {display}: not a regular file"
        )
    directory = os.path.dirname(path)
    if writable and not os.access(directory, os.W_OK | os.X_OK):
        os.close(fd)
        raise DatabaseOpenError(
            f"cannot open rlite database {display}: its directory is read-only "
            f"(rlite writes a log next to the file on every command){hint}"
        )
    return fd, info


def create(path: str, connect: Callable[[str], None], sync: bool) -> None:
    """Create an empty rlite database at ``path`` unless one exists, atomically.

    rlite writes the new file's header under a temporary name in the same
    directory; the file then appears at ``path`` whole (a hard link, which
    never replaces a file another process created meanwhile), so a process
    killed while creating leaves no file that cannot be opened.
    ``connect(path)`` opens and closes an rlite handle on a path.
    """
    directory = os.path.dirname(path)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DatabaseOpenError(
            f"cannot create rlite database {path!r}: the directory is read-only"
        )
    fd, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".walrus-new", dir=directory
    )
    try:
        os.close(fd)
        os.unlink(temporary)  # rlite creates it itself, with the usual mode
        connect(temporary)
        if sync:
            _sync_file(temporary)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:  # no hard links here: rename, unless it appeared meanwhile
            if not os.path.exists(path):
                os.rename(temporary, path)
        if sync:
            _sync_file(directory)
    except OSError as exc:
        raise DatabaseOpenError(
            f"cannot create rlite database {path!r}: {_reason(exc)}"
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _sync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# The deep check, run by a separate interpreter: rlite opens the file read-only
# and walks every database's keys and values (rl_is_balanced), which reads
# every page and checks that each is in use exactly once.
_CHECKER = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.rl_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int]
lib.rl_is_balanced.argtypes = [ctypes.c_void_p]
lib.rl_close.argtypes = [ctypes.c_void_p]
db = ctypes.c_void_p()
if lib.rl_open(sys.argv[2].encode(), ctypes.byref(db), 1) != 0:
    sys.exit(3)
code = lib.rl_is_balanced(db)
lib.rl_close(db)
sys.exit(0 if code == 0 else 4)
"""


def _only_leaks(said: list[str]) -> bool:
    """Whether rlite's walk completed and only found pages nothing uses: rlite
    leaks some in normal use (deleting and rewriting model rows does), so they
    are not damage."""
    return bool(said) and all(
        line.startswith(("Found orphan page ", "Missing ")) for line in said
    )


def deep_check(path: str, library: str) -> None:
    """Walk every page of the database with rlite, in a child process.

    Raises :class:`CorruptDatabase` if rlite finds the file unsound or dies
    reading it. Costs one interpreter start (about 40 ms here) plus a read
    of the whole file.
    """
    try:
        child = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _CHECKER, library, path],
            capture_output=True,
            timeout=DEEP_CHECK_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CorruptDatabase(
            f"{path!r} could not be checked in {DEEP_CHECK_TIMEOUT:.0f} s"
        ) from exc
    said = child.stderr.decode("utf-8", "replace").strip().splitlines()
    if child.returncode == 0 or (child.returncode == 4 and _only_leaks(said)):
        return
    detail = f" ({said[0][:200]})" if said else ""
    if child.returncode < 0:
        reason = f"rlite crashed reading it (signal {-child.returncode}){detail}"
    elif child.returncode == 3:
        reason = f"rlite cannot open it{detail}"
    else:
        reason = f"rlite found pages that are unreadable or lost{detail}"
    raise CorruptDatabase(f"{path!r} is damaged: {reason}")
