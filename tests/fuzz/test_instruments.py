"""The fuzzers' own parts: templates, normalization, the known-list matcher."""

from __future__ import annotations

import random

import pytest
from hypothesis import given

from fuzz.crash_child import bounded
from fuzz.grammar import expand, parse, strategy
from fuzz.known import Known, find, narrow, step_text
from fuzz.known_differences import CRASHES, DIFFERENCES, FOREIGN
from fuzz.replies import Failure, error_prefix, normalize
from fuzz.vocabulary import FAMILIES, TOKENS

TOKENS_AB = {"k": ["a", "b"], "v": ["1"]}


def test_every_template_parses_and_expands() -> None:
    rng = random.Random(1)
    for template in [t for family in FAMILIES.values() for t in family]:
        for _ in range(5):
            command = expand(template, TOKENS, rng)
            assert command[0] == template.split()[0] or template.startswith("(")


def test_template_groups() -> None:
    rng = random.Random(3)
    seen = {tuple(expand("SET $k $v [NX|XX] {$k}", TOKENS_AB, rng)) for _ in range(300)}
    assert ("SET", "a", "1") in seen and ("SET", "b", "1", "XX") in seen
    assert any(len(c) == 6 for c in seen)  # NX or XX, then two repetitions
    assert all(len(c) <= 6 and "NXXX" not in "".join(c) for c in seen)
    assert parse("XGROUP CREATE $k g ($k|$)").items[-1].kind == "alt"
    with pytest.raises(ValueError):
        parse("SET [NX")


@given(command=strategy("ZADD $k [NX|XX] $v {$v $v}", TOKENS_AB))
def test_template_strategy(command: list[str]) -> None:
    assert command[0] == "ZADD" and len(command) in (3, 4, 5, 6, 7, 8)


def test_normalization_and_errors() -> None:
    assert normalize(["SMEMBERS", "s"], [b"b", b"a"]) == [b"a", b"b"]
    assert normalize(["TTL", "k"], 99) == "positive"
    assert normalize(["SRANDMEMBER", "s", "-3"], [b"a", b"a", b"a"]) == (
        "list of",
        3,
    )
    assert normalize(["GET", "h"], b"HYLL\x01") == b"<hll>"
    assert normalize(["XADD", "s", "*"], b"1764806400000-0") == b"<auto-id>"
    assert error_prefix("user_script:1: boom script: on @user_script:1.") == "boom"
    assert error_prefix("unknown command 'X', with args") == "unknown command"
    assert Failure("ResponseError", "syntax error", "a") == Failure(
        "ResponseError", "syntax error", "b"
    )


def test_known_entries_match_commands_inside_blocks() -> None:
    entry = Known(frozenset({"memory"}), r"^LCS\b", "missing", replies="unknown")
    step = ("TX", [["SET", "a", "1"], ["LCS", "a", "b"]])
    text = step_text(step)
    assert find([entry], "memory", text, "unknown command") is entry
    assert find([entry], "rlite-file", text, "unknown command") is None
    assert find([entry], "memory", text, "syntax error") is None
    command, e, g = narrow(step, [b"OK", 1], [b"OK", 2])
    assert command == ["LCS", "a", "b"] and (e, g) == (1, 2)
    assert all(k.status in ("to fix", "deliberate") and k.reason for k in DIFFERENCES)
    assert all(k.reason for k in (*CRASHES, *FOREIGN))


def test_crash_fuzzer_keeps_to_what_a_server_answers_in_time() -> None:
    assert bounded(["BLPOP", "k", "0"]) == ["BLPOP", "k", "0.01"]
    assert bounded(["BLPOP", "k", "nan"]) == ["BLPOP", "k", "nan"]
    assert bounded(["BLMPOP", "1e9", "1", "k", "LEFT"])[1] == "0.01"
    assert bounded(["SRANDMEMBER", "s", "-4294967296"])[2] == "-10000000"
    assert bounded(["GET", "k"]) == ["GET", "k"]
