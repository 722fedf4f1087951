"""Async twin of :mod:`walrus.features.search`, generated from ``walrus/features/search.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
import os
from collections.abc import Mapping
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

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
from walrus.features.search import (
    CONTENT,
    DocumentId,
    FETCH,
    Value,
    _MISMATCH,
    _Plan,
    _Postings,
    _doc_id,
    _document,
    _evaluate,
    _field_value,
    _terms,
    _text,
    _text_keys,
)

__all__ = ["Index", "SearchFactories"]


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

    async def _write(self, op: str, doc: str, *args: Any) -> bool:
        keys = [self._meta, self._terms, self._doc_key(doc), self._base]
        reply = await self.database.scripts.run(
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
            f"index {self.name!r} was built with tokenizer settings {stored!r}, opened with {self.settings!r}: open it with the same stemmer, metaphone, stopwords_file and min_word_length"
        )

    async def _store(
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
        length = len(analysis)
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
        await self._write(op, doc, length, line, len(flat) // 2, *flat, *postings)

    async def add(
        self,
        key: DocumentId,
        content: str | bytes,
        __metadata: Mapping[str, Value] | None = None,
        **metadata: Value,
    ) -> None:
        """Index ``content`` under ``key`` and store it with ``metadata``; a
        document already there is re-indexed, its metadata merged (as
        :meth:`update`). O(T) for T distinct terms; one round trip."""
        await self._store("update", key, content, __metadata, metadata)

    async def update(
        self,
        key: DocumentId,
        content: str | bytes,
        __metadata: Mapping[str, Value] | None = None,
        **metadata: Value,
    ) -> None:
        """Re-index the document with new ``content``, keeping its metadata
        and merging ``metadata`` in. O(T_old + T); one round trip."""
        await self._store("update", key, content, __metadata, metadata)

    async def replace(
        self,
        key: DocumentId,
        content: str | bytes,
        __metadata: Mapping[str, Value] | None = None,
        **metadata: Value,
    ) -> None:
        """Re-index the document with new ``content``; its old metadata is
        dropped for ``metadata``. O(T_old + T); one round trip."""
        await self._store("replace", key, content, __metadata, metadata)

    async def remove(self, key: DocumentId, preserve_data: bool = False) -> bool:
        """Unindex the document and (unless ``preserve_data``) delete it;
        True if it was indexed (False: only its data, kept by an earlier
        ``preserve_data``, was there). A key with neither raises
        :class:`MissingKey` (a ``KeyError``, as in walrus 0.9) and changes
        nothing. O(T); one round trip."""
        op = "remove_keep" if preserve_data else "remove"
        return await self._write(op, _doc_id(key))

    async def get_document(self, key: DocumentId) -> dict[str, str]:
        """The document's ``content`` and metadata as text; ``{}`` if there is
        none. O(F); one round trip."""
        return _document(await self.database.hgetall(self._doc_key(_doc_id(key))))

    async def length(self) -> int:
        """The number of indexed documents. O(1); one round trip."""
        return int(await self.database.hget(self._meta, "docs") or 0)

    def __bool__(self) -> bool:
        """Always true (an index object, empty or not); costs no round trip."""
        return True

    async def search(self, query: str) -> list[dict[str, str]]:
        """The documents matching ``query``, best first (see the module)."""
        return [doc for _, doc in await self.search_items(query)]

    async def search_items(self, query: str) -> list[tuple[str, dict[str, str]]]:
        """``(key, document)`` for each document matching ``query``, best
        first. A blank query finds every document (walrus 0.9), in key
        order; one of stop words only finds nothing; a malformed one raises
        QueryError. Two round trips: the postings of
        the query's terms (MULTI), then the documents (one script call);
        O(P) for P postings read."""
        ranked = await self.rank(query)
        if not ranked:
            return []
        replies = await self._fetch([doc for doc, _ in ranked])
        found: list[tuple[str, dict[str, str]]] = []
        for (doc, _), raw in zip(ranked, replies, strict=True):
            if raw:
                found.append((doc, _document(raw)))
        return found

    async def _fetch(self, docs: list[str]) -> list[Any]:
        """The HGETALL reply of each document: one round trip. Up to
        ``FETCH`` documents are read by one script call (one command: no
        per-command cost on the client); more by a pipeline of HGETALLs (the
        server serves others between them)."""
        keys = [self._doc_key(doc) for doc in docs]
        if len(keys) <= FETCH:
            return list(await self.database.scripts.run("search_documents", keys))
        pipe = self.database.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        return list(await pipe.execute())

    async def rank(self, query: str) -> list[tuple[str, float]]:
        """``(key, score)`` of the documents matching ``query``, best first,
        without fetching them. One round trip (MULTI)."""
        if not isinstance(query, str):
            raise QueryError(f"a query is text, not {type(query).__name__}")
        if not query.strip():
            return [(doc, 0.0) for doc in sorted(map(_text, await self._every_key()))]
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
        replies = await pipe.execute()
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

    async def _every_key(self) -> list[Any]:
        """The key of every indexed document (HKEYS). O(N); one round trip."""
        return list(await self.database.hkeys(self._terms))

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
            return ("phrase", tuple(((p - start, t) for p, t in analysis)))
        parts = [self._plan(part) for part in node.parts]
        kept = tuple((part for part in parts if part is not None))
        if not kept:
            return None
        return ("and" if isinstance(node, And) else "or", kept)


class SearchFactories:
    """The ``db.Index(...)`` factory of walrus databases."""

    def Index(
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
