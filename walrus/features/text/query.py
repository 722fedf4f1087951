"""The full-text query language: parse a query into a tree. Pure Python, no I/O.

Grammar (``AND`` binds tighter than ``OR``)::

    query   := or_expr
    or_expr := and_expr ( ("OR" | "|") and_expr )*
    and_expr:= operand ( ["AND" | "&"] operand )*    # adjacent: default conjunction
    operand := WORD | '"' WORD* ['"'] | "(" or_expr [")"]

Two operands side by side are joined by the *default conjunction* (``"AND"``
unless told otherwise), with that operator's precedence: with ``"OR"`` as the
default, ``a b AND c`` is ``a OR (b AND c)``. ``AND`` and ``OR`` are operators
only in capitals; ``and``/``or`` are words. A word is a run of characters
other than white space, quotes, parentheses, ``&`` and ``|``. The parser
keeps the raw words: turning them into index terms (stemming, stop words) is
the caller's job (:meth:`walrus.features.text.tokenizer.Tokenizer.query_terms`).
As in walrus 0.9, a quote or parentheses left open are closed at the end of
the query (``(a OR b`` is ``(a OR b)``, ``"a b`` is ``"a b"``).

A malformed query raises :class:`~walrus.exceptions.QueryError` naming the
(1-based) column where it goes wrong. So does a query over the limits, which
bound the work a query can cause (parsing is linear in its length; the
search then reads one key per term): :data:`MAX_LENGTH` characters,
:data:`MAX_TERMS` words (a phrase's words included) and :data:`MAX_DEPTH`
nested parentheses. Callers may pass other limits (``Index`` has them as
attributes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from walrus.exceptions import QueryError

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_TERMS",
    "And",
    "Node",
    "Or",
    "Phrase",
    "QueryError",
    "Word",
    "parse_query",
]

MAX_LENGTH = 10_000  # characters in a query
MAX_TERMS = 1_000  # words in a query (a phrase's words included)
MAX_DEPTH = 32  # parentheses nested in a query


@dataclass(frozen=True)
class Word:
    """One raw query word."""

    text: str


@dataclass(frozen=True)
class Phrase:
    """Quoted words: all present, adjacent and in this order."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class And:
    """Every part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one part matches."""

    parts: tuple[Node, ...]


Node = Word | Phrase | And | Or

_TOKEN = re.compile(
    r'\s*(?:(?P<punct>[()&|])|"(?P<phrase>[^"]*)(?P<end>"?)|(?P<word>[^\s"()&|]+))'
)
_PHRASE_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "phrase", "and", "or", "(", ")"
    value: str
    column: int  # 1-based


def _lex(text: str, max_terms: int) -> list[_Token]:
    tokens: list[_Token] = []
    terms = 0
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:  # only trailing white space left
            break
        matched = match.group(0)
        column = pos + len(matched) - len(matched.lstrip()) + 1
        if match["punct"] is not None:
            char = match["punct"]
            kind = {"&": "and", "|": "or"}.get(char, char)
            tokens.append(_Token(kind, char, column))
        elif match["phrase"] is not None:  # an open quote ends with the query
            quoted = f'"{match["phrase"]}{match["end"]}'
            tokens.append(_Token("phrase", quoted, column))
        else:
            word = match["word"]
            kind = {"AND": "and", "OR": "or"}.get(word, "word")
            tokens.append(_Token(kind, word, column))
        if tokens[-1].kind in ("word", "phrase"):
            terms += len(_PHRASE_WORD.findall(match["phrase"] or "")) or 1
            if terms > max_terms:
                raise QueryError(
                    f"the query has more than {max_terms} words (the limit; "
                    f"column {column})"
                )
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, default: str, max_terms: int, max_depth: int) -> None:
        self.text = text
        self.tokens = _lex(text, max_terms)
        self.index = 0
        self.default = default
        self.depth = 0
        self.max_depth = max_depth

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def end_column(self) -> int:
        return len(self.text.rstrip()) + 1

    def fail(self, message: str, token: _Token | None) -> QueryError:
        column = token.column if token is not None else self.end_column()
        where = f"'{token.value}' at column {column}" if token else f"column {column}"
        return QueryError(f"{message}: {where} of {self.text!r}")

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("the query is empty")
        node = self.expression()
        token = self.peek()
        if token is not None:
            raise self.fail("unexpected", token)
        return node

    def expression(self) -> Node:
        # operands and the operators between them, explicit or implied
        operands: list[Node] = [self.operand()]
        operators: list[str] = []
        while True:
            token = self.peek()
            if token is None or token.kind == ")":
                break
            if token.kind in ("and", "or"):
                self.index += 1
                operators.append(token.kind)
                following = self.peek()
                if following is None or following.kind in ("and", "or", ")"):
                    raise self.fail(f"{token.value} needs a term after it", following)
            else:
                operators.append(self.default)
            operands.append(self.operand())
        groups: list[list[Node]] = [[operands[0]]]
        for operator, operand in zip(operators, operands[1:], strict=True):
            if operator == "or":
                groups.append([operand])
            else:
                groups[-1].append(operand)
        ands = [_join(And, group) for group in groups]
        return _join(Or, ands)

    def operand(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("a term is missing", None)
        self.index += 1
        if token.kind == "word":
            return Word(token.value)
        if token.kind == "phrase":
            words = tuple(_PHRASE_WORD.findall(token.value.strip('"')))
            if not words:
                raise self.fail("empty phrase", token)
            return Phrase(words)
        if token.kind == "(":
            inner = self.peek()
            if inner is not None and inner.kind == ")":
                raise self.fail("empty parentheses", token)
            if self.depth >= self.max_depth:
                raise self.fail(
                    f"parentheses nested more than {self.max_depth} deep (the limit)",
                    token,
                )
            self.depth += 1
            node = self.expression()
            self.depth -= 1
            if self.peek() is not None:  # else left open: closed by the end
                self.index += 1  # the ")" that ended the expression
            return node
        raise self.fail("a term is missing before", token)


def _join(kind: type[And] | type[Or], parts: list[Node]) -> Node:
    if len(parts) == 1:
        return parts[0]
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, kind) else (part,))
    return kind(tuple(flat))


def parse_query(
    text: str,
    default_conjunction: str = "AND",
    *,
    max_length: int | None = None,
    max_terms: int | None = None,
    max_depth: int | None = None,
) -> Node:
    """The tree of ``text``; adjacent terms are joined by ``default_conjunction``
    (``"AND"`` or ``"OR"``, any case). Raises QueryError if malformed or over
    a limit (``None``: the module's :data:`MAX_LENGTH`, :data:`MAX_TERMS`,
    :data:`MAX_DEPTH`). O(length of ``text``)."""
    if not isinstance(text, str):
        raise QueryError(f"a query is text, not {type(text).__name__}")
    longest = MAX_LENGTH if max_length is None else max_length
    if len(text) > longest:
        raise QueryError(
            f"the query is {len(text)} characters long; the limit is {longest}"
        )
    default = str(default_conjunction).lower()
    if default not in ("and", "or"):
        raise QueryError(
            f"the default conjunction is 'AND' or 'OR', not {default_conjunction!r}"
        )
    terms = MAX_TERMS if max_terms is None else max_terms
    depth = MAX_DEPTH if max_depth is None else max_depth
    try:
        return _Parser(text, default, terms, depth).parse()
    except RecursionError as exc:  # only with a max_depth raised very high
        raise QueryError("the query is nested too deeply to parse") from exc
