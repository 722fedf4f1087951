"""Maps of ASCII fields to ASCII values kept in Vedis key/value records.

A *map* (one container's members, or one database's key directory) lives
under a record name ``P`` (its prefix):

* ``P:<b>``, one record per non-empty bucket ``b``: the bucket's fields,
  one ``"<field> <value>"`` line each, lines joined by ``"\\n"``; or, for a
  bucket larger than ``BIG`` pages, ``"@<id> <size>"``: its lines are in the
  record ``walrus:x:<id>`` (a fresh id each time, as a large record is never
  overwritten in place, see :mod:`.vedisrecords`);
* ``P`` itself, only while the map has more than one bucket: the number of
  buckets, decimal.

Fields hold no space or newline and never start with ``@``, values hold no
newline (the codecs of :mod:`.vedisstore` write base64, decimal numbers and
stream records).

Vedis's native hashes are not used: they lose fields once a file is
reopened (the record of entry ``i`` of hash ``h`` is named ``"vt" + h + "1"
+ str(i)``, so hash ``walrus:m:1``'s entry 10 and hash ``walrus:m:11``'s
entry 0 share one record), see ``docs/drivers-vedis.md``.

Linear hashing: field ``f`` is in bucket :func:`bucket_of` ``(f, size)``,
from the CRC-32 of ``f``. When a write leaves more than ``SPLIT`` fields per
bucket on average, the next bucket in turn is split in two (a bulk write
that leaves more than twice that spreads the map over enough buckets at
once, in one pass); below ``MERGE``
per bucket the last bucket goes back into the one it came from. A split or
a merge moves the fields of two buckets, so a one-field write reads and
writes O(1) records of about ``SPLIT`` fields whatever the map's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar
from zlib import crc32

from walrus.drivers.vedis.records import LARGE, Records

V = TypeVar("V")

__all__ = ["MERGE", "SPLIT", "Buckets", "bucket_of"]

SPLIT = 32  # fields per bucket, on average, above which the map grows a bucket
MERGE = 8  # ... and below which it loses one


def _buckets_of(fields: Iterable[str], size: int) -> list[int]:
    """The bucket of each field in a map of ``size`` buckets (linear
    hashing: the field's CRC-32 under the mask of the power of two above
    ``size``, or under half that mask for a bucket not split yet). The masks
    are computed once for all the fields."""
    high = 1 << size.bit_length()
    mask, low = high - 1, (high >> 1) - 1
    return [b if (b := crc32(f.encode()) & mask) < size else b & low for f in fields]


def bucket_of(field: str, size: int) -> int:
    """The bucket of ``field`` in a map of ``size`` buckets."""
    return _buckets_of((field,), size)[0]


def _spread(pairs: Iterable[tuple[str, V]], size: int) -> dict[int, dict[str, V]]:
    """``pairs`` by bucket, for a map of ``size`` buckets (empty ones left out)."""
    pairs = list(pairs)
    parts: dict[int, dict[str, V]] = {}
    for (field, value), bucket in zip(
        pairs, _buckets_of([f for f, _ in pairs], size), strict=True
    ):
        part = parts.get(bucket)
        if part is None:
            parts[bucket] = {field: value}
        else:
            part[field] = value
    return parts


def _origin(bucket: int) -> int:
    """The bucket that ``bucket`` was split from (its merge target)."""
    return bucket - (1 << (bucket.bit_length() - 1))


# Where a bucket's lines are now (to replace or delete them): the size of its
# P:<b> record (None when there is none), and the (name, size) of the
# walrus:x record holding its lines, if any. A plain tuple: one is built for
# every write, and a NamedTuple costs ten times as much to build.
_Stored = tuple[int | None, tuple[bytes, int] | None]
_NOWHERE: _Stored = (None, None)


def _parse(content: bytes) -> dict[str, str]:
    if not content:
        return {}
    return dict(line.split(" ", 1) for line in content.decode().split("\n"))


def _join(fields: dict[str, str]) -> bytes:
    return "\n".join(f"{f} {v}" for f, v in fields.items()).encode()


def _splice_lines(content: bytes, changes: dict[str, str | None]) -> tuple[bytes, int]:
    """``content`` with its lines for ``changes`` replaced, added or removed;
    and the change in its number of lines. O(bytes of the bucket). The
    pure-Python twin of the compiled ``_native.splice`` (0.55 µs for one
    change where it takes 0.1)."""
    text = b"\n" + content if content else b""
    delta = 0
    for field, value in changes.items():
        head = b"\n%s " % field.encode()
        line = b"" if value is None else head + value.encode()
        start = text.find(head)
        if start >= 0:
            end = text.find(b"\n", start + 1)
            text = text[:start] + line + (text[end:] if end >= 0 else b"")
            delta -= value is None
        elif value is not None:
            text += line
            delta += 1
    return text[1:], delta


# Changes to a bucket above which it is parsed and joined again rather than
# spliced (one copy of the bucket per change): where either costs as much
# for a bucket of 32-64 lines (timeit: 6 µs for 40 changes compiled, 7.7 to
# parse and join).
try:
    from walrus.drivers.embedded._native import splice as _splice

    SPLICE = 40
except ImportError:  # built without a C compiler
    _splice = _splice_lines
    SPLICE = 10


class Buckets:
    """Every map of one Vedis handle: reads, writes and the maps' sizes.

    The sizes of the maps with more than one bucket are kept in memory once
    read (``shapes``: prefix -> [buckets, fields]); a map absent from it has
    one bucket, whose record says how many fields it has.
    """

    def __init__(self, records: Records) -> None:
        self.records = records
        self.shapes: dict[bytes, list[int]] = {}

    # -- bucket records ----------------------------------------------------------
    def _read(self, prefix: bytes, bucket: int) -> tuple[bytes, _Stored]:
        """A bucket's lines, and where they are."""
        return self._load(b"%s:%d" % (prefix, bucket))

    def _load(self, name: bytes) -> tuple[bytes, _Stored]:
        """The lines of the bucket record ``name``, and where they are."""
        raw = self.records.fetch(name)
        if not raw:
            return b"", _NOWHERE
        if raw[0] != 64:  # not b"@": the lines themselves
            return raw, (len(raw), None)
        ident, size = raw[1:].split(b" ")
        outside = b"walrus:x:%s" % ident
        return self.records.fetch(outside) or b"", (len(raw), (outside, int(size)))

    def _fields(self, prefix: bytes, bucket: int) -> tuple[dict[str, str], _Stored]:
        content, where = self._read(prefix, bucket)
        return _parse(content), where

    def _write(self, prefix: bytes, bucket: int, content: bytes, old: _Stored) -> None:
        self._save(b"%s:%d" % (prefix, bucket), content, old)

    def _save(self, name: bytes, content: bytes, old: _Stored) -> None:
        """Write the bucket record ``name`` (whose lines are at ``old``)."""
        size, outside = old
        if not content:
            if size is not None:
                self.records.delete(name, size)
        elif len(content) >= LARGE:  # a fresh record, then the pointer
            fresh = b"walrus:x:%d" % self.records.new_id()
            self.records.store(fresh, content)
            self.records.store(name, b"@%s %d" % (fresh[9:], len(content)), size)
        else:
            self.records.store(name, content, size)
        if outside is not None:
            self.records.delete(*outside)

    def _size(self, prefix: bytes) -> int:
        raw = self.records.fetch(prefix)
        return 1 if raw is None else int(raw)

    def _resize(self, prefix: bytes, start: int, size: int) -> None:
        if size == start:
            return
        old = None if start == 1 else len(b"%d" % start)
        if size > 1:
            self.records.store(prefix, b"%d" % size, old)
        elif old is not None:
            self.records.delete(prefix, old)

    # -- maps --------------------------------------------------------------------
    def load(self, prefix: bytes) -> tuple[list[str], list[str]]:
        """Every field and value of a map. O(fields); one record per bucket."""
        size = self._size(prefix)
        fields: list[str] = []
        values: list[str] = []
        for bucket in range(size):
            found = self._fields(prefix, bucket)[0]
            fields.extend(found)
            values.extend(found.values())
        self._remember(prefix, size, len(fields))
        return fields, values

    def update(self, prefix: bytes, changes: dict[str, str | None]) -> None:
        """Set fields (a value) or delete them (None) in a loaded map.

        O(changes) records of about ``SPLIT`` fields each, plus at most two
        buckets moved by a split or a merge.
        """
        if not changes:
            return
        shape = self.shapes.get(prefix)
        if shape is None:  # one bucket, which counts its lines
            content, delta = self._change(prefix + b":0", changes)
            if delta > 0 and (count := content.count(b"\n") + 1) > SPLIT:
                self._balance(prefix, 1, count)
            return
        size, count = shape
        for bucket, part in _spread(changes.items(), size).items():
            count += self._change(b"%s:%d" % (prefix, bucket), part)[1]
        if size * MERGE <= count <= size * SPLIT:
            shape[1] = count  # the same buckets
        else:
            self._balance(prefix, size, count)

    def _change(self, name: bytes, part: dict[str, str | None]) -> tuple[bytes, int]:
        """Apply ``part`` to the bucket record ``name``: its new lines, and
        the change in their number."""
        content, where = self._load(name)
        if len(part) > SPLICE:  # many changes: one pass over the bucket
            fields = _parse(content)
            before = len(fields)
            for field, value in part.items():
                if value is None:
                    fields.pop(field, None)
                else:
                    fields[field] = value
            content, delta = _join(fields), len(fields) - before
        else:
            content, delta = _splice(content, part)
        self._save(name, content, where)
        return content, delta

    def replace(self, prefix: bytes, pairs: Iterable[tuple[str, str]]) -> None:
        """Write a whole map under a prefix that holds none. O(fields)."""
        items = list(pairs)
        size = max(1, -(-len(items) // SPLIT))
        for bucket, fields in sorted(_spread(items, size).items()):
            self._write(prefix, bucket, _join(fields), self._read(prefix, bucket)[1])
        self._resize(prefix, self._size(prefix), size)
        self._remember(prefix, size, len(items))

    def drop(self, prefix: bytes, loaded: bool = True) -> None:
        """Delete a map (``loaded``: its size is known). O(buckets)."""
        shape = self.shapes.pop(prefix, None)
        size = shape[0] if shape else (1 if loaded else self._size(prefix))
        for bucket in range(size):
            self._write(prefix, bucket, b"", self._read(prefix, bucket)[1])
        self._resize(prefix, size, 1)

    # -- growing and shrinking ------------------------------------------------------
    def _remember(self, prefix: bytes, size: int, count: int) -> None:
        if size > 1:
            self.shapes[prefix] = [size, count]
        else:
            self.shapes.pop(prefix, None)

    def _rehash(self, prefix: bytes, size: int, target: int) -> None:
        """Spread a map's ``size`` buckets over ``target`` (more) at once."""
        old = [self._fields(prefix, bucket) for bucket in range(size)]
        parts = _spread((pair for fields, _ in old for pair in fields.items()), target)
        for bucket in range(target):
            where = old[bucket][1] if bucket < size else _NOWHERE
            self._write(prefix, bucket, _join(parts.get(bucket, {})), where)

    def _balance(self, prefix: bytes, size: int, count: int) -> None:
        start = size
        if count > 2 * size * SPLIT:  # a bulk write: no split one bucket at a time
            size = -(-count // SPLIT)
            self._rehash(prefix, start, size)
        while count > size * SPLIT:
            stay, where = self._fields(prefix, _origin(size))
            names = list(stay)
            moved = {
                f: stay[f]
                for f, b in zip(names, _buckets_of(names, size + 1), strict=True)
                if b == size
            }
            if moved:
                for field in moved:
                    del stay[field]
                self._write(prefix, _origin(size), _join(stay), where)
                self._write(prefix, size, _join(moved), _NOWHERE)
            size += 1
        while size > 1 and count < size * MERGE:
            last = size - 1
            target, where = self._fields(prefix, _origin(last))
            tail, tail_where = self._fields(prefix, last)
            self._write(prefix, _origin(last), _join(target | tail), where)
            self._write(prefix, last, b"", tail_where)
            size = last
        self._resize(prefix, start, size)
        self._remember(prefix, size, count)
