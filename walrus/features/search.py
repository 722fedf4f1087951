"""Full-text search: an Index of documents (content and metadata), searched
with a small query language and ranked by BM25.

An index ``name`` is one key group (cluster-ready) made of:

- ``<name>:meta`` a hash: the tokenizer ``settings``, ``docs`` (the number of
  documents) and ``length`` (their total number of terms);
- ``<name>:terms`` a hash: document id -> ``"<length> <term> <term> ..."``,
  its distinct terms (so a document is unindexed in one step);
- ``<name>:w:<term>`` a hash per term (its postings): document id ->
  ``"<length> <position> <position> ..."``: the term's positions among the
  document's words (stop words counted), which match phrases exactly;
- ``<name>:doc:<id>`` a hash per document: ``content`` and its metadata.

Every write is one named operation (``lua/search_write.lua``, or its Python
twin on engines without Lua): one round trip whatever the document's length.
When the last document goes, so does ``<name>:meta``: an empty index leaves
no key behind.

**Search** reads the postings of the query's terms and the index's counts in
one MULTI round trip, evaluates the query here (sets of documents; a phrase
keeps the documents where its words sit at the same distances as in the
query), ranks the hits, then fetches the documents in one round trip: one
call of ``lua/search_documents.lua`` (or its twin) for up to 1,000 hits, a
pipeline of HGETALLs beyond. No temporary keys.

**Ranking: Okapi BM25**. A document D scores, over the query's distinct terms
t that D contains (``k1 = 1.2``, ``b = 0.75``)::

    idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |D| / avgdl))
    idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))

with ``tf`` the count of t in D, ``|D|`` D's number of terms, ``avgdl`` the
mean over the N documents, ``n(t)`` the documents containing t. Higher scores
come first; equal scores in the order of the document ids (as text).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

from walrus.exceptions import (
    InvalidType,
    InvalidValue,
    MissingKey,
    QueryError,
    SettingsMismatch,
)
from walrus.features.text import query as _limits
from walrus.features.text.query import And, Node, Phrase, Word, parse_query
from walrus.features.text.tokenizer import Tokenizer
from walrus.features.text.words import DEFAULT_STOPWORDS
from walrus.scripts import Call, twin

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver

__all__ = ["Index", "SearchFactories"]

K1 = 1.2
B = 0.75
CONTENT = "content"
FETCH = 1000  # documents read by one script call
_MISMATCH = "mismatch:"

DocumentId = str | bytes | int
Value = str | bytes | int | float


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _document(raw: Any) -> dict[str, str]:
    """A document's fields as text, from an HGETALL reply: a dict, or the
    flat field/value list a script returns."""
    flat = [x for pair in raw.items() for x in pair] if isinstance(raw, dict) else raw
    if flat and isinstance(flat[0], bytes):
        flat = [x.decode("utf-8") for x in flat]
    pairs = iter(flat)
    return dict(zip(pairs, pairs, strict=True))


def _text_keys(reply: dict[Any, Any]) -> dict[str, Any]:
    """A postings hash with its document ids as text (the postings as sent)."""
    if reply and isinstance(next(iter(reply)), bytes):
        return {k.decode("utf-8"): v for k, v in reply.items()}
    return reply


def _doc_id(key: Any) -> str:
    if isinstance(key, bool) or not isinstance(key, str | bytes | int):
        raise InvalidType(f"a document key is str, bytes or int, not {key!r}")
    if isinstance(key, bytes):
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidValue(f"a document key is UTF-8 text, not {key!r}") from exc
    text = str(key)
    if not text:
        raise InvalidValue("a document key cannot be empty")
    return text


def _field_value(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | bytes | int | float):
        raise InvalidType(
            f"metadata {name!r} is str, bytes, int or float, not {value!r}"
        )
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidValue(f"metadata {name!r} is not UTF-8 text") from exc
    return repr(value) if isinstance(value, float) else str(value)


class _Postings:
    """The postings of the query's terms, and the index's counts.

    A posting (``"<length> <position> ..."``) stays as the server sent it,
    bytes or text, and is parsed only for the documents that match.
    """

    def __init__(
        self, docs: int, length: int, postings: dict[str, dict[str, str | bytes]]
    ):
        self.docs = docs
        self.avgdl = length / docs if docs else 1.0
        self.postings = postings

    def having(self, terms: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for term in terms:
            found.update(self.postings.get(term, ()))
        return found

    def positions(self, term: str, doc: str) -> list[int]:
        posting = self.postings.get(term, {}).get(doc)
        return [int(p) for p in posting.split()[1:]] if posting else []

    def scores(self, terms: Iterable[str], hits: set[str]) -> dict[str, float]:
        """Each hit's BM25 score over ``terms`` (see the module)."""
        total = dict.fromkeys(hits, 0.0)
        avgdl = self.avgdl or 1.0
        for term in terms:
            postings = self.postings.get(term)
            if not postings:
                continue
            n = len(postings)
            idf = math.log(1 + (self.docs - n + 0.5) / (n + 0.5))
            for doc in hits & postings.keys():
                length, tf = _length_and_count(postings[doc])
                norm = K1 * (1 - B + B * length / avgdl)
                total[doc] += idf * tf * (K1 + 1) / (tf + norm)
        return total


