"""walrus 0.9's import paths: every module a 0.9 program imports exists and
re-exports today's objects (one implementation, no copies)."""

from __future__ import annotations

import importlib

import pytest

import walrus
import walrus.features.cache
import walrus.features.consumer_group
import walrus.features.containers
import walrus.features.models
import walrus.features.time_series

# What ``from walrus import *`` gave in walrus 0.9 (its public classes).
WALRUS_09_NAMES = [
    "Array",
    "AutoIncrementField",
    "Autocomplete",
    "BitField",
    "BloomFilter",
    "BooleanField",
    "ByteField",
    "Cache",
    "ConsumerGroup",
    "Container",
    "Counter",
    "Database",
    "DateField",
    "DateTimeField",
    "Field",
    "FloatField",
    "Graph",
    "Hash",
    "HashField",
    "HyperLogLog",
    "Index",
    "IntegerField",
    "JSONField",
    "List",
    "ListField",
    "Lock",
    "Message",
    "Model",
    "PickledField",
    "RateLimit",
    "RateLimitException",
    "Set",
    "SetField",
    "Stream",
    "TextField",
    "TimeSeries",
    "Tokenizer",
    "UUIDField",
    "Walrus",
    "ZSet",
    "ZSetField",
]

# module -> names a 0.9 program imports from it
WALRUS_09_MODULES = {
    "walrus.containers": [
        "Array",
        "BitField",
        "BloomFilter",
        "ConsumerGroup",
        "ConsumerGroupStream",
        "Container",
        "Hash",
        "HyperLogLog",
        "List",
        "Set",
        "Stream",
        "ZSet",
    ],
    "walrus.models": ["Model", "TextField", "ByteField", "PickledField", "Field"],
    "walrus.cache": ["Cache"],
    "walrus.lock": ["Lock"],
    "walrus.streams": ["Message", "TimeSeries", "TimeSeriesStream"],
    "walrus.autocomplete": ["Autocomplete"],
    "walrus.graph": ["Graph", "Variable"],
    "walrus.fts": ["Index"],
    "walrus.query": ["OP_AND", "OP_OR"],
    "walrus.counter": ["Counter"],
    "walrus.rate_limit": ["RateLimit", "RateLimitLua", "RateLimitException"],
    "walrus.utils": ["encode", "decode", "decode_dict", "PY3"],
    "walrus.database": ["Database"],
    "walrus.search": ["Tokenizer"],
    "walrus.search.metaphone": ["dm"],
    "walrus.search.porter": ["PorterStemmer"],
}


def test_package_exports_what_walrus_09_did() -> None:
    assert sorted(set(WALRUS_09_NAMES) - set(walrus.__all__)) == []
    for name in walrus.__all__:
        assert hasattr(walrus, name), name
    namespace: dict[str, object] = {}
    exec("from walrus import *", namespace)
    assert set(WALRUS_09_NAMES) <= set(namespace)


@pytest.mark.parametrize("module_name", sorted(WALRUS_09_MODULES))
def test_module_paths_of_walrus_09(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    for name in WALRUS_09_MODULES[module_name]:
        assert hasattr(module, name), f"{module_name}.{name}"
    for name in getattr(module, "__all__", []):
        assert hasattr(module, name), f"{module_name}.{name}"
        value = getattr(module, name)
        if name in walrus.__all__:
            assert value is getattr(walrus, name), f"{module_name}.{name} is a copy"


def test_entry_points_are_the_same_objects() -> None:
    from walrus.cache import Cache
    from walrus.containers import ConsumerGroup, Hash, _normalize_stream_keys
    from walrus.database import Database
    from walrus.models import Model
    from walrus.streams import TimeSeriesStream

    assert Hash is walrus.features.containers.Hash
    assert ConsumerGroup is walrus.features.consumer_group.ConsumerGroup
    assert Model is walrus.features.models.Model
    assert Cache is walrus.features.cache.Cache
    assert TimeSeriesStream is walrus.features.time_series.TimeSeriesStream
    assert Database is walrus.Database
    assert _normalize_stream_keys(["a", "b"]) == {"a": "0-0", "b": "0-0"}
    assert sorted(walrus.models.__all__) == sorted(walrus.features.models.__all__)
    with pytest.raises(AttributeError):
        importlib.import_module("walrus.database").Nothing  # noqa: B018


def test_utils_helpers() -> None:
    from walrus import utils

    assert utils.encode("é") == "é".encode() and utils.encode(b"x") == b"x"
    assert utils.decode(b"\xc3\xa9") == "é" and utils.decode(5) == 5
    assert utils.decode_dict({b"k": b"v", "n": 1}) == {"k": "v", "n": 1}
    assert utils.decode_dict_keys({b"k": b"v"}) == {"k": b"v"}
    assert utils.safe_decode_list([b"a", b"\xff", 3]) == ["a", "\udcff", 3]
    assert utils.make_python_attr(b"Stream-A 1") == "stream_a_1"
    assert utils.make_python_attr("1st") == "_1st"
    with pytest.raises(ValueError, match="identifier"):
        utils.make_python_attr("")
    assert isinstance("x", utils.basestring_type)
    assert utils.unicode_type is str and utils.PY3 is True


def test_search_helpers() -> None:
    from walrus.query import OP_AND, OP_OR
    from walrus.search import Tokenizer
    from walrus.search.metaphone import dm
    from walrus.search.porter import PorterStemmer

    assert Tokenizer().tokenize("walruses running") == ["walrus", "run"]
    assert dm("walrus") == ("ALRS", "FLRS")
    stemmer = PorterStemmer()
    assert [stemmer.stem(w, 0, len(w) - 1) for w in ["faiths", "faithful"]] == [
        "faith",
        "faith",
    ]
    assert stemmer.stem("xrunning", 1) == "run"
    assert (OP_AND, OP_OR) == ("and", "or")
