"""Models against plain Python: random rows and random filter trees must give
the rows a plain-Python evaluation gives (and in the same order when ordered),
and concurrent writers must leave indexes that match the final row. On every
backend, in both reply modes."""

from __future__ import annotations

import datetime
import random
import threading
from typing import Any

from async_portal import model_base
from hypothesis import given
from hypothesis import strategies as st

from walrus import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    TextField,
)

DAYS = st.dates(datetime.date(1999, 12, 30), datetime.date(2000, 1, 3))
DOMAINS: dict[str, Any] = {
    "n": st.integers(-3, 3),
    "x": st.sampled_from([-1.5, 0.0, 0.25, 2.0, 1e-9]),
    "tag": st.sampled_from(["a", "b", "ü", ""]),
    "flag": st.booleans(),
    "day": DAYS,
}
VOCABULARY = ["alpha", "beta", "gamma", "delta"]
BODY = st.lists(st.sampled_from(VOCABULARY), max_size=4).map(" ".join)
ROW = st.fixed_dictionaries(
    {**{name: st.none() | d for name, d in DOMAINS.items()}, "body": st.none() | BODY}
)
RANGE_OPS = ["eq", "ne", "lt", "le", "gt", "ge"]


def _leaf(name: str, ranged: bool) -> Any:
    value = DOMAINS[name]
    if name == "tag":
        value = st.sampled_from(["a", "b", "ü", "", "zz"])
    plain = st.tuples(
        st.just(name), st.sampled_from(RANGE_OPS if ranged else ["eq", "ne"]), value
    )
    if not ranged:
        return plain
    return plain | st.tuples(st.just(name), st.just("between"), st.tuples(value, value))


LEAF = st.one_of(
    st.tuples(st.just("body"), st.just("match"), st.sampled_from(VOCABULARY)),
    st.tuples(
        st.just("body"),
        st.just("search"),
        st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(VOCABULARY)),
    ),
    _leaf("n", True),
    _leaf("x", True),
    _leaf("day", True),
    _leaf("tag", False),
    _leaf("flag", False),
)
TREE = st.recursive(
    LEAF,
    lambda kids: st.tuples(st.sampled_from(["and", "or"]), kids, kids),
    max_leaves=6,
)


def build(model: Any, tree: Any) -> Any:
    """The walrus expression of a tree."""
    if tree[0] in ("and", "or"):
        left, right = build(model, tree[1]), build(model, tree[2])
        return left & right if tree[0] == "and" else left | right
    name, op, value = tree
    f = getattr(model, name)
    if op == "match":
        return f.match(value)
    if op == "search":
        return f.search(f"{value[0]} OR {value[1]}")
    if op == "between":
        return f.between(*value)
    return {
        "eq": f == value,
        "ne": f != value,
        "lt": f < value,
        "le": f <= value,
        "gt": f > value,
        "ge": f >= value,
    }[op]


def holds(tree: Any, row: dict[str, Any]) -> bool:
    """Plain Python: a missing value satisfies only ``!=``."""
    if tree[0] == "and":
        return holds(tree[1], row) and holds(tree[2], row)
    if tree[0] == "or":
        return holds(tree[1], row) or holds(tree[2], row)
    name, op, value = tree
    have = row[name]
    if op in ("match", "search"):
        words = (have or "").split()
        wanted = [value] if op == "match" else list(value)
        return any(w in words for w in wanted)
    if op == "ne":
        return have is None or have != value
    if have is None:
        return False
    if op == "between":
        return bool(value[0] <= have <= value[1])
    compare = {
        "eq": have == value,
        "lt": have < value,
        "le": have <= value,
        "gt": have > value,
        "ge": have >= value,
    }
    return bool(compare[op])


def prop_model(db: Any) -> Any:
    class Prop(model_base(db)):
        __database__ = db
        n = IntegerField(index=True)
        x = FloatField(index=True)
        tag = TextField(index=True)
        flag = BooleanField(index=True)
        day = DateField(index=True)
        body = TextField(fts=True, stemmer=False)

    return Prop


def ordered(rows: dict[int, dict[str, Any]], ids: list[int], name: str) -> list[int]:
    """Ascending by ``name``, missing values last, ties by row key."""

    def row_key(i: int) -> str:
        return f"prop:id.{i}"

    valued = sorted(
        (i for i in ids if rows[i][name] is not None),
        key=lambda i: (rows[i][name], row_key(i)),
    )
    return valued + sorted((i for i in ids if rows[i][name] is None), key=row_key)


@given(
    rows=st.lists(ROW, max_size=10),
    tree=TREE,
    order=st.sampled_from([None, "n", "x", "day", "tag"]),
    descending=st.booleans(),
    limit=st.none() | st.integers(0, 4),
    offset=st.integers(0, 3),
)
def test_queries_match_plain_python(
    db: Any,
    rows: list[dict[str, Any]],
    tree: Any,
    order: str | None,
    descending: bool,
    limit: int | None,
    offset: int,
) -> None:
    db.flushdb()
    Prop = prop_model(db)
    stored = {Prop.create(**row)._id: row for row in rows}
    expected = [i for i, row in stored.items() if holds(tree, row)]
    expr = build(Prop, tree)
    assert sorted(r._id for r in Prop.query(expr)) == sorted(expected)
    if order is None:
        if "'body'" in repr(tree):
            return  # full-text matches come by relevance
        expected = sorted(expected, key=lambda i: f"prop:id.{i}")
        order_by = None
    else:
        expected = ordered(stored, expected, order)
        if descending:
            expected.reverse()
        field = getattr(Prop, order)
        order_by = field.desc() if descending else field
    if limit is None and offset == 0 and order is None:
        return
    end = None if limit is None else offset + limit
    found = Prop.query(expr, order_by=order_by, limit=limit, offset=offset)
    assert [r._id for r in found] == expected[offset:end]
    for row in found:
        assert {n: getattr(row, n) for n in stored[row._id]} == stored[row._id]