def _length_and_count(posting: str | bytes) -> tuple[int, int]:
    """A posting's document length and its number of positions."""
    if isinstance(posting, bytes):
        length, _, rest = posting.partition(b" ")
        return int(length), rest.count(b" ") + 1
    length_text, _, text = posting.partition(" ")
    return int(length_text), text.count(" ") + 1


class Index:
    """A full-text search index of documents: content plus metadata.

    A query longer than ``max_query_length`` characters, with more than
    ``max_query_terms`` words or parentheses nested deeper than
    ``max_query_depth`` raises QueryError (class attributes: set them on an
    index, or on the class, to change them).
    """

    max_query_length = _limits.MAX_LENGTH
    max_query_terms = _limits.MAX_TERMS
    max_query_depth = _limits.MAX_DEPTH

    def __init__(
        self,
        database: Driver,
        name: str,
        stemmer: bool = True,
        metaphone: bool = False,
        stopwords_file: str | os.PathLike[str] | Literal[False] | None = None,
        min_word_length: int | None = None,
        default_conjunction: str = "AND",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidValue(f"an index name is non-empty text, not {name!r}")
        if str(default_conjunction).upper() not in ("AND", "OR"):
            raise InvalidValue(
                f"default_conjunction is 'AND' or 'OR', not {default_conjunction!r}"
            )
        self.database = database
        self.name = name
        self.default_conjunction = str(default_conjunction).upper()
        stopwords = DEFAULT_STOPWORDS if stopwords_file is None else stopwords_file
        self.tokenizer = Tokenizer(
            stemmer, metaphone, stopwords or None, min_word_length
        )
        self.settings = self.tokenizer.settings
        group = database.keyspace.group(name)
        self._group = group
        self._meta = group.key("meta")
        self._terms = group.key("terms")
        self._base = group.key("w", "")

    def _doc_key(self, doc: str) -> str:
        return self._group.key("doc", doc)

    def _write(self, op: str, doc: str, *args: Any) -> bool:
        keys = [self._meta, self._terms, self._doc_key(doc), self._base]
        reply = self.database.scripts.run(
            "search_write", keys, [op, doc, self.settings, *args]
        )
        if isinstance(reply, bytes | str):
            stored = _text(reply)[len(_MISMATCH) :]
            raise self._mismatch(stored)
        if reply == -1:
            raise MissingKey(f"no document {doc!r} in the index {self.name!r}")
        return bool(reply)

    def _mismatch(self, stored: str) -> SettingsMismatch:
        return SettingsMismatch(
            f"index {self.name!r} was built with tokenizer settings {stored!r}, "
            f"opened with {self.settings!r}: open it with the same stemmer, "
            "metaphone, stopwords_file and min_word_length"
        )

    def _store(
        self,
        op: str,
        key: DocumentId,
        content: str | bytes,
        extra: Mapping[str, Any] | None,
        metadata: dict[str, Any],
    ) -> None:
        doc = _doc_id(key)
        if isinstance(content, bytes):
            try:
                content = content.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidValue("document content is not UTF-8 text") from exc
        if not isinstance(content, str):
            raise InvalidType(f"document content is text, not {content!r}")
        fields = {**(extra or {}), **metadata}
        flat: list[str] = [CONTENT, content]
        for name, value in fields.items():
            if not isinstance(name, str) or not name or name == CONTENT:
                raise InvalidValue(f"{name!r} cannot name a document's metadata")
            flat += [name, _field_value(name, value)]
        analysis = self.tokenizer.analyze(content)
        length = len(analysis)  # in words (a word may give two metaphone terms)
        positions: dict[str, list[str]] = {}
        for position, terms in analysis:
            at = str(position)
            for term in terms:
                if term in positions:
                    positions[term].append(at)
                else:
                    positions[term] = [at]
        postings: list[str] = []
        prefix = f"{length} "
        for term, found in positions.items():
            postings += [term, prefix + " ".join(found)]
        line = " ".join([str(length), *positions])
        self._write(op, doc, length, line, len(flat) // 2, *flat, *postings)

    # -- writing -----------------------------------------------------------------
    def add(
        self,
        key: DocumentId,
        content: str | bytes,
        __metadata: Mapping[str, Value] | None = None,
        **metadata: Value,
    ) -> None:
        """Index ``content`` under ``key`` and store it with ``metadata``; a
        document already there is re-indexed, its metadata merged (as
        :meth:`update`). O(T) for T distinct terms; one round trip."""
        self._store("update", key, content, __metadata, metadata)

    def update(
        self,
        key: DocumentId,
        content: str | bytes,
        __metadata: Mapping[str, Value] | None = None,
        **metadata: Value,
    ) -> None:
        """Re-index the document with new ``content``, keeping its metadata
        and merging ``metadata`` in. O(T_old + T); one round trip."""
        self._store("update", key, content, __metadata, metadata)

    def replace(
        self,
        key: DocumentId,
        content: str | bytes,
        __metadata: Mapping[str, Value] | None = None,
        **metadata: Value,
    ) -> None:
        """Re-index the document with new ``content``; its old metadata is
        dropped for ``metadata``. O(T_old + T); one round trip."""
        self._store("replace", key, content, __metadata, metadata)

    def remove(self, key: DocumentId, preserve_data: bool = False) -> bool:
        """Unindex the document and (unless ``preserve_data``) delete it;
        True if it was indexed (False: only its data, kept by an earlier
        ``preserve_data``, was there). A key with neither raises
        :class:`MissingKey` (a ``KeyError``, as in walrus 0.9) and changes
        nothing. O(T); one round trip."""
        op = "remove_keep" if preserve_data else "remove"
        return self._write(op, _doc_id(key))

    # -- reading -----------------------------------------------------------------
    def get_document(self, key: DocumentId) -> dict[str, str]:
        """The document's ``content`` and metadata as text; ``{}`` if there is
        none. O(F); one round trip."""
        return _document(self.database.hgetall(self._doc_key(_doc_id(key))))

    def __len__(self) -> int:
        """The number of indexed documents. O(1); one round trip."""
        return int(self.database.hget(self._meta, "docs") or 0)

    def __bool__(self) -> bool:
        """Always true (an index object, empty or not); costs no round trip."""
        return True

    def search(self, query: str) -> list[dict[str, str]]:
        """The documents matching ``query``, best first (see the module)."""
        return [doc for _, doc in self.search_items(query)]

    def search_items(self, query: str) -> list[tuple[str, dict[str, str]]]:
        """``(key, document)`` for each document matching ``query``, best
        first. A blank query finds every document (walrus 0.9), in key
        order; one of stop words only finds nothing; a malformed one raises
        QueryError. Two round trips: the postings of
        the query's terms (MULTI), then the documents (one script call);
        O(P) for P postings read."""
        ranked = self.rank(query)
        if not ranked:
            return []
        replies = self._fetch([doc for doc, _ in ranked])
        found: list[tuple[str, dict[str, str]]] = []
        for (doc, _), raw in zip(ranked, replies, strict=True):
            if raw:
                found.append((doc, _document(raw)))
        return found

    def _fetch(self, docs: list[str]) -> list[Any]:
        """The HGETALL reply of each document: one round trip. Up to
        ``FETCH`` documents are read by one script call (one command: no
        per-command cost on the client); more by a pipeline of HGETALLs (the
        server serves others between them)."""
        keys = [self._doc_key(doc) for doc in docs]
        if len(keys) <= FETCH:
            return list(self.database.scripts.run("search_documents", keys))
        pipe = self.database.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        return list(pipe.execute())

    def rank(self, query: str) -> list[tuple[str, float]]:
        """``(key, score)`` of the documents matching ``query``, best first,
        without fetching them. One round trip (MULTI)."""
        if not isinstance(query, str):
            raise QueryError(f"a query is text, not {type(query).__name__}")
        if not query.strip():  # every document, as in walrus 0.9: O(N)
            return [(doc, 0.0) for doc in sorted(map(_text, self._every_key()))]
        tree = parse_query(
            query,
            self.default_conjunction,
            max_length=self.max_query_length,
            max_terms=self.max_query_terms,
            max_depth=self.max_query_depth,
        )
        plan = self._plan(tree)
        terms = sorted({t for t in _terms(plan)})
        if not terms:
            return []
        pipe = self.database.pipeline(transaction=True)
        pipe.hmget(self._meta, ["settings", "docs", "length"])
        for term in terms:
            pipe.hgetall(self._base + term)
        replies = pipe.execute()
        settings, docs, length = (None if v is None else _text(v) for v in replies[0])
        if settings is not None and settings != self.settings:
            raise self._mismatch(settings)
        postings = {
            term: _text_keys(reply)
            for term, reply in zip(terms, replies[1:], strict=True)
        }
        data = _Postings(int(docs or 0), int(length or 0), postings)
        hits = _evaluate(plan, data)
        if not hits:
            return []
        scored = list(data.scores(terms, hits).items())
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored

    def _every_key(self) -> list[Any]:
        """The key of every indexed document (HKEYS). O(N); one round trip."""
        return list(self.database.hkeys(self._terms))

    def _plan(self, node: Node) -> _Plan:
        """The query tree with its words replaced by the terms they match."""
        if isinstance(node, Word | Phrase):
            text = node.text if isinstance(node, Word) else " ".join(node.words)
            analysis = self.tokenizer.analyze(text)
            if not analysis:
                return None
            if len(analysis) == 1:
                return ("any", analysis[0][1])
            start = analysis[0][0]
            return ("phrase", tuple((p - start, t) for p, t in analysis))
        parts = [self._plan(part) for part in node.parts]
        kept = tuple(part for part in parts if part is not None)
        if not kept:
            return None
        return ("and" if isinstance(node, And) else "or", kept)


# A planned query: None (only stop words: no constraint), ("any", terms),
# ("phrase", ((offset, terms), ...)), ("and" | "or", parts).
_Plan = tuple[str, Any] | None


def _terms(plan: _Plan) -> Iterable[str]:
    if plan is None:
        return
    kind, value = plan
    if kind == "any":
        yield from value
    elif kind == "phrase":
        for _, terms in value:
            yield from terms
    else:
        for part in value:
            yield from _terms(part)


def _evaluate(plan: _Plan, data: _Postings) -> set[str]:
    if plan is None:
        return set()
    kind, value = plan
    if kind == "any":
        return data.having(value)
    if kind == "phrase":
        return _phrase(value, data)
    sets = [_evaluate(part, data) for part in value]
    if kind == "and":
        return set.intersection(*sets)
    return set.union(*sets)


def _phrase(
    steps: tuple[tuple[int, tuple[str, ...]], ...], data: _Postings
) -> set[str]:
    """The documents where the steps' terms sit at the steps' offsets: some
    start position shared by every step (its positions less its offset)."""
    candidates = set.intersection(*(data.having(terms) for _, terms in steps))
    found: set[str] = set()
    for doc in candidates:
        starts: set[int] | None = None
        for offset, terms in steps:
            here = {p - offset for t in terms for p in data.positions(t, doc)}
            starts = here if starts is None else starts & here
            if not starts:
                break
        if starts:
            found.add(doc)
    return found


class SearchFactories:
    """The ``db.Index(...)`` factory of walrus databases."""

    def Index(  # walrus 0.9's name
        self,
        name: str,
        stemmer: bool = True,
        metaphone: bool = False,
        stopwords_file: str | os.PathLike[str] | Literal[False] | None = None,
        min_word_length: int | None = None,
        default_conjunction: str = "AND",
    ) -> Index:
        """A full-text search :class:`Index` named ``name``."""
        return Index(
            cast("Driver", self),
            name,
            stemmer,
            metaphone,
            stopwords_file,
            min_word_length,
            default_conjunction,
        )


# -- the Python twin of the named operation (engines without Lua) --------------
@twin("search_write")
def _write_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    meta, terms, document, base = keys
    op, doc, settings = args[:3]
    writes = op in (b"update", b"replace")
    stored = call(b"HGET", meta, b"settings")
    if writes and stored is not None and stored != settings:
        return _MISMATCH.encode() + stored
    docs = length = 0
    old = call(b"HGET", terms, doc)
    if not writes and old is None and not call(b"EXISTS", document):
        return -1
    postings = 6 + 2 * int(args[5]) if writes else len(args)
    kept = set(args[postings::2])  # the new terms: overwritten, not deleted
    if old is not None:
        first, *old_terms = old.split()
        length = -int(first)
        for term in old_terms:
            if term not in kept:
                call(b"HDEL", base + term, doc)
        if not writes:
            call(b"HDEL", terms, doc)
        docs = -1
    if op in (b"remove", b"replace"):
        call(b"DEL", document)
    if writes:
        # HMSET: no count of new fields wanted (rlite's HSET of several
        # fields counts them with two more commands)
        call(b"HMSET", document, *args[6:postings])
        rest = args[postings:]
        for i in range(0, len(rest), 2):
            call(b"HSET", base + rest[i], doc, rest[i + 1])
        if old != args[4]:
            call(b"HSET", terms, doc, args[4])
        if stored is None:
            call(b"HSET", meta, b"settings", settings)
        docs += 1
        length += int(args[3])
    if docs or length:
        left = call(b"HINCRBY", meta, b"docs", str(docs).encode())
        call(b"HINCRBY", meta, b"length", str(length).encode())
        if int(left) <= 0:
            call(b"DEL", meta)
    return 1 if old is not None else 0


@twin("search_documents")
def _documents_twin(call: Call, keys: list[bytes], args: list[bytes]) -> Any:
    return [call(b"HGETALL", key) for key in keys]
