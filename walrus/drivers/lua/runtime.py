"""One sandboxed Lua 5.1 interpreter per engine (lupa), shared by its scripts
and functions.

The Lua side is ``sandbox.lua`` (what a script can see and do), with
``cjson.lua`` and ``cmsgpack.lua``; the Python side here answers what Lua
asks: ``redis.call`` (checked as Redis 7.0 checks it, then run on the
engine's core with the lock already held), the time limit, and the
libraries in :mod:`walrus.drivers.lua.libs`. A script's result comes back as
RESP2 text built in Lua, parsed here into the core's reply values.

Safety: every Python callable stays an upvalue of the sandbox's closures
(scripts have no ``debug``, no ``getfenv``: they cannot reach it) and never
raises into Lua; the interpreter's memory is capped (``max_memory``), and a
count hook stops a script that runs past ``time_limit`` seconds.
"""

from __future__ import annotations

import importlib.resources
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import lupa.lua51 as lupa

from walrus.drivers.embedded.types import Command, ErrorReply, Reply
from walrus.drivers.lua import calls, libs
from walrus.drivers.lua.bytecode import untail

__all__ = ["DEFAULT_MAX_MEMORY", "DEFAULT_TIME_LIMIT", "ScriptRuntime", "parse_resp"]

DEFAULT_TIME_LIMIT = 5.0  # seconds, like Redis's busy-reply-threshold
DEFAULT_MAX_MEMORY = 512 * 1024 * 1024  # bytes of Lua heap
REDIS_VERSION = (7, 0, 0)  # what redis.REDIS_VERSION says (Redis 7.0's semantics)
MAX_REPLY_DEPTH = 400  # deeper tables end with an error element (Redis: ~8000)
# Items (nested ones included) a redis.call reply may bring into a script:
# lupa builds the table in C, where the time limit cannot stop it (about a
# second per million items here, and the heap cap would be reached near 20M).
MAX_CALL_REPLY = 1_000_000
_HOOK_COUNT = 100_000  # Lua instructions between two looks at the clock
_FAILED, _TIMED_OUT = 1, 2

LOGGER = logging.getLogger("walrus.lua")  # redis.log; silent unless configured
LOGGER.addHandler(logging.NullHandler())
_LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)


def _no_attributes(obj: Any, name: Any, setting: bool) -> Any:
    """lupa's attribute filter: Lua reaches no attribute of a Python object
    (defence in depth: no Python object is ever handed to a script)."""
    raise AttributeError(name)


def _source(name: str) -> bytes:
    return (importlib.resources.files("walrus.drivers.lua") / name).read_bytes()


def _number_argument(value: float | int) -> bytes:
    """A Lua number given to redis.call, as Redis 7.0 writes it (``%.17g``)."""
    number = float(value)
    if math.isnan(number):
        return b"-nan" if math.copysign(1.0, number) < 0 else b"nan"
    return b"%.17g" % number


def _error_message(message: str) -> bytes:
    """An error reply as a script sees it: ``CODE message`` (Redis adds ERR)."""
    if message.startswith("ERR unknown command"):
        message = calls.UNKNOWN
    elif " " not in message:
        message = f"ERR {message}"
    return message.rstrip("\r\n").encode("utf-8", "surrogateescape")


