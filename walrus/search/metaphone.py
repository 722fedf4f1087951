"""walrus 0.9's import path for Double Metaphone (``from walrus.search.metaphone
import dm``). The code lives in :mod:`walrus.features.text.metaphone`.
"""

from __future__ import annotations

from walrus.features.text.metaphone import double_metaphone

__all__ = ["dm", "double_metaphone"]

dm = double_metaphone
