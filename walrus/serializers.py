"""Serializers for stored Python values: safe by default.

Every walrus feature that stores Python objects (the cache, its decorators,
models' :class:`~walrus.features.models.fields.PickledField`) turns them into
bytes with one of these. The trust rule: **bytes read back from the database
are untrusted**. Anyone who can write to the database (another service, a
shared server, a compromised client) chooses them, so reading them must not
run code chosen by that writer.

=================== ==========================================================
name                what it stores, and what a reader risks
=================== ==========================================================
``"pickle"``        plain data only (:data:`PLAIN_TYPES`: None, bool, numbers,
                    text, bytes, lists, tuples, dicts, sets, dates and times,
                    Decimal, UUID ...), as pickles; the default. A pickle
                    naming no class or function (builtin values only: a
                    compiled check of its opcodes) is read by
                    ``pickle.loads``; any other goes through an unpickler
                    that can only build those types, so a hostile value is
                    refused (``SerializationError``), never run. Values
                    written by walrus 0.9's cache read back unchanged when
                    they are plain data.
``"json"``          JSON values (tuples come back as lists); safe.
``"signed-pickle"`` any picklable object, signed with HMAC-SHA256 under a
                    secret only trusted writers have. The signature covers a
                    format version, the key the value is stored under and the
                    value, so a tampered value, or a signed value copied to
                    another key, raises ``TamperedValue`` and is never
                    unpickled. Several secrets rotate keys: the first signs,
                    any of them verifies.
``"unsafe-pickle"`` any picklable object, unsigned. **Reading it runs code
                    chosen by whoever wrote the bytes**: only for a database
                    that nothing but trusted code can write to.
=================== ==========================================================

A serializer of your own is an object with ``dumps(value) -> bytes`` and
``loads(data) -> value`` (:class:`ValueSerializer`), or a
:class:`KeyBoundSerializer` whose methods also get the key the value is
stored under.
"""

from __future__ import annotations

import abc
import collections
import datetime
import decimal
import hashlib
import hmac
import io
import json
import pickle
import uuid
import zoneinfo
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeAlias

from walrus.exceptions import (
    InvalidType,
    InvalidValue,
    SerializationError,
    TamperedValue,
)

__all__ = [
    "PLAIN_TYPES",
    "JSONSerializer",
    "KeyBoundSerializer",
    "PickleSerializer",
    "SecretKeys",
    "Serializer",
    "SignedPickleSerializer",
    "UnsafePickleSerializer",
    "ValueSerializer",
    "bind",
    "key_bytes",
    "make_serializer",
]

SecretKeys: TypeAlias = str | bytes | Sequence[str | bytes]

#: The types the default ``"pickle"`` serializer stores and reads back.
PLAIN_TYPES: frozenset[type] = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        complex,
        str,
        bytes,
        bytearray,
        list,
        tuple,
        dict,
        set,
        frozenset,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        datetime.timezone,
        zoneinfo.ZoneInfo,
        decimal.Decimal,
        uuid.UUID,
        collections.OrderedDict,
        collections.deque,
    }
)