class ScriptRuntime:
    """The Lua interpreter of one engine core."""

    def __init__(
        self,
        core: Any,
        time_limit: float = DEFAULT_TIME_LIMIT,
        max_memory: int = DEFAULT_MAX_MEMORY,
    ) -> None:
        self.core = core
        self.time_limit = time_limit
        self.max_memory = max_memory
        self._deadline: float | None = None
        self._expired = False
        self._interrupted: BaseException | None = None
        self._wrote = False
        self._read_only = False
        self._resp = 2
        self._rand = libs.Rand48()
        self._names: dict[bytes, str] = {}  # a command's first word -> its name
        self.register_check: Callable[[bytes], bytes | None] = lambda name: None
        lua = lupa.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            attribute_filter=_no_attributes,
            unpack_returned_tuples=True,
            max_memory=max_memory,
        )
        self._lua: Any = lua
        self._table = lua.table_from
        major, minor, patch = REDIS_VERSION
        shield = self._shield
        helpers = {
            b"call": self._call,
            b"expired": shield(self._expired_now, True),
            b"sha1hex": shield(libs.sha1hex, b""),
            b"log": shield(self._log, None),
            b"setresp": shield(self._setresp, None),
            b"acl_check_cmd": shield(self._acl_check, False),
            b"register_error": shield(self._register_error, b"ERR stopped"),
            b"rand48": shield(self._rand.next, 0.0),
            b"srand48": shield(self._rand.seed, None),
            b"bit": lua.table_from(
                {
                    k.encode(): shield(v, (False, b"stopped"))
                    for k, v in libs.BIT.items()
                }
            ),
            b"struct": lua.table_from(
                {
                    k.encode(): shield(v, (False, b"stopped"))
                    for k, v in libs.STRUCT.items()
                }
            ),
            b"cjson": self._chunk("cjson.lua"),
            b"cmsgpack": self._chunk("cmsgpack.lua"),
            b"replies": self._chunk("replies.lua"),
            b"hook_count": _HOOK_COUNT,
            b"max_string": max_memory,
            b"max_depth": MAX_REPLY_DEPTH,
            b"redis_version": f"{major}.{minor}.{patch}".encode(),
            b"redis_version_num": (major << 16) | (minor << 8) | patch,
            b"float_bytes": shield(libs.float_bytes, b"\xc0"),
            b"read_float": shield(libs.read_float, 0.0),
        }
        api = self._chunk("sandbox.lua")(lua.table_from(helpers))
        self._compile = api.compile
        self._run_eval = api.run_eval
        self._run_function = api.run_function
        self._load_library = api.load_library
        self._rearm = api.rearm
        self._dump = api.dump
        self._load_binary = api.load_binary
        lua.globals().python = None  # lupa's module: not even in the real globals

    def _chunk(self, name: str) -> Any:
        lua = self._lua.globals()
        fn, message = _pair(lua.loadstring(_source(name), b"=walrus"))
        if fn is None:
            raise RuntimeError(f"walrus's {name} does not compile: {message!r}")
        try:  # no tail calls: the error levels of its functions are fixed
            return lua.loadstring(untail(bytes(lua.string.dump(fn))))
        except ValueError:
            return fn

    # -- compiling and running -------------------------------------------------
    def compile(self, code: bytes, chunkname: bytes, for_functions: bool) -> Any:
        """A script's function, or the compiler's message (bytes)."""
        fn, message = _pair(self._compile(code, chunkname, for_functions))
        if fn is None:
            return bytes(message)
        try:
            patched = untail(bytes(self._dump(fn)))
        except ValueError:  # another platform's bytecode: keep the tail calls
            return fn
        return self._load_binary(patched, for_functions)

    def run_script(
        self, fn: Any, name: str, keys: Command, args: Command, read_only: bool
    ) -> Reply:
        """Run an EVAL script (KEYS and ARGV set) and return its reply."""
        return self._run(self._run_eval, fn, name, len(keys), keys, args, read_only)

    def run_function(
        self, fn: Any, name: str, keys: Command, args: Command, read_only: bool
    ) -> Reply:
        """Run a FUNCTION (called with keys and args) and return its reply."""
        return self._run(self._run_function, fn, name, len(keys), keys, args, read_only)

    def load_library(self, fn: Any, time_limit: float) -> list[Any] | str:
        """Run a library's code; its registered functions, or the error."""
        self._start(time_limit, read_only=True)
        try:
            registered, message = _pair(self._load_library(fn))
        except lupa.LuaError as exc:
            registered, message = None, f"ERR {exc}".encode()
        finally:
            stopped = self._finish()
        if stopped is not None:
            return "ERR FUNCTION LOAD timeout"
        if registered is None:
            return bytes(message or b"ERR unknown error").decode("utf-8", "replace")
        return [
            (entry[1], entry[2], list(entry[3].values()), entry[4])
            for entry in registered.values()
        ]

    def _run(
        self,
        entry: Any,
        fn: Any,
        name: str,
        numkeys: int,
        keys: Command,
        args: Command,
        read_only: bool,
    ) -> Reply:
        self._start(self.time_limit, read_only)
        failure: Exception | None = None
        try:
            resp = entry(fn, name.encode(), numkeys, *keys, *args)
        except lupa.LuaError as exc:  # after the time limit every instruction fails
            resp, failure = None, exc
        finally:
            stopped = self._finish()
        if stopped is not None:
            return stopped
        if resp is None:
            return ErrorReply(f"ERR Error running script {name}, {failure}"[:300])
        return parse_resp(resp)

    def _start(self, limit: float, read_only: bool) -> None:
        self._deadline = time.monotonic() + limit if limit > 0 else None
        self._expired = False
        self._wrote = False
        self._read_only = read_only
        self._resp = 2

    def _finish(self) -> ErrorReply | None:
        """End a run: the error for a stopped script, else None."""
        self._deadline = None
        interrupted, self._interrupted = self._interrupted, None
        if not self._expired and interrupted is None:
            return None
        self._expired = False
        self._rearm()
        if interrupted is not None:
            raise interrupted
        kept = (
            "the writes it made before were kept (Redis never rolls a script back)"
            if self._wrote
            else "it had written nothing"
        )
        return ErrorReply(
            f"ERR script stopped: it ran longer than the script time limit "
            f"({self.time_limit:g} s); {kept}"
        )

    def _shield(self, fn: Callable[..., Any], fallback: Any) -> Callable[..., Any]:
        """``fn`` for Lua: an exception never reaches Lua (a script could
        catch it as a Python object). KeyboardInterrupt and the like stop
        the script and are raised again when it has stopped."""

        def shielded(*args: Any) -> Any:
            try:
                return fn(*args)
            except Exception:
                return fallback
            except BaseException as exc:
                self._interrupted = exc
                return fallback

        return shielded

    def _expired_now(self) -> bool:
        if self._interrupted is not None:
            return True
        deadline = self._deadline
        if deadline is not None and time.monotonic() > deadline:
            self._expired = True
        return self._expired

    # -- redis.call ------------------------------------------------------------
    def _call(self, *args: Any) -> tuple[Any, Any]:
        try:
            deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                self._expired = True
                return b"", _TIMED_OUT
            if not args:
                return calls.NO_ARGUMENTS.encode(), _FAILED
            command: Command = []
            for arg in args:
                kind = type(arg)
                if kind is bytes:
                    command.append(arg)
                elif kind is int or kind is float:
                    command.append(_number_argument(arg))
                else:
                    return calls.ARGUMENTS.encode(), _FAILED
            name = self._names.get(command[0])
            if name is None:
                name = calls.command_name(command)
                if len(self._names) < 1024:
                    self._names[command[0]] = name
            refused = calls.refusal(name, command, self._read_only)
            if refused is not None:
                return refused.encode(), _FAILED
            if name in ("SORT", "SORT_RO") and calls.nosort_on_set(command):
                kind_reply = self.core.run_from_script([b"TYPE", command[1]])
                if kind_reply == b"set":
                    command = calls.sorted_instead(command)
            reply = self.core.run_from_script(command)
            if isinstance(reply, ErrorReply):
                return _error_message(reply.message), _FAILED
            if type(reply) is list and _too_large(reply):
                return _TOO_LARGE, _FAILED
            if calls.writes(name):
                self._wrote = True
            return self._to_lua(name, command, reply), None
        except Exception as exc:  # never into Lua: a script could catch the object
            message = f"ERR walrus could not run the command: {exc!r}"[:300]
            return message.encode(), _FAILED
        except BaseException as exc:  # KeyboardInterrupt ...: stop, then re-raise
            self._interrupted = exc
            return b"", _TIMED_OUT

    def _to_lua(self, name: str, command: Command, reply: Reply) -> Any:
        if type(reply) is bytes:
            if calls.is_status(name, command):
                return self._table({b"ok": reply})
            if self._resp == 3 and calls.resp3_shape(name) == "double":
                return self._table({b"double": float(reply)})
            return reply
        if reply is None:
            return None if self._resp == 3 else False
        if type(reply) is list:
            shape = calls.resp3_shape(name) if self._resp == 3 else None
            if shape == "map":
                pairs = dict(zip(reply[::2], reply[1::2], strict=False))
                return self._table({b"map": self._table(pairs)})
            if shape == "set":
                return self._table({b"set": self._table(dict.fromkeys(reply, True))})
            return self._array(reply)
        return reply

    def _array(self, items: list[Reply]) -> Any:
        converted: list[Any] = []
        for item in items:
            if item is None:
                item = False
            elif type(item) is list:
                item = self._array(item)
            elif isinstance(item, ErrorReply):
                item = self._table({b"err": _error_message(item.message)})
            converted.append(item)
        return self._table(converted)

    # -- the other callbacks ---------------------------------------------------
    def _log(self, level: float, message: bytes) -> None:
        try:
            LOGGER.log(_LOG_LEVELS[int(level)], message.decode("utf-8", "replace"))
        except Exception:  # never into Lua
            return

    def _setresp(self, version: float) -> None:
        self._resp = int(version)

    def _acl_check(self, *args: Any) -> bool:
        try:
            command = [a if isinstance(a, bytes) else _number_argument(a) for a in args]
            name = calls.command_name(command)
            return calls.refusal(name, command, False) != calls.UNKNOWN
        except Exception:  # never into Lua
            return False

    def _register_error(self, name: bytes) -> bytes | None:
        try:
            return self.register_check(name)
        except Exception:  # never into Lua
            return b"ERR invalid function name"

    def close(self) -> None:
        """Drop the interpreter (its memory goes with the last reference)."""
        self._lua = None


