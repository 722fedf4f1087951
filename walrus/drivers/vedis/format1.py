"""Format-1 Vedis files (walrus before format 2), rewritten as format 2 on open.

Format 1 kept each database's key directory in a native Vedis hash
(``walrus:keys`` for database 0, ``walrus:keys:<n>`` for database ``n``) and
each container's members in another one (``walrus:m:<id>``), with the same
field names and values as format 2's maps (the codecs of
:mod:`.vedisstore`); strings were already ``walrus:v:<id>`` records.

Vedis keeps a native hash ``h`` in records of its own key/value store:

* ``"vt1" + h``, the header: magic ``0xCA10`` (big-endian u16), the next
  entry id (u32), the number of entries (u32);
* ``"vt" + h + "1" + str(id)``, an entry: magic ``0xEF32`` (u16), its id
  (u32), its key's type (u8, 2 for a string key), key length (u32), value
  length (u32), the key, the value.

The entry names collide (hash ``walrus:m:1``'s entry 10 and hash
``walrus:m:11``'s entry 0 are both ``vtwalrus:m:1110``), so a format-1 file
can hold hashes whose entries were overwritten by, or deleted with, another
hash's; Vedis's own HGETALL then loops forever on the short hash. So the
records are read here directly, in bounded loops, never through Vedis's hash
commands: an entry whose id is not its name's belongs to the other hash; a
hash holding fewer entries of its own than its header counts lost fields,
and the file is refused with :class:`CorruptDatabase` naming the keys,
unchanged.

:func:`migrate` works in three steps, each O(keys + members): it reads and
checks every hash; writes the format-2 records (committed in several
transactions, as :mod:`.vedisrecords` requires, while ``walrus:format``
still says 1, so a crash leaves a format-1 file that the next open migrates
again); then switches ``walrus:format`` to 2 in one small commit, together
with a ``walrus:format1-leftovers`` mark, and deletes the format-1 records
(:func:`finish_migration`, which the next open resumes if a crash cut it).
"""

from __future__ import annotations

import struct
from base64 import b64decode

from walrus.drivers.emulation.engine import DATABASES
from walrus.drivers.vedis.buckets import Buckets
from walrus.drivers.vedis.records import Records
from walrus.exceptions import CorruptDatabase

__all__ = ["finish_migration", "migrate"]

HEADER = struct.Struct(">HII")  # magic, next entry id, entries
ENTRY = struct.Struct(">HIBII")  # magic, id, key type, key length, value length
HEADER_MAGIC, ENTRY_MAGIC, STRING_KEY = 0xCA10, 0xEF32, 2
LEFTOVERS = b"walrus:format1-leftovers"
SHOWN = 5  # damaged keys named in the error


def _directory(index: int) -> bytes:
    return b"walrus:keys" if index == 0 else b"walrus:keys:%d" % index


def _header(records: Records, name: bytes) -> tuple[int, int] | None:
    """(next entry id, entries) of hash ``name``; None if it has no valid header."""
    raw = records.fetch(b"vt1" + name)
    if raw is None or len(raw) != HEADER.size:
        return None
    magic, next_entry, count = HEADER.unpack(raw)
    return (next_entry, count) if magic == HEADER_MAGIC else None


def _table(records: Records, name: bytes) -> tuple[list[tuple[str, str]], bool]:
    """The fields of hash ``name`` and whether it is whole. O(entries ever)."""
    header = _header(records, name)
    if header is None:
        return [], records.fetch(b"vt1" + name) is None
    next_entry, count = header
    pairs: list[tuple[str, str]] = []
    for ident in range(next_entry):
        raw = records.fetch(b"vt%s1%d" % (name, ident))
        if raw is None or len(raw) < ENTRY.size:
            continue
        magic, owner, kind, key_size, size = ENTRY.unpack_from(raw)
        if (magic, owner, kind) != (ENTRY_MAGIC, ident, STRING_KEY):
            continue  # another hash's entry under a colliding name
        if ENTRY.size + key_size + size != len(raw):
            return pairs, False
        key = raw[ENTRY.size : ENTRY.size + key_size]
        pairs.append((key.decode("ascii"), raw[ENTRY.size + key_size :].decode()))
    return pairs, len(pairs) == count


def _containers(directory: list[tuple[str, str]]) -> list[tuple[str, str, bytes]]:
    """(key field, type, id) of every container a directory lists."""
    found = []
    for field, meta in directory:
        kind, ident = meta.split(" ", 2)[:2]
        if kind != "string":
            found.append((field, kind, ident.encode()))
    return found


def _damage(records: Records) -> list[str]:
    """What lost fields, reading every hash once (no write)."""
    damaged = []
    for index in range(DATABASES):
        directory, whole = _table(records, _directory(index))
        if not whole:
            damaged.append(f"the key directory of database {index}")
        for field, kind, ident in _containers(directory):
            if not _table(records, b"walrus:m:%s" % ident)[1]:
                key = b64decode(field[1:])
                damaged.append(f"{key!r} (a {kind}) in database {index}")
    return damaged


def migrate(buckets: Buckets, format_key: bytes, next_id_key: bytes) -> None:
    """Rewrite a format-1 file as format 2 (see the module doc)."""
    records = buckets.records
    damaged = _damage(records)
    if damaged:
        shown = ", ".join(damaged[:SHOWN])
        more = f" and {len(damaged) - SHOWN} more" if len(damaged) > SHOWN else ""
        raise CorruptDatabase(
            "this Vedis file (walrus format 1) was damaged by Vedis's native "
            f"hashes, which lost fields of {shown}{more}; it is left unchanged"
        )
    for index in range(DATABASES):
        directory = _table(records, _directory(index))[0]
        for _, _, ident in _containers(directory):
            members = _table(records, b"walrus:m:%s" % ident)[0]
            buckets.replace(b"walrus:b:%s" % ident, members)
        buckets.replace(b"walrus:d:%d" % index, directory)
    records.commit()
    records.store(LEFTOVERS, b"1")
    records.store(format_key, b"2", 1)
    records.commit()
    finish_migration(records, next_id_key)


def finish_migration(records: Records, next_id_key: bytes) -> None:
    """Delete what a migration left of format 1 (nothing to do without the
    ``walrus:format1-leftovers`` mark). O(entries ever written to the hashes
    still holding entries), several commits."""
    if records.fetch(LEFTOVERS) is None:
        return
    names = [_directory(index) for index in range(DATABASES)]
    last = int(records.fetch(next_id_key) or b"1")
    names += [b"walrus:m:%d" % n for n in range(1, last)]
    for name in names:
        header = _header(records, name)
        if header is not None and header[1]:
            for ident in range(header[0]):
                records.delete(b"vt%s1%d" % (name, ident))
        records.delete(b"vt1" + name)
    records.delete(LEFTOVERS)
    records.commit()
