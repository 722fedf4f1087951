"""ZSet: a Redis sorted set, on every backend and in both reply modes.

Unions and intersections use keys that share a hash tag (``{k}a``, ``{k}b``):
a cluster runs them only within one slot, every other backend ignores the
braces.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from async_portal import twin
from cross_slot import cluster_only, refused_across_slots
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import Backend, one_round_trip, round_trips, run_stateful, text

from walrus import WrongType, ZSet


def texts(db: Any, values: Any) -> list[Any]:
    return [text(db, v) for v in values]


def scored(db: Any, pairs: list[tuple[str, float]]) -> list[tuple[Any, float]]:
    return [(text(db, m), s) for m, s in pairs]


AGES = {"charlie": 31, "huey": 3, "mickey": 6, "zaizee": 2.5}


def test_reference_example(db: Any) -> None:
    z1 = db.ZSet("z1")
    assert z1.add(AGES) == 4
    z1["huey"] = 3.5
    assert z1[:"mickey"] == texts(db, ["zaizee", "huey"])
    assert z1[-2:] == texts(db, ["mickey", "charlie"])
    assert z1[-2:, True] == scored(db, [("mickey", 6.0), ("charlie", 31.0)])
    assert z1[:10, True][0] == (text(db, "zaizee"), 2.5)
    assert z1["huey":"charlie", True] == scored(db, [("huey", 3.5), ("mickey", 6.0)])


def test_add_with_keywords_and_mapping(db: Any) -> None:
    z = db.ZSet("z")
    assert z.add(a=1) == 1
    assert z.add({"b": 2}, c=3.5) == 2
    assert z.add() == 0
    assert not db.exists("empty")
    assert z.as_items() == scored(db, [("a", 1.0), ("b", 2.0), ("c", 3.5)])
    assert z.as_items(decode=True) == [("a", 1.0), ("b", 2.0), ("c", 3.5)]


def test_subscripts(db: Any) -> None:
    z = twin(db, ZSet).from_dict(db, "z", AGES)
    assert z["huey"] == 3.0
    with pytest.raises(KeyError):
        z["nobody"]
    # a rank gives a list of at most one item (walrus 0.9's shape)
    assert z[0] == [text(db, "zaizee")]
    assert z[0, False] == [text(db, "zaizee")]
    assert z[-1, True] == [(text(db, "charlie"), 31.0)]
    assert z[4] == []
    assert z[-5, True] == []
    ordered = ["zaizee", "huey", "mickey", "charlie"]
    for index in [
        slice(None, 0),
        slice(1, None),
        slice(-3, -1),
        slice(10, None),
        slice(None, -10),
        slice(None, None, 2),
        slice(None, None, -1),
    ]:
        assert z[index] == texts(db, ordered[index])
    assert z["huey":] == texts(db, ordered[1:])
    assert z[1:"charlie"] == texts(db, ordered[1:3])
    assert z["mickey":"huey"] == []
    with pytest.raises(KeyError):
        z["nobody":]
    with pytest.raises(KeyError):
        z[:"nobody"]


def test_deletion(db: Any) -> None:
    z = twin(db, ZSet).from_dict(db, "z", {m: i for i, m in enumerate("abcdefg")})
    del z["a"]
    with pytest.raises(KeyError):
        del z["a"]
    del z[0]  # rank 0: "b"
    with pytest.raises(IndexError):
        del z[10]
    del z["d":"f"]
    assert z[:] == texts(db, "cfg")
    del z[-1:]
    assert z[:] == texts(db, "cf")
    with pytest.raises(KeyError):
        del z["zz":]
    with pytest.raises(ValueError):
        del z[::2]
    assert "c" in z
    assert "a" not in z
    assert len(z) == 2


def test_scores_ranks_counts(db: Any) -> None:
    z = twin(db, ZSet).from_dict(db, "z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert z.score("b") == 2.0
    assert z.score("zz") is None
    assert z.rank("b") == 1
    assert z.rank("b", reverse=True) == 2
    assert z.rank("zz") is None
    assert z.count(2, 3) == 2
    assert z.count(2) == 1
    assert z.count("-inf", "+inf") == 4
    assert z.incr("a") == 2.0
    assert z.incr("a", 2.5) == 4.5
    assert z.incr("new", -1) == -1.0


def test_ranges(db: Any) -> None:
    z = twin(db, ZSet).from_dict(db, "z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert z.range(0, 1) == texts(db, "ab")
    assert z.range(0, 1, with_scores=True) == scored(db, [("a", 1.0), ("b", 2.0)])
    assert z.range(0, 1, desc=True) == texts(db, "dc")
    assert z.range(0, 1, reverse=True) == texts(db, "dc")
    assert z.range_by_score(2, 3) == texts(db, "bc")
    assert z.range_by_score(2, "+inf", start=1, num=1) == texts(db, "c")
    assert z.range_by_score(2, 3, with_scores=True) == scored(
        db, [("b", 2.0), ("c", 3.0)]
    )
    assert z.range_by_score(2, 3, reverse=True) == texts(db, "cb")
    lex = twin(db, ZSet).from_dict(db, "lex", dict.fromkeys("abcde", 0))
    assert lex.range_by_lex("[b", "(d") == texts(db, "bc")
    assert lex.range_by_lex("-", "+", start=1, num=2) == texts(db, "bc")
    assert lex.range_by_lex("[b", "(d", reverse=True) == texts(db, "cb")
    assert lex.lex_count("[b", "+") == 4
    assert lex.remove_by_lex("[d", "+") == 2
    assert lex[:] == texts(db, "abc")


def test_removals(db: Any) -> None:
    z = twin(db, ZSet).from_dict(db, "z", {m: i for i, m in enumerate("abcdef")})
    assert z.remove("a", "zz") == 1
    assert z.remove() == 0
    assert z.remove_by_rank(0) == 1
    assert z.remove_by_rank(-2, -1) == 2
    assert z.remove_by_score(2) == 1
    assert z.remove_by_score(0, 10) == 1
    assert len(z) == 0


def test_pops(db: Any) -> None:
    z = twin(db, ZSet).from_dict(db, "z", {m: i for i, m in enumerate("abcdef")})
    assert z.popmin() == scored(db, [("a", 0.0)])
    assert z.popmax(2) == scored(db, [("f", 5.0), ("e", 4.0)])
    assert z.popmin_compat(2) == scored(db, [("b", 1.0), ("c", 2.0)])
    assert z.popmax_compat() == scored(db, [("d", 3.0)])
    assert z.popmin() == []  # walrus 0.9's shape
    assert z.popmax() == []
    assert z.popmin_compat() == []
    assert z.popmax_compat() == []
    z.add(x=1, y=2)
    assert z.bpopmin(1) == (text(db, "x"), 1.0)
    assert z.bpopmax(1) == (text(db, "y"), 2.0)
    assert z.bpopmin(1) is None

    def add() -> None:
        time.sleep(0.2)
        db.ZSet("z").add(late=9)

    adder = threading.Thread(target=add)
    adder.start()
    assert z.bpopmax(5) == (text(db, "late"), 9.0)
    adder.join()


def test_store_with_weights_and_aggregate(db: Any) -> None:
    a = twin(db, ZSet).from_dict(db, "{k}a", {"x": 1, "y": 2})
    b = twin(db, ZSet).from_dict(db, "{k}b", {"x": 5, "z": 3})
    union = a.unionstore("{k}u", b)
    assert isinstance(union, ZSet) and union.key == "{k}u"
    assert union.as_items(decode=True) == [("y", 2.0), ("z", 3.0), ("x", 6.0)]
    assert a.interstore("{k}i", b).as_items(decode=True) == [("x", 6.0)]
    maximum = a.interstore("{k}i", b, aggregate="max")
    assert maximum.as_items(decode=True) == [("x", 5.0)]
    weighted = a.unionstore("{k}w", b, weights=[2, 1], aggregate="MIN")
    assert weighted.as_items(decode=True) == [("x", 2.0), ("z", 3.0), ("y", 4.0)]
    empty = a.interstore("{k}e", twin(db, ZSet)(db, "{k}missing"))
    assert len(empty) == 0
    a.interstore("{k}a", b)  # the destination may be a source
    assert a.as_items(decode=True) == [("x", 6.0)]
    with pytest.raises(ValueError):
        a.unionstore("{k}w", b, weights=[1])


def test_in_place_union_and_intersection(db: Any) -> None:
    a = twin(db, ZSet).from_dict(db, "{k}a", {"x": 1, "y": 2})
    b = twin(db, ZSet).from_dict(db, "{k}b", {"x": 5, "z": 3})
    same = a
    a |= b
    assert a is same and a.key == "{k}a"
    assert a.as_items(decode=True) == [("y", 2.0), ("z", 3.0), ("x", 6.0)]
    a &= b
    assert a.as_items(decode=True) == [("z", 6.0), ("x", 11.0)]
    assert b.as_items(decode=True) == [("z", 3.0), ("x", 5.0)]


def test_keys_in_different_slots_raise_cross_slot(db: Any, backend: Backend) -> None:
    cluster_only(backend)
    a = twin(db, ZSet).from_dict(db, "a", {"x": 1})
    b = twin(db, ZSet).from_dict(db, "b", {"x": 2, "y": 3})
    for store in (a.unionstore, a.interstore):
        refused_across_slots(lambda store=store: store("{k}u", b), "a", "b", "{k}u")
        refused_across_slots(lambda store=store: store("a", b), "a", "b")
    refused_across_slots(lambda: a.__ior__(b), "a", "b")
    refused_across_slots(lambda: a.__iand__(b), "a", "b")
    assert a.as_items(decode=True) == [("x", 1.0)]  # nothing was written
    assert sorted(db) == [text(db, "a"), text(db, "b")]


def test_search_iteration_and_sort(db: Any) -> None:
    z = twin(db, ZSet).from_dict(db, "z", {f"user:{i}": i for i in range(30)})
    assert dict(z.search("user:1*")) == {
        text(db, f"user:{i}"): float(i) for i in [1, *range(10, 20)]
    }
    assert len(list(z.search("*", count=4))) == 4
    assert list(iter(z))[:2] == scored(db, [("user:0", 0.0), ("user:1", 1.0)])
    assert z.sort(limit=1) == texts(db, ["user:0"])


def test_unicode(db: Any) -> None:
    z = twin(db, ZSet).from_dict(db, "z", {"北京": 1, "ü": 2})
    z = twin(db, ZSet).from_dict(db, "z", {"北京": 1, "ü": 2, "ß": 3}, clear=True)
    assert z.as_items(decode=True) == [("北京", 1.0), ("ü", 2.0), ("ß", 3.0)]
    assert z["ü"] == 2.0


@pytest.mark.parametrize("bad", [None, [1], object()])
def test_bad_input(db: Any, bad: Any) -> None:
    z = db.ZSet("z")
    if not isinstance(bad, list):
        with pytest.raises(TypeError, match=type(bad).__name__):
            z.add({bad: 1})
    with pytest.raises(TypeError, match=type(bad).__name__):
        z.add(a=bad)
    with pytest.raises(TypeError, match="str"):
        z.add(a="1")
    with pytest.raises(TypeError, match="bool"):
        z["a"] = True
    with pytest.raises(TypeError, match=type(bad).__name__):
        z[bad] = 1  # the member, checked before the ZADD is sent
    assert not db.exists("z")


def test_wrong_type(db: Any) -> None:
    db.sadd("s", "x")
    z = db.ZSet("s")
    for operation in (lambda: z.add(a=1), lambda: z[:], lambda: z.score("x")):
        with pytest.raises(WrongType, match="set"):
            operation()


def test_get_key_returns_a_zset(db: Any) -> None:
    db.zadd("z", {"x": 1})
    assert db.get_key("z") == db.ZSet("z")


def test_round_trips(db: Any, backend: Backend) -> None:
    z = twin(db, ZSet).from_dict(db, "{k}z", {f"m{i}": i for i in range(20)})
    other = twin(db, ZSet).from_dict(db, "{k}o", {f"m{i}": i for i in range(10, 30)})
    operations: list[Callable[[], Any]] = [
        lambda: z.add(a=1),
        lambda: z.__setitem__("b", 2),
        lambda: z["m3"],
        lambda: z[2],
        lambda: z[2:5],
        lambda: z["m2":"m5", True],
        lambda: z[::2],
        lambda: z.__delitem__("a"),
        lambda: z.__delitem__(slice("m1", "m2")),
        lambda: "m4" in z,
        lambda: len(z),
        lambda: list(iter(z)),
        lambda: z.score("m5"),
        lambda: z.rank("m5"),
        lambda: z.count(1, 5),
        lambda: z.lex_count("-", "+"),
        lambda: z.range(0, 3),
        lambda: z.range_by_score(0, 3),
        lambda: z.range_by_lex("-", "+"),
        lambda: z.remove_by_rank(0),
        lambda: z.remove_by_score(5),
        lambda: z.remove_by_lex("[m9", "[m9"),
        lambda: z.incr("m6"),
        lambda: z.popmin(),
        lambda: z.popmax(),
        lambda: z.popmin_compat(),
        lambda: z.popmax_compat(),
        lambda: z.bpopmin(1),
        lambda: z.interstore("{k}i", other, weights=[1, 2], aggregate="max"),
        lambda: z.unionstore("{k}u", other),
        lambda: list(z.search("m1*")),
        lambda: z.as_items(),
        lambda: twin(db, ZSet).from_dict(db, "n", {"a": 1}, clear=True),
    ]
    for operation in operations:
        for _ in range(2):  # the first run loads any script
            twin(db, ZSet).from_dict(
                db, "{k}z", {f"m{i}": i for i in range(20)} | {"a": 0}
            )
            one_round_trip(db, backend, operation) if _ else operation()


def test_iteration_round_trips(db: Any, backend: Backend) -> None:
    z = twin(db, ZSet).from_dict(db, "z", {str(i): i for i in range(2500)})
    if not backend.server:
        assert len(list(iter(z))) == 2500
        return
    with round_trips(db) as counter:
        assert len(list(iter(z))) == 2500
    assert counter.round_trips <= 3 + 1


class ZSetMachine(RuleBasedStateMachine):
    """A ZSet against a dict of member -> score, ordered by (score, member)."""

    database: Any = None
    members = st.sampled_from(["a", "b", "c", "d", "ü"])
    scores = st.integers(-3, 3)
    bounds = st.one_of(st.none(), st.integers(-6, 6), members)

    def __init__(self) -> None:
        super().__init__()
        self.zset = twin(self.database, ZSet)(
            self.database, f"machine:{uuid.uuid4().hex}"
        )
        self.model: dict[str, float] = {}

    def ordered(self) -> list[str]:
        return sorted(self.model, key=lambda m: (self.model[m], m.encode()))

    def rank_of(self, bound: Any, default: int) -> int | None:
        members = self.ordered()
        if bound is None:
            return default
        if isinstance(bound, int):
            return slice(bound, None).indices(len(members))[0]
        return members.index(bound) if bound in members else None

    @rule(data=st.dictionaries(members, scores, max_size=3))
    def add(self, data: dict[str, int]) -> None:
        assert self.zset.add(data) == len(set(data) - set(self.model))
        self.model.update({m: float(s) for m, s in data.items()})

    @rule(member=members, amount=scores)
    def incr(self, member: str, amount: int) -> None:
        self.model[member] = self.model.get(member, 0.0) + amount
        assert self.zset.incr(member, amount) == self.model[member]

    @rule(member=members)
    def remove(self, member: str) -> None:
        assert self.zset.remove(member) == int(member in self.model)
        self.model.pop(member, None)

    @rule(start=bounds, stop=bounds, delete=st.booleans())
    def slice(self, start: Any, stop: Any, delete: bool) -> None:
        members = self.ordered()
        first, last = self.rank_of(start, 0), self.rank_of(stop, len(members))
        if first is None or last is None:
            with pytest.raises(KeyError):
                self.zset[start:stop]
            return
        expected = members[first:last]
        if delete:
            del self.zset[start:stop]
            for member in expected:
                del self.model[member]
        else:
            got = self.zset[start:stop, True]
            assert got == [(text(self.database, m), self.model[m]) for m in expected]

    @rule(count=st.integers(1, 3), high=st.booleans())
    def pop(self, count: int, high: bool) -> None:
        members = self.ordered()
        taken = members[::-1][:count] if high else members[:count]
        got = self.zset.popmax(count) if high else self.zset.popmin(count)
        expected = [(text(self.database, m), self.model.pop(m)) for m in taken]
        assert got == expected

    @invariant()
    def same_items(self) -> None:
        items = [(text(self.database, m), self.model[m]) for m in self.ordered()]
        assert self.zset.as_items() == items
        assert list(iter(self.zset)) == items
        assert len(self.zset) == len(self.model)

    def teardown(self) -> None:
        self.zset.clear()


def test_stateful(db: Any) -> None:
    ZSetMachine.database = db
    run_stateful(ZSetMachine, db)


def test_replies_are_the_same_in_resp3(backend: Backend) -> None:
    if not backend.server:
        return  # embedded engines answer RESP2 shapes only
    for protocol in (2, 3):
        db = backend.open(protocol=protocol)
        try:
            db.delete("z")
            z = twin(db, ZSet).from_dict(db, "z", {"a": 1, "b": 2.5})
            assert z[:, True] == z.as_items() == list(iter(z))
            assert z.as_items() == [(b"a", 1.0), (b"b", 2.5)]
            assert z.range_by_score(0, 5, with_scores=True) == z.as_items()
            assert list(z.search("*")) == z.as_items()
            assert z.bpopmax(1) == (b"b", 2.5)
            assert z.popmin() == [(b"a", 1.0)]
        finally:
            db.delete("z")
            db.close()
