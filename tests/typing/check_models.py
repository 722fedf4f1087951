"""Checked by mypy (tox -e types): model fields are ``Field[T]`` on the class
(for queries) and ``T`` on an instance; container fields give containers."""

from __future__ import annotations

import datetime
import uuid
from typing import Any, assert_type

from walrus import (
    DateField,
    DateTimeField,
    IntegerField,
    Model,
    Set,
    SetField,
    TextField,
    UUIDField,
)
from walrus.features.models import Expression, Ordering


class User(Model):
    name = TextField(primary_key=True)
    age = IntegerField(index=True)
    born = DateField(index=True)
    seen = DateTimeField()
    token = UUIDField()
    tags = SetField()


def check(user: User) -> None:
    assert_type(User.name, TextField)
    assert_type(User.age, IntegerField)
    assert_type(user.name, str)
    assert_type(user.age, int)
    assert_type(user.born, datetime.date)
    assert_type(user.seen, datetime.datetime)
    assert_type(user.token, uuid.UUID)
    assert_type(user.tags, Set)
    assert_type(User.age >= 3, Expression)
    assert_type((User.age >= 3) & (User.name == "x"), Expression)
    assert_type(User.age.desc(), Ordering)
    found: list[Any] = User.query(User.name.match("x"), order_by=User.age, limit=3)
    del found
