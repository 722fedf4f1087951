"""walrus 0.9's import path for autocomplete (``from walrus.autocomplete import
Autocomplete``). The code lives in :mod:`walrus.features.autocomplete`.
"""

from __future__ import annotations

from walrus.features.autocomplete import Autocomplete

__all__ = ["Autocomplete"]
