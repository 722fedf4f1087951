"""What a cluster refuses, for the sync and the async cluster databases.

``walrus.ClusterDatabase`` (:mod:`walrus.drivers.server.cluster`) and
``walrus.asyncio.AsyncClusterDatabase`` (:mod:`walrus.asyncio.cluster`)
refuse the same options and name keys of different slots the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from walrus.exceptions import CrossSlot, InvalidValue

__all__ = ["HINT", "check_options", "check_url", "cross_slot"]

#: How to place keys in one slot (ends every CrossSlot message).
HINT = (
    "a cluster runs a multi-key command, script or transaction only on keys "
    "of one slot: give the keys one hash tag, e.g. '{group}:a' and '{group}:b' "
    "(walrus's own key groups do this)"
)


def cross_slot(command: str, keys: Sequence[Any]) -> CrossSlot:
    """The error for ``command`` on keys of different slots."""
    shown = ", ".join(repr(k) for k in list(keys)[:4])
    return CrossSlot(
        f"{command}: its keys ({shown}{', ...' if len(keys) > 4 else ''}) "
        f"are in different slots; {HINT}"
    )


def check_options(name: str, has_node: bool, kwargs: dict[str, Any]) -> None:
    """Refuse what the cluster client ``name`` cannot take (InvalidValue): no
    node to start from, a ``db`` other than 0 (``db=0`` is dropped from
    ``kwargs``), a unix socket."""
    if not has_node:
        raise InvalidValue(
            f"{name} needs a node to discover the cluster from: "
            "startup_nodes=[...], host=... and port=..., or from_url(url)"
        )
    if kwargs.get("db", 0) not in (0, "0"):
        raise InvalidValue("a cluster has one database: db must be 0")
    kwargs.pop("db", None)
    if kwargs.get("unix_socket_path") is not None:
        raise InvalidValue("redis-py reaches cluster nodes over TCP only")


def check_url(url: str) -> None:
    """Refuse a URL that cannot name a cluster node (InvalidValue)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("redis", "rediss"):
        raise InvalidValue(
            f"a cluster URL is redis:// or rediss://, not {scheme}:// ({url!r})"
        )
