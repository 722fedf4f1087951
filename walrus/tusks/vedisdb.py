"""``from walrus.tusks.vedisdb import WalrusVedis``: walrus on an embedded Vedis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from walrus.drivers.vedis.database import VedisDatabase
from walrus.install import require_engine

__all__ = ["WalrusVedis"]


class WalrusVedis(VedisDatabase):
    """Walrus on Vedis: ``WalrusVedis()`` in memory, ``WalrusVedis(path)`` in a file.

    Without the ``vedis`` package it raises
    :class:`~walrus.exceptions.EngineNotInstalled`, naming the command that
    installs it on this Python (``python -m walrus install vedis``).
    """

    if not TYPE_CHECKING:  # type checkers keep VedisDatabase's signature

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            require_engine("vedis")
            super().__init__(*args, **kwargs)
