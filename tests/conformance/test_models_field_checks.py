"""What fields and container fields share, and the checks every query path
makes on the fields it is given: on every backend and in both reply modes."""

from __future__ import annotations

from typing import Any

import pytest
from async_portal import model_base

from walrus import (
    IntegerField,
    InvalidType,
    InvalidValue,
    SetField,
    TextField,
    UnindexedField,
)


def keys_of(db: Any) -> set[Any]:
    return set(db.scan_iter(count=1000))


def models(db: Any) -> tuple[Any, Any]:
    class Item(model_base(db)):
        __database__ = db
        name = TextField(primary_key=True)
        count = IntegerField(index=True)
        body = TextField()
        tags = SetField()

    class Other(model_base(db)):
        __database__ = db
        count = IntegerField(index=True)

    return Item, Other


def test_descriptors_on_the_class_and_on_a_row(db: Any) -> None:
    Item, _ = models(db)
    assert isinstance(Item.count, IntegerField) and Item.count.name == "count"
    assert isinstance(Item.tags, SetField) and Item.tags.name == "tags"
    assert repr(Item.count) == "<IntegerField Item.count>"
    assert repr(Item.tags) == "<SetField Item.tags>"
    assert repr(IntegerField()) == "<IntegerField ?.>"
    item = Item.create(name="a", count=2)
    assert item.count == 2 and item.body is None
    item.tags.add("x")
    assert Item.load("a").tags.key == item.tags.key
    with pytest.raises(InvalidType, match="container field"):
        item.tags = {"y"}


def test_a_field_of_another_model_is_refused_everywhere(db: Any) -> None:
    Item, Other = models(db)
    item = Item.create(name="a", count=1)
    before = keys_of(db)
    with pytest.raises(InvalidValue, match=r"Other\.count.* is not a field of Item"):
        Item.query(order_by=Other.count)
    with pytest.raises(InvalidValue, match="not a field of Item"):
        Item.query(order_by=Other.count.desc())
    with pytest.raises(InvalidValue, match="not a field of Item"):
        Item.query((Item.count == 1) & (Other.count == 1))
    with pytest.raises(InvalidValue, match="not a field of Item"):
        item.incr(Other.count)
    with pytest.raises(InvalidValue, match="'colour' is not a field of Item"):
        item.incr("colour")
    assert keys_of(db) == before
    assert item.incr("count", 2) == 3 and item.incr(Item.count) == 4


def test_an_and_checks_the_index_of_each_range(db: Any) -> None:
    Item, _ = models(db)
    Item.create(name="a", count=1, body="x")
    before = keys_of(db)
    with pytest.raises(UnindexedField, match="no index"):
        Item.query((Item.count > 0) & (Item.body > "a"))
    with pytest.raises(UnindexedField, match="no range index"):
        Item.query((Item.count > 0) & (Item.name.between("a", "b")))
    with pytest.raises(UnindexedField, match="no index"):
        Item.query((Item.count > 0) | (Item.body != "a"))
    assert keys_of(db) == before
    assert [i.name for i in Item.query((Item.count > 0) & (Item.count <= 1))] == ["a"]
