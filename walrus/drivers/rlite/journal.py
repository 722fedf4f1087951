"""What makes an rlite file safe to share and to kill: a lock and an undo journal.

rlite commits each command by writing a log (``.<file>.wal``) and then the
pages, both through stdio buffers, and deletes the log before the pages are
flushed (rlite 0.3's ``rl_write_apply_wal``): a process killed in the middle
leaves a torn file and no usable log. And rlite locks its file for one
command at a time, so walrus operations made of several commands (a named
operation's twin, a script, an emulated command) interleave across processes.

The driver therefore runs every operation as a **unit** (see
:meth:`FileGuard.unit`):

* it holds an exclusive lock on the companion file ``<file>.walrus-journal``
  for the whole unit, reads included, so other processes see a unit whole or
  not at all;
* rlite calls the driver back (its ``writeCommand`` hook) after a command
  has run and *before* it commits: the driver then reads the current image
  of every page about to be written from the file and appends the images it
  has not yet saved in this unit to the companion file (the **journal**,
  with the file's size at the start of the unit and a CRC per batch);
* when the unit ends, the journal is emptied (its first bytes cleared and
  followed by the unit's id, the stamp by which the next unit of any
  process tells whether another wrote since): that is the commit point; a
  unit left by an exception is rolled back;
* a non-empty journal therefore means a unit died midway: whoever takes the
  lock next (any walrus process, before its next operation, or at open)
  writes the saved images back, cuts the file to its old size, removes
  rlite's stale log and empties the journal. Nothing is half-applied, and
  every unit that returned stays: its data reached the operating system
  before the journal was emptied, which is all ``kill -9`` spares.

With ``sync=True`` the journal is flushed to the disk before rlite writes,
and the file and the emptied journal before the unit returns, so units also
survive a power loss (three ``fdatasync`` per writing unit).

The companion file starts with the inode of the database file that rlite's
deep check last found sound (so the first process to open a file checks it,
not every one), then the journal. It gets the database file's permissions
and is removed by the last process that closes the database (Linux:
open-file-description locks on two bytes of it, one for the unit lock and
one held shared by every process that has it open; elsewhere the unit lock
is ``flock`` and the file stays). :func:`snapshot` copies a database whole
for a read-only open.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import NamedTuple

from walrus.drivers.rlite.file import HEADER_READ, Header, parse_header
from walrus.exceptions import DatabaseOpenError, EngineError

__all__ = [
    "AT",
    "OFD_LOCKS",
    "SUFFIX",
    "Companion",
    "FileGuard",
    "snapshot",
    "wal_path",
]

SUFFIX = ".walrus-journal"
_UNIT, _PRESENCE = 0, 1  # the bytes locked in the companion file

# struct flock on 64-bit Linux: l_type, l_whence, l_start, l_len, l_pid (0 for
# open-file-description locks), padded to 32 bytes.
_FLOCK = struct.Struct("@hhqqi4x")
OFD_LOCKS = (
    sys.platform == "linux"
    and hasattr(fcntl, "F_OFD_SETLKW")
    and _FLOCK.size == 32
    and sys.maxsize > 2**32
)

_MAGIC = b"WJ01"
# magic, unit id, file inode, old file size, page size, page count, body length
_BATCH = struct.Struct(">4sQQQIII")
_PAGE = struct.Struct(">QI")  # page number, image length
_CRC = struct.Struct(">I")
_CLEARED = b"\0" * len(_MAGIC)  # written over the first magic: the journal is empty
# after it, the id of the unit that emptied it: the last unit that wrote
_STAMP = struct.Struct(">4sQ")
# The companion file starts with the inode of the database file rlite's deep
# check last found sound ("checked"); the journal follows.
_HEAD = struct.Struct(">8sQ")
_CHECKED = b"checked:"
AT = _HEAD.size  # where the journal starts
_TRIM = 1 << 20  # a journal left larger than this is truncated when it empties
# A batch's pages are read in one read of their whole span when it holds at
# most this many times their number of pages, and at most 16 MB.
_DENSE, _SPAN_BYTES = 4, 1 << 24


def wal_path(path: str) -> str:
    """rlite's own log for the database at ``path``: ``.<name>.wal`` beside it."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.wal")


def _ofd(fd: int, kind: int, byte: int, wait: bool) -> bool:
    """Set an open-file-description lock on one byte; False if it is taken."""
    command = fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK
    try:
        fcntl.fcntl(fd, command, _FLOCK.pack(kind, os.SEEK_SET, byte, 1, 0))
    except OSError as exc:
        if not wait and exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _same_file(fd: int, path: str) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)


