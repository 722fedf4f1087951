"""walrus 0.9's import path for the graph (``from walrus.graph import Graph``).

The code lives in :mod:`walrus.features.graph`.
"""

from __future__ import annotations

from walrus.features.graph import Graph, Triple, Variable

__all__ = ["Graph", "Triple", "Variable"]
