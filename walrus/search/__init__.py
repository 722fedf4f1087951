"""walrus 0.9's import path for the tokenizer (``from walrus.search import
Tokenizer``). The code lives in :mod:`walrus.features.tokenizer`.
"""

from __future__ import annotations

from walrus.features.tokenizer import Tokenizer

__all__ = ["Tokenizer"]
