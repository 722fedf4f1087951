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

__all__ = ["EMBEDDED_SCHEMES", "parse_url"]

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


def parse_url(
    url: str, kwargs: dict[str, Any]
) -> tuple[str, str | None, dict[str, Any]]:
    """``(scheme, name, options)`` of an embedded engine URL: ``name`` is the
    engine's name for a named engine in memory, else None and
    ``options["path"]`` is the file (see the module doc)."""
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
        return scheme, name, options
    if not path[1:]:
        raise InvalidValue(f"a {scheme}:// URL needs a file path or an engine name")
    options["path"] = os.fspath(path[1:])
    return scheme, None, options
