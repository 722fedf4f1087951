"""Hypothesis strategies for the differential fuzzer, built from the vocabulary.

A *step* is a plain command (a list of arguments) or one of these tuples:

``("TX", commands)``
    a transactional pipeline (MULTI ... EXEC, as redis-py sends it);
``("RAWTX", commands, "EXEC" | "DISCARD")``
    MULTI, the commands and EXEC (or DISCARD) sent by hand in a
    non-transactional pipeline, where the client allows it;
``("PIPE", commands)``
    a non-transactional pipeline;
``("WATCH", keys, outside, commands)``
    WATCH the keys, run ``outside`` as plain commands (another client on a
    server), then the transaction: it fails if ``outside`` changed a key;
``("REOPEN",)``
    close and reopen a file database (a no-op elsewhere).
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from fuzz.grammar import Arg, strategy
from fuzz.vocabulary import FAMILIES, TOKENS

__all__ = ["COMMAND", "SEQUENCES", "Step", "commands_of"]

Step = Any  # list[Arg] | tuple[str, ...]


def commands_of(*families: str) -> st.SearchStrategy[list[Arg]]:
    """Any command of the named families (and always the generic key ones)."""
    return _commands(tuple(sorted({"keys", *families})))


@functools.cache
def _commands(names: tuple[str, ...]) -> st.SearchStrategy[list[Arg]]:
    return st.one_of(*[strategy(t, TOKENS) for n in names for t in FAMILIES[n]])


COMMAND = commands_of(*FAMILIES)  # any command of any family


def _steps(commands: st.SearchStrategy[list[Arg]]) -> st.SearchStrategy[Step]:
    block = st.lists(commands, min_size=1, max_size=4)
    keys = st.lists(st.sampled_from(["k1", "k2", "k3"]), min_size=1, max_size=2)
    special = st.one_of(
        st.tuples(st.just("TX"), block),
        st.tuples(st.just("RAWTX"), block, st.sampled_from(["EXEC", "DISCARD"])),
        st.tuples(st.just("PIPE"), block),
        st.tuples(st.just("WATCH"), keys, st.lists(commands, max_size=2), block),
        st.just(("REOPEN",)),
    )
    # plain commands most of the time: one_of picks its branches evenly
    return st.one_of(commands, commands, commands, commands, commands, special)


# Each example mixes one to three families (denser data than all at once).
SEQUENCES: st.SearchStrategy[list[Step]] = st.lists(
    st.sampled_from(sorted(set(FAMILIES) - {"keys"})), min_size=1, max_size=3
).flatmap(lambda names: st.lists(_steps(commands_of(*names)), min_size=1, max_size=40))
