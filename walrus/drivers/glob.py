"""Redis's glob-style patterns (KEYS, SCAN MATCH, PSUBSCRIBE) for emulations.

``*`` any run, ``?`` one byte, ``[abc]``, ``[a-z]`` and ``[^a]`` classes, and
``\\x`` to match ``x`` literally; matched against bytes, case-sensitively.
"""

from __future__ import annotations

import functools
import re

__all__ = ["glob_match"]


@functools.lru_cache(maxsize=256)
def _compile(pattern: bytes) -> re.Pattern[bytes]:
    out: list[bytes] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i : i + 1]
        i += 1
        if c == b"*":
            out.append(b".*")
        elif c == b"?":
            out.append(b".")
        elif c == b"\\" and i < n:
            out.append(re.escape(pattern[i : i + 1]))
            i += 1
        elif c == b"[":
            end = i
            if end < n and pattern[end : end + 1] == b"^":
                end += 1
            while end < n and pattern[end : end + 1] != b"]":
                end += 2 if pattern[end : end + 1] == b"\\" else 1
            if end >= n:  # no closing bracket: Redis matches up to the end
                body = pattern[i:]
                i = n
            else:
                body = pattern[i:end]
                i = end + 1
            negate = body.startswith(b"^")
            if negate:
                body = body[1:]
            parts: list[bytes] = []
            j = 0
            while j < len(body):
                ch = body[j : j + 1]
                if ch == b"\\" and j + 1 < len(body):
                    parts.append(re.escape(body[j + 1 : j + 2]))
                    j += 2
                elif j + 2 < len(body) and body[j + 1 : j + 2] == b"-":
                    low, high = sorted((body[j : j + 1], body[j + 2 : j + 3]))
                    parts.append(re.escape(low) + b"-" + re.escape(high))
                    j += 3
                else:
                    parts.append(re.escape(ch))
                    j += 1
            if not parts:
                out.append(b"[^\\s\\S]" if not negate else b"[\\s\\S]")
            else:
                out.append(b"[" + (b"^" if negate else b"") + b"".join(parts) + b"]")
        else:
            out.append(re.escape(c))
    return re.compile(b"(?s:" + b"".join(out) + b")\\Z")


def glob_match(pattern: bytes, value: bytes) -> bool:
    """Whether ``value`` matches the Redis glob ``pattern``."""
    if pattern == b"*":
        return True
    return _compile(pattern).match(value) is not None
