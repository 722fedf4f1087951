"""Text helpers shared by the features that index words: folding, tokenizing,
stop words.

:func:`fold` makes text comparable: case folding (``"Straße"`` matches
``"strasse"``) and *accent folding for Latin letters* (``"Café"`` matches
``"cafe"``): combining marks are dropped after Latin base letters only, so
Greek, Cyrillic, Japanese ... keep theirs (``"が"`` stays distinct from
``"か"``). :func:`words` splits folded text into words (runs of letters,
digits and ``_``, in any script). No I/O except reading a stop-word file.
"""

from __future__ import annotations

import importlib.resources
import os
import re
import unicodedata

__all__ = ["DEFAULT_STOPWORDS", "fold", "load_stopwords", "words"]

DEFAULT_STOPWORDS = "stopwords.txt"  # walrus/data/stopwords.txt
_WORD = re.compile(r"\w+")
_LATIN_END = 0x0250  # Basic Latin to Latin Extended-B


def fold(text: str) -> str:
    """``text`` case-folded, with accents removed from Latin letters."""
    if text.isascii():  # no accents, and ASCII case-folds as it lowers
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept: list[str] = []
    for char in decomposed:
        if (
            unicodedata.combining(char)
            and kept
            and ord(kept[-1]) < _LATIN_END
            and kept[-1].isalpha()
        ):
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def words(text: str) -> list[str]:
    """The words of ``text``, folded (see :func:`fold`), in order."""
    return _WORD.findall(fold(text))


def load_stopwords(path: str | os.PathLike[str] | None) -> frozenset[str]:
    """Stop words from ``path`` (one per line, ``#`` comments), folded.

    ``None`` means no stop words; ``"stopwords.txt"`` (walrus 0.9's default
    name) is walrus's own list unless a file of that name exists.
    """
    if path is None:
        return frozenset()
    if os.fspath(path) == DEFAULT_STOPWORDS and not os.path.isfile(path):
        resource = importlib.resources.files("walrus") / "data" / DEFAULT_STOPWORDS
        content = resource.read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            content = handle.read()
    return frozenset(
        fold(line.strip())
        for line in content.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
