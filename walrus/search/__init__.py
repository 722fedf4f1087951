"""walrus 0.9's import path for the tokenizer (``from walrus.search import
Tokenizer``). The code lives in :mod:`walrus.features.text.tokenizer`.
"""

from __future__ import annotations

from walrus.features.text.tokenizer import Tokenizer

__all__ = ["Tokenizer"]
