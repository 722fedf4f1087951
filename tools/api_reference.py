"""Write docs/api.md: the API reference, from the docstrings of walrus's public names.

Usage (from the repository root)::

    python tools/api_reference.py            # rewrite docs/api.md
    python tools/api_reference.py --check    # exit 1 if docs/api.md is stale

Every name in ``walrus.__all__`` gets a section: its signature and docstring,
then each public method, property and attribute its class defines (inherited
ones from redis-py are left to redis-py's documentation). The database
factories (``db.Hash(key)`` ...) are listed under ``Database``. The names of
``walrus.asyncio.__all__`` follow, the same way (``async`` marks the methods
to await). A test runs ``--check``, so the reference cannot fall behind the
code.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "api.md"
sys.path.insert(0, str(ROOT))

import walrus  # noqa: E402 - after the path is set
import walrus.asyncio  # noqa: E402

HEADER = """# API reference

Generated from the docstrings by `python tools/api_reference.py`; do not edit
by hand. Guides with examples: [the documentation index](index.md). Methods
inherited from redis-py (every Redis command on a database) are documented by
[redis-py](https://redis.readthedocs.io/).
"""

ASYNC_HEADER = """# `walrus.asyncio`

The same features with `await` ([asyncio](asyncio.md)), generated from the
sync ones: each class's documentation above applies; `async` marks what is
awaited."""

_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def _signature(obj: Any) -> str:
    """``(a: int, b=1) -> str`` with annotations as written (no quotes, no self)."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    parameters = [
        p.replace(annotation=_unquoted(p.annotation))
        for p in signature.parameters.values()
        if p.name not in ("self", "cls")
    ]
    text = str(
        signature.replace(
            parameters=parameters,
            return_annotation=_unquoted(signature.return_annotation),
        )
    )
    return _ADDRESS.sub("", text)


class _Annotation(str):
    """An annotation string shown as written: ``int | None``, not ``'int | None'``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def _unquoted(annotation: Any) -> Any:
    return _Annotation(annotation) if isinstance(annotation, str) else annotation


def _doc(obj: Any) -> str:
    return inspect.cleandoc(obj.__doc__ or "").strip()


def _own_members(cls: type) -> list[tuple[str, Any]]:
    """Public members ``cls`` or a walrus base defines, in definition order."""
    seen: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("walrus"):
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") or name in ("__getitem__", "__call__"):
                seen[name] = value
    return [(name, seen[name]) for name in seen if _documentable(seen[name])]


def _documentable(value: Any) -> bool:
    return isinstance(value, property | staticmethod | classmethod) or (
        inspect.isfunction(value)
    )


def _member(name: str, value: Any) -> str:
    if isinstance(value, property):
        title = f"`.{name}` (property)"
        doc = _doc(value.fget) if value.fget else ""
    else:
        function = (
            value.__func__ if isinstance(value, staticmethod | classmethod) else value
        )
        title = f"`.{name}{_signature(function)}`"
        if inspect.iscoroutinefunction(function):
            title = "async " + title
        doc = _doc(function)
    first = doc.split("\n\n", 1)[0].replace("\n", " ") if doc else ""
    return f"- {title}" + (f": {first}" if first else "")


def _section(name: str, obj: Any) -> str:
    lines = [f"## `{name}`", ""]
    if inspect.isclass(obj):
        kind = "exception" if issubclass(obj, BaseException) else "class"
        public = [b for b in obj.__bases__ if not b.__name__.startswith("_")]
        bases = ", ".join(b.__name__ for b in public if b is not object)
        call = _signature(obj).removesuffix(" -> None")
        lines.append(f"*{kind}* `{name}{call}`" + (f" ({bases})" if bases else ""))
    elif callable(obj):
        lines.append(f"*function* `{name}{_signature(obj)}`")
    else:
        lines.append(f"*value* `{name} = {obj!r}`")
    doc = _doc(obj) if inspect.isclass(obj) or callable(obj) else ""
    if doc:
        lines += ["", doc]
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        members = [_member(n, v) for n, v in _own_members(obj)]
        if members:
            lines += ["", *members]
    return "\n".join(lines)


def render() -> str:
    sections = [HEADER, *_sections(walrus)]
    sections += [ASYNC_HEADER, *_sections(walrus.asyncio, "walrus.asyncio.")]
    return "\n\n".join(sections) + "\n"


def _sections(module: Any, prefix: str = "") -> list[str]:
    seen: set[int] = set()
    sections = []
    for name in sorted(module.__all__, key=str.lower):
        obj = getattr(module, name)
        if id(obj) in seen and inspect.isclass(obj):
            sections.append(
                f"## `{prefix}{name}`\n\nAnother name for `{obj.__name__}`."
            )
            continue
        seen.add(id(obj))
        sections.append(_section(prefix + name, obj))
    return sections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if docs/api.md is stale"
    )
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print("docs/api.md is stale: run python tools/api_reference.py")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