class ValueSerializer(Protocol):
    """Turns values into bytes and back."""

    def dumps(self, value: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


class KeyBoundSerializer(abc.ABC):
    """A serializer whose stored form depends on the key it is stored under
    (``key`` is the full database key, as bytes)."""

    @abc.abstractmethod
    def dumps(self, value: Any, key: bytes) -> bytes:
        """The bytes to store for ``value`` under ``key``."""

    @abc.abstractmethod
    def loads(self, data: bytes, key: bytes) -> Any:
        """The value stored as ``data`` under ``key``."""


Serializer: TypeAlias = ValueSerializer | KeyBoundSerializer


def key_bytes(key: str | bytes) -> bytes:
    """A key as the bytes sent to the database (UTF-8, invalid bytes kept)."""
    return key if isinstance(key, bytes) else key.encode("utf-8", "surrogateescape")


# -- plain-data pickles -------------------------------------------------------------
def _bytearray(*args: Any) -> bytearray:
    """``bytearray`` as old pickles call it: from bytes, or latin-1 text."""
    if not args:
        return bytearray()
    if isinstance(args[0], bytes) and len(args) == 1:
        return bytearray(args[0])
    if isinstance(args[0], str) and args[1:] in (("latin-1",), ("latin1",)):
        return bytearray(args[0], "latin-1")
    raise pickle.UnpicklingError("bytearray() with arguments a pickle never writes")


def _codecs_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol 2 pickles of bytes call it (latin-1 only)."""
    if isinstance(text, str) and encoding in ("latin1", "latin-1"):
        return text.encode("latin-1")
    raise pickle.UnpicklingError(
        "_codecs.encode() with arguments a pickle never writes"
    )


def _zoneinfo(key: Any, from_cache: Any = True) -> zoneinfo.ZoneInfo:
    if not isinstance(key, str):
        raise pickle.UnpicklingError("a ZoneInfo pickle names its zone with text")
    return zoneinfo.ZoneInfo(key)  # refuses paths: only zone names are looked up


def _getattr(owner: Any, name: Any) -> Any:
    """``getattr`` as pickles of ZoneInfo use it, and for nothing else."""
    if owner is zoneinfo.ZoneInfo and name == "_unpickle":
        return _zoneinfo
    raise pickle.UnpicklingError("getattr() is only allowed to rebuild a ZoneInfo")


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` as protocol 0-1 pickles call it (UUID)."""
    if base is object and state is None and cls in _PICKLED_CLASSES:
        return object.__new__(cls)
    raise pickle.UnpicklingError("_reconstructor() is only allowed for plain types")


_GLOBALS: dict[tuple[str, str], Any] = {
    ("datetime", "datetime"): datetime.datetime,
    ("datetime", "date"): datetime.date,
    ("datetime", "time"): datetime.time,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
    ("decimal", "Decimal"): decimal.Decimal,
    ("uuid", "UUID"): uuid.UUID,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "deque"): collections.deque,
    ("zoneinfo", "ZoneInfo"): zoneinfo.ZoneInfo,
    ("_codecs", "encode"): _codecs_encode,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("copy_reg", "_reconstructor"): _reconstructor,
}
for _module in ("builtins", "__builtin__"):  # Python 3 and protocol 0-2 names
    _GLOBALS.update(
        {
            (_module, "complex"): complex,
            (_module, "set"): set,
            (_module, "frozenset"): frozenset,
            (_module, "bytearray"): _bytearray,
            (_module, "getattr"): _getattr,
            (_module, "object"): object,  # _reconstructor's base
        }
    )
_PICKLED_CLASSES = frozenset(v for v in _GLOBALS.values() if isinstance(v, type))


class _PlainUnpickler(pickle.Unpickler):
    """Builds only plain data: every global a pickle names must be allowed."""

    def find_class(self, module: str, name: str) -> Any:
        found = _GLOBALS.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"refused {module}.{name}: the 'pickle' serializer reads plain "
                "data only"
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are refused")


class _PlainPickler(pickle.Pickler):
    """Refuses, before anything is stored, what the plain unpickler refuses."""

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in PLAIN_TYPES or _pickles_as_global(obj):
            return NotImplemented
        raise SerializationError(
            f"cannot store {kind.__module__}.{kind.__qualname__} with the 'pickle' "
            "serializer, which stores plain data only (see walrus.serializers): "
            "use 'signed-pickle' with a secret_key for other objects"
        )


def _load_plain(data: bytes) -> Any:
    return _PlainUnpickler(io.BytesIO(data)).load()


def _never(data: Any) -> bool:
    return False


# The compiled checks of plain data (walrus.drivers.embedded._native); without
# them every value takes the pickler and unpickler above.
try:
    from walrus.drivers.embedded._native import plain_pickle as _plain_data
    from walrus.drivers.embedded._native import plain_value as _plain_value
except ImportError:  # built without a C compiler
    _plain_data = _plain_value = _never


def _pickles_as_global(obj: Any) -> bool:
    """Whether ``obj`` is a class or function a plain pickle may name."""
    if isinstance(obj, type):
        return obj in _PICKLED_CLASSES
    # how a ZoneInfo pickles: getattr(ZoneInfo, '_unpickle')(key, from_cache)
    return obj is getattr or obj == zoneinfo.ZoneInfo._unpickle  # type: ignore[attr-defined]


def _unpickle(load: Callable[[bytes], Any], data: bytes) -> Any:
    """``load(data)``, its failures as SerializationError."""
    try:
        return load(data)
    except SerializationError:
        raise
    except Exception as exc:  # MemoryError, RecursionError ... included
        raise SerializationError(f"cannot read a stored value: {exc!r:.200}") from exc


