"""walrus 0.9's import path for query constants (``from walrus.query import OP_AND``).

``OP_AND`` and ``OP_OR`` are the values of ``default_conjunction`` in
``TextField.search()`` and ``Index.search()``. Expressions are built from model
fields (:mod:`walrus.features.models.expressions`); the search query parser is
:mod:`walrus.features.text.query`.
"""

from __future__ import annotations

from walrus.features.models import Expression, Ordering
from walrus.features.text.query import parse_query

__all__ = ["OP_AND", "OP_OR", "Expression", "Ordering", "parse_query"]

OP_AND = "and"
OP_OR = "or"
