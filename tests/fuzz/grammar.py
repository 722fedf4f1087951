"""Command templates, and the two ways the fuzzers expand them.

A template is one Redis command written as its syntax: literal words,
``$name`` tokens (a value drawn from :data:`fuzz.vocabulary.TOKENS`), and
groups::

    ZADD $k [NX|XX] [CH] $score $member {$score $member}

``[a|b]`` is optional (one of the alternatives, or nothing), ``(a|b)`` is
one of the alternatives, ``{...}`` repeats zero to two times. The same
parsed template gives a Hypothesis strategy (:func:`strategy`, for the
differential fuzzer, so examples shrink) and a plain ``random.Random``
expansion (:func:`expand`, for the crash fuzzer's child, reproducible from a
seed without Hypothesis).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

__all__ = ["Arg", "Node", "expand", "parse", "strategy"]

Arg = str | bytes


@dataclass(frozen=True)
class Node:
    """``kind`` is lit, tok, seq, alt (one of), opt (one of, or none), rep."""

    kind: str
    text: str = ""
    items: tuple[Node, ...] = ()


_CLOSE = {"[": "]", "(": ")", "{": "}"}
_KIND = {"[": "opt", "(": "alt", "{": "rep"}


@functools.cache
def parse(template: str) -> Node:
    """Parse a template into a tree (cached: templates are constants)."""
    tokens = template.replace("[", " [ ").replace("]", " ] ").replace("(", " ( ")
    tokens = tokens.replace(")", " ) ").replace("{", " { ").replace("}", " } ")
    words = tokens.replace("|", " | ").split()
    node, end = _sequence(words, 0, "")
    if end != len(words):
        raise ValueError(f"unbalanced template: {template!r}")
    return node


def _sequence(words: list[str], at: int, close: str) -> tuple[Node, int]:
    """Alternatives separated by ``|`` up to ``close``; one alternative is a seq."""
    alternatives: list[Node] = []
    items: list[Node] = []
    while at < len(words) and words[at] != close:
        word = words[at]
        if word == "|":
            alternatives.append(Node("seq", items=tuple(items)))
            items = []
            at += 1
        elif word in _CLOSE:
            inner, at = _sequence(words, at + 1, _CLOSE[word])
            at += 1  # the closing bracket
            group = inner.items if inner.kind == "alt" and word != "{" else (inner,)
            items.append(Node(_KIND[word], items=group))
        elif word.startswith("$") and len(word) > 1:  # a lone $ is literal
            items.append(Node("tok", word[1:]))
            at += 1
        else:
            items.append(Node("lit", word))
            at += 1
    if close and at >= len(words):
        raise ValueError(f"missing {close!r} in {' '.join(words)!r}")
    last = Node("seq", items=tuple(items))
    if alternatives:
        return Node("alt", items=(*alternatives, last)), at
    return last, at


def strategy(
    template: str, tokens: Mapping[str, Sequence[Arg]]
) -> st.SearchStrategy[list[Arg]]:
    """A Hypothesis strategy for the argument lists ``template`` describes."""
    return _strategy(parse(template), tokens)


def _strategy(
    node: Node, tokens: Mapping[str, Sequence[Arg]]
) -> st.SearchStrategy[list[Arg]]:
    if node.kind == "lit":
        return st.just([node.text])
    if node.kind == "tok":
        return st.sampled_from(tokens[node.text]).map(lambda value: [value])
    parts = [_strategy(item, tokens) for item in node.items]
    if node.kind == "seq":
        return st.tuples(*parts).map(_concat)
    if node.kind == "alt":
        return st.one_of(*parts)
    if node.kind == "opt":
        return st.one_of(st.just([]), *parts)
    body = st.tuples(*parts).map(_concat)  # rep
    return st.lists(body, max_size=2).map(_concat)


def _concat(parts: Sequence[list[Arg]]) -> list[Arg]:
    return [arg for part in parts for arg in part]


def expand(
    template: str, tokens: Mapping[str, Sequence[Arg]], rng: random.Random
) -> list[Arg]:
    """One random expansion of ``template`` (for the crash fuzzer)."""
    out: list[Arg] = []
    _expand(parse(template), tokens, rng, out)
    return out


def _expand(
    node: Node,
    tokens: Mapping[str, Sequence[Arg]],
    rng: random.Random,
    out: list[Arg],
) -> None:
    if node.kind == "lit":
        out.append(node.text)
    elif node.kind == "tok":
        out.append(rng.choice(tokens[node.text]))
    elif node.kind == "seq":
        for item in node.items:
            _expand(item, tokens, rng, out)
    elif node.kind == "alt":
        _expand(rng.choice(node.items), tokens, rng, out)
    elif node.kind == "opt":
        if rng.random() < 0.5:
            _expand(rng.choice(node.items), tokens, rng, out)
    else:  # rep
        for _ in range(rng.randint(0, 2)):
            for item in node.items:
                _expand(item, tokens, rng, out)
