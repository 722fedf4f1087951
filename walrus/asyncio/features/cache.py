"""Async twin of :mod:`walrus.features.cache`, generated from ``walrus/features/cache.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import AsyncIterator
import functools
import pickle
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic
from walrus.exceptions import InvalidCacheKey, InvalidValue
from walrus.serializers import (
    JSONSerializer,
    KeyBoundSerializer,
    PickleSerializer,
    SecretKeys,
    Serializer,
    SignedPickleSerializer,
    UnsafePickleSerializer,
    ValueSerializer,
    bind,
    make_serializer,
)

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.cache import (
    CacheMetrics,
    FLUSH_BATCH,
    KeyFunction,
    P,
    R,
    RedisKey,
    default_key,
)

__all__ = [
    "Cache",
    "CacheMetrics",
    "JSONSerializer",
    "KeyBoundSerializer",
    "PickleSerializer",
    "SecretKeys",
    "Serializer",
    "SignedPickleSerializer",
    "UnsafePickleSerializer",
    "ValueSerializer",
    "default_key",
]


class Cache:
    """A cache of values under ``<name>:<key>`` (``{<name>}:<key>`` on a
    cluster); ``timeout`` values are seconds.

    ``serializer`` is a name (``"pickle"``, ``"json"``, ``"signed-pickle"``
    with ``secret_key``, ``"unsafe-pickle"``) or an object; see
    :mod:`walrus.serializers`. ``debug=True`` turns the cache off: reads
    miss, writes do nothing.
    """

    def __init__(
        self,
        database: Driver,
        name: str = "cache",
        default_timeout: float | None = None,
        debug: bool = False,
        serializer: str | Serializer = "pickle",
        secret_key: SecretKeys | None = None,
    ) -> None:
        self.database = database
        self.name = name
        self.default_timeout = default_timeout
        self._expiry_ms(None)
        self.debug = debug
        self.serializer: Serializer = make_serializer(serializer, secret_key)
        self._encode, self._decode = bind(self.serializer)
        self._as_bytes = database.bytes_replies
        self._keys = database.keyspace.group(name)
        self._prefix = self._keys.key("")

    def make_key(self, key: str | bytes) -> RedisKey:
        """The Redis key of the cache key ``key``: text, or bytes for a
        ``bytes`` key that is not UTF-8 (stored as given)."""
        if type(key) is str:
            return self._prefix + key
        if isinstance(key, bytes):
            try:
                key.decode("utf-8")
            except UnicodeDecodeError:
                return self._prefix.encode("utf-8", "surrogateescape") + key
        elif not isinstance(key, str):
            raise InvalidCacheKey(f"cache keys are str or bytes, not {key!r}")
        return self._keys.key(key)

    def _expiry_ms(self, timeout: float | None) -> int | None:
        timeout = timeout or self.default_timeout
        if not timeout:
            return None
        if type(timeout) is int and timeout > 0:
            return timeout * 1000
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise InvalidValue(f"a cache timeout is a number of seconds: {timeout!r}")
        if timeout < 0:
            raise InvalidValue(f"a cache timeout cannot be negative: {timeout!r}")
        return max(1, round(timeout * 1000))

    async def get(self, key: str | bytes, default: Any = None) -> Any:
        """The value cached for ``key``, or ``default``. O(1); one round trip."""
        redis_key = self.make_key(key)
        if self.debug:
            return default
        data = await self.database.execute_command("GET", redis_key, **self._as_bytes)
        return default if data is None else self._decode(redis_key, data)

    async def set(
        self, key: str | bytes, value: Any, timeout: float | None = None
    ) -> bool:
        """Cache ``value`` for ``timeout`` seconds (default: ``default_timeout``).

        O(1); one round trip.
        """
        return await self._store(self.make_key(key), value, timeout)

    async def _store(
        self, redis_key: RedisKey, value: Any, timeout: float | None
    ) -> bool:
        data = self._encode(redis_key, value)
        px = self._expiry_ms(timeout)
        if self.debug:
            return True
        expiry = () if px is None else ("PX", px)
        return bool(
            await self.database.execute_command("SET", redis_key, data, *expiry)
        )

    async def delete(self, key: str | bytes) -> int:
        """Remove ``key``; returns how many were removed. O(1); one round trip."""
        redis_key = self.make_key(key)
        return 0 if self.debug else await self.database.delete(redis_key)

    async def get_many(self, keys: Iterable[str | bytes]) -> dict[str | bytes, Any]:
        """The cached values of ``keys`` (misses left out). One round trip (MGET)."""
        keys = list(keys)
        redis_keys = [self.make_key(k) for k in keys]
        if self.debug or not keys:
            return {}
        values = await self.database.execute_command(
            "MGET", *redis_keys, **self._as_bytes
        )
        return {
            k: self._decode(redis_key, v)
            for k, redis_key, v in zip(keys, redis_keys, values, strict=True)
            if v is not None
        }

    async def set_many(
        self,
        __data: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> bool:
        """Cache every pair of ``__data`` and ``kwargs``, atomically.

        One round trip: MSET, or SET ... PX for each in one MULTI/EXEC.
        Every value is serialized first: an unserializable one writes nothing.
        """
        items = {**(__data or {}), **kwargs}
        pairs = []
        for k, v in items.items():
            redis_key = self.make_key(k)
            pairs.append((redis_key, self._encode(redis_key, v)))
        px = self._expiry_ms(timeout)
        if self.debug or not pairs:
            return True
        if px is None:
            return bool(await self.database.execute_command("MSET", *sum(pairs, ())))
        pipe = self.database.pipeline(transaction=True)
        for redis_key, data in pairs:
            pipe.set(redis_key, data, px=px)
        return all(await pipe.execute())

    async def delete_many(self, keys: Iterable[str | bytes]) -> int:
        """Remove ``keys``; returns how many were removed. One round trip (DEL)."""
        redis_keys = [self.make_key(k) for k in keys]
        if self.debug or not redis_keys:
            return 0
        return await self.database.delete(*redis_keys)

    def _scan(self) -> AsyncIterator[bytes]:
        """The Redis keys of the cache, as bytes (never decoded: a key that
        is not UTF-8 is listed too); SCAN on every primary of a cluster."""
        prefix = self._prefix
        pattern = "".join(("\\" + c if c in "*?[]\\" else c for c in prefix)) + "*"
        return self.database.scan_iter(
            match=pattern, count=FLUSH_BATCH, **self._as_bytes
        )

    async def keys(self, strip_prefix: bool = False) -> list[str | bytes]:
        """The Redis keys of the cached values (``<name>:<key>``, on a cluster
        ``{<name>}:<key>``), or with ``strip_prefix=True`` the cache keys
        alone, as in walrus 0.9: text in both reply modes, bytes for a key
        that is not UTF-8. SCAN, 1,000 keys per round trip (per primary on a
        cluster)."""
        prefix = self._prefix.encode("utf-8", "surrogateescape")
        cut = len(prefix) if strip_prefix else 0
        found: list[str | bytes] = []
        async for key in self._scan():
            name = key[cut:]
            try:
                found.append(name.decode("utf-8"))
            except UnicodeDecodeError:
                found.append(name)
        return found

    async def flush(self) -> int:
        """Remove every cached value; returns how many.

        SCAN (never KEYS; on every primary of a cluster) and one DEL per
        1,000 keys.
        """
        removed = 0
        batch: list[Any] = []
        async for key in self._scan():
            batch.append(key)
            if len(batch) == FLUSH_BATCH:
                removed += await self.database.delete(*batch)
                batch.clear()
        if batch:
            removed += await self.database.delete(*batch)
        return removed

    def cached(
        self,
        key_fn: KeyFunction = default_key,
        timeout: float | None = None,
        metrics: bool = False,
    ) -> Callable[[Callable[P, R]], CachedFunction[P, R]]:
        """Memoize a function by its arguments (``key_fn(args, kwargs)``).

        Results, ``None`` included, are cached for ``timeout`` seconds. A hit
        is one round trip (GET); a miss adds the call and one SET. The
        function gains ``bust(*args, **kwargs)`` and ``metrics``.
        """
        self._expiry_ms(timeout)

        def decorator(fn: Callable[P, R]) -> CachedFunction[P, R]:
            return CachedFunction(self, fn, key_fn, timeout, metrics)

        return decorator

    def cached_property(
        self, key_fn: KeyFunction = default_key, timeout: float | None = None
    ) -> Callable[[Callable[[Any], R]], CachedProperty[R]]:
        """A read-only property whose value is cached per instance (see ``cached``)."""
        cached = self.cached(key_fn, timeout)

        def decorator(fn: Callable[[Any], R]) -> CachedProperty[R]:
            return CachedProperty(cached(fn))

        return decorator

    def __repr__(self) -> str:
        return f"<Cache {self.name!r}>"


class CachedFunction(Generic[P, R]):
    """A function memoized by :meth:`Cache.cached`."""

    def __init__(
        self,
        cache: Cache,
        fn: Callable[P, R],
        key_fn: KeyFunction,
        timeout: float | None,
        metrics: bool,
    ) -> None:
        functools.update_wrapper(self, fn)
        self.cache = cache
        self.fn = fn
        self.key_fn = key_fn
        self.timeout = timeout
        self.count_metrics = metrics
        self.metrics = CacheMetrics()
        self._name = f"{fn.__module__}.{fn.__qualname__}"
        self._head = f"{self._name}:"

    def key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key of a call with these arguments."""
        return self._key(args, kwargs)

    def _key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        digest = self.key_fn(args, kwargs)
        if type(digest) is str:
            return self._head + digest
        return self.cache.database.keyspace(self._name, digest)

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        cache = self.cache
        if cache.debug:
            return await self.fn(*args, **kwargs)
        redis_key = cache.make_key(self._key(args, kwargs))
        data = await cache.database.execute_command("GET", redis_key, **cache._as_bytes)
        if self.count_metrics:
            self.metrics.record(data is not None)
        if data is not None:
            result: R = cache._decode(redis_key, data)
            return result
        result = await self.fn(*args, **kwargs)
        await cache._store(redis_key, result, self.timeout)
        return result

    async def bust(self, *args: Any, **kwargs: Any) -> int:
        """Forget the cached result of a call with these arguments. One round trip."""
        return await self.cache.delete(self.key(*args, **kwargs))

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self, instance)


class CachedProperty(Generic[R]):
    """A read-only property computed by a cached function of the instance."""

    def __init__(self, fn: CachedFunction[Any, R]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    async def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return await self.fn(instance)

    async def bust(self, instance: Any) -> int:
        """Forget ``instance``'s cached value. One round trip."""
        return await self.fn.bust(instance)
