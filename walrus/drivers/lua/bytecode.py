"""Turn the tail calls of a compiled Lua 5.1 chunk into plain calls.

Redis's ``redis.call`` is a C function, so in ``return redis.call(...)``
Lua keeps the script's frame and an error names the script's line (``on
@user_script:3.``). walrus's ``redis.call`` is a Lua function, and Lua 5.1
replaces the caller's frame on a tail call to a Lua function: the line
would be lost. So each script is compiled, dumped, and every ``TAILCALL``
(always followed by ``RETURN A 0``, which returns all the results) becomes
a ``CALL`` with open results: the same values are returned, the script's
frame stays. Only walrus's own compiler output is patched and re-loaded;
scripts can never load bytecode.
"""

from __future__ import annotations

import struct

__all__ = ["untail"]

_HEADER = b"\x1bLua\x51\x00\x01\x04\x08\x04\x08\x00"  # x86-64 Lua 5.1
_CALL, _TAILCALL = 28, 29
_NIL, _BOOLEAN, _NUMBER, _STRING = 0, 1, 3, 4


class _Reader:
    def __init__(self, data: bytearray) -> None:
        self.data, self.at = data, len(_HEADER)

    def int(self) -> int:
        (value,) = struct.unpack_from("<i", self.data, self.at)
        self.at += 4
        return int(value)

    def skip_string(self) -> None:
        (size,) = struct.unpack_from("<Q", self.data, self.at)
        self.at += 8 + size

    def function(self) -> None:
        """Walk one function prototype, patching its code in place."""
        self.skip_string()  # source
        self.at += 4 + 4 + 4  # line defined, last line, 4 bytes of counts
        count = self.int()
        for _ in range(count):
            (ins,) = struct.unpack_from("<I", self.data, self.at)
            if ins & 0x3F == _TAILCALL:
                struct.pack_into("<I", self.data, self.at, (ins & ~0x3F) | _CALL)
            self.at += 4
        for _ in range(self.int()):  # constants
            kind = self.data[self.at]
            self.at += 1
            if kind == _BOOLEAN:
                self.at += 1
            elif kind == _NUMBER:
                self.at += 8
            elif kind == _STRING:
                self.skip_string()
            elif kind != _NIL:
                raise ValueError(f"unknown constant type {kind}")
        for _ in range(self.int()):  # nested functions
            self.function()
        lines = self.int()  # line info
        self.at += 4 * lines
        for _ in range(self.int()):  # local variables
            self.skip_string()
            self.at += 8
        for _ in range(self.int()):  # upvalue names
            self.skip_string()


def untail(chunk: bytes) -> bytes:
    """The chunk with every tail call made a plain call."""
    if not chunk.startswith(_HEADER):
        raise ValueError("not a Lua 5.1 chunk for this machine")
    data = bytearray(chunk)
    reader = _Reader(data)
    reader.function()
    if reader.at != len(data):
        raise ValueError("unexpected bytes after the main function")
    return bytes(data)
