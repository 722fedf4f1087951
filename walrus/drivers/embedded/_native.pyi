"""Types of the compiled helpers (``_native.c``; absent without a C compiler)."""

from collections.abc import Callable, Sequence
from typing import Any

def pack(args: tuple[Any, ...], encode: Callable[[Any], bytes], /) -> list[bytes]: ...
def bind(
    command: int,
    free_reply: int,
    get_reply: int,
    position_offset: int,
    length_offset: int,
    error_reply: Callable[[bytes], Any],
    no_reply: type[BaseException],
    /,
) -> None: ...
def command(handle: int, args: Sequence[bytes], /) -> Any: ...
def many(handle: int, commands: Sequence[Sequence[bytes]], /) -> list[Any]: ...
def typed(
    handle: int,
    args: Sequence[bytes],
    kind: bytes,
    first: int,
    stop: int,
    wrong: Any,
    /,
) -> Any: ...
def read(handle: int, suffix: bytes, wrong: Any, args: Sequence[bytes], /) -> Any: ...
def splice(content: bytes, changes: dict[str, str | None], /) -> tuple[bytes, int]: ...
def plain_pickle(data: bytes, /) -> bool: ...
def plain_value(value: object, /) -> bool: ...
