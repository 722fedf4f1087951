"""The cluster rule for walrus's Lua scripts, checked statically on every file.

A cluster runs a script only on the slot of the keys it declares, so every
key a script touches must be a KEYS element, or a name built inside a
declared key's hash tag: a KEYS element (or a variable holding one) followed
by ``..`` and anything. This test reads each ``lua/*.lua``, finds every
``redis.call``/``redis.pcall``, picks its key arguments from the command's
key positions (:data:`KEY_POSITIONS`) and accepts only these expressions:

* ``KEYS[...]``;
* ``<key> .. <anything>`` where ``<key>`` is an accepted expression
  (the hash tag ``{...}`` comes first in walrus's keys, so the suffix cannot
  move the name to another slot);
* a variable every assignment of which, anywhere in the file, is accepted
  (loop variables and function parameters never are);
* ``unpack(t)`` where every element ever stored in the table ``t`` is
  accepted (or, for ZINTERSTORE/ZUNIONSTORE, is one of their option words).

It is a conservative check: names are tracked per file, not per scope, and
anything else fails with the file and line. The command name must be a
string literal; a command missing from :data:`KEY_POSITIONS` fails too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

LUA_DIR = Path(__file__).resolve().parent.parent / "lua"

ALL = "all"  # every argument is a key
STORE = "store"  # destination, numkeys, then keys, then options
FIRST_KEY_WORDS = (  # commands whose first argument is their only key
    "GET SET INCR PTTL PEXPIRE EXPIRE HGET HSET HMSET HDEL HLEN HVALS HMGET "
    "HGETALL HINCRBY SADD SREM SMEMBERS ZADD ZREM ZRANGE ZCARD ZRANK "
    "ZREMRANGEBYRANK ZSCORE LLEN LRANGE LTRIM LPUSH RPUSH LPOP RPOP LINDEX "
    "LSET LINSERT LREM"
)
# 1-based positions of the key arguments after the command name
KEY_POSITIONS: dict[str, str | tuple[int, ...]] = {
    **dict.fromkeys(["DEL", "EXISTS", "UNLINK"], ALL),
    **dict.fromkeys(["ZINTERSTORE", "ZUNIONSTORE"], STORE),
    **dict.fromkeys(["TIME"], ()),
    **dict.fromkeys(FIRST_KEY_WORDS.split(), (1,)),
}
STORE_OPTIONS = {"AGGREGATE", "MAX", "MIN", "SUM", "WEIGHTS"}
ENDS = {"then", "do", "end", "else", "elseif", "local", "return", "until"}
STARTS = ENDS | {"if", "while", "repeat"}
TOKEN = re.compile(
    r"""(?P<long>\[(?P<eq>=*)\[.*?\](?P=eq)\])
      | (?P<str>'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<num>0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?)
      | (?P<op>\.\.\.|\.\.|==|~=|<=|>=|[-+*/%^#<>=(){}\[\];:,.])
      | (?P<nl>\n) | (?P<ws>[ \t\r]+)""",
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Tok:
    text: str
    kind: str
    line: int


def tokenize(source: str) -> list[Tok]:
    """Lua tokens with their line numbers; comments and blanks dropped."""
    source = re.sub(
        r"--\[(=*)\[.*?\]\1\]", lambda m: "\n" * m[0].count("\n"), source, flags=re.S
    )
    source = re.sub(r"--[^\n]*", "", source)
    tokens: list[Tok] = []
    line, at = 1, 0
    while at < len(source):
        match = TOKEN.match(source, at)
        if match is None:
            raise AssertionError(f"line {line}: cannot read {source[at : at + 20]!r}")
        kind = match.lastgroup or ""
        kind = "str" if kind in ("long", "eq") else kind
        if kind not in ("nl", "ws"):
            tokens.append(Tok(match[0], kind, line))
        line += match[0].count("\n")
        at = match.end()
    return tokens


OPEN, CLOSE = {"(": ")", "[": "]", "{": "}"}, {")", "]", "}"}


def split_top(tokens: list[Tok], separator: str) -> list[list[Tok]]:
    """``tokens`` split at ``separator`` outside brackets."""
    parts: list[list[Tok]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.kind == "op" and tok.text in OPEN:
            depth += 1
        elif tok.kind == "op" and tok.text in CLOSE:
            depth -= 1
        if depth == 0 and tok.kind == "op" and tok.text == separator:
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts


def closing(tokens: list[Tok], at: int) -> int:
    """The index of the bracket closing the one at ``at``."""
    depth = 0
    for i in range(at, len(tokens)):
        if tokens[i].kind == "op" and tokens[i].text in OPEN:
            depth += 1
        elif tokens[i].kind == "op" and tokens[i].text in CLOSE:
            depth -= 1
            if depth == 0:
                return i
    raise AssertionError(f"line {tokens[at].line}: unclosed {tokens[at].text!r}")


def expression(tokens: list[Tok], at: int) -> list[Tok]:
    """The expression starting at ``at``: up to the end of its line, a
    statement keyword, or a closing bracket of an enclosing expression."""
    out: list[Tok] = []
    depth = 0
    line = tokens[at].line if at < len(tokens) else 0
    for tok in tokens[at:]:
        if depth == 0 and (
            (tok.kind == "name" and tok.text in ENDS)
            or (tok.kind == "op" and tok.text in CLOSE | {";"})
            or tok.line != line
        ):
            break
        if tok.kind == "op" and tok.text in OPEN:
            depth += 1
        elif tok.kind == "op" and tok.text in CLOSE:
            depth -= 1
        out.append(tok)
        line = tok.line
    return out


@dataclass
class Script:
    """What the checker knows of one file: its assignments and calls."""

    tokens: list[Tok]
    scalars: dict[str, list[list[Tok] | None]]  # None: an unknown value
    elements: dict[str, list[list[Tok]]]  # table name -> values stored in it

    @classmethod
    def read(cls, source: str) -> Script:
        tokens = tokenize(source)
        script = cls(tokens, {}, {})
        for i, tok in enumerate(tokens):
            script._note(i, tok)
        return script

    def _note(self, i: int, tok: Tok) -> None:
        t = self.tokens
        if tok.text == "for" and tok.kind == "name":  # loop variables
            j = i + 1
            while j < len(t) and t[j].text not in ("=", "in"):
                if t[j].kind == "name":
                    self.scalars.setdefault(t[j].text, []).append(None)
                j += 1
        elif tok.text == "function" and tok.kind == "name":  # parameters
            j = i + 1
            while t[j].text != "(":
                j += 1
            for param in t[j + 1 : closing(t, j)]:
                if param.kind == "name":
                    self.scalars.setdefault(param.text, []).append(None)
        elif (
            tok.kind == "name"
            and tok.text == "table"
            and t[i + 2 : i + 4]
            and (t[i + 1].text == "." and t[i + 2].text == "insert")
        ):
            args = split_top(t[i + 4 : closing(t, i + 3)], ",")
            self.elements.setdefault(args[0][0].text, []).append(args[-1])
        elif tok.kind == "op" and tok.text == "=":
            self._assignment(i)

    def _assignment(self, i: int) -> None:
        t = self.tokens
        start = i  # the targets: back to the statement's start on this line
        while (
            start > 0
            and t[start - 1].line == t[i].line
            and not (t[start - 1].kind == "name" and t[start - 1].text in STARTS)
        ):
            start -= 1
        targets = t[start:i]
        values = split_top(expression(t, i + 1), ",")
        if targets and targets[-1].text == "]":  # t[...] = value
            name = targets[0].text
            self.elements.setdefault(name, []).append(values[0])
            return
        names = [p[0].text for p in split_top(targets, ",") if len(p) == 1]
        for n, name in enumerate(names):
            value = values[n] if n < len(values) else None
            if value is not None and value and value[0].text == "{":
                self.elements.setdefault(name, []).extend(
                    split_top(value[1:-1], ",") if len(value) > 2 else []
                )
                value = [Tok("{}", "table", value[0].line)]
            self.scalars.setdefault(name, []).append(value)

    def key_names(self) -> set[str]:
        """Variables that only ever hold accepted key expressions."""
        names = {n for n, values in self.scalars.items() if None not in values}
        while True:
            kept = {
                n
                for n in names
                if all(v is not None and self.is_key(v, names) for v in self.scalars[n])
            }
            if kept == names:
                return names
            names = kept

    def is_key(self, expr: list[Tok], names: set[str]) -> bool:
        while (
            len(expr) > 2 and expr[0].text == "(" and closing(expr, 0) == len(expr) - 1
        ):
            expr = expr[1:-1]
        first = split_top(expr, "..")[0]
        if [tok.text for tok in first[:2]] == ["KEYS", "["]:
            return closing(first, 1) == len(first) - 1
        return len(first) == 1 and first[0].kind == "name" and first[0].text in names

    def calls(self) -> list[tuple[int, str, list[list[Tok]]]]:
        """``(line, command, arguments)`` of every redis.call/redis.pcall."""
        found = []
        t = self.tokens
        for i in range(len(t) - 3):
            if [x.text for x in t[i : i + 2]] == ["redis", "."] and t[i + 2].text in (
                "call",
                "pcall",
            ):
                args = split_top(t[i + 4 : closing(t, i + 3)], ",")
                command = args[0]
                if len(command) != 1 or command[0].kind != "str":
                    raise AssertionError(
                        f"line {t[i].line}: the command name must be a string literal"
                    )
                found.append((t[i].line, command[0].text[1:-1].upper(), args[1:]))
        return found


def violations(source: str) -> list[str]:
    """``line N: ...`` for each key argument the rule does not accept."""
    script = Script.read(source)
    names = script.key_names()
    problems = []
    for line, command, args in script.calls():
        spec = KEY_POSITIONS.get(command)
        if spec is None:
            problems.append(f"line {line}: {command} is not in KEY_POSITIONS")
            continue
        if spec == ALL:
            keyed = args
        elif isinstance(spec, str):  # STORE
            keyed = [args[0], *args[2:]]
        else:
            keyed = [args[p - 1] for p in spec if p <= len(args)]
        for arg in keyed:
            if not accepted(script, names, arg, options=spec == STORE):
                text = " ".join(tok.text for tok in arg)
                problems.append(
                    f"line {line}: {command} key {text!r} is neither a KEYS element "
                    "nor built from one"
                )
    return problems


def accepted(script: Script, names: set[str], arg: list[Tok], options: bool) -> bool:
    if options and len(arg) == 1 and arg[0].kind == "str":
        return arg[0].text[1:-1].upper() in STORE_OPTIONS
    if options and len(arg) == 1 and arg[0].kind == "num":
        return True  # a WEIGHTS value
    if [tok.text for tok in arg[:2]] == ["unpack", "("]:
        table = arg[2].text
        if table in ("KEYS",):
            return True
        stored = script.elements.get(table, [])
        tables = script.scalars.get(table, [])
        return all(v is not None and v[0].kind == "table" for v in tables) and all(
            accepted(script, names, value, options) for value in stored
        )
    return script.is_key(arg, names)


SCRIPTS = sorted(LUA_DIR.glob("*.lua"))


def test_every_script_is_checked() -> None:
    assert len(SCRIPTS) >= 19
    for path in SCRIPTS:
        assert Script.read(path.read_text()).calls(), path.name


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_touch_only_declared_keys_or_their_tag(path: Path) -> None:
    problems = violations(path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(f"{path}:{p}" for p in problems)


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("redis.call('GET', ARGV[1])", 1),
        ("redis.call('DEL', 'fixed')", 1),
        ("local k = KEYS[1]\n\nredis.call('SET', ARGV[1] .. k, 1)", 3),
        (
            "for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
            "  redis.call('DEL', k)\nend",
            2,
        ),
        ("local k = KEYS[1]\nk = ARGV[1]\nredis.call('GET', k)", 3),
        ("local t = {}\nt[1] = ARGV[1]\nredis.call('DEL', unpack(t))", 3),
        ("local function f(s) return redis.call('GET', s) end", 1),
        ("redis.call('ZINTERSTORE', KEYS[1], 2, KEYS[2], ARGV[2])", 1),
        ("redis.call('OBJECT', 'ENCODING', KEYS[1])", 1),
    ],
)
def test_the_check_catches_undeclared_keys(source: str, line: int) -> None:
    problems = violations(source)
    assert problems and problems[0].startswith(f"line {line}:"), problems


def test_the_check_accepts_keys_inside_a_declared_tag() -> None:
    source = """
local base = KEYS[3]
local row = base .. ARGV[1]
row = (base .. ARGV[2])
local keys = {}
for i = 1, 3 do
  keys[i] = KEYS[2] .. ARGV[i]
end
keys[4] = 'AGGREGATE'
keys[5] = 'MAX'
redis.call('ZINTERSTORE', row, 3, unpack(keys))
redis.call('HSET', row, ARGV[3], ARGV[4])
redis.pcall('DEL', KEYS[1], base .. 'x')
"""
    assert violations(source) == []
