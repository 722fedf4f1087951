"""Full-text search Index: the query language, ranking, phrases, stemming,
metaphone, write consistency, bad input and budgets, on every backend and in
both reply modes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import Backend, one_round_trip, round_trips, slots_of

from walrus import (
    Index,
    InvalidType,
    InvalidValue,
    MissingKey,
    QueryError,
    SettingsMismatch,
)

CORPUS = {
    "1": "Walruses are large marine mammals of the Arctic",
    "2": "The walrus has long tusks and whiskers",
    "3": "Tusks of the walrus: a walrus uses its tusks to haul out",
    "4": "Seals and sea lions are marine mammals too",
    "5": "Python utilities for Redis, written with care",
    "6": "Redis is fast; the walrus library wraps Redis",
}

QUERIES = [
    ("walrus", {"1", "2", "3", "6"}),
    ("walruses", {"1", "2", "3", "6"}),  # stemmed like "walrus"
    ("WALRUS", {"1", "2", "3", "6"}),
    ("tusks", {"2", "3"}),
    ("tusk", {"2", "3"}),
    ("walrus tusks", {"2", "3"}),  # implicit AND
    ("walrus AND tusks", {"2", "3"}),
    ("walrus & tusks", {"2", "3"}),
    ("seals OR python", {"4", "5"}),
    ("seals | python", {"4", "5"}),
    ("marine mammals", {"1", "4"}),
    ('"marine mammals"', {"1", "4"}),
    ('"mammals marine"', set()),
    ('"tusks of the walrus"', {"3"}),  # stop words keep their place
    ('"tusks walrus"', set()),
    ("redis (python OR library)", {"5", "6"}),
    ("(seals OR python) AND redis", {"5"}),
    ("seals OR python AND redis", {"4", "5"}),  # AND binds tighter
    ("redis OR seals tusks", {"5", "6"}),  # = redis OR (seals AND tusks)
    ("nothing", set()),
    ("walrus nothing", set()),
    ("walrus OR nothing", {"1", "2", "3", "6"}),
    ("the walrus", {"1", "2", "3", "6"}),  # a stop word constrains nothing
    ("the", set()),
    ("the OR a", set()),
    ("   ", set(CORPUS)),  # a blank query finds everything, as in walrus 0.9
    ("", set(CORPUS)),
    # a quote or parentheses left open close at the end, as in walrus 0.9
    ("(seals OR python", {"4", "5"}),
    ("redis AND (python OR (library", {"5", "6"}),
    ('"marine mammals', {"1", "4"}),
    ('walrus "long tusks', {"2"}),
]


def make(db: Any, name: str = "idx", **options: Any) -> Index:
    index = db.Index(name, **options)
    assert isinstance(index, Index)
    return index


def loaded(db: Any, **options: Any) -> Index:
    index = make(db, **options)
    for key, content in CORPUS.items():
        index.add(key, content, n=key)
    return index


def keys_of(db: Any, index: Index) -> list[str]:
    found = db.scan_iter(match=db.keyspace.group(index.name).key("*"), count=1000)
    return sorted(k.decode() if isinstance(k, bytes) else k for k in found)


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_query_table(db: Any, query: str, expected: set[str]) -> None:
    index = loaded(db)
    hits = index.search_items(query)
    assert {key for key, _ in hits} == expected
    assert len(hits) == len(expected)
    for key, doc in hits:
        assert doc == {"content": CORPUS[key], "n": key}


def test_default_conjunction_or(db: Any) -> None:
    index = loaded(db, default_conjunction="or")
    assert {k for k, _ in index.search_items("seals python")} == {"4", "5"}
    assert {k for k, _ in index.search_items("seals python AND redis")} == {"4", "5"}
    assert {k for k, _ in index.search_items("walrus AND tusks")} == {"2", "3"}


def test_search_returns_documents_as_text(db: Any) -> None:
    index = make(db)
    index.add("k", "hello world", when=3, ratio=0.5, raw=b"bytes")
    expected = {"content": "hello world", "when": "3", "ratio": "0.5", "raw": "bytes"}
    assert index.search("hello") == [expected]
    assert index.search_items("world") == [("k", expected)]
    assert index.get_document("k") == expected
    assert index.get_document("missing") == {}


def test_ranking(db: Any) -> None:
    index = make(db)
    index.add("once", "walrus in a long story about many other animals here")
    index.add("twice", "walrus walrus in a long story about many other animals")
    index.add("short", "walrus story")
    index.add("none", "other animals")
    ranked = index.rank("walrus")
    assert [key for key, _ in ranked] == ["short", "twice", "once"]
    assert ranked[0][1] > ranked[1][1] > ranked[2][1] > 0
    # a rare term weighs more than a common one (same length and counts)
    index.add("rare", "narwhal story")
    assert [k for k, _ in index.rank("walrus OR narwhal")][:2] == ["rare", "short"]


def test_ties_are_broken_by_key(db: Any) -> None:
    index = make(db)
    for key in ["b", "a", "d", "c", "10", "9"]:
        index.add(key, "identical text")
    assert [key for key, _ in index.search_items("identical")] == sorted(
        ["b", "a", "d", "c", "10", "9"]
    )


def test_phrases(db: Any) -> None:
    index = make(db)
    index.add("a", "the quick brown fox jumps over the lazy dog")
    index.add("b", "the brown quick fox")
    index.add("c", "quick and brown foxes")
    index.add("d", "quick, brown; fox!")
    assert {k for k, _ in index.search_items('"quick brown fox"')} == {"a", "d"}
    assert {k for k, _ in index.search_items('"brown quick"')} == {"b"}
    assert {k for k, _ in index.search_items('"quick brown"')} == {"a", "d"}
    # "and" is a stop word, but it sits between the words
    assert {k for k, _ in index.search_items('"quick and brown"')} == {"c"}
    assert {k for k, _ in index.search_items('"quick the brown"')} == {"c"}
    assert {k for k, _ in index.search_items('"lazy dog" OR "brown quick"')} == {
        "a",
        "b",
    }
    assert {k for k, _ in index.search_items('"quick brown" jumps')} == {"a"}


def test_stemming(db: Any) -> None:
    index = make(db)
    index.add("a", "Running runners run")
    index.add("b", "He connected the connections")
    assert [k for k, _ in index.search_items("runs")] == ["a"]
    assert [k for k, _ in index.search_items("connecting")] == ["b"]
    plain = make(db, "plain", stemmer=False)
    plain.add("a", "Running runners run")
    assert plain.search_items("runs") == []
    assert [k for k, _ in plain.search_items("running")] == ["a"]


def test_metaphone(db: Any) -> None:
    index = make(db, metaphone=True)
    index.add("a", "John Smith wrote this")
    index.add("b", "Katherine met Schmidt")
    index.add("c", "Москва is a city")
    assert [k for k, _ in index.search_items("Jon")] == ["a"]
    assert {k for k, _ in index.search_items("smith")} == {"a", "b"}
    assert [k for k, _ in index.search_items("Catherine")] == ["b"]
    assert [k for k, _ in index.search_items("москва")] == ["c"]
    assert [k for k, _ in index.search_items('"jon smyth"')] == ["a"]


def test_update_replace_remove(db: Any) -> None:
    index = make(db)
    index.add("d", "red apples", color="red", size="big")
    index.update("d", "green pears", color="green")
    assert index.search("apples") == []
    assert index.get_document("d") == {
        "content": "green pears",
        "color": "green",
        "size": "big",
    }
    assert [k for k, _ in index.search_items("pears")] == ["d"]
    index.replace("d", "yellow bananas", {"taste": "sweet"})
    assert index.get_document("d") == {"content": "yellow bananas", "taste": "sweet"}
    assert index.search("pears") == [] and index.search("green") == []
    index.add("d", "blue berries", extra="1")  # add on an existing key: update
    assert index.get_document("d") == {
        "content": "blue berries",
        "taste": "sweet",
        "extra": "1",
    }
    assert index.search("bananas") == []
    assert len(index) == 1
    assert index.remove("d") is True
    with pytest.raises(KeyError, match="'d'"):  # as in walrus 0.9
        index.remove("d")
    assert index.get_document("d") == {}
    assert index.search("berries") == []
    assert len(index) == 0


def test_many_fields_and_terms_kept_across_updates(db: Any) -> None:
    """More fields than one HSET takes in Lua; an update keeps the terms
    still there (overwritten), drops the others."""
    index = make(db)
    fields = {f"f{i}": i for i in range(2500)}
    index.add("m", "walrus ocean walrus", fields)
    assert len(index.get_document("m")) == 2501
    index.update("m", "ice walrus")
    assert index.search("ocean") == []
    assert [k for k, _ in index.search_items('"ice walrus"')] == ["m"]
    assert index.search('"walrus walrus"') == []
    assert index.get_document("m")["f2499"] == "2499"
    index.add("n", "walrus")
    assert len(index) == 2 and index.remove("m") and index.search("ice") == []
    assert [k for k, _ in index.search_items("walrus")] == ["n"]


def test_remove_everything_leaves_no_keys(db: Any) -> None:
    index = loaded(db)
    index.update("1", "completely different words")
    index.replace("2", "", kind="empty")
    assert len(index) == len(CORPUS)
    assert keys_of(db, index)
    for key in CORPUS:
        index.remove(key)
    assert keys_of(db, index) == []
    assert len(index) == 0


def test_cluster_keys_of_an_index_share_one_slot(db: Any) -> None:
    if not db.keyspace.cluster:
        pytest.skip("hash tags are a cluster's layout")
    index = loaded(db)
    written = keys_of(db, index)
    assert len(written) > len(CORPUS) and all(k.startswith("{idx}:") for k in written)
    assert len(slots_of(written)) == 1
    assert {d["n"] for d in index.search("walrus OR tusk")} >= {"2", "3"}


def test_preserve_data(db: Any) -> None:
    index = make(db)
    index.add("k", "keep me around", tag="x")
    index.add("other", "something else")
    assert index.remove("k", preserve_data=True) is True
    assert index.search("keep") == []
    assert index.get_document("k") == {"content": "keep me around", "tag": "x"}
    index.remove("other")
    assert keys_of(db, index) == [db.keyspace.group("idx").key("doc", "k")]
    with pytest.raises(MissingKey):
        index.remove("other", preserve_data=True)
    assert index.remove("k", preserve_data=True) is False  # kept, not indexed
    assert keys_of(db, index) == [db.keyspace.group("idx").key("doc", "k")]
    assert index.remove("k") is False  # its kept data goes
    assert keys_of(db, index) == []
    with pytest.raises(MissingKey):
        index.remove("k")


def test_settings_mismatch(db: Any) -> None:
    index = make(db, "s")
    index.add("1", "running dogs")
    other = make(db, "s", stemmer=False)
    with pytest.raises(SettingsMismatch, match="stem=1"):
        other.search("running")
    with pytest.raises(SettingsMismatch):
        other.add("2", "more text")
    with pytest.raises(SettingsMismatch):
        make(db, "s", metaphone=True).search("dogs")
    with pytest.raises(SettingsMismatch):
        make(db, "s", min_word_length=3).search("dogs")
    with pytest.raises(SettingsMismatch):
        make(db, "s", stopwords_file=False).search("dogs")
    assert index.get_document("2") == {}
    assert other.remove("1") is True  # removal does not depend on the settings
    other.add("2", "running dogs")  # an emptied index takes new settings
    assert [k for k, _ in other.search_items("running")] == ["2"]


def test_empty_content(db: Any) -> None:
    index = make(db)
    index.add("empty", "")
    index.add("stop", "the and of a")
    index.add("real", "words here")
    assert index.get_document("empty") == {"content": ""}
    assert len(index) == 3
    assert [k for k, _ in index.search_items("words")] == ["real"]
    assert index.search("the") == []
    index.remove("empty")
    index.remove("stop")
    index.remove("real")
    assert keys_of(db, index) == []


def test_a_blank_query_finds_every_document_in_key_order(db: Any) -> None:
    index = make(db)
    for key in ["b", "a", "10", "2", "é"]:
        index.add(key, "the" if key == "2" else f"text {key}")  # "2": stop words
    assert [key for key, _ in index.search_items(" ")] == ["10", "2", "a", "b", "é"]
    assert index.rank("") == [(key, 0.0) for key in ["10", "2", "a", "b", "é"]]
    index.remove("a")
    contents = [doc["content"] for doc in index.search("")]
    assert contents == ["text 10", "the", "text b", "text é"]
    assert make(db, "empty").search("") == []


@pytest.mark.parametrize("query", ["walrus AND", "walrus)", "OR walrus", "()", '""'])
def test_malformed_queries(db: Any, query: str) -> None:
    index = loaded(db)
    with pytest.raises(QueryError, match="column"):
        index.search(query)


def test_non_latin_and_unusual_keys(db: Any) -> None:
    index = make(db)
    keys = ["a:b c", "line\nbreak", "*?[]{}\\", "東京", "é", 42, b"bytes key"]
    for n, key in enumerate(keys):
        index.add(key, f"東京 Москва Ελλάδα café number{n}", n=str(n))
    found = dict(index.search_items("東京"))
    assert set(found) == {
        "a:b c",
        "line\nbreak",
        "*?[]{}\\",
        "東京",
        "é",
        "42",
        "bytes key",
    }
    assert found["東京"]["n"] == "3"
    assert len(index.search("москва AND ελλάδα AND cafe")) == len(keys)
    assert [k for k, _ in index.search_items("number2")] == ["*?[]{}\\"]
    assert index.get_document(b"bytes key")["n"] == "6"
    for key in keys:
        assert index.remove(key) is True
    assert keys_of(db, index) == []


def test_bad_input_writes_nothing(db: Any) -> None:
    index = make(db)
    with pytest.raises(InvalidValue):
        index.add("", "text")
    with pytest.raises(InvalidType):
        index.add(None, "text")  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        index.add("k", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        index.add("k", "text", {"content": "clash"})
    with pytest.raises(InvalidType):
        index.add("k", "text", meta=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidType):
        index.add("k", "text", meta={"a": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        index.add("k", b"\xff\xfe")
    with pytest.raises(QueryError):
        index.search(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        make(db, "")
    with pytest.raises(InvalidValue):
        make(db, "x", min_word_length=-1)
    with pytest.raises(InvalidValue):
        make(db, "x", default_conjunction="XOR")
    assert keys_of(db, index) == []


def test_huge_document(db: Any, backend: Backend) -> None:
    vocabulary = [f"word{n}" for n in range(300)]
    words = [vocabulary[(n * 7) % 300] for n in range(140_000)]
    content = " ".join(words)
    assert len(content) > 1_000_000
    index = make(db)
    one_round_trip(db, backend, lambda: index.add("big", content + " needle"))
    index.add("small", "word1 needle")
    assert [k for k, _ in index.search_items("needle")] == ["small", "big"]
    assert [k for k, _ in index.search_items('"word0 word7 word14"')] == ["big"]
    assert index.get_document("big")["content"] == content + " needle"
    one_round_trip(db, backend, lambda: index.remove("big"))
    assert [k for k, _ in index.search_items("word0 OR needle")] == ["small"]


def test_budgets(redis_db: Any) -> None:
    """On a server: one round trip per write, whatever the length; two per
    search with hits (postings, then documents), one without."""
    db = redis_db
    index = make(db)
    long_text = " ".join(f"term{n}" for n in range(5000))

    def once(operation: Any) -> None:
        with round_trips(db) as sent:
            operation()
        assert sent.round_trips == 1

    index.add("warm", "term1")  # load the scripts: NOSCRIPT once on a new server
    index.search("term1")
    index.remove("warm")
    once(lambda: index.add("a", long_text, k="v"))
    once(lambda: index.add("b", "term1 term2 other"))
    once(lambda: index.update("a", long_text + " more"))
    once(lambda: index.replace("b", "term3 term1", k="w"))
    for query in ["term1", "term1 term3", "term1 OR zzz", '"term1 term2"', "more"]:
        with round_trips(db) as sent:
            assert index.search(query)
        assert sent.round_trips == 2, query
    with round_trips(db) as sent:
        assert index.search("absent words") == []
    assert sent.round_trips == 1
    once(lambda: index.remove("a"))
    once(lambda: index.remove("b", preserve_data=True))
    assert keys_of(db, index) == [db.keyspace.group("idx").key("doc", "b")]


def test_hits_are_fetched_by_one_command(redis_db: Any) -> None:
    """The documents of a search are one script call however many they are
    (up to FETCH), not one HGETALL each."""
    index = make(redis_db)
    for n in range(60):
        index.add(f"d{n}", f"common word{n}", n=n)
    index.search("word1")  # the script is loaded (NOSCRIPT once on a new server)
    with round_trips(redis_db) as sent:
        found = index.search_items("common")
    assert len(found) == 60 and found[0][1]["content"].startswith("common")
    assert sent.round_trips == 2
    assert sent.commands == 5  # MULTI, HMGET, HGETALL of the term, EXEC; EVALSHA


def test_many_hits_are_fetched_alike(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above FETCH hits the documents come from a pipeline of HGETALLs: the
    same result as the script call."""
    from walrus.features import search

    index = make(db)
    for n in range(7):
        index.add(f"d{n}", f"common word{n}", n=n)
    index.remove("d3", preserve_data=False)
    expected = index.search_items("common")
    monkeypatch.setattr(search, "FETCH", 2)
    assert index.search_items("common") == expected
    assert len(expected) == 6 and all(doc["n"] == key[1:] for key, doc in expected)