class Companion:
    """The open companion file ``<database>.walrus-journal``: lock and journal."""

    def __init__(self, database: str, mode: int) -> None:
        self.path = database + SUFFIX
        self.fd = self._open(mode)

    def _open(self, mode: int) -> int:
        flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0)
        while True:
            try:
                fd = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, mode)
                with contextlib.suppress(OSError):
                    os.fchmod(fd, mode)  # the database's own mode, whatever the umask
            except FileExistsError:
                try:
                    fd = os.open(self.path, flags)
                except FileNotFoundError:
                    continue  # removed by its last user meanwhile
            except OSError as exc:
                raise DatabaseOpenError(
                    f"cannot open {self.path!r} (the lock and journal beside the "
                    f"database): {exc.strerror or exc}"
                ) from exc
            if not OFD_LOCKS:
                return fd
            _ofd(fd, fcntl.F_RDLCK, _PRESENCE, wait=True)
            if _same_file(fd, self.path):
                return fd
            os.close(fd)  # removed or replaced before we marked our presence

    def lock(self) -> None:
        """Wait for the unit lock (exclusive, across processes)."""
        if OFD_LOCKS:
            _ofd(self.fd, fcntl.F_WRLCK, _UNIT, wait=True)
        else:
            fcntl.flock(self.fd, fcntl.LOCK_EX)

    def unlock(self) -> None:
        if OFD_LOCKS:
            _ofd(self.fd, fcntl.F_UNLCK, _UNIT, wait=True)
        else:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def checked(self, inode: int) -> bool:
        """Whether the database file ``inode`` was found sound by a deep check
        since this companion file was created."""
        return os.pread(self.fd, _HEAD.size, 0) == _HEAD.pack(_CHECKED, inode)

    def mark_checked(self, inode: int) -> None:
        os.pwrite(self.fd, _HEAD.pack(_CHECKED, inode), 0)

    def close(self) -> None:
        """Close it; remove the file if no other process has it open and its
        journal is empty (Linux only: elsewhere it stays)."""
        try:
            if (
                OFD_LOCKS
                and not _holds_unit(self.fd)
                and _ofd(self.fd, fcntl.F_WRLCK, _PRESENCE, wait=False)
                and _same_file(self.fd, self.path)
            ):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
        finally:
            os.close(self.fd)


class _Batch(NamedTuple):
    unit: int
    inode: int
    old_size: int
    page_size: int
    images: list[tuple[int, bytes]]


def _encode(batch: _Batch) -> bytes:
    parts: list[bytes] = []
    for number, image in batch.images:
        parts += (_PAGE.pack(number, len(image)), image)
    body = b"".join(parts)
    head = _BATCH.pack(
        _MAGIC,
        batch.unit,
        batch.inode,
        batch.old_size,
        batch.page_size,
        len(batch.images),
        len(body),
    )
    return b"".join((head, body, _CRC.pack(zlib.crc32(body, zlib.crc32(head)))))


def _decode(data: bytes) -> list[_Batch]:
    """The whole batches of the unit the journal holds (the unit of its first
    batch); a torn last batch is left out: it was being written when the
    process died, before rlite wrote those pages. Bytes left from earlier,
    longer units follow with other unit ids and are ignored too."""
    batches: list[_Batch] = []
    at = 0
    while at + _BATCH.size <= len(data):
        magic, unit, inode, old_size, page_size, count, length = _BATCH.unpack_from(
            data, at
        )
        end = at + _BATCH.size + length
        if magic != _MAGIC or end + _CRC.size > len(data):
            break
        if batches and unit != batches[0].unit:
            break
        if _CRC.unpack_from(data, end)[0] != zlib.crc32(data[at:end]):
            break
        images, cursor = [], at + _BATCH.size
        for _ in range(count):
            number, size = _PAGE.unpack_from(data, cursor)
            cursor += _PAGE.size
            images.append((number, data[cursor : cursor + size]))
            cursor += size
        batches.append(_Batch(unit, inode, old_size, page_size, images))
        at = end + _CRC.size
    return batches


def _holds_unit(fd: int) -> bool:
    """Whether the journal open as ``fd`` holds a unit (its first bytes)."""
    return os.pread(fd, len(_MAGIC), AT) == _MAGIC


