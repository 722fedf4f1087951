"""Model fields: typed descriptors that convert values to stored text and back.

A field on a model class is a :class:`Field` (its comparisons build query
expressions); on an instance it is the value. Each field converts its values
to the bytes stored in the row's hash (``to_db``) and back (``from_db``),
rejecting values of the wrong type before anything is written. Scalar fields
(numbers, dates, datetimes) also give a numeric *score* for their range
index.

Stored forms (walrus 0.9's where it had one): integers and floats as decimal
text (floats in their shortest round-tripping form), booleans ``1``/``0``,
UUIDs as 32 hex digits, dates as ``YYYY-MM-DD``, JSON as ``json.dumps`` text
with sorted keys, datetimes as POSIX seconds with exactly six decimals, plus
the UTC offset for aware ones (``1700000000.123456+05:30``). A naive datetime
is local time, as :meth:`datetime.datetime.timestamp` treats it; an aware
one comes back with the same instant and UTC offset.
"""

from __future__ import annotations

import datetime
import json
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from walrus.exceptions import InvalidType, InvalidValue
from walrus.features.containers import Hash, List, Set, ZSet
from walrus.features.models.expressions import (
    Compare,
    Expression,
    Match,
    Ordering,
    Search,
)
from walrus.serializers import SecretKeys, Serializer, bind, make_serializer

if TYPE_CHECKING:
    from typing import Self

    from walrus.features.models.model import Model
    from walrus.features.text.tokenizer import Tokenizer

__all__ = [
    "AutoIncrementField",
    "BooleanField",
    "ByteField",
    "ContainerField",
    "DateField",
    "DateTimeField",
    "Field",
    "FloatField",
    "HashField",
    "IntegerField",
    "JSONField",
    "ListField",
    "PickledField",
    "SetField",
    "TextField",
    "UUIDField",
    "ZSetField",
    "float_text",
]

T = TypeVar("T")
C = TypeVar("C")


def float_text(value: float) -> str:
    """The shortest ``%g`` text that reads back as ``value`` (Lua computes the
    same for ``incr``)."""
    for digits in range(1, 18):
        text = f"{value:.{digits}g}"
        if float(text) == value:
            return text
    return f"{value:.17g}"


class _Attribute(ABC, Generic[T]):
    """What fields and container fields share: named by the model class they
    are declared on, themselves on the class, a ``T`` on a row."""

    def __init__(self) -> None:
        self.name = ""
        self.model: type[Model] | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> Self | T:
        if instance is None:
            return self
        return self._value(instance)

    @abstractmethod
    def _value(self, instance: Any) -> T:
        """The value on the row ``instance``."""

    def __repr__(self) -> str:
        owner = self.model.__name__ if self.model else "?"
        return f"<{type(self).__name__} {owner}.{self.name}>"


class Field(_Attribute[T]):
    """A value stored in the row's hash; ``index=True`` makes it filterable.

    The base class stores text: any value is stored as ``str(value)`` and
    read back as ``str``.
    """

    absolute = True  # an equality index when indexed
    continuous = False  # a range index (sorted set) when indexed
    can_be_primary_key = True

    def __init__(
        self,
        index: bool = False,
        primary_key: bool = False,
        default: T | Callable[[], T] | None = None,
    ) -> None:
        super().__init__()
        self.index = bool(index) or bool(primary_key)
        self.primary_key = bool(primary_key)
        self._default = default

    def _value(self, instance: Any) -> T:
        value: T = instance.__dict__.get("_data", {}).get(self.name)
        return value

    def __set__(self, instance: object, value: T | None) -> None:
        if value is not None:
            self.to_db(value)  # type check now, not at save()
        instance.__dict__.setdefault("_data", {})[self.name] = value

    def default(self) -> T | None:
        """The default value (called if it is callable)."""
        default = self._default
        if callable(default):
            return default()
        return default

    # -- conversion ------------------------------------------------------------
    def to_db(self, value: Any) -> bytes:
        """The bytes stored for ``value`` (InvalidType if it cannot be)."""
        if isinstance(value, bytes):
            return value
        return str(value).encode("utf-8")

    def from_db(self, raw: bytes) -> T:
        """The value the stored bytes ``raw`` stand for."""
        return raw.decode("utf-8", "surrogateescape")  # type: ignore[return-value]

    def score(self, value: Any) -> float:
        """The range-index score of ``value`` (scalar fields only)."""
        raise InvalidValue(f"{self!r} has no range index")

    def _type_error(self, value: Any, expected: str) -> InvalidType:
        return InvalidType(
            f"{self.name or type(self).__name__} takes {expected}, "
            f"not {type(value).__name__} {value!r:.60}"
        )

    # -- expressions (on the class) ----------------------------------------------
    def __eq__(self, other: object) -> Expression:  # type: ignore[override]
        return Compare(self, "eq", other)

    def __ne__(self, other: object) -> Expression:  # type: ignore[override]
        return Compare(self, "ne", other)

    def __lt__(self, other: Any) -> Expression:
        return Compare(self, "lt", other)

    def __le__(self, other: Any) -> Expression:
        return Compare(self, "le", other)

    def __gt__(self, other: Any) -> Expression:
        return Compare(self, "gt", other)

    def __ge__(self, other: Any) -> Expression:
        return Compare(self, "ge", other)

    __hash__ = object.__hash__

    def between(self, low: Any, high: Any) -> Expression:
        """Rows whose value is in ``[low, high]`` (both included)."""
        return Compare(self, "between", (low, high))

    def desc(self) -> Ordering:
        """Order by this field, largest first (``query(order_by=f.desc())``)."""
        return Ordering(self, True)

    def asc(self) -> Ordering:
        """Order by this field, smallest first."""
        return Ordering(self, False)