# -- against a plain-Python model ------------------------------------------------

VOCABULARY = ["apple", "berry", "cherry", "date", "the", "Éclair", "мир"]
TEXTS = st.lists(st.sampled_from(VOCABULARY), max_size=6).map(" ".join)
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "update", "replace", "remove"]),
        st.sampled_from(["k1", "k2", "k3", "k:4"]),
        TEXTS,
    ),
    max_size=10,
)
QUERY_WORDS = st.sampled_from(["apple", "berry", "cherry", "date", "eclair", "мир"])


def model_words(text: str) -> list[str]:
    return [w.casefold().replace("é", "e") for w in text.split()]


@given(
    steps=STEPS,
    first=QUERY_WORDS,
    second=QUERY_WORDS,
    conjunction=st.sampled_from(["AND", "OR", "phrase"]),
)
def test_index_matches_a_model(
    db: Any,
    steps: list[tuple[str, str, str]],
    first: str,
    second: str,
    conjunction: str,
) -> None:
    index = make(db, f"m{uuid.uuid4().hex}", stemmer=False)
    model: dict[str, str] = {}
    for op, key, content in steps:
        if op == "remove":
            if key in model:
                assert index.remove(key) is True
            else:
                with pytest.raises(MissingKey):
                    index.remove(key)
            model.pop(key, None)
        else:
            getattr(index, op)(key, content)
            model[key] = content
    assert len(index) == len(model)
    if conjunction == "phrase":
        query = f'"{first} {second}"'
        expected = {
            k
            for k, text in model.items()
            if any(
                pair == (first, second)
                for pair in zip(model_words(text), model_words(text)[1:], strict=False)
            )
        }
    else:
        query = f"{first} {conjunction} {second}"
        found = [
            {k for k, text in model.items() if word in model_words(text)}
            for word in (first, second)
        ]
        expected = found[0] & found[1] if conjunction == "AND" else found[0] | found[1]
    ranked = index.rank(query)
    assert {key for key, _ in ranked} == expected
    assert ranked == sorted(ranked, key=lambda item: (-item[1], item[0]))
    for key in list(model):
        index.remove(key)
    assert keys_of(db, index) == []


def dump(db: Any, index: Index) -> dict[str, dict[str, str]]:
    return {
        key: {
            k.decode() if isinstance(k, bytes) else k: v.decode()
            if isinstance(v, bytes)
            else v
            for k, v in db.hgetall(key).items()
        }
        for key in keys_of(db, index)
    }


def test_lua_and_twin_store_the_same(redis_db: Any) -> None:
    """The Lua body (on the server) and its Python twin (memory engine)
    leave identical keys after the same writes."""
    from walrus.drivers.memory import MemoryDatabase

    twin_db = MemoryDatabase()
    indexes = [make(redis_db), make(twin_db)]
    for index in indexes:
        for key, content in CORPUS.items():
            index.add(key, content, n=key)
        index.update("1", "Arctic walrus herds", extra=1.5)
        index.replace("2", "", kind="empty")
        index.remove("3")
        index.remove("4", preserve_data=True)
        index.add("é:東京", "Москва walrus walrus")
        index.add("many", "walrus tusk", {f"f{i}": i for i in range(1500)})
        index.update("many", "tusk ice")
    assert dump(redis_db, indexes[0]) == dump(twin_db, indexes[1])
    assert indexes[0].rank("walrus OR arctic") == indexes[1].rank("walrus OR arctic")