@given(rows=st.lists(ROW, min_size=1, max_size=8), data=st.data())
def test_saves_and_deletes_keep_indexes_exact(
    db: Any, rows: list[dict[str, Any]], data: Any
) -> None:
    """After random creates, updates and deletes, every index holds exactly
    the rows' current values (no stale entries)."""
    db.flushdb()
    Prop = prop_model(db)
    prop = db.keyspace.group("prop").key
    live = {Prop.create(**row)._id: row for row in rows}
    for _ in range(data.draw(st.integers(0, 6))):
        pk = data.draw(st.sampled_from(sorted(live)))
        if data.draw(st.booleans()) and len(live) > 1:
            Prop.load(pk).delete()
            del live[pk]
        else:
            row = data.draw(ROW)
            instance = Prop.load(pk)
            for name, value in row.items():
                setattr(instance, name, value)
            instance.save()
            live[pk] = row
    for name in DOMAINS:
        values = {row[name] for row in live.values()} - {None}
        for value in values:
            f = getattr(Prop, name)
            want = {i for i, row in live.items() if row[name] == value}
            assert {r._id for r in Prop.query(f == value)} == want
        if name in ("n", "x", "day"):
            f = getattr(Prop, name)
            want = {i for i, row in live.items() if row[name] is not None}
            low = {"n": -10, "x": -10.0, "day": datetime.date(1990, 1, 1)}[name]
            assert {r._id for r in Prop.query(f >= low)} == want
    index_keys = {
        k.decode() if isinstance(k, bytes) else k
        for k in db.scan_iter(match=prop("*absolute*"), count=1000)
    }
    expected_keys = set()
    for pk, row in live.items():
        expected_keys.add(prop(f"_id.absolute.{pk}"))
        for name, value in row.items():
            if value is not None:
                stored_text = getattr(Prop, name).to_db(value).decode()
                expected_keys.add(prop(f"{name}.absolute.{stored_text}"))
    assert index_keys == expected_keys
    fts_keys = {
        k.decode() if isinstance(k, bytes) else k
        for k in db.scan_iter(match=prop("body.fts.*"), count=1000)
    }
    terms = {t for row in live.values() for t in (row["body"] or "").split()}
    assert fts_keys == {prop(f"body.fts.{t}") for t in terms}


# -- atomicity under threads -----------------------------------------------------

TAGS = ["red", "green", "blue"]


def test_concurrent_saves_leave_consistent_indexes(db: Any) -> None:
    class Acc(model_base(db)):
        __database__ = db
        name = TextField(primary_key=True)
        n = IntegerField(index=True)
        tag = TextField(index=True)
        body = TextField(fts=True, stemmer=False)

    Acc.create(name="shared", n=0, tag="red", body="start")
    acc = db.keyspace.group("acc").key
    shared = acc("id.shared")
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(40):
                row = Acc.load("shared")
                row.n = rng.randrange(5)
                row.tag = rng.choice(TAGS)
                row.body = rng.choice(["alpha beta", "beta gamma", "delta"])
                row.save()
                if rng.random() < 0.3:
                    row.incr(Acc.n, 1)
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        """Snapshots (one MULTI) must never show the row and its equality
        entries disagreeing."""
        try:
            while not stop.is_set():
                pipe = db.pipeline(transaction=True)
                pipe.hget(shared, "n")
                pipe.hget(shared, "tag")
                for v in range(8):
                    pipe.sismember(acc(f"n.absolute.{v}"), shared)
                for tag in TAGS:
                    pipe.sismember(acc(f"tag.absolute.{tag}"), shared)
                pipe.zscore(acc("n.continuous"), shared)
                n, tag, *flags = pipe.execute()
                score = flags.pop()
                n = int(n)
                tag = tag.decode() if isinstance(tag, bytes) else tag
                assert [bool(f) for f in flags[:8]] == [v == n for v in range(8)]
                assert [bool(f) for f in flags[8:]] == [t == tag for t in TAGS]
                assert score == n
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in (1, 2, 3)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    watcher.join()
    assert not errors, errors[0]
    final = Acc.load("shared")
    members = {}
    for key in db.scan_iter(match=acc("*"), count=1000):
        text = key.decode() if isinstance(key, bytes) else key
        kind = db.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "set" and text != acc("all"):
            members[text] = {
                m.decode() if isinstance(m, bytes) else m for m in db.smembers(key)
            }
        elif kind == "zset":
            members[text] = {
                (m.decode() if isinstance(m, bytes) else m)
                for m in db.zrange(key, 0, -1)
            }
    holding = {k for k, v in members.items() if shared in v}
    terms = set(final.body.split())
    assert holding == {
        acc("name.absolute.shared"),
        acc(f"n.absolute.{final.n}"),
        acc(f"tag.absolute.{final.tag}"),
        acc(f"body.absolute.{final.body}"),
        acc("n.continuous"),
    } | {acc(f"body.fts.{t}") for t in terms}
    assert db.zscore(acc("n.continuous"), shared) == final.n
    assert [r.name for r in Acc.query(Acc.body.match(final.body))] == ["shared"]
