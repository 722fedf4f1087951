"""Named atomic operations: one Lua body and one Python twin each.

Every multi-step operation that must be atomic has a name. Its Lua body is
``lua/<name>.lua`` (shipped inside the wheel as ``walrus/lua``), with a
header saying what ``KEYS`` and ``ARGV`` hold; a server runs it with EVALSHA
(re-loading it after NOSCRIPT, in pipelines too). Engines without Lua run its
Python *twin* inside the engine's lock: ``twin(call, keys, args)``, where
``call(*command)`` runs one command and returns its raw reply (bytes, ints,
lists), raising on an error reply, just as ``redis.call`` does in Lua. The
conformance suite runs both and checks that they agree.

Features call typed methods (``db.scripts.cas(...)``), never a script name.
Users' own scripts go in ``script_dir`` and run with ``db.run_script(name)``.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from walrus.exceptions import UnknownScript, WalrusError, WrongType, command_error

if TYPE_CHECKING:
    from walrus.api import DatabaseAPI

__all__ = ["TWINS", "Scripts", "Twin", "lua_source", "twin"]

Call = Callable[..., Any]
Twin = Callable[[Call, list[bytes], list[bytes]], Any]

TWINS: dict[str, Twin] = {}


def twin(name: str) -> Callable[[Twin], Twin]:
    """Register ``fn`` as the Python twin of the named operation ``name``."""

    def register(fn: Twin) -> Twin:
        TWINS[name] = fn
        return fn

    return register


def _packaged_lua_dir() -> Path:
    packaged = importlib.resources.files("walrus") / "lua"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "lua"  # a source checkout


LUA_DIR = _packaged_lua_dir()


def lua_source(name: str, script_dir: str | os.PathLike[str] | None = None) -> str:
    """The Lua text of ``name``: from ``script_dir`` first, then walrus's own."""
    for directory in (script_dir, LUA_DIR):
        if directory:
            path = Path(directory) / f"{name}.lua"
            if path.is_file():
                return path.read_text(encoding="utf-8")
    raise UnknownScript(f"no script named {name!r}")


def script_names(script_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Every named operation and script available."""
    names = {p.stem for p in LUA_DIR.glob("*.lua")} | set(TWINS)
    if script_dir:
        names |= {p.stem for p in Path(script_dir).glob("*.lua")}
    return sorted(names)


class Scripts:
    """The named atomic operations of one database, as typed methods."""

    def __init__(self, db: DatabaseAPI) -> None:
        self._db = db

    def run(
        self,
        name: str,
        keys: Sequence[Any] = (),
        args: Sequence[Any] = (),
        client: Any = None,
    ) -> Any:
        """Run the operation ``name`` (on ``client``, e.g. a pipeline, if given)."""
        try:
            return self._db.run_named_operation(name, list(keys), list(args), client)
        except ResponseError as exc:
            error = exc if isinstance(exc, WalrusError) else command_error(str(exc))
            if isinstance(error, WrongType):
                raise WrongType(f"{exc} (keys {list(keys)!r})", key=str(keys)) from exc
            if error is exc:
                raise
            raise error from exc

    def cas(self, key: Any, expected: Any, new: Any, exact: bool = False) -> bool:
        """Set ``key`` to ``new`` if its value starts with ``expected``.

        With ``exact=True`` the whole value must equal ``expected``. O(1);
        one round trip.
        """
        flag = b"1" if exact else b"0"
        return bool(self.run("cas", [key], [expected, new, flag]))


@twin("cas")
def _cas(call: Call, keys: list[bytes], args: list[bytes]) -> int:
    current = call(b"GET", keys[0])
    if current is None:
        return 0
    expected = args[0]
    exact = len(args) > 2 and args[2] == b"1"
    if current != expected if exact else not current.startswith(expected):
        return 0
    call(b"SET", keys[0], args[1], b"KEEPTTL")  # the script's PTTL and PEXPIRE
    return 1
