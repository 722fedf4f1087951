"""``from walrus.tusks.rlite import WalrusLite``: walrus on an embedded rlite engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from walrus.drivers.rlite.database import RliteDatabase
from walrus.install import require_engine

__all__ = ["WalrusLite"]


class WalrusLite(RliteDatabase):
    """walrus on rlite: ``WalrusLite(':memory:')`` or ``WalrusLite(path)``.

    Without the ``hirlite`` package it raises
    :class:`~walrus.exceptions.EngineNotInstalled`, naming the command that
    installs it on this Python (``python -m walrus install rlite``).
    """

    if not TYPE_CHECKING:  # type checkers keep RliteDatabase's signature

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            require_engine("rlite")
            super().__init__(*args, **kwargs)
