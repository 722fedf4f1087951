"""walrus 0.9's text helpers (``from walrus.utils import decode``), Python 3 only.

``encode`` and ``decode`` convert between ``str`` and UTF-8 ``bytes`` and leave
anything else as it is; the ``*_dict`` forms do it for a mapping's keys (and
values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from walrus.exceptions import InvalidValue

__all__ = [
    "PY3",
    "basestring_type",
    "decode",
    "decode_dict",
    "decode_dict_keys",
    "encode",
    "make_python_attr",
    "safe_decode_list",
    "unicode_type",
]

PY3 = True
unicode_type = str
basestring_type = (str, bytes)


def encode(value: Any) -> Any:
    """``value`` as UTF-8 bytes if it is a ``str``, else unchanged."""
    return value.encode("utf-8") if isinstance(value, str) else value


def decode(value: Any) -> Any:
    """``value`` as ``str`` if it is UTF-8 ``bytes``, else unchanged."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def decode_dict(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """A copy of ``mapping`` with its keys and values decoded."""
    return {decode(key): decode(value) for key, value in mapping.items()}


def decode_dict_keys(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """A copy of ``mapping`` with its keys decoded."""
    return {decode(key): value for key, value in mapping.items()}


def safe_decode_list(values: Iterable[Any]) -> list[Any]:
    """Every item decoded; bytes that are not UTF-8 keep their byte values."""
    return [
        value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value
        for value in values
    ]


def make_python_attr(name: Any) -> str:
    """A lower-case Python identifier made from ``name`` (``'a-b'`` -> ``'a_b'``)."""
    text = re.sub(r"\W+", "_", decode(name))
    if not text:
        raise InvalidValue(f"cannot make a Python identifier from {name!r}")
    if text[0].isdigit():
        text = "_" + text
    return text.lower()
