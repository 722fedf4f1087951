"""The key helper's temporary keys: in cluster mode, in the slot of the key
they sit next to, whatever that key's name (checked with redis-py's slot
function, the one a cluster client routes by)."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from walrus.keys import Keyspace

NAMES = ["plain", "{tag}rest", "x{tag}y", "odd}name", "{}x", "a{b", "", "北京"]


@pytest.mark.parametrize("key", [*NAMES, b"\xff\xfe", b"{\xff}x", 42, 2.5])
def test_a_temporary_key_is_in_its_neighbour_s_slot(key: str | bytes | float) -> None:
    temp = Keyspace(cluster=True).temp_near(key)
    raw = key if isinstance(key, bytes) else str(key).encode()
    assert isinstance(temp, bytes)
    assert key_slot(temp) == key_slot(raw)
    assert temp != Keyspace(cluster=True).temp_near(key)  # fresh each time


def test_standalone_temporary_keys_keep_their_name() -> None:
    temp = Keyspace().temp_near("{tag}rest")
    assert isinstance(temp, str)
    assert temp.startswith("temp.")


def test_a_tag_can_always_be_found() -> None:
    # keys hashed whole that contain '}' get a number of their slot as tag
    for key in (b"}", b"a}b", b"{}", b"{}}"):
        temp = Keyspace(cluster=True).temp_near(key)
        assert key_slot(temp) == key_slot(key)
        assert temp.startswith(b"{") and temp[1 : temp.index(b"}")].isdigit()
