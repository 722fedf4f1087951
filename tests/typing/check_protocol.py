"""Checked by mypy (tox -e types): every driver's database satisfies the protocol."""

from __future__ import annotations

from walrus import Database, Driver
from walrus.drivers.embedded.database import EmbeddedDatabase
from walrus.tusks.rlite import WalrusLite


def server(db: Database) -> Driver:
    return db


def embedded(db: EmbeddedDatabase) -> Driver:
    return db


def rlite(db: WalrusLite) -> Driver:
    return db
