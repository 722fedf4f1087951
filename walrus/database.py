"""walrus 0.9's import path for the server database (``from walrus.database
import Database``); the class lives in :mod:`walrus.drivers.server`, the
extras every database shares in :mod:`walrus.api`."""

from __future__ import annotations

from walrus.api import DatabaseAPI
from walrus.drivers.server.database import Database, Walrus

__all__ = ["Database", "DatabaseAPI", "Walrus"]
