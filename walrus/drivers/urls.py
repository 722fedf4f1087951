"""Opening an embedded engine from a URL, so configuration alone picks it.

* ``memory://NAME`` — the in-memory engine called NAME in this process
  (``memory://`` is the one with the empty name);
* ``rlite:///relative/file.rld``, ``rlite:////absolute/file.rld`` — an rlite
  file (SQLAlchemy's convention: three slashes before a relative path, four
  before an absolute one); ``rlite://NAME`` — a named rlite engine in memory;
* ``vedis:///file``, ``vedis:////file``, ``vedis://NAME`` — the same for Vedis.

``/N`` after a name, or ``?db=N``, picks the numbered database; other query
options (``decode_responses=true``, ``encoding=...``, ``commit_interval=0``
for Vedis) become keyword arguments, which the call's own keywords override.
Every URL naming the same engine gives another client of that engine.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from walrus.exceptions import InvalidValue

__all__ = ["EMBEDDED_SCHEMES", "open_url"]

EMBEDDED_SCHEMES = frozenset({"memory", "rlite", "vedis"})
_FLAGS = {"decode_responses"}
_NUMBERS = {"db": int, "commit_interval": float}


def _options(query: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, raw in parse_qsl(query, keep_blank_values=True):
        if name in _FLAGS:
            options[name] = raw.lower() in ("1", "true", "yes", "on")
        elif name in _NUMBERS:
            try:
                options[name] = _NUMBERS[name](raw)
            except ValueError:
                message = f"URL option {name}={raw!r} is not a number"
                raise InvalidValue(message) from None
        else:
            options[name] = raw
    return options


def open_url(url: str, **kwargs: Any) -> Any:
    """A client of the embedded engine ``url`` names (see the module doc)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in EMBEDDED_SCHEMES:
        raise InvalidValue(
            f"{url!r} is not an embedded engine URL (memory://, rlite://, vedis://)"
        )
    options = {**_options(parts.query), **kwargs}
    name = unquote(parts.netloc)
    path = unquote(parts.path)
    if name or scheme == "memory" or not path:  # a named engine in memory
        if path.strip("/"):
            if not path.strip("/").isdigit():
                raise InvalidValue(f"{url!r}: the path after a name is a db number")
            options.setdefault("db", int(path.strip("/")))
        return _named(scheme, name, options)
    return _file(scheme, path[1:], options)


def _named(scheme: str, name: str, options: dict[str, Any]) -> Any:
    from walrus.drivers.embedded import EmbeddedCore, shared_core
    from walrus.scripts import TWINS

    if scheme == "memory":
        from walrus.drivers.memory import MemoryDatabase, memory_engine

        core = shared_core(
            f"memory-url:{name}", lambda: EmbeddedCore(memory_engine(), TWINS)
        )
        return MemoryDatabase.attach(core, **options)
    if scheme == "rlite":
        from walrus.drivers.rlite import MEMORY, RliteDatabase, RliteEngine

        core = shared_core(
            f"rlite-url:{name}", lambda: EmbeddedCore(RliteEngine(MEMORY), TWINS)
        )
        db = RliteDatabase.attach(core, **options)
        db.path = MEMORY
        return db
    from walrus.drivers.vedis import VedisDatabase, open_core

    interval = options.pop("commit_interval", 1.0)
    return VedisDatabase.attach(
        shared_core(f"vedis-url:{name}", lambda: open_core(None, interval)), **options
    )


def _file(scheme: str, path: str, options: dict[str, Any]) -> Any:
    if not path:
        raise InvalidValue(f"a {scheme}:// URL needs a file path or an engine name")
    if scheme == "rlite":
        from walrus.drivers.rlite import RliteDatabase

        return RliteDatabase(os.fspath(path), **options)
    from walrus.drivers.vedis import VedisDatabase

    return VedisDatabase(os.fspath(path), **options)
