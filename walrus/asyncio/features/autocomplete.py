"""Async twin of :mod:`walrus.features.autocomplete`, generated from ``walrus/features/autocomplete.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
import hashlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast
from walrus.exceptions import InvalidValue, MissingKey
from walrus.features.text.words import DEFAULT_STOPWORDS, load_stopwords, words

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.autocomplete import (
    BATCH,
    Id,
    SEP,
    _check_multiplier,
    _glob_escape,
    _text,
    title_scores,
)

__all__ = ["Autocomplete", "AutocompleteFactories"]


class Autocomplete:
    """Prefix search over stored titles, returning each hit's stored data.

    Caps (class attributes; set them on an index or on the class): a title
    or a search phrase longer than ``max_phrase_length`` characters raises
    InvalidValue; only a word's first ``max_word_length`` characters are
    indexed (its prefixes up to that length), and a longer search word
    matches on those characters. Storing a title costs O(its length times
    ``max_word_length``) at most, however long its words.
    """

    max_phrase_length = 10000
    max_word_length = 64

    def _capped_words(self, text: str, what: str) -> list[str]:
        """``text``'s folded words, each cut to ``max_word_length`` characters."""
        if len(text) > self.max_phrase_length:
            raise InvalidValue(
                f"{what} is {len(text)} characters long; the limit is {self.max_phrase_length} (Autocomplete.max_phrase_length)"
            )
        return [word[: self.max_word_length] for word in words(text)]

    def __init__(
        self,
        database: Driver,
        namespace: str = "walrus",
        cache_timeout: int = 600,
        stopwords_file: str | os.PathLike[str] | None = DEFAULT_STOPWORDS,
        use_json: bool = True,
    ) -> None:
        self.database = database
        self.namespace = namespace
        self.cache_timeout = cache_timeout
        self.use_json = use_json
        self.stopwords = load_stopwords(stopwords_file)
        group = database.keyspace.group(namespace)
        self._group = group
        self._index_keys = [group.key(n) for n in ("d", "t", "w", "b", "c")]
        self._prefix_base = group.key("s", "")

    @staticmethod
    def object_key(obj_id: Id, obj_type: Id | None = None) -> str:
        """The member naming an object: ``"<id>\\x01<type>"``."""
        kind = "" if obj_type is None else _text(obj_type)
        if SEP in kind:
            raise InvalidValue("an object type cannot contain '\\x01'")
        return f"{_text(obj_id)}{SEP}{kind}"

    async def _write(self, *args: Any) -> Any:
        return await self.database.scripts.run(
            "autocomplete_write", [*self._index_keys, self._prefix_base], args
        )

    def _load(self, value: Any) -> Any:
        return json.loads(value) if self.use_json and value is not None else value

    async def store(
        self,
        obj_id: Id,
        title: str | bytes | None = None,
        data: Any = None,
        obj_type: Id | None = None,
    ) -> None:
        """Index ``title`` (default: ``obj_id``) for the object, with ``data``
        (default: the title), replacing what the object had.

        O(P log N) for P prefixes of the title's words; one round trip (a
        named operation), whatever the title's length.
        """
        title = _text(obj_id if title is None else title)
        data = title if data is None else data
        member = self.object_key(obj_id, obj_type)
        payload = json.dumps(data, ensure_ascii=False) if self.use_json else data
        scores = title_scores(self._capped_words(title, "a title"), self.stopwords)
        await self._write(
            "store",
            member,
            payload,
            title,
            " ".join(scores),
            *(repr(score) for score in scores.values()),
        )

    async def remove(self, obj_id: Id, obj_type: Id | None = None) -> bool:
        """Remove the object, every prefix entry it had and its saved boost;
        True. An object that is not indexed raises :class:`MissingKey` (a
        ``KeyError``, as in walrus 0.9) and changes nothing.

        O(P log N); one round trip (a named operation).
        """
        if not await self._write("remove", self.object_key(obj_id, obj_type)):
            kind = "" if obj_type is None else f" of type {_text(obj_type)!r}"
            raise MissingKey(
                f"no object {_text(obj_id)!r}{kind} in the autocomplete index {self.namespace!r}"
            )
        return True

    async def boost_object(
        self,
        obj_id: Id | None = None,
        obj_type: Id | None = None,
        multiplier: float = 1.1,
        relative: bool = True,
    ) -> float:
        """Save a boost for one object (``obj_id`` with its ``obj_type``), for
        every object with that id whatever its type (``obj_id`` alone), or
        for every object of a type (``obj_type`` alone). ``relative``
        multiplies the boost already saved; otherwise it is replaced.

        O(1); one round trip. Returns the boost now saved.
        """
        if obj_id is not None:
            field = "i" + self.object_key(obj_id, obj_type)
        elif obj_type is not None:
            field = "t" + _text(obj_type)
        else:
            raise InvalidValue("boost_object needs an obj_id or an obj_type")
        _check_multiplier(multiplier)
        saved = await self._write(
            "boost", field, repr(float(multiplier)), int(relative)
        )
        return float(saved)

    async def flush(self, batch_size: int = BATCH) -> None:
        """Delete the whole index: data, prefixes, boosts, cached searches.

        SCAN for the prefix and cache keys (``batch_size`` per round trip),
        then DEL in batches: O(N) round trips of ``batch_size`` keys.
        """
        keys = list(self._index_keys)
        for name in ("s", "c"):
            pattern = _glob_escape(self._group.key(name, "")) + "*"
            keys.extend(
                [
                    _item
                    async for _item in self.database.scan_iter(
                        match=pattern, count=batch_size
                    )
                ]
            )
        for start in range(0, len(keys), batch_size):
            await self.database.delete(*keys[start : start + batch_size])

    async def search(
        self,
        phrase: str | bytes,
        limit: int | None = None,
        boosts: Mapping[Any, float] | None = None,
        chunk_size: int = BATCH,
    ) -> list[Any]:
        """The data of the objects whose title has a word starting with each
        word of ``phrase``, best first (see the module's scoring).

        ``boosts`` maps object ids or types to multipliers for this search;
        each replaces the saved boost of that id or type (walrus 0.9).
        ``chunk_size`` is accepted for walrus 0.9 compatibility. One round
        trip (a named operation): O(log N + M) for one word without boosts;
        with several words or any boost, O(K) over the K hits, cached for
        ``cache_timeout`` seconds.
        """
        if limit is not None and limit <= 0:
            return []
        folded = self._capped_words(_text(phrase), "a search phrase")
        if not folded:
            return []
        kept = [w for w in folded[:-1] if w not in self.stopwords] + folded[-1:]
        terms = list(dict.fromkeys(kept))
        pairs: list[tuple[str, float]] = []
        for name, multiplier in (boosts or {}).items():
            _check_multiplier(multiplier)
            pairs.append((_text(name), float(multiplier)))
        pairs.sort()
        digest = hashlib.sha1(
            json.dumps([terms, pairs]).encode(), usedforsecurity=False
        ).hexdigest()
        data, _, _, saved, cached = self._index_keys
        result = self._group.key("c", digest)
        keys = [data, saved, cached, result, self._prefix_base]
        args: list[Any] = [self.cache_timeout, limit or 0]
        args += [len(terms), *terms]
        for name, multiplier in pairs:
            args += [name, repr(multiplier)]
        found = await self.database.scripts.run("autocomplete_search", keys, args)
        return [self._load(value) for value in found]

    def tokenize_title(self, phrase: str | bytes, stopwords: bool = True) -> list[str]:
        """The words ``phrase`` is indexed under: folded, split, without stop
        words (unless ``stopwords=False``). No I/O."""
        found = words(_text(phrase))
        return [w for w in found if w not in self.stopwords] if stopwords else found

    async def exists(self, obj_id: Id, obj_type: Id | None = None) -> bool:
        """Whether the object is indexed. O(1); one round trip."""
        return bool(
            await self.database.hexists(
                self._index_keys[0], self.object_key(obj_id, obj_type)
            )
        )

    async def list_data(self) -> list[Any]:
        """The data of every object (decoded JSON). O(N); one round trip."""
        return [self._load(v) for v in await self.database.hvals(self._index_keys[0])]

    async def list_titles(self) -> list[str]:
        """The title of every object, as text. O(N); one round trip."""
        return [_text(v) for v in await self.database.hvals(self._index_keys[1])]


class AutocompleteFactories:
    """The ``db.autocomplete(...)`` factory of walrus databases."""

    def autocomplete(
        self,
        namespace: str = "walrus",
        cache_timeout: int = 600,
        stopwords_file: str | os.PathLike[str] | None = DEFAULT_STOPWORDS,
        use_json: bool = True,
    ) -> Autocomplete:
        """An :class:`Autocomplete` index whose keys start with ``namespace``."""
        return Autocomplete(
            cast("Driver", self), namespace, cache_timeout, stopwords_file, use_json
        )