class TextField(Field[str]):
    """Unicode text, stored as UTF-8; ``fts=True`` adds a full-text index."""

    def __init__(
        self,
        fts: bool = False,
        stemmer: bool = True,
        metaphone: bool = False,
        stopwords_file: str | None = None,
        min_word_length: int | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fts = bool(fts)
        self.index = self.index or self.fts  # as in walrus 0.9: fts implies index
        self._tokenizer_options: dict[str, Any] = {
            "stemmer": stemmer,
            "metaphone": metaphone,
            "min_word_length": min_word_length,
        }
        if stopwords_file is not None:
            self._tokenizer_options["stopwords_file"] = stopwords_file
        self._tokenizer: Tokenizer | None = None
        if self.fts:
            self.tokenizer  # noqa: B018 -- bad tokenizer options fail at class creation

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer of this field's full-text index."""
        if self._tokenizer is None:
            from walrus.features.text.tokenizer import Tokenizer

            self._tokenizer = Tokenizer(**self._tokenizer_options)
        return self._tokenizer

    def to_db(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise self._type_error(value, "str")
        return value.encode("utf-8", "surrogateescape")

    def match(self, term: str) -> Expression:
        """Rows whose text has every word of ``term`` (full-text index)."""
        return Match(self, term)

    def search(self, query: str, default_conjunction: str = "and") -> Expression:
        """Rows matching a search query: words, ``"phrases"``, AND, OR, ();
        an unclosed quote or parenthesis closes at the end, and a blank query
        matches every row (walrus 0.9)."""
        return Search(self, query, default_conjunction)


class IntegerField(Field[int]):
    """Whole numbers; indexed for equality and ranges."""

    continuous = True

    def to_db(self, value: Any) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._type_error(value, "int")
        return str(value).encode()

    def from_db(self, raw: bytes) -> int:
        try:
            return int(raw)
        except ValueError:
            return int(float(raw))  # walrus 0.9 wrote some as floats

    def score(self, value: Any) -> float:
        self.to_db(value)
        return float(value)


class AutoIncrementField(IntegerField):
    """An integer primary key taken from a counter when a row is first saved."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("primary_key", True)
        super().__init__(*args, **kwargs)


class FloatField(Field[float]):
    """Floating-point numbers (finite); indexed for equality and ranges."""

    continuous = True

    def to_db(self, value: Any) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._type_error(value, "float")
        number = float(value) + 0.0  # -0.0 is stored (and indexed) as 0
        if not math.isfinite(number):
            raise InvalidValue(f"{self.name} takes finite numbers, not {value!r}")
        return float_text(number).encode()

    def from_db(self, raw: bytes) -> float:
        return float(raw)

    def score(self, value: Any) -> float:
        return float(self.to_db(value))


class ByteField(Field[bytes]):
    """Arbitrary bytes, stored as they are; ``str`` is stored as UTF-8 (as in
    walrus 0.9) and read back as bytes."""

    can_be_primary_key = False

    def __set__(self, instance: object, value: bytes | str | None) -> None:
        super().__set__(instance, None if value is None else self.to_db(value))

    def to_db(self, value: Any) -> bytes:
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        if not isinstance(value, bytes | bytearray | memoryview):
            raise self._type_error(value, "bytes or str")
        return bytes(value)

    def from_db(self, raw: bytes) -> bytes:
        return raw


class BooleanField(Field[bool]):
    """True or False, stored as ``1`` or ``0``."""

    can_be_primary_key = False

    def to_db(self, value: Any) -> bytes:
        if not isinstance(value, bool):
            raise self._type_error(value, "bool")
        return b"1" if value else b"0"

    def from_db(self, raw: bytes) -> bool:
        return raw not in (b"0", b"", b"False", b"false")


class UUIDField(Field[uuid.UUID]):
    """UUIDs, stored as 32 hex digits; as a primary key, a new uuid4 is made
    for a row saved without one."""

    def to_db(self, value: Any) -> bytes:
        if not isinstance(value, uuid.UUID):
            raise self._type_error(value, "uuid.UUID")
        return value.hex.encode()

    def from_db(self, raw: bytes) -> uuid.UUID:
        return uuid.UUID(raw.decode())


_EPOCH_DAY = datetime.date(1970, 1, 1).toordinal()


class DateTimeField(Field[datetime.datetime]):
    """Datetimes to the microsecond; naive ones are local time."""

    continuous = True

    def to_db(self, value: Any) -> bytes:
        if not isinstance(value, datetime.datetime):
            raise self._type_error(value, "datetime.datetime")
        seconds = math.floor(value.replace(microsecond=0).timestamp())
        text = f"{seconds}.{value.microsecond:06d}"
        offset = value.utcoffset()
        if offset is not None:
            total = int(offset.total_seconds())
            sign = "-" if total < 0 else "+"
            hours, rest = divmod(abs(total), 3600)
            minutes, secs = divmod(rest, 60)
            text += f"{sign}{hours:02d}:{minutes:02d}" + (
                f":{secs:02d}" if secs else ""
            )
        return text.encode()

    def from_db(self, raw: bytes) -> datetime.datetime:
        text = raw.decode()
        cut = max(text.rfind("+"), text.rfind("-"))
        zone: datetime.tzinfo | None = None
        if cut > 0:
            sign = -1 if text[cut] == "-" else 1
            parts = [int(p) for p in text[cut + 1 :].split(":")]
            parts += [0] * (3 - len(parts))
            zone = datetime.timezone(
                sign
                * datetime.timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])
            )
            text = text[:cut]
        whole, _, fraction = text.partition(".")
        if len(fraction) == 6:
            seconds, micro = int(whole), int(fraction)
        else:  # walrus 0.9's float seconds
            seconds, micro = divmod(round(float(text) * 1_000_000), 1_000_000)
        if zone is None:
            return datetime.datetime.fromtimestamp(seconds).replace(microsecond=micro)
        moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
        return moment.replace(microsecond=micro).astimezone(zone)

    def score(self, value: Any) -> float:
        whole, _, rest = self.to_db(value).decode().partition(".")
        return int(whole) + int(rest[:6]) / 1e6


class DateField(Field[datetime.date]):
    """Dates, stored as ``YYYY-MM-DD``; the range score is days since 1970."""

    continuous = True

    def to_db(self, value: Any) -> bytes:
        if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
            raise self._type_error(value, "datetime.date")
        return value.isoformat().encode()

    def from_db(self, raw: bytes) -> datetime.date:
        text = raw.decode()
        if "-" in text[1:]:
            return datetime.date.fromisoformat(text)
        return datetime.datetime.fromtimestamp(float(text)).date()  # walrus 0.9

    def score(self, value: Any) -> float:
        self.to_db(value)
        return float(value.toordinal() - _EPOCH_DAY)


class JSONField(Field[Any]):
    """Any JSON-serializable value (``json.dumps`` with sorted keys)."""

    can_be_primary_key = False

    def to_db(self, value: Any) -> bytes:
        try:
            return json.dumps(value, sort_keys=True, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidType(f"{self.name} takes JSON data: {exc}") from exc

    def from_db(self, raw: bytes) -> Any:
        return json.loads(raw)


class PickledField(Field[Any]):
    """A Python value, pickled (walrus 0.9's field), safe by default.

    ``serializer`` and ``secret_key`` are the cache's (see
    :mod:`walrus.serializers`): ``"pickle"`` (the default) stores plain data
    and reads it back without running code; ``"signed-pickle"`` stores any
    object, signed and bound to this model and field (a value copied from
    another field, model or cache is refused; a copy between two rows of
    this field is not detected); ``"unsafe-pickle"`` unpickles whatever is
    stored. A stored value that cannot be read raises ``SerializationError``.
    """

    can_be_primary_key = False

    def __init__(
        self,
        *args: Any,
        serializer: str | Serializer = "pickle",
        secret_key: SecretKeys | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.serializer = make_serializer(serializer, secret_key)
        self._dumps, self._loads = bind(self.serializer)

    def _binding(self) -> bytes:
        """What a signed value is bound to: the model and this field."""
        model = self.model
        owner = f"{model.__namespace__ or ''}:{model.__name__.lower()}" if model else ""
        return f"walrus-model:{owner}:{self.name}".encode()

    def to_db(self, value: Any) -> bytes:
        return self._dumps(self._binding(), value)

    def from_db(self, raw: bytes) -> Any:
        return self._loads(self._binding(), raw)


class ContainerField(_Attribute[C]):
    """A Redis container owned by a row (``container.<field>.<row key>``).

    Not stored in the row's hash, not indexable, no default; the row needs a
    primary key before the container can be used. Assigning to it is an error.
    """

    container_class: str = ""

    def _value(self, instance: Any) -> C:
        key = instance._container_key(self.name)
        factory = getattr(type(instance)._database(), self.container_class)
        container: C = factory(key)
        return container

    def __set__(self, instance: object, value: Any) -> None:
        raise InvalidType(
            f"{self.name} is a container field: change its contents "
            f"(e.g. instance.{self.name}.add(...)) instead of assigning it"
        )


class HashField(ContainerField[Hash]):
    """A Redis hash owned by the row."""

    container_class = "Hash"


class ListField(ContainerField[List]):
    """A Redis list owned by the row."""

    container_class = "List"


class SetField(ContainerField[Set]):
    """A Redis set owned by the row."""

    container_class = "Set"


class ZSetField(ContainerField[ZSet]):
    """A Redis sorted set owned by the row."""

    container_class = "ZSet"
