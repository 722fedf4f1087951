"""Redis's glob-style patterns (KEYS, SCAN MATCH, PSUBSCRIBE) for the embedded engines.

``*`` any run, ``?`` one byte, ``[abc]``, ``[a-z]`` and ``[^a]`` classes, and
``\\x`` to match ``x`` literally; matched against bytes, case-sensitively,
with Redis's answers in the odd corners: a trailing ``\\`` is a literal
backslash, an unclosed ``[`` is a class running to the end of the pattern,
``[]`` matches nothing and ``[^]`` any byte, a range may be written either
way round (``[z-a]``) and compares bytes as C's signed ``char`` (so
``[a-\\xff]`` is the range -1..97), and an empty string matches only the
empty pattern (KEYS and SCAN treat a lone ``*`` as "everything" before
matching, and so does :func:`glob_match`).

Cost: a pattern is split once (cached) into fixed-width segments between
stars; a string then matches by placing each segment at its leftmost
possible position, which is optimal since a star matches any run. That is
O(len(pattern) * len(string)) steps at worst, never exponential (Redis's
own matcher is bounded the same way); literal segments are found by
``bytes.find``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

__all__ = ["glob_match", "glob_matcher", "match_steps"]

# A token matches one byte: an int (that byte), None (any byte), or a
# frozenset of the bytes a class accepts.
Token = int | frozenset[int] | None
Segment = tuple[Token, ...]
Compiled = tuple[tuple[Segment, bytes | None], ...]  # segments, with literal bytes


def _signed(byte: int) -> int:
    """A byte as C's signed ``char`` (how Redis compares class ranges)."""
    return byte - 256 if byte >= 128 else byte


def _class(pattern: bytes, i: int) -> tuple[frozenset[int], int]:
    """The class starting after ``[`` at ``i``: (accepted bytes, next index)."""
    n = len(pattern)
    negate = i < n and pattern[i] == ord("^")
    i += negate
    accepted: set[int] = set()
    while True:
        if i < n - 1 and pattern[i] == ord("\\"):
            accepted.add(pattern[i + 1])
            i += 1
        elif i >= n or pattern[i] == ord("]"):  # unclosed: ends with the pattern
            break
        elif i + 2 < n and pattern[i + 1] == ord("-"):
            low, high = sorted((_signed(pattern[i]), _signed(pattern[i + 2])))
            accepted.update(b for b in range(256) if low <= _signed(b) <= high)
            i += 2
        else:
            accepted.add(pattern[i])
        i += 1
    if negate:
        accepted = set(range(256)) - accepted
    return frozenset(accepted), i + 1


@functools.lru_cache(maxsize=256)
def _compile(pattern: bytes) -> Compiled:
    """``pattern`` as the segments between its stars (one segment: no star),
    each with its bytes when it is all literal."""
    segments: list[Segment] = []
    current: list[Token] = []
    i, n = 0, len(pattern)
    while i < n:
        byte = pattern[i]
        if byte == ord("*"):
            segments.append(tuple(current))
            current = []
            i += 1
        elif byte == ord("?"):
            current.append(None)
            i += 1
        elif byte == ord("["):
            accepted, i = _class(pattern, i + 1)
            current.append(accepted)
        elif byte == ord("\\") and i + 1 < n:
            current.append(pattern[i + 1])
            i += 2
        else:
            current.append(byte)
            i += 1
    segments.append(tuple(current))
    return tuple((s, _literal(s)) for s in segments)


def _literal(segment: Segment) -> bytes | None:
    """The segment's bytes when every token is one literal byte."""
    literal = bytes(token for token in segment if isinstance(token, int))
    return literal if len(literal) == len(segment) else None


def _fits(compiled: tuple[Segment, bytes | None], value: bytes, at: int) -> bool:
    """Whether the segment matches ``value`` at ``at`` (it fits in ``value``)."""
    segment, literal = compiled
    if literal is not None:
        return value.startswith(literal, at)
    for token, byte in zip(segment, value[at : at + len(segment)], strict=True):
        if token is None:
            continue
        if isinstance(token, int):
            if token != byte:
                return False
        elif byte not in token:
            return False
    return True


def match_steps(pattern: bytes, value: bytes) -> tuple[bool, int]:
    """Whether ``value`` matches ``pattern``, and the steps it took (bytes
    compared or scanned): the test hook that shows the bound."""
    if not value:
        return not pattern, 1
    segments = _compile(pattern)
    first, last = segments[0], segments[-1]
    if len(segments) == 1:
        fits = len(value) == len(first[0]) and _fits(first, value, 0)
        return fits, len(value)
    steps = len(first[0]) + len(last[0])
    end = len(value) - len(last[0])  # where the last segment must start
    if end < len(first[0]) or not (_fits(first, value, 0) and _fits(last, value, end)):
        return False, steps
    position = len(first[0])
    for compiled in segments[1:-1]:
        segment, literal = compiled
        if not segment:
            continue
        if literal is not None:
            found = value.find(literal, position, end)
            steps += (end if found < 0 else found + len(literal)) - position
        else:
            found = -1
            for at in range(position, end - len(segment) + 1):
                steps += len(segment)
                if _fits(compiled, value, at):
                    found = at
                    break
        if found < 0:
            return False, steps
        position = found + len(segment)
    return True, steps


def glob_match(pattern: bytes, value: bytes) -> bool:
    """Whether ``value`` matches the Redis glob ``pattern`` (a lone ``*``
    matches everything, as KEYS and SCAN treat it)."""
    if pattern == b"*":
        return True
    return match_steps(pattern, value)[0]


def glob_matcher(pattern: bytes) -> Callable[[bytes], bool]:
    """:func:`glob_match` with ``pattern`` fixed (a MATCH filter)."""
    return functools.partial(glob_match, pattern)