_TOO_LARGE = (
    f"ERR the reply is too large for a script on an embedded engine (more than "
    f"{MAX_CALL_REPLY} items)"
).encode()


def _too_large(reply: list[Reply]) -> bool:
    """Whether ``reply`` holds more than ``MAX_CALL_REPLY`` items (nested
    ones included). O(items), stopping as soon as the limit is passed."""
    budget = MAX_CALL_REPLY - len(reply)
    pending = [reply]
    while pending and budget >= 0:
        for item in pending.pop():
            if type(item) is list:
                budget -= len(item)
                pending.append(item)
    return budget < 0


def _pair(result: Any) -> tuple[Any, Any]:
    """A Lua ``value`` or ``nil, message`` result as (value, message)."""
    if isinstance(result, tuple):
        return result[0], result[1] if len(result) > 1 else None
    return result, None


def parse_resp(data: bytes) -> Reply:
    """The reply a RESP2 text (built by the sandbox) stands for."""
    value, _ = _parse(data, 0)
    return value


def _parse(data: bytes, at: int) -> tuple[Reply, int]:
    kind = data[at]
    end = data.index(b"\r\n", at)
    if kind == 36:  # $ bulk
        size = int(data[at + 1 : end])
        if size < 0:
            return None, end + 2
        start = end + 2
        return data[start : start + size], start + size + 2
    if kind == 58:  # : integer
        return int(data[at + 1 : end]), end + 2
    if kind == 43:  # + status
        return data[at + 1 : end], end + 2
    if kind == 45:  # - error
        return ErrorReply(data[at + 1 : end].decode("utf-8", "replace")), end + 2
    count = int(data[at + 1 : end])  # * array
    items: list[Reply] = []
    at = end + 2
    for _ in range(count):
        item, at = _parse(data, at)
        items.append(item)
    return items, at
