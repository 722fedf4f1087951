"""Autocomplete: suggestions for partly typed phrases, with rich data and boosts.

An index (``namespace``, walrus 0.9's key names) is made of:

- ``<ns>:d`` a hash: object -> its data (JSON unless ``use_json=False``);
- ``<ns>:t`` a hash: object -> its title;
- ``<ns>:w`` a hash: object -> the prefixes it is indexed under (so it can be
  removed in one step, whatever its title was);
- ``<ns>:s:<prefix>`` a sorted set per word prefix: object -> score;
- ``<ns>:b`` a hash of saved boosts; ``<ns>:c`` the set of cached searches,
  each one ``<ns>:c:<digest>``, expiring after ``cache_timeout`` seconds.

An object is ``"<id>\\x01<type>"``. Titles are folded (case, and accents on
Latin letters: ``"cafe"`` finds ``"Café"``) and split into words of any
script (see :mod:`walrus.features.text.words`); stop words are not indexed, unless
the title has nothing else. A search's last word is never dropped as a stop
word: it may be a prefix the user is still typing.

**Scoring** (lower is better): a hit scores ``1 + 0.4 * (position + alpha)``
where ``position`` is the index of the matched word among the title's
indexed words (with several search words: the farthest matched one) and
``alpha`` in ``[0, 1)`` places the title alphabetically by its first
characters (ties fall back to the object's name). A boost divides the
score: greater than 1 raises a hit, between 0 and 1 lowers it. A hit's
multiplier is its id's boost times its type's boost; a boost saved by id
alone applies whatever the object's type, and, as in walrus 0.9, a search's
own boost for an id or a type replaces the saved one for that name. Boosts
are applied to a fresh copy of the hits, so they never compound.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from walrus.exceptions import InvalidValue, MissingKey
from walrus.features.text.words import DEFAULT_STOPWORDS, load_stopwords, words
from walrus.scripts import Call, twin

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["Autocomplete", "AutocompleteFactories"]

POSITION_WEIGHT = 0.4  # score added per word between the match and the front
ALPHA_CHARS = 8  # title characters that place it alphabetically in its score
_ALPHABET = 38  # separators, 10 digits, 26 Latin letters, any other letter
SEP = "\x01"  # between an object's id and type
BATCH = 1000  # keys per DEL while flushing

Id = str | bytes | int | float


def _digit(char: str) -> int:
    if "0" <= char <= "9":
        return 1 + ord(char) - ord("0")
    if "a" <= char <= "z":
        return 11 + ord(char) - ord("a")
    return _ALPHABET - 1 if char.isalnum() else 0


def title_scores(title_words: list[str], stopwords: frozenset[str]) -> dict[str, float]:
    """Each prefix of each indexed word of a title -> its (best) score."""
    alpha = sum(
        _digit(char) / _ALPHABET ** (i + 1)
        for i, char in enumerate(" ".join(title_words)[:ALPHA_CHARS])
    )
    indexed = [w for w in title_words if w not in stopwords] or title_words
    scores: dict[str, float] = {}
    for position, word in enumerate(indexed):
        score = 1 + POSITION_WEIGHT * (position + alpha)
        for end in range(1, len(word) + 1):
            prefix = word[:end]
            scores[prefix] = min(score, scores.get(prefix, score))
    return scores


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class Autocomplete:
    """Prefix search over stored titles, returning each hit's stored data.

    Caps (class attributes; set them on an index or on the class): a title
    or a search phrase longer than ``max_phrase_length`` characters raises
    InvalidValue; only a word's first ``max_word_length`` characters are
    indexed (its prefixes up to that length), and a longer search word
    matches on those characters. Storing a title costs O(its length times
    ``max_word_length``) at most, however long its words.
    """

    max_phrase_length = 10_000
    max_word_length = 64

    def _capped_words(self, text: str, what: str) -> list[str]:
        """``text``'s folded words, each cut to ``max_word_length`` characters."""
        if len(text) > self.max_phrase_length:
            raise InvalidValue(
                f"{what} is {len(text)} characters long; the limit is "
                f"{self.max_phrase_length} (Autocomplete.max_phrase_length)"
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

    # -- helpers -------------------------------------------------------------------
    @staticmethod
    def object_key(obj_id: Id, obj_type: Id | None = None) -> str:
        """The member naming an object: ``"<id>\\x01<type>"``."""
        kind = "" if obj_type is None else _text(obj_type)
        if SEP in kind:
            raise InvalidValue("an object type cannot contain '\\x01'")
        return f"{_text(obj_id)}{SEP}{kind}"

    def _write(self, *args: Any) -> Any:
        return self.database.scripts.run(
            "autocomplete_write", [*self._index_keys, self._prefix_base], args
        )

    def _load(self, value: Any) -> Any:
        return json.loads(value) if self.use_json and value is not None else value

    # -- writing -----------------------------------------------------------------
    def store(
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
        self._write(
            "store",
            member,
            payload,
            title,
            " ".join(scores),
            *(repr(score) for score in scores.values()),
        )

    def remove(self, obj_id: Id, obj_type: Id | None = None) -> bool:
        """Remove the object, every prefix entry it had and its saved boost;
        True. An object that is not indexed raises :class:`MissingKey` (a
        ``KeyError``, as in walrus 0.9) and changes nothing.

        O(P log N); one round trip (a named operation).
        """
        if not self._write("remove", self.object_key(obj_id, obj_type)):
            kind = "" if obj_type is None else f" of type {_text(obj_type)!r}"
            raise MissingKey(
                f"no object {_text(obj_id)!r}{kind} in the autocomplete index "
                f"{self.namespace!r}"
            )
        return True

    def boost_object(
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
        saved = self._write("boost", field, repr(float(multiplier)), int(relative))
        return float(saved)

    def flush(self, batch_size: int = BATCH) -> None:
        """Delete the whole index: data, prefixes, boosts, cached searches.

        SCAN for the prefix and cache keys (``batch_size`` per round trip),
        then DEL in batches: O(N) round trips of ``batch_size`` keys.
        """
        keys = list(self._index_keys)
        for name in ("s", "c"):
            pattern = _glob_escape(self._group.key(name, "")) + "*"
            keys.extend(self.database.scan_iter(match=pattern, count=batch_size))
        for start in range(0, len(keys), batch_size):
            self.database.delete(*keys[start : start + batch_size])

    # -- reading -----------------------------------------------------------------
    def search(
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
        result = self._group.key("c", digest)  # cached (KEYS[3]) .. a name
        keys = [data, saved, cached, result, self._prefix_base]
        args: list[Any] = [self.cache_timeout, limit or 0]
        args += [len(terms), *terms]
        for name, multiplier in pairs:
            args += [name, repr(multiplier)]
        found = self.database.scripts.run("autocomplete_search", keys, args)
        return [self._load(value) for value in found]

    def tokenize_title(self, phrase: str | bytes, stopwords: bool = True) -> list[str]:
        """The words ``phrase`` is indexed under: folded, split, without stop
        words (unless ``stopwords=False``). No I/O."""
        found = words(_text(phrase))
        return [w for w in found if w not in self.stopwords] if stopwords else found

    def exists(self, obj_id: Id, obj_type: Id | None = None) -> bool:
        """Whether the object is indexed. O(1); one round trip."""
        return bool(
            self.database.hexists(
                self._index_keys[0], self.object_key(obj_id, obj_type)
            )
        )

    def list_data(self) -> list[Any]:
        """The data of every object (decoded JSON). O(N); one round trip."""
        return [self._load(v) for v in self.database.hvals(self._index_keys[0])]

    def list_titles(self) -> list[str]:
        """The title of every object, as text. O(N); one round trip."""
        return [_text(v) for v in self.database.hvals(self._index_keys[1])]


def _check_multiplier(multiplier: Any) -> None:
    if not isinstance(multiplier, int | float) or not multiplier > 0:
        raise InvalidValue(f"a boost is a positive number, not {multiplier!r}")


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


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


# -- Python twins of the named operations (engines without Lua) ----------------
@twin("autocomplete_write")
def _write_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    data, titles, prefixes, boosts, cached, base = keys
    operation, target = args[:2]
    old = None if operation == b"boost" else call(b"HGET", prefixes, target)
    if operation == b"remove" and old is None:
        return 0
    for name in call(b"SMEMBERS", cached):
        call(b"DEL", cached + name)
    call(b"DEL", cached)
    if operation == b"boost":
        multiplier = float(args[2])
        if args[3] == b"1":
            multiplier *= float(call(b"HGET", boosts, target) or 1)
        saved = b"%.17g" % multiplier
        call(b"HSET", boosts, target, saved)
        return saved
    for prefix in (old or b"").split(b" "):
        if prefix:
            call(b"ZREM", base + prefix, target)
    if operation == b"store":
        new = [p for p in args[4].split(b" ") if p]
        for prefix, score in zip(new, args[5:], strict=True):
            call(b"ZADD", base + prefix, score, target)
        for key, value in ((data, args[2]), (titles, args[3]), (prefixes, args[4])):
            call(b"HSET", key, target, value)
    else:
        for key in (data, titles, prefixes):
            call(b"HDEL", key, target)
        call(b"HDEL", boosts, b"i" + target)
    return 1 if old is not None else 0


@twin("autocomplete_search")
def _search_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    data, boosts, cached, result, base = keys
    timeout, limit, count = int(args[0]), int(args[1]), int(args[2])
    terms, pairs = args[3 : 3 + count], args[3 + count :]
    source = base + terms[0]
    if count > 1 or pairs or call(b"HLEN", boosts) > 0:
        source = result
        if not call(b"EXISTS", source):
            prefix_keys = [base + term for term in terms]
            call(
                b"ZINTERSTORE",
                source,
                b"%d" % count,
                *prefix_keys,
                b"AGGREGATE",
                b"MAX",
            )
            flat = call(b"HGETALL", boosts)
            saved = {flat[i]: float(flat[i + 1]) for i in range(0, len(flat), 2)}
            given = {pairs[i]: float(pairs[i + 1]) for i in range(0, len(pairs), 2)}
            hits = call(b"ZRANGE", source, b"0", b"-1", b"WITHSCORES")
            for member, score in zip(hits[::2], hits[1::2], strict=True):
                obj_id, sep, kind = member.rpartition(SEP.encode())
                m = given.get(obj_id)
                if m is None:
                    m = saved.get(b"i" + member, 1.0)
                    if kind:
                        m *= saved.get(b"i" + obj_id + sep, 1.0)
                if kind and kind in given:
                    if kind != obj_id:
                        m *= given[kind]
                else:
                    m *= saved.get(b"t" + kind, 1.0)
                if m != 1:
                    call(b"ZADD", source, b"%.17g" % (float(score) / m), member)
            if timeout > 0:
                call(b"EXPIRE", source, str(timeout).encode())
                call(b"SADD", cached, result[len(cached) :])
                call(b"EXPIRE", cached, str(timeout).encode())
    members = call(b"ZRANGE", source, b"0", str(limit - 1).encode())
    if source == result and timeout <= 0:
        call(b"DEL", source)
    found: list[Any] = []
    for start in range(0, len(members), BATCH):
        found.extend(call(b"HMGET", data, *members[start : start + BATCH]))
    return found
