"""Turn text into index terms: the tokenizer shared by search and models.

A text is folded and split into words (:mod:`walrus.features.text.words`: case
folding, accents dropped from Latin letters, words of any script). Each word
then gives its *terms*:

- none if it is a stop word or shorter than ``min_word_length``;
- with ``metaphone=True``, its Double Metaphone codes (one or two: ``Jon``
  and ``John`` both give ``JN`` and ``AN``), or the word itself for a word
  with no Latin letters (metaphone codes only spell Latin sounds);
- otherwise its English Snowball stem (``stemmer=True``: ``running`` ->
  ``run``) or the word itself.

Words keep their position (counted over every word, stop words included), so
phrases can be matched exactly: see :meth:`Tokenizer.analyze`.

``stopwords_file``: ``"stopwords.txt"`` (the default) is walrus's own list,
another path replaces it, ``None`` means no stop words.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]

from walrus.exceptions import InvalidValue
from walrus.features.text.metaphone import double_metaphone
from walrus.features.text.words import DEFAULT_STOPWORDS, load_stopwords, words

__all__ = ["Tokenizer"]

SETTINGS_VERSION = 1  # bump when the terms a given setting produces change


@lru_cache(maxsize=1)
def _english_stemmer() -> snowballstemmer.stemmer:
    """snowballstemmer's English stemmer: PyStemmer's C implementation when
    it is installed (a default dependency where it has wheels), else the
    pure-Python one; both give the same stems."""
    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The English Snowball stem of one folded word (cached: documents and
    queries repeat their words, and every tokenizer shares the cache)."""
    return str(_english_stemmer().stemWord(word))


class Tokenizer:
    """Turns text into the terms a full-text index stores and searches."""

    def __init__(
        self,
        stemmer: bool = True,
        metaphone: bool = False,
        stopwords_file: str | os.PathLike[str] | None = DEFAULT_STOPWORDS,
        min_word_length: int | None = None,
    ) -> None:
        if min_word_length is not None and (
            isinstance(min_word_length, bool)
            or not isinstance(min_word_length, int)
            or min_word_length < 0
        ):
            raise InvalidValue(
                f"min_word_length is a whole number >= 0, not {min_word_length!r}"
            )
        self.stemmer = bool(stemmer)
        self.metaphone = bool(metaphone)
        self.min_word_length = min_word_length or 0
        self.stopwords = load_stopwords(stopwords_file)
        self._cache: dict[str, tuple[str, ...]] = {}

    @property
    def settings(self) -> str:
        """A short canonical text naming these settings (stored with an index)."""
        digest = hashlib.sha1(
            "\n".join(sorted(self.stopwords)).encode("utf-8"), usedforsecurity=False
        ).hexdigest()[:12]
        return (
            f"v{SETTINGS_VERSION} stem={int(self.stemmer)} "
            f"metaphone={int(self.metaphone)} min={self.min_word_length} "
            f"stop={digest}"
        )

    def word_terms(self, word: str) -> tuple[str, ...]:
        """The terms of one folded word (empty for a stop word or a short one)."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        if word in self.stopwords or len(word) < self.min_word_length:
            terms: tuple[str, ...] = ()
        elif self.metaphone and any("a" <= c <= "z" for c in word):
            primary, secondary = double_metaphone(word)
            terms = tuple(dict.fromkeys(t for t in (primary, secondary) if t))
            terms = terms or (word,)
        elif self.stemmer:
            terms = (stem(word),)
        else:
            terms = (word,)
        if len(self._cache) < 100_000:
            self._cache[word] = terms
        return terms

    def analyze(self, text: str) -> list[tuple[int, tuple[str, ...]]]:
        """``(position, terms)`` for each word of ``text`` that has terms;
        positions count every word, stop words included."""
        found: list[tuple[int, tuple[str, ...]]] = []
        cached = self._cache.get  # most words were seen before: no method call
        for position, word in enumerate(words(text)):
            terms = cached(word)
            if terms is None:
                terms = self.word_terms(word)
            if terms:
                found.append((position, terms))
        return found

    def tokenize(self, text: str) -> list[str]:
        """The index terms of ``text``, in order, duplicates kept."""
        return [term for _, terms in self.analyze(text) for term in terms]

    def query_terms(self, word: str) -> list[str]:
        """The index terms one query word matches (any of them); empty if it
        is a stop word or too short. A "word" that folds into several words
        (``e-mail``) gives the terms of each."""
        return list(dict.fromkeys(self.tokenize(word)))

    def __repr__(self) -> str:
        return f"Tokenizer({self.settings})"
