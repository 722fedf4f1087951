"""Autocomplete: the reference's examples and more, on every backend and in
both reply modes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import Backend, round_trips, slots_of

from walrus import Autocomplete, MissingKey

PHRASES = ["aa bb", "aa cc", "bb cc", "bb aa cc", "cc aa bb"]


def all_keys(db: Any) -> list[Any]:
    return list(db.scan_iter(count=1000))


def test_simple_example(db: Any) -> None:
    ac = db.autocomplete()
    assert isinstance(ac, Autocomplete)
    phrases = ["the walrus and the carpenter", "walrus tusks", "the eye of the walrus"]
    for phrase in phrases:
        ac.store(phrase)
    assert ac.search("wal") == [
        "the walrus and the carpenter",
        "walrus tusks",
        "the eye of the walrus",
    ]
    assert ac.search("wal car") == ["the walrus and the carpenter"]
    ac.store("walrus and the tusky carpenter")
    ac.store("walrus carpenter")
    assert ac.search("car wal") == [
        "the walrus and the carpenter",
        "walrus carpenter",
        "walrus and the tusky carpenter",
    ]
    ac.remove("walrus and the tusky carpenter")
    ac.remove("walrus carpenter")
    assert ac.search("wal", boosts={"walrus tusks": 2}) == [
        "walrus tusks",
        "the walrus and the carpenter",
        "the eye of the walrus",
    ]
    ac.remove("walrus tusks")
    assert ac.exists("the walrus and the carpenter") is True
    assert ac.exists("walrus tusks") is False


def test_complete_example(db: Any) -> None:
    ac = db.autocomplete()
    entries = [
        (1, "Walrus: Lightweight Python utilities for working with Redis", "logo"),
        (2, "Building Autocomplete with Walrus", "tusk"),
        (3, "Some popular entry", "popular"),
    ]
    for entry_id, title, image in entries:
        metadata = {
            "image": f"/images/{image}.jpg",
            "title": title,
            "url": f"/{entry_id}",
        }
        ac.store(obj_id=entry_id, title=title, data=metadata, obj_type="entry")
    assert [hit["url"] for hit in ac.search("walrus")] == ["/1", "/2"]
    assert ac.search("walrus")[0] == {
        "image": "/images/logo.jpg",
        "title": entries[0][1],
        "url": "/1",
    }
    assert ac.exists(2, "entry") and not ac.exists(2)
    ac.boost_object(obj_id=2, obj_type="entry", multiplier=2.0)
    assert [hit["url"] for hit in ac.search("walrus")] == ["/2", "/1"]
    assert [hit["url"] for hit in ac.search("walrus", boosts={2: 0.5})] == ["/1", "/2"]
    ac.remove(obj_id=2, obj_type="entry")
    assert not ac.exists(2, "entry")
    assert [hit["url"] for hit in ac.search("walrus")] == ["/1"]


def test_scoring_examples(db: Any) -> None:
    ac = db.autocomplete()
    for phrase in PHRASES:
        ac.store(phrase)
    assert ac.search("aa") == ["aa bb", "aa cc", "bb aa cc", "cc aa bb"]
    assert ac.search("bb") == ["bb aa cc", "bb cc", "aa bb", "cc aa bb"]
    assert ac.search("cc") == ["cc aa bb", "aa cc", "bb cc", "bb aa cc"]
    assert ac.search("cc", boosts={"bb cc": 2}) == [
        "bb cc",
        "cc aa bb",
        "aa cc",
        "bb aa cc",
    ]
    assert ac.search("cc", boosts={"cc aa bb": 0.75}) == [
        "aa cc",
        "cc aa bb",
        "bb cc",
        "bb aa cc",
    ]
    ac.boost_object(obj_id="bb cc", multiplier=2.0)
    ac.boost_object(obj_id="cc aa bb", multiplier=0.75)
    assert ac.search("cc") == ["bb cc", "aa cc", "cc aa bb", "bb aa cc"]


def test_boosts_never_compound(db: Any) -> None:
    ac = db.autocomplete()
    for phrase in PHRASES:
        ac.store(phrase)
    boosted = ["bb cc", "cc aa bb", "aa cc", "bb aa cc"]
    for _ in range(4):
        assert ac.search("cc", boosts={"bb cc": 2}) == boosted
        assert ac.search("cc") == ["cc aa bb", "aa cc", "bb cc", "bb aa cc"]
    for _ in range(4):
        assert ac.search("cc", boosts={"cc aa bb": 0.75}) == [
            "aa cc",
            "cc aa bb",
            "bb cc",
            "bb aa cc",
        ]
    ac.boost_object(obj_id="bb cc", multiplier=2.0)
    for _ in range(3):
        assert ac.search("cc")[0] == "bb cc"
        assert ac.search("c")[0] == "bb cc"
    # A per-search boost replaces the saved one (walrus 0.9): 0.5, not 2 * 0.5.
    for _ in range(2):
        assert ac.search("cc", boosts={"bb cc": 0.5}) == [
            "cc aa bb",
            "aa cc",
            "bb aa cc",
            "bb cc",
        ]
    assert ac.search("cc")[0] == "bb cc"  # the saved boost is unchanged


def test_stored_boosts_by_id_type_and_search(db: Any) -> None:
    """walrus 0.9's rules: a boost saved by id alone applies whatever the
    object's type; a search's boost for an id or a type replaces the saved
    one for that name, and the other saved boosts still apply."""
    ac = db.autocomplete()
    for obj_id, obj_type in {"aaa": 1, "aab": 2, "aac": 3, "aaab": 4}.items():
        ac.store(obj_id, obj_type=obj_type)
    assert ac.search("aa") == ["aaa", "aaab", "aab", "aac"]
    ac.boost_object(obj_type=2, multiplier=2)
    assert ac.search("aa") == ["aab", "aaa", "aaab", "aac"]
    ac.boost_object("aac", multiplier=3)  # stored with type 3: applies anyway
    assert ac.search("aa") == ["aac", "aab", "aaa", "aaab"]
    assert ac.search("aa", boosts={"aac": 1.5}) == ["aab", "aac", "aaa", "aaab"]
    assert ac.search("aa", boosts={"2": 1}) == ["aac", "aaa", "aaab", "aab"]
    assert ac.search("aa", boosts={"aac": 1, "2": 1}) == ["aaa", "aaab", "aab", "aac"]
    ac.boost_object("aac", 3, multiplier=0.1)  # this object only: 3 * 0.1
    assert ac.search("aa") == ["aab", "aaa", "aaab", "aac"]
    assert ac.search("aa", boosts={"aac": 2.5}) == ["aac", "aab", "aaa", "aaab"]
    assert ac.search("aa") == ["aab", "aaa", "aaab", "aac"]  # nothing compounds


def test_boost_object_relative_and_by_type(db: Any) -> None:
    ac = db.autocomplete()
    ac.store("p1", "apple", obj_type="photo")
    ac.store("e1", "apricot", obj_type="entry")
    assert ac.search("ap") == ["apple", "apricot"]
    assert ac.boost_object(obj_type="entry", multiplier=2.0) == 2.0
    assert ac.search("ap") == ["apricot", "apple"]
    assert ac.boost_object(obj_type="entry", multiplier=0.25) == 0.5
    assert ac.search("ap") == ["apple", "apricot"]
    assert ac.boost_object(obj_type="entry", multiplier=4.0, relative=False) == 4.0
    assert ac.search("ap") == ["apricot", "apple"]
    assert ac.search("ap", boosts={"photo": 8}) == ["apple", "apricot"]
    with pytest.raises(ValueError):
        ac.boost_object(multiplier=2.0)
    with pytest.raises(ValueError):
        ac.search("ap", boosts={"photo": 0})
    with pytest.raises(ValueError):
        ac.store("x", "apex", obj_type="a\x01b")
    ac.store("a\x01b", "apex", obj_type="photo")  # an id may hold the separator
    assert ac.search("ap", boosts={"a\x01b": 100})[0] == "apex"
    assert ac.remove("a\x01b", "photo")


def test_unicode_titles(db: Any) -> None:
    ac = db.autocomplete()
    titles = ["Café Müller", "Москва река", "東京タワー", "Straße", "Ελλάδα", "naïve"]
    for title in titles:
        ac.store(title)
    assert ac.search("café") == ["Café Müller"]
    assert ac.search("cafe") == ["Café Müller"]  # accent folding (documented)
    assert ac.search("CAFE MÜL") == ["Café Müller"]
    assert ac.search("mull") == ["Café Müller"]
    assert ac.search("моск") == ["Москва река"]
    assert ac.search("река".upper()) == ["Москва река"]
    assert ac.search("東京") == ["東京タワー"]
    assert ac.search("strasse") == ["Straße"]
    assert ac.search("ελλ") == ["Ελλάδα"]
    assert ac.search("naive") == ["naïve"]
    assert sorted(ac.list_titles()) == sorted(titles)
    for title in titles:
        ac.remove(title)
    assert all_keys(db) == []


def test_stopwords_never_stop_a_typed_prefix(db: Any) -> None:
    ac = db.autocomplete()
    for title in ["hello world", "theater tickets", "the walrus", "The Who", "apple"]:
        ac.store(title)
    assert ac.search("hel") == ["hello world"]
    assert ac.search("the") == ["The Who", "theater tickets"]
    assert ac.search("a") == ["apple"]
    assert ac.search("who") == ["The Who"]  # only stop words: indexed anyway
    assert ac.search("the walrus") == ["the walrus"]
    assert ac.search("") == [] and ac.search("!!") == []


def test_tokenize_title(db: Any) -> None:
    ac = db.autocomplete()
    assert ac.tokenize_title("The Walrus, and the Carpenter!") == [
        "walrus",
        "carpenter",
    ]
    assert ac.tokenize_title(b"a an the") == []
    assert ac.tokenize_title("") == []
    assert ac.tokenize_title("The Café", stopwords=False) == ["the", "cafe"]
    assert ac.tokenize_title("Москва и Париж") == ["москва", "и", "париж"]


def test_no_stopwords(db: Any) -> None:
    ac = db.autocomplete(stopwords_file=None)
    ac.store("the walrus")
    assert ac.search("the") == ["the walrus"]


def test_custom_stopwords_file(db: Any, tmp_path: Any) -> None:
    path = tmp_path / "stop.txt"
    path.write_text("walrus\n", encoding="utf-8")
    ac = db.autocomplete(stopwords_file=str(path))
    ac.store("walrus tusks")
    ac.store("walrus")
    assert ac.search("tus") == ["walrus tusks"]
    assert ac.search("walrus tusks") == ["walrus tusks"]


def test_store_replaces_and_remove_cleans_up(db: Any) -> None:
    ac = db.autocomplete(namespace="idx")
    ac.store(1, "first title", data={"n": 1})
    ac.store(1, "second title", data={"n": 2})
    assert ac.search("fir") == []
    assert ac.search("sec") == [{"n": 2}]
    assert ac.list_data() == [{"n": 2}]
    assert ac.list_titles() == ["second title"]
    ac.boost_object(1, multiplier=3)
    assert ac.search("tit", boosts={"x": 2}) == [{"n": 2}]
    assert ac.remove(1) is True
    assert all_keys(db) == []


def test_removing_what_is_not_indexed_raises_key_error(db: Any) -> None:
    """As in walrus 0.9: a KeyError (MissingKey), and nothing changes."""
    ac = db.autocomplete(namespace="idx", cache_timeout=60)
    ac.store(1, "some title", obj_type="t")
    ac.boost_object(2, "t", multiplier=2)
    assert ac.search("so ti") == ["some title"]  # a cached search
    before = sorted(all_keys(db))
    with pytest.raises(KeyError, match="'2' of type 't'"):
        ac.remove(2, "t")
    with pytest.raises(MissingKey):
        ac.remove(1)  # stored with a type
    assert sorted(all_keys(db)) == before  # the cache and the boost are kept
    assert ac.remove(1, "t") is True
    with pytest.raises(MissingKey):
        ac.remove(1, "t")


def test_no_key_left_after_removing_everything(db: Any) -> None:
    ac = db.autocomplete()
    items = [(i, f"title number {i} {'é' * i} word{i}") for i in range(12)]
    for obj_id, title in items:
        ac.store(obj_id, title, obj_type="thing")
    ac.boost_object(3, "thing", 2)
    assert len(ac.search("tit num", limit=5)) == 5
    assert len(ac.search("word1", boosts={"thing": 2})) == 3
    for obj_id, _ in items:
        ac.remove(obj_id, "thing")
    assert all_keys(db) == []


def test_cache_invalidation_and_timeout(db: Any) -> None:
    ac = db.autocomplete(namespace="c", cache_timeout=30)
    ac.store("walrus tusks")
    assert ac.search("wal tus") == ["walrus tusks"]
    cache = db.keyspace.group("c").key("c", "")
    cached = [k for k in all_keys(db) if str(k).startswith((cache, f"b'{cache}"))]
    assert len(cached) == 1
    assert 0 < db.ttl(cached[0]) <= 30
    ac.store("walrus tusk care")
    assert ac.search("wal tus") == ["walrus tusk care", "walrus tusks"]
    ac.remove("walrus tusks")
    assert ac.search("wal tus") == ["walrus tusk care"]
    uncached = db.autocomplete(namespace="u", cache_timeout=0)
    uncached.store("walrus tusks")
    assert uncached.search("wal tus", boosts={"x": 2}) == ["walrus tusks"]
    cache = db.keyspace.group("u").key("c")
    assert not [k for k in all_keys(db) if str(k).startswith((cache, f"b'{cache}"))]


def test_cluster_keys_of_an_index_share_one_slot(db: Any) -> None:
    if not db.keyspace.cluster:
        pytest.skip("hash tags are a cluster's layout")
    ac = db.autocomplete(namespace="c", cache_timeout=30)
    ac.store("walrus tusks")
    ac.boost_object("walrus tusks", multiplier=2)
    assert ac.search("wal tus") == ["walrus tusks"]  # cached
    written = [k.decode() if isinstance(k, bytes) else k for k in all_keys(db)]
    assert len(written) > 5 and all(k.startswith("{c}:") for k in written)
    assert len(slots_of(written)) == 1


def test_limit_use_json_and_flush(db: Any) -> None:
    ac = db.autocomplete(namespace="raw", use_json=False)
    for i in range(30):
        ac.store(f"id{i}", f"item {i:02d}", data=f"data {i}")
    hits = ac.search("item", limit=3)
    expected = ["data 0", "data 1", "data 2"]
    if not db.get_encoder().decode_responses:
        expected = [e.encode() for e in expected]
    assert hits == expected
    assert ac.search("item", limit=0) == []
    assert len(ac.search("ite")) == 30
    other = db.autocomplete(namespace="other")
    other.store("kept")
    ac.search("item 1", boosts={"id1": 2})
    ac.flush(batch_size=7)
    assert ac.search("item") == [] and ac.list_data() == []
    assert other.search("kep") == ["kept"]


def test_budgets(db: Any, backend: Backend) -> None:
    if not backend.server:
        return
    ac = db.autocomplete()
    long_title = " ".join(f"word{i}" for i in range(200))
    with round_trips(db) as sent:
        ac.store("long", long_title)
    assert sent.round_trips == 1
    ac.store("short", "word1 and more")
    with round_trips(db) as sent:
        assert ac.search("word1") == ["word1 and more", long_title]
    assert sent.round_trips == 1
    with round_trips(db) as sent:
        assert ac.search("word1 mor") == ["word1 and more"]
    assert sent.round_trips == 1
    with round_trips(db) as sent:
        ac.remove("long")
    assert sent.round_trips == 1
    ac.remove("short")
    assert all_keys(db) == []


# -- search against a plain-Python model ----------------------------------------

WORDS = st.sampled_from(["walrus", "wal", "tusk", "the", "Café", "cafe", "мир", "a1"])
TITLES = st.lists(
    st.lists(WORDS, min_size=1, max_size=4).map(" ".join), max_size=8, unique=True
)
PREFIXES = st.sampled_from(["w", "wa", "walr", "t", "the", "caf", "café", "ми", "a"])


def model_position(title: str, term: str, stopwords: frozenset[str]) -> int | None:
    """Where the first indexed word starting with ``term`` stands, or None."""
    folded = title.casefold().replace("é", "e").split()
    indexed = [w for w in folded if w not in stopwords] or folded
    term = term.casefold().replace("é", "e")
    return next((i for i, w in enumerate(indexed) if w.startswith(term)), None)


@given(titles=TITLES, terms=st.lists(PREFIXES, min_size=1, max_size=2))
def test_search_matches_a_model(db: Any, titles: list[str], terms: list[str]) -> None:
    ac = db.autocomplete(namespace=f"m{uuid.uuid4().hex}")
    for title in titles:
        ac.store(title)
    kept = [t for t in terms[:-1] if t not in ac.stopwords] + terms[-1:]
    positions = {
        title: [model_position(title, term, ac.stopwords) for term in kept]
        for title in titles
    }
    hits = [t for t, found in positions.items() if None not in found]
    result = ac.search(" ".join(terms))
    assert sorted(result) == sorted(hits)
    farthest = [max(p for p in positions[title] if p is not None) for title in result]
    assert farthest == sorted(farthest)
    for title in titles:
        ac.remove(title)
    assert ac.search(" ".join(terms)) == []
