"""Async twin of :mod:`walrus.features.models.model`, generated from ``walrus/features/models/model.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar
from walrus.exceptions import (
    DuplicateKey,
    InvalidType,
    InvalidValue,
    MissingKey,
    ModelNotBound,
    WriteConflict,
)
from walrus.features.models.expressions import Compiler, Expression, Ordering, Result
from walrus.features.models.fields import (
    AutoIncrementField,
    ContainerField,
    Field,
    FloatField,
    IntegerField,
    TextField,
    UUIDField,
)
from walrus.features.models.layout import KeysOfModel, ModelKeys
from walrus.features.models.writes import MARK
from walrus.asyncio.features.models.writes import WritePlan
from walrus.features.models.model import BATCH, ModelMeta, RETRIES, _bytes

__all__ = ["Model", "ModelMeta"]


class Model(metaclass=ModelMeta):
    """A collection of rows with typed fields, indexes and queries."""

    __database__: ClassVar[Any] = None
    __namespace__: ClassVar[str | None] = None
    index_separator: ClassVar[str] = "."
    _fields: ClassVar[dict[str, Field[Any]]]
    _containers: ClassVar[dict[str, ContainerField[Any]]]
    _primary_key: ClassVar[Field[Any]]
    _row_fields: ClassVar[list[tuple[str, bytes, Callable[[bytes], Any]]]]
    _built_keys: ClassVar[tuple[Any, tuple[str | None, str], ModelKeys]]
    _query: ClassVar[KeysOfModel] = KeysOfModel()

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        for name in kwargs:
            if name in cls._containers:
                raise InvalidType(
                    f"{name} is a container field of {cls.__name__}: it takes no value; fill it after the row is saved"
                )
            if name not in cls._fields:
                raise InvalidType(f"{cls.__name__} has no field {name!r}")
        self._data: dict[str, Any] = {}
        for name, f in cls._fields.items():
            f.__set__(self, kwargs[name] if name in kwargs else f.default())

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.get_id()}>"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self._data == other.__dict__["_data"])

    def __hash__(self) -> int:
        return hash((type(self), self.get_id()))

    def get_id(self) -> Any:
        """The primary key's value (None before the first save of an auto id)."""
        return self._data.get(type(self)._primary_key.name)

    @classmethod
    def _database(cls) -> Any:
        db = cls.__database__
        if db is None:
            raise ModelNotBound(
                f"{cls.__name__}.__database__ is not set: give the model a database"
            )
        return db

    @classmethod
    def _keys(cls) -> ModelKeys:
        """The model's key names on its database (built once per database,
        namespace and separator)."""
        db = cls._database()
        shape = (cls.__namespace__, cls.index_separator)
        built = cls.__dict__.get("_built_keys")
        if built is None or built[0] is not db or built[1] != shape:
            keys = ModelKeys.build(
                db, cls.__namespace__, cls.__name__.lower(), cls.index_separator
            )
            built = (db, shape, keys)
            cls._built_keys = built
        return built[2]

    def _row_key(self, keys: ModelKeys) -> bytes:
        pk = self.get_id()
        if pk is None:
            raise InvalidValue(f"this {type(self).__name__} has no primary key yet")
        return keys.row(type(self)._primary_key.to_db(pk))

    def _container_key(self, name: str) -> str:
        keys = type(self)._keys()
        return keys.container(name, self._row_key(keys)).decode("utf-8")

    def to_hash(self) -> Any:
        """The row's hash, as a walrus ``Hash``."""
        keys = type(self)._keys()
        return type(self)._database().Hash(self._row_key(keys).decode("utf-8"))

    @classmethod
    def _from_row(cls, raw: dict[bytes, bytes]) -> Any:
        instance = cls.__new__(cls)
        instance._data = {
            name: None if (value := raw.get(stored)) is None else read(value)
            for name, stored, read in cls._row_fields
        }
        return instance

    @classmethod
    async def load(cls, primary_key: Any, convert_key: bool = True) -> Any:
        """The row with this primary key (KeyError if none). One round trip.

        With ``convert_key=False``, ``primary_key`` is the row's key itself.
        """
        if convert_key:
            key = cls._keys().row(cls._primary_key.to_db(primary_key))
        else:
            key = _bytes(primary_key)
        db = cls._database()
        raw = await db.execute_command("HGETALL", key, **db.bytes_replies)
        if not raw:
            raise MissingKey(f"no {cls.__name__} with primary key {primary_key!r}")
        return cls._from_row(raw)

    @classmethod
    async def count(cls) -> int:
        """The number of rows (SCARD). One round trip."""
        return int(await cls._database().scard(cls._keys().all))

    @classmethod
    async def all(cls) -> list[Any]:
        """Every row, in no particular order: one SORT ... GET, one round trip.

        A list, as :meth:`query` returns: the one reply holds every row anyway.
        A cluster accepts a GET pattern only with a hash tag before its ``*``,
        and the index's members are whole row keys (walrus 0.9's layout), so
        there the row keys are read (SMEMBERS) and the rows follow in one
        pipelined round trip per 1,000, as in :meth:`query`.
        """
        keys = cls._keys()
        db = cls._database()
        if db.keyspace.cluster:
            members = await db.execute_command("SMEMBERS", keys.all, **db.bytes_replies)
            return await cls._fetch(list(members))
        names = list(cls._fields)
        gets: list[bytes] = [b"GET", b"#"]
        for name in names:
            gets += [b"GET", b"*->" + name.encode()]
        reply = await db.execute_command(
            "SORT", keys.all, "BY", "nosort", *gets, **db.bytes_replies
        )
        width = len(names) + 1
        rows = []
        for at in range(0, len(reply), width):
            values = reply[at + 1 : at + width]
            raw = {
                n.encode(): v
                for n, v in zip(names, values, strict=True)
                if v is not None
            }
            if raw:
                rows.append(cls._from_row(raw))
        return rows

    @classmethod
    async def query(
        cls,
        expression: Expression | None = None,
        order_by: Field[Any] | Ordering | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Any]:
        """Rows matching ``expression``, ordered by ``order_by``, paged.

        The index work is one MULTI/EXEC whatever the expression; the rows
        follow in one pipelined round trip per 1,000. Without ``order_by``,
        full-text matches come best first, other rows in row-key order.
        """
        ids, python_order = await cls._select(expression, order_by, limit, offset)
        rows = await cls._fetch(ids)
        if python_order is None:
            return rows
        f, descending = python_order
        name = f.name
        keys = cls._keys()

        def tie(row: Any) -> bytes:
            return row._row_key(keys)

        with_values = [r for r in rows if r._data.get(name) is not None]
        without = [r for r in rows if r._data.get(name) is None]
        ordered = sorted(with_values, key=lambda r: (r._data[name], tie(r)))
        ordered += sorted(without, key=tie)
        if descending:
            ordered.reverse()
        end = None if limit is None else offset + limit
        return ordered[offset:end]

    @classmethod
    async def get(cls, expression: Expression) -> Any:
        """The one row matching ``expression`` (ValueError unless exactly one)."""
        found = await cls.query(expression, limit=2)
        if len(found) != 1:
            count = "2 or more" if found else "0"
            raise InvalidValue(f"Got {count} results, expected 1.")
        return found[0]

    @classmethod
    def _ordering(cls, order_by: Any) -> Ordering | None:
        if order_by is None:
            return None
        ordering = order_by if isinstance(order_by, Ordering) else None
        if ordering is None and isinstance(order_by, Field):
            ordering = Ordering(order_by)
        if ordering is None:
            raise InvalidType(
                f"order_by takes a field or field.desc(), not {type(order_by).__name__}"
            )
        cls._own_field(ordering.field)
        return ordering

    @classmethod
    def _own_field(cls, field: Field[Any] | str) -> Field[Any]:
        """``field`` (or the field of that name), if it is this model's."""
        f = cls._fields.get(field) if isinstance(field, str) else field
        if f is None or cls._fields.get(f.name) is not f:
            raise InvalidValue(f"{field!r} is not a field of {cls.__name__}")
        return f

    @classmethod
    async def _select(
        cls,
        expression: Expression | None,
        order_by: Any,
        limit: int | None,
        offset: int,
    ) -> tuple[list[Any], tuple[Field[Any], bool] | None]:
        """The row keys (one MULTI/EXEC) and, if Python must sort, by what."""
        for number, label in ((limit, "limit"), (offset, "offset")):
            if number is not None and (
                isinstance(number, bool) or not isinstance(number, int) or number < 0
            ):
                raise InvalidValue(f"{label} is a whole number >= 0, not {number!r}")
        ordering = cls._ordering(order_by)
        keys = cls._keys()
        compiler = Compiler(keys)
        if expression is None:
            root = Result(keys.all, True, False)
        else:
            if not isinstance(expression, Expression):
                raise InvalidType(
                    f"query() takes an expression, not {type(expression).__name__}"
                )
            for f in expression.fields():
                cls._own_field(f)
            root = compiler.compile(expression)
        db = cls._database()
        if limit == 0:
            return ([], None)
        stop = -1 if limit is None else offset + limit - 1
        python_order: tuple[Field[Any], bool] | None = None
        if ordering is not None and ordering.field.continuous and ordering.field.index:
            missing = compiler.store(
                "ZINTERSTORE", 2, root.key, keys.all, "WEIGHTS", 0, "inf"
            )
            valued = compiler.store(
                "ZINTERSTORE",
                2,
                root.key,
                keys.continuous(ordering.field.name),
                "WEIGHTS",
                0,
                1,
            )
            ordered = compiler.store(
                "ZUNIONSTORE", 2, missing, valued, "AGGREGATE", "MIN"
            )
            read: tuple[Any, ...] = (
                "ZREVRANGE" if ordering.descending else "ZRANGE",
                ordered,
                offset,
                stop,
            )
        elif ordering is not None or (limit is None and offset == 0):
            if ordering is not None:
                python_order = (ordering.field, ordering.descending)
            if root.is_set:
                read = ("SMEMBERS", root.key)
            else:
                read = ("ZREVRANGE" if root.scored else "ZRANGE", root.key, 0, -1)
        elif root.scored:
            read = ("ZREVRANGE", root.key, offset, stop)
        else:
            flat = compiler.store("ZUNIONSTORE", 1, root.key, "WEIGHTS", 0)
            read = ("ZRANGE", flat, offset, stop)
        pipe = db.pipeline(transaction=True)
        for command in compiler.commands:
            pipe.execute_command(*command)
        pipe.execute_command(*read)
        if compiler.temps:
            pipe.execute_command("DEL", *compiler.temps)
        replies = await pipe.execute()
        ids = list(replies[len(compiler.commands)])
        return (ids, python_order)

    @classmethod
    async def _fetch(cls, ids: list[Any]) -> list[Any]:
        """The rows of ``ids`` (in order; vanished rows skipped), 1,000 per
        pipelined round trip."""
        db = cls._database()
        rows: list[Any] = []
        as_bytes = db.bytes_replies
        for start in range(0, len(ids), BATCH):
            pipe = db.pipeline(transaction=False)
            for key in ids[start : start + BATCH]:
                pipe.execute_command("HGETALL", key, **as_bytes)
            rows += [cls._from_row(raw) for raw in await pipe.execute() if raw]
        return rows

    @classmethod
    async def create(cls, **kwargs: Any) -> Any:
        """A new row, saved; DuplicateKey if its primary key is taken.

        One round trip (a named atomic operation).
        """
        instance = cls(**kwargs)
        await instance._write(create=True)
        return instance

    async def save(self, _is_create: bool = False) -> None:
        """Store the row and update every index, atomically. One round trip
        (two with full-text fields: their old text is read first)."""
        await self._write(create=_is_create)

    @classmethod
    def _fts_fields(cls) -> list[TextField]:
        return [f for f in cls._fields.values() if isinstance(f, TextField) and f.fts]

    @classmethod
    async def _old_texts(cls, rows: list[bytes]) -> list[list[bytes | None]]:
        """The stored full-text values of ``rows``: one pipelined round trip,
        none for a model without full-text fields."""
        names = [f.name for f in cls._fts_fields()]
        if not names:
            return [[] for _ in rows]
        db = cls._database()
        pipe, as_bytes = (db.pipeline(transaction=False), db.bytes_replies)
        for row in rows:
            pipe.execute_command("HMGET", row, *names, **as_bytes)
        return [list(values) for values in await pipe.execute()]

    @classmethod
    def _unindex(
        cls, plan: WritePlan, keys: ModelKeys, old_texts: list[bytes | None]
    ) -> None:
        """Add to ``plan`` the removal of the stored row's index entries."""
        for name, f in cls._fields.items():
            if f.index and f.absolute:
                plan.unindex.append(name.encode())
            if f.index and f.continuous:
                plan.zrem.append(keys.continuous(name))
        for f, old in zip(cls._fts_fields(), old_texts, strict=True):
            plan.checks.append((f.name.encode(), b"!" if old is None else b"=" + old))
            if old is not None:
                text = old.decode("utf-8", "surrogateescape")
                for term in dict.fromkeys(f.tokenizer.tokenize(text)):
                    plan.zrem.append(keys.fts(f.name, term))

    def _plan(self, keys: ModelKeys, create: bool) -> WritePlan:
        cls = type(self)
        pk_field = cls._primary_key
        pk = self.get_id()
        mode = "create" if create else "save"
        if pk is None:
            if isinstance(pk_field, AutoIncrementField):
                mode = "auto"
            elif isinstance(pk_field, UUIDField):
                pk = uuid.uuid4()
                self._data[pk_field.name] = pk
            else:
                raise InvalidValue(f"{pk_field!r} (the primary key) needs a value")
        auto = mode == "auto"
        plan = WritePlan(mode, keys.row(MARK if auto else pk_field.to_db(pk)))
        for name, f in cls._fields.items():
            value = self._data.get(name)
            if auto and f is pk_field:
                stored, score = (MARK, MARK)
            elif value is None:
                continue
            else:
                stored = f.to_db(value)
                score = repr(f.score(value)).encode() if f.continuous else b""
            plan.fields.append((name.encode(), stored))
            if f.index and f.absolute:
                plan.sadd.append(keys.absolute(name, stored))
            if f.index and f.continuous:
                plan.zadd.append((keys.continuous(name), score))
            if isinstance(f, TextField) and f.fts and (value is not None):
                for term, count in Counter(f.tokenizer.tokenize(value)).items():
                    plan.zadd.append((keys.fts(name, term), str(count).encode()))
        return plan

    async def _write(self, create: bool) -> None:
        cls = type(self)
        db = cls._database()
        keys = cls._keys()
        for _ in range(RETRIES):
            plan = self._plan(keys, create)
            if plan.mode == "save":
                cls._unindex(plan, keys, (await cls._old_texts([plan.row]))[0])
            status = _bytes(
                await plan.run(db, keys, keys.sequence(cls._primary_key.name))
            )
            if status == b"conflict":
                continue
            if status == b"exists":
                raise DuplicateKey(
                    f"a {cls.__name__} with primary key {self.get_id()!r} exists"
                )
            if plan.mode == "auto":
                self._data[cls._primary_key.name] = int(status)
            return
        raise WriteConflict(f"{self!r} kept changing while being saved")

    @classmethod
    def _delete_plan(
        cls, keys: ModelKeys, row: bytes, old_texts: list[bytes | None]
    ) -> WritePlan:
        plan = WritePlan("delete", row)
        cls._unindex(plan, keys, old_texts)
        plan.delete = [keys.container(name, row) for name in cls._containers]
        return plan

    async def delete(self, for_update: bool = False) -> None:
        """Remove the row, its index entries and its containers, atomically.

        One round trip (two with full-text fields)."""
        cls = type(self)
        keys = cls._keys()
        row = self._row_key(keys)
        for _ in range(RETRIES):
            plan = cls._delete_plan(keys, row, (await cls._old_texts([row]))[0])
            if _bytes(await plan.run(cls._database(), keys)) != b"conflict":
                return
        raise WriteConflict(f"{self!r} kept changing while being deleted")

    @classmethod
    async def query_delete(cls, expression: Expression | None = None) -> int:
        """Delete every row matching ``expression`` (all rows if None); the
        number deleted. The query, then one pipeline of atomic deletes."""
        ids, _ = await cls._select(expression, None, None, 0)
        rows = [_bytes(i) for i in ids]
        if not rows:
            return 0
        keys = cls._keys()
        db = cls._database()
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            olds = await cls._old_texts(batch)
            pipe = db.pipeline(transaction=False)
            for row, old in zip(batch, olds, strict=True):
                await cls._delete_plan(keys, row, old).run(db, keys, client=pipe)
            for row, reply in zip(batch, await pipe.execute(), strict=True):
                if _bytes(reply) == b"conflict":
                    raw = await db.execute_command("HGETALL", row, **db.bytes_replies)
                    if raw:
                        cls._from_row(raw).delete()
        return len(rows)

    async def incr(self, field: Field[Any] | str, incr_by: int | float = 1) -> Any:
        """Add ``incr_by`` to a number field, in the row and its indexes,
        atomically; the new value. One round trip."""
        cls = type(self)
        f = cls._own_field(field)
        if not isinstance(f, IntegerField | FloatField) or f is cls._primary_key:
            raise InvalidType(f"incr() takes a number field that is not the key: {f!r}")
        if isinstance(f, IntegerField):
            if isinstance(incr_by, bool) or not isinstance(incr_by, int):
                raise InvalidType(f"{f.name} is incremented by an int, not {incr_by!r}")
            amount, kind = (str(incr_by).encode(), b"int")
        else:
            amount, kind = (f.to_db(incr_by), b"float")
        keys = cls._keys()
        row = self._row_key(keys)
        script_keys = [row, keys.absolute_prefix(f.name)]
        if f.index and f.continuous:
            script_keys.append(keys.continuous(f.name))
        indexed = b"1" if f.index else b"0"
        reply = await cls._database().scripts.run(
            "model_incr", script_keys, [f.name.encode(), amount, kind, indexed]
        )
        if reply is None:
            raise MissingKey(f"{self!r} is not stored (deleted?)")
        value = f.from_db(_bytes(reply))
        self._data[f.name] = value
        return value
