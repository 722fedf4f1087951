"""Workloads for Models: create, load, a filtered query, an ordered query, a
full-text query and all(), over 2,000 rows.

Only the API walrus 0.9 documents is used, so ``--original`` times the same
code on walrus 0.9.8. The plain client does the minimal equivalent work by
hand: HSET plus index SADD/ZADD in one pipeline for a create, HGETALL for a
load, ZRANGEBYSCORE/SINTER plus a pipeline of HGETALLs for the queries.
"""

from __future__ import annotations

import itertools
from typing import Any

from benchmarks.harness import Operation, Workload, group_key, plain_command

ROWS = 2000
ITEM = "bench|item"  # the key group of Item's rows and indexes
WORDS = ["python", "redis", "walrus", "tusk", "ocean", "ice", "carpenter", "eye"]


def _models(db: Any) -> tuple[Any, Any]:
    from walrus import IntegerField, Model, TextField

    class Item(Model):
        __database__ = db
        __namespace__ = "bench"
        name = TextField(primary_key=True)
        rank = IntegerField(index=True)
        kind = TextField(index=True)

    class Post(Model):
        __database__ = db
        __namespace__ = "bench"
        body = TextField(fts=True)

    return Item, Post


def _body(i: int) -> str:
    return " ".join(WORDS[(i * k + k) % len(WORDS)] for k in range(1, 5))


def _items(db: Any) -> None:
    Item, _ = _models(db)
    for i in range(ROWS):
        Item.create(name=f"item{i}", rank=i % 1000, kind="ab"[i % 2])


def _posts(db: Any) -> None:
    _, Post = _models(db)
    for i in range(ROWS):
        Post.create(body=_body(i))


def _walrus(act: Any) -> Any:
    def prepare(db: Any) -> Operation:
        Item, Post = _models(db)
        return lambda: act(Item, Post)

    return prepare


_NEW = itertools.count()


def _create(Item: Any, Post: Any) -> object:
    return Item.create(name=f"new{next(_NEW)}", rank=5, kind="c")


def _filtered(Item: Any, Post: Any) -> object:
    expr = (Item.rank >= 100) & (Item.rank < 110) & (Item.kind == "a")
    return list(Item.query(expr))


def _ordered(Item: Any, Post: Any) -> object:
    return list(Item.query(Item.rank < 50, order_by=Item.rank.desc()))


def _fts(Item: Any, Post: Any) -> object:
    return list(Post.query(Post.body.search("python AND (redis OR walrus)")))


# -- the minimal equivalent work with a plain client ------------------------------


def _rows(client: Any, keys: list[Any]) -> list[Any]:
    if not hasattr(client, "pipeline"):
        command = plain_command(client)
        return [command("HGETALL", k) for k in keys]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("HGETALL", key)
    return list(pipe.execute())


def _plain_create(client: Any) -> Operation:
    counter = itertools.count()

    def run() -> object:
        key = group_key(client, "plain:item", f":id.new{next(counter)}")
        commands = [
            ("HMSET", key, "name", key, "rank", "5", "kind", "c"),
            ("SADD", group_key(client, "plain:item", ":all"), key),
            ("SADD", group_key(client, "plain:item", ":kind.absolute.c"), key),
            ("ZADD", group_key(client, "plain:item", ":rank.continuous"), "5", key),
        ]
        if not hasattr(client, "pipeline"):  # an embedded engine: no round trips
            return [plain_command(client)(*c) for c in commands]
        pipe = client.pipeline(transaction=True)
        for command in commands:
            pipe.execute_command(*command)
        return pipe.execute()

    return run


def _plain_load(client: Any) -> Operation:
    command = plain_command(client)
    return lambda: command("HGETALL", group_key(client, ITEM, ":id.item7"))


def _plain_filtered(client: Any) -> Operation:
    command = plain_command(client)

    def run() -> object:
        ranked = command(
            "ZRANGEBYSCORE", group_key(client, ITEM, ":rank.continuous"), "100", "(110"
        )
        kinds = set(command("SMEMBERS", group_key(client, ITEM, ":kind.absolute.a")))
        return _rows(client, [k for k in ranked if k in kinds])

    return run


def _plain_ordered(client: Any) -> Operation:
    command = plain_command(client)

    def run() -> object:
        keys = command(
            "ZREVRANGEBYSCORE",
            group_key(client, ITEM, ":rank.continuous"),
            "(50",
            "-inf",
        )
        return _rows(client, keys)

    return run


def _plain_all(client: Any) -> Operation:
    command = plain_command(client)
    return lambda: _rows(client, command("SMEMBERS", group_key(client, ITEM, ":all")))


WORKLOADS = [
    Workload("models create", _items, _walrus(_create), _plain_create),
    Workload(
        "models load",
        _items,
        _walrus(lambda Item, Post: Item.load("item7")),
        _plain_load,
    ),
    Workload(
        "models filtered query (2k rows)", _items, _walrus(_filtered), _plain_filtered
    ),
    Workload("models order_by query", _items, _walrus(_ordered), _plain_ordered),
    Workload("models fts query", _posts, _walrus(_fts)),
    Workload(
        "models all (2k rows)",
        _items,
        _walrus(lambda Item, Post: list(Item.all())),
        _plain_all,
    ),
]
