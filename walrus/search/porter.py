"""walrus 0.9's import path for the Porter stemmer (``from walrus.search.porter
import PorterStemmer``): Snowball's Porter algorithm from ``snowballstemmer``.
"""

from __future__ import annotations

from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]

__all__ = ["PorterStemmer"]


@lru_cache(maxsize=1)
def _porter() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("porter")


class PorterStemmer:
    """``stem(word, i, j)`` stems ``word[i:j + 1]`` (the whole word by default)."""

    def stem(self, word: str, i: int = 0, j: int | None = None) -> str:
        end = len(word) if j is None else j + 1
        stemmed: str = _porter().stemWord(word[i:end])
        return stemmed