def _images(fd: int, pages: list[int], size: int) -> list[tuple[int, bytes]]:
    """The current images of ``pages`` (sorted): one read of their whole
    span when they are dense (``_DENSE``), else one read per run of pages."""
    if not pages:
        return []
    first, span = pages[0], pages[-1] - pages[0] + 1
    if span <= _DENSE * len(pages) and span * size <= _SPAN_BYTES:
        data = os.pread(fd, span * size, first * size)
        return [(n, data[(n - first) * size : (n - first + 1) * size]) for n in pages]
    images: list[tuple[int, bytes]] = []
    at = 0
    while at < len(pages):
        run = 1
        while at + run < len(pages) and pages[at + run] == pages[at] + run:
            run += 1
        data = os.pread(fd, run * size, pages[at] * size)
        for k in range(run):
            images.append((pages[at] + k, data[k * size : (k + 1) * size]))
        at += run
    return images


class FileGuard:
    """Units (lock + undo journal) over one rlite file; see the module doc.

    ``after_recovery()`` runs (lock held) when a unit start rolled back a
    unit that died: the driver's deep check of the file. ``forget()`` runs
    (lock held) when what the driver learned of the file in earlier units
    may no longer hold: another unit wrote since (another process, or
    another guard of this file), or a unit was rolled back.
    """

    def __init__(
        self,
        path: str,
        main_fd: int,
        mode: int,
        sync: bool,
        after_recovery: Callable[[], None] = lambda: None,
        forget: Callable[[], None] = lambda: None,
    ) -> None:
        self.path = path
        self.sync = sync
        self._main = main_fd
        info = os.fstat(main_fd)
        self._main_id = (info.st_dev, info.st_ino)
        self._pid = os.getpid()
        self._wal = wal_path(path)
        self._after_recovery = after_recovery
        self._forget = forget
        self._seen = b""  # the journal's head (its stamp) after this guard's last unit
        self.companion = Companion(path, mode)
        self._depth = 0
        self._unit = int.from_bytes(os.urandom(8), "big")  # this unit's id
        self._header: Header | None = None
        self._raw_header = b""  # the bytes self._header was parsed from
        self._old_size = 0  # the file's size when the unit started
        self._saved: set[int] = set()  # pages journaled in this unit
        self._complete = True  # the journal holds every page written so far
        self._end = 0  # bytes of this unit in the journal
        self.recovered = 0  # dead units this guard rolled back

    @property
    def active(self) -> bool:
        """Whether a unit is open (commands then join it)."""
        return self._depth > 0

    @property
    def inode(self) -> int:
        """The inode of the database file (the one the path names)."""
        return self._main_id[1]

    # -- units -------------------------------------------------------------------
    @contextlib.contextmanager
    def unit(self, allow_empty: bool = False) -> Iterator[None]:
        """Hold the file for one operation; re-entrant. ``allow_empty``: an
        empty file is not damaged (opening: rlite will write its header).

        An exception leaving the unit undoes what it wrote (a command's error
        reply is not an exception: its unit keeps what ran, as Redis does),
        unless the journal could not be written, as then it cannot.

        Costs five system calls (lock, journal check, stat, header read,
        unlock); a writing unit adds a read per run of pages it changes, a
        journal write per rlite command that writes and a 12-byte write (the
        emptied journal, stamped with the unit's id).
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        if os.getpid() != self._pid:
            raise EngineError(
                "this rlite database was opened before fork(), in the parent "
                "process: open databases after fork()"
            )
        self.companion.lock()
        try:
            head = os.pread(self.companion.fd, _STAMP.size, AT)
            if head.startswith(_MAGIC):  # a unit died midway
                self.recover()
                self._after_recovery()
                self._forget()
            elif head != self._seen:  # another unit wrote since
                self._seen = head
                self._forget()
            self.read_header(allow_empty)
            self._unit = (self._unit + 1) % 2**64
            self._saved.clear()
            self._depth = 1
            self._complete = True
            try:
                yield
            except BaseException:
                self._depth = 0
                if self._complete:  # undo what the interrupted unit wrote
                    self.rollback()
                else:  # rlite committed what the journal misses: keep it
                    self._finish()
                raise
            self._depth = 0
            self._finish()
        finally:
            self.companion.unlock()

    def read_header(self, allow_empty: bool = False) -> Header | None:
        """Read and check the file's header (None: an empty file, allowed)."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            raise EngineError(f"the rlite database {self.path!r} was removed") from None
        if (info.st_dev, info.st_ino) != self._main_id:  # replaced: follow the path
            fd = os.open(self.path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
            os.close(self._main)
            self._main, self._main_id = fd, (info.st_dev, info.st_ino)
        self._old_size = info.st_size
        if allow_empty and self._old_size == 0:
            self._header = None
        else:
            raw = os.pread(self._main, HEADER_READ, 0)
            if raw != self._raw_header or self._header is None:
                self._header = parse_header(raw, self._old_size, self.path)
                self._raw_header = raw
            elif self._old_size < self._header.size:  # same header, file cut
                parse_header(raw, self._old_size, self.path)
        return self._header

    def before_commit(self, pages: list[int]) -> None:
        """rlite is about to write ``pages``: journal their current images.

        Called from rlite's write hook, inside a unit. The first batch of a
        unit is written even without images: it records the old size.
        """
        if self._header is None or not self._depth:
            raise EngineError("rlite wrote outside a walrus unit")
        size = self._header.page_size
        fresh = sorted(n for n in pages if n not in self._saved)
        self._saved.update(fresh)
        old = [n for n in fresh if n * size < self._old_size]
        if self._end and not old:
            return
        self._complete = False  # until the batch is written whole
        batch = _Batch(
            self._unit,
            self._main_id[1],
            self._old_size,
            size,
            _images(self._main, old, size),
        )
        data = _encode(batch)
        written = os.pwrite(self.companion.fd, data, AT + self._end)
        self._end += written
        if written != len(data):
            raise OSError(errno.ENOSPC, "the journal could not be written whole")
        if self.sync:
            os.fdatasync(self.companion.fd)
        self._complete = True

    def _finish(self) -> None:
        """The unit's commit point: its writes are in the file; clear the journal."""
        if not self._end:
            return
        if self.sync:
            os.fdatasync(self._main)
        self._clear()

    def _clear(self) -> None:
        """Empty the journal, stamped with this unit's id."""
        fd = self.companion.fd
        if self._end > _TRIM:
            os.ftruncate(fd, AT)
        self._seen = _STAMP.pack(_CLEARED, self._unit)
        os.pwrite(fd, self._seen, AT)
        if self.sync:
            os.fdatasync(fd)
        self._end = 0

    def rollback(self) -> None:
        """Undo what the current unit wrote so far; the unit goes on (a write
        refused on a read-only snapshot)."""
        if self._end:
            self._restore()
        self._saved.clear()
        self._forget()

    # -- recovery ----------------------------------------------------------------
    def recover(self) -> None:
        """Roll back the unit that died midway (the journal holds it).

        Called with the unit lock held.
        """
        self._end = os.fstat(self.companion.fd).st_size - AT
        self._restore()
        self.recovered += 1

    def _restore(self) -> None:
        fd = self.companion.fd
        batches = _decode(os.pread(fd, self._end, AT))
        if batches and all(b.inode == self._main_id[1] for b in batches):
            for batch in reversed(batches):  # the first image of a page wins
                for number, image in batch.images:
                    os.pwrite(self._main, image, number * batch.page_size)
            os.ftruncate(self._main, batches[0].old_size)
            if self.sync:
                os.fsync(self._main)
        # (a journal of another file, which replaced this one since, is dropped)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._wal)  # the dead unit's own rlite log, if any
        self._clear()

    def close(self) -> None:
        try:
            self.companion.close()
        finally:
            os.close(self._main)


# -- read-only snapshots ------------------------------------------------------------
def snapshot(source: str, source_fd: int, target: str) -> None:
    """Copy the database open as ``source_fd`` to ``target``, whole.

    Writers are held off while it is copied: walrus processes by a shared
    unit lock on the companion file (a dead unit's journal is copied too, so
    the copy's first unit rolls it back), other rlite users by rlite's own
    lock on the file. Needs only read access to the file and its companion.
    """
    with _held_off(source, source_fd) as journal, open(target, "wb") as out:
        offset, size = 0, os.fstat(source_fd).st_size
        while offset < size:
            chunk = os.pread(source_fd, min(1 << 20, size - offset), offset)
            if not chunk:
                break
            out.write(chunk)
            offset += len(chunk)
    batches = _decode(journal)
    if batches:
        inode = os.stat(target).st_ino
        with open(target + SUFFIX, "wb") as out:
            out.write(bytes(AT))
            for batch in batches:
                out.write(_encode(batch._replace(inode=inode)))


@contextlib.contextmanager
def _held_off(source: str, source_fd: int) -> Iterator[bytes]:
    """Keep writers of ``source`` out; yields the journal of its companion."""
    while True:
        try:
            fd = os.open(source + SUFFIX, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            fcntl.flock(source_fd, fcntl.LOCK_SH)
            try:
                if os.path.exists(source + SUFFIX):
                    continue  # a walrus process opened it meanwhile: take its lock
                yield b""
            finally:
                fcntl.flock(source_fd, fcntl.LOCK_UN)
            return
        try:
            if OFD_LOCKS:
                _ofd(fd, fcntl.F_RDLCK, _UNIT, wait=True)
            else:
                fcntl.flock(fd, fcntl.LOCK_SH)
            yield os.pread(fd, os.fstat(fd).st_size, AT)
        finally:
            os.close(fd)
        return