def _pickle(dump: Callable[[Any], bytes], value: Any) -> bytes:
    """``dump(value)``, its failures as SerializationError."""
    try:
        return dump(value)
    except SerializationError:
        raise
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
        raise SerializationError(
            f"cannot pickle {type(value).__name__}: {exc}"
        ) from exc


def _dumps(value: Any) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


class _ReusedPickler:
    """A plain pickler and its buffer, kept for the next value: building a
    pickler costs more than pickling a short value (0.5 µs of 0.8)."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.pickler = _PlainPickler(self.buffer, pickle.HIGHEST_PROTOCOL)

    def dump(self, value: Any) -> bytes:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.pickler.clear_memo()
        self.pickler.dump(value)
        return self.buffer.getvalue()


# Types pickled inline: the plain pickler would pass them without a look.
_INLINE = frozenset({type(None), bool, int, float, str, bytes})
_IDLE: list[_ReusedPickler] = []  # picklers not in use (list.pop and append are atomic)
_IDLE_MAX = 8
_KEPT_BUFFER = 1 << 16  # a pickler whose buffer grew larger is dropped with it


def _plain_pickle(value: Any) -> bytes:
    """``value`` as a plain-data pickle, refusing other types. Plain values
    of the builtin types go to ``pickle.dumps`` (its pickle is checked, in
    case another thread changed the value meanwhile); for others a pickler
    is taken from the idle ones while in use (so threads, and a call
    re-entered from a finalizer or a signal handler, each have their own)
    and put back only after a success, and while its buffer is small."""
    if type(value) in _INLINE:
        return _dumps(value)
    if _plain_value(value):  # nothing in it can fail to pickle
        data = _dumps(value)
        if _plain_data(data):
            return data
    try:
        reused = _IDLE.pop()
    except IndexError:
        reused = _ReusedPickler()
    data = _pickle(reused.dump, value)
    if len(data) <= _KEPT_BUFFER and len(_IDLE) < _IDLE_MAX:
        _IDLE.append(reused)
    return data


class PickleSerializer:
    """Plain data as pickles; reading cannot run code (the default).

    Storing a value of another type raises ``SerializationError`` before
    anything is written; a stored value naming any other class or function is
    refused on read with ``SerializationError``. Costs as ``pickle``.
    """

    def dumps(self, value: Any) -> bytes:
        return _plain_pickle(value)

    def loads(self, data: bytes) -> Any:
        if _plain_data(data):  # builds plain values only: no global to check
            return _unpickle(pickle.loads, data)
        return _unpickle(_load_plain, data)


class UnsafePickleSerializer:
    """Any picklable object, unsigned: reading runs the writer's code.

    Only for a database that nothing but trusted code can write to.
    """

    def dumps(self, value: Any) -> bytes:
        return _pickle(_dumps, value)

    def loads(self, data: bytes) -> Any:
        return _unpickle(pickle.loads, data)


class JSONSerializer:
    """JSON values (tuples come back as lists); safe with untrusted data."""

    def dumps(self, value: Any) -> bytes:
        try:
            return json.dumps(value, separators=(",", ":")).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise SerializationError(f"cannot store as JSON: {exc}") from exc

    def loads(self, data: bytes) -> Any:
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise SerializationError(f"stored value is not JSON: {exc}") from exc


_SIGNED_TAG = b"WSP1"  # format version 1: tag, HMAC-SHA256, pickle
_SIGNED_DOMAIN = b"walrus signed pickle\x00"
_MAC_SIZE = hashlib.sha256().digest_size


class SignedPickleSerializer(KeyBoundSerializer):
    """Any picklable object, signed with HMAC-SHA256 and bound to its key.

    The signature covers the format version, the key and the pickle: a
    tampered value, one signed with another secret, or one copied to another
    key raises ``TamperedValue`` before anything is unpickled.
    ``secret_key`` is one secret or several: the first signs, any verifies
    (rotate by putting the new secret first, and drop the old one once every
    value signed with it has expired or been rewritten).
    """

    def __init__(self, secret_key: SecretKeys) -> None:
        secrets = (
            [secret_key] if isinstance(secret_key, str | bytes) else list(secret_key)
        )
        if not secrets:
            raise InvalidValue("signed-pickle needs at least one secret_key")
        self._secrets: list[bytes] = []
        for secret in secrets:
            if not isinstance(secret, str | bytes):
                raise InvalidType(f"a secret key is str or bytes, not {secret!r:.40}")
            if not secret:
                raise InvalidValue("a secret key cannot be empty")
            self._secrets.append(secret.encode() if isinstance(secret, str) else secret)

    def _mac(self, secret: bytes, key: bytes, payload: bytes) -> bytes:
        mac = hmac.new(secret, _SIGNED_DOMAIN + _SIGNED_TAG, hashlib.sha256)
        mac.update(len(key).to_bytes(8, "big") + key)
        mac.update(payload)
        return mac.digest()

    def dumps(self, value: Any, key: bytes) -> bytes:
        payload = _pickle(_dumps, value)
        return _SIGNED_TAG + self._mac(self._secrets[0], key, payload) + payload

    def loads(self, data: bytes, key: bytes) -> Any:
        head = len(_SIGNED_TAG)
        tag, mac, payload = (
            data[:head],
            data[head : head + _MAC_SIZE],
            data[head + _MAC_SIZE :],
        )
        if tag != _SIGNED_TAG or len(mac) != _MAC_SIZE:
            raise TamperedValue(f"the value at {key!r:.80} is not a signed value")
        if not any(
            hmac.compare_digest(mac, self._mac(secret, key, payload))
            for secret in self._secrets
        ):
            raise TamperedValue(
                f"the value at {key!r:.80} is not signed for this key with any "
                "of the secret keys: refused unread"
            )
        return _unpickle(pickle.loads, payload)


_NAMES = "'pickle', 'json', 'signed-pickle', 'unsafe-pickle'"


def make_serializer(
    kind: str | Serializer, secret_key: SecretKeys | None = None
) -> Serializer:
    """The serializer named ``kind`` (see the module), or ``kind`` itself."""
    if not isinstance(kind, str):
        if isinstance(kind, KeyBoundSerializer) or (
            callable(getattr(kind, "dumps", None))
            and callable(getattr(kind, "loads", None))
        ):
            return kind
        raise InvalidType(
            f"a serializer is one of {_NAMES}, or has dumps() and loads()"
        )
    if kind == "signed-pickle":
        if secret_key is None:
            raise InvalidValue("serializer='signed-pickle' needs a secret_key")
        return SignedPickleSerializer(secret_key)
    if secret_key is not None:
        raise InvalidValue(f"secret_key is only used by 'signed-pickle', not {kind!r}")
    plain: dict[str, Callable[[], Serializer]] = {
        "pickle": PickleSerializer,
        "json": JSONSerializer,
        "unsafe-pickle": UnsafePickleSerializer,
    }
    if kind not in plain:
        raise InvalidValue(f"unknown serializer {kind!r} ({_NAMES})")
    return plain[kind]()


# walrus's own value serializers: their dumps() returns bytes, unchecked
_BYTES_OUT = frozenset({PickleSerializer, UnsafePickleSerializer, JSONSerializer})

Dumps: TypeAlias = Callable[[str | bytes, Any], bytes]
Loads: TypeAlias = Callable[[str | bytes, bytes], Any]


def bind(serializer: Serializer) -> tuple[Dumps, Loads]:
    """``serializer`` as ``dumps(key, value)`` and ``loads(key, data)``, where
    ``key`` is the database key the value is stored under.

    Decided once, not on every value: a key-bound serializer gets the key as
    bytes; walrus's own value serializers are called as they are; another
    serializer's ``dumps()`` reply is checked to be bytes.
    """
    if isinstance(serializer, KeyBoundSerializer):
        bound = serializer
        return (
            lambda key, value: bound.dumps(value, key_bytes(key)),
            lambda key, data: bound.loads(data, key_bytes(key)),
        )
    dumps, loads = serializer.dumps, serializer.loads
    if type(serializer) in _BYTES_OUT:
        return (lambda key, value: dumps(value)), (lambda key, data: loads(data))

    def checked(key: str | bytes, value: Any) -> bytes:
        data = dumps(value)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise SerializationError(
                f"{type(serializer).__name__}.dumps() returned "
                f"{type(data).__name__}, not bytes"
            )
        return bytes(data)

    return checked, (lambda key, data: loads(data))
