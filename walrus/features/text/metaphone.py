"""Double Metaphone (Lawrence Philips, 2000): two phonetic codes per word.

:func:`double_metaphone` returns ``(primary, secondary)``, each at most four
characters (``"0"`` stands for *th*, ``"X"`` for *sh*/*ch*); the secondary
code is the primary one when the word has no alternative pronunciation.
Words that sound alike share a code: ``Smith``/``Schmidt`` (``XMT``),
``Jon``/``John`` (``JN``). Written from the published rules; pure Python.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["double_metaphone"]

_VOWELS = frozenset("AEIOUY")
_PAD = "     "
MAX_LENGTH = 4

_At = Callable[..., bool]  # at(start, *options): w[start:] starts with an option
_Vowel = Callable[[int], bool]
_Add = Callable[..., None]


class _Codes:
    def __init__(self) -> None:
        self.primary: list[str] = []
        self.secondary: list[str] = []

    def add(self, primary: str, secondary: str | None = None) -> None:
        self.primary.append(primary)
        self.secondary.append(primary if secondary is None else secondary)

    def full(self) -> bool:
        return (
            len("".join(self.primary)) >= MAX_LENGTH
            and len("".join(self.secondary)) >= MAX_LENGTH
        )


def double_metaphone(word: str) -> tuple[str, str]:
    """The (primary, secondary) Double Metaphone codes of ``word``."""
    text = word.upper().replace("Ç", "\x01").replace("Ñ", "\x02")
    length = len(text)
    if not length:
        return "", ""
    w = text + _PAD
    last = length - 1
    slavo_germanic = any(part in text for part in ("W", "K", "CZ", "WITZ"))

    def at(start: int, *options: str) -> bool:
        if start < 0:
            return False
        return any(w[start : start + len(o)] == o for o in options)

    def vowel(pos: int) -> bool:
        return 0 <= pos < length and w[pos] in _VOWELS

    codes = _Codes()
    add = codes.add
    current = 0
    if at(0, "GN", "KN", "PN", "WR", "PS"):
        current = 1
    if w[0] == "X":  # Xavier
        add("S")
        current = 1
    while current < length and not codes.full():
        c = w[current]
        nxt = w[current + 1]
        if c in _VOWELS:
            if current == 0:
                add("A")
            current += 1
        elif c == "B":
            add("P")
            current += 2 if nxt == "B" else 1
        elif c == "\x01":  # Ç
            add("S")
            current += 1
        elif c == "C":
            current = _c(w, current, length, at, vowel, add)
        elif c == "D":
            if at(current, "DG"):
                if at(current + 2, "I", "E", "Y"):  # edge
                    add("J")
                    current += 3
                else:  # edgar
                    add("TK")
                    current += 2
            else:
                add("T")
                current += 2 if at(current, "DT", "DD") else 1
        elif c in "FKNQV":
            add({"F": "F", "K": "K", "N": "N", "Q": "K", "V": "F"}[c])
            current += 2 if nxt == c else 1
        elif c == "\x02":  # Ñ
            add("N")
            current += 1
        elif c == "G":
            current = _g(w, current, length, at, vowel, add, slavo_germanic)
        elif c == "H":
            if (current == 0 or vowel(current - 1)) and vowel(current + 1):
                add("H")
                current += 2
            else:
                current += 1
        elif c == "J":
            current = _j(w, current, last, at, vowel, add, slavo_germanic)
        elif c == "L":
            if nxt == "L":
                if (
                    current == length - 3 and at(current - 1, "ILLO", "ILLA", "ALLE")
                ) or (
                    (at(last - 1, "AS", "OS") or at(last, "A", "O"))
                    and at(current - 1, "ALLE")
                ):  # cabrillo, gallegos
                    add("L", "")
                    current += 2
                    continue
                current += 2
            else:
                current += 1
            add("L")
        elif c == "M":
            if (
                at(current - 1, "UMB")
                and (current + 1 == last or at(current + 2, "ER"))
            ) or nxt == "M":  # thumb, dumber
                current += 2
            else:
                current += 1
            add("M")
        elif c == "P":
            if nxt == "H":
                add("F")
                current += 2
            else:
                add("P")
                current += 2 if at(current + 1, "P", "B") else 1  # campbell
        elif c == "R":
            if (
                current == last
                and not slavo_germanic
                and at(current - 2, "IE")
                and not at(current - 4, "ME", "MA")
            ):  # rogier
                add("", "R")
            else:
                add("R")
            current += 2 if nxt == "R" else 1
        elif c == "S":
            current = _s(w, current, last, at, vowel, add, slavo_germanic)
        elif c == "T":
            if at(current, "TION", "TIA", "TCH"):
                add("X")
                current += 3
            elif at(current, "TH", "TTH"):
                if at(current + 2, "OM", "AM") or at(0, "VAN ", "VON ", "SCH"):
                    add("T")  # thomas, thames
                else:
                    add("0", "T")
                current += 2
            else:
                add("T")
                current += 2 if at(current + 1, "T", "D") else 1
        elif c == "W":
            current = _w(w, current, last, at, vowel, add)
        elif c == "X":
            if not (
                current == last
                and (at(current - 3, "IAU", "EAU") or at(current - 2, "AU", "OU"))
            ):  # breaux
                add("KS")
            current += 2 if at(current + 1, "C", "X") else 1
        elif c == "Z":
            if nxt == "H":  # zhao
                add("J")
                current += 2
                continue
            if at(current + 1, "ZO", "ZI", "ZA") or (
                slavo_germanic and current > 0 and w[current - 1] != "T"
            ):
                add("S", "TS")
            else:
                add("S")
            current += 2 if nxt == "Z" else 1
        else:
            current += 1
    primary = "".join(codes.primary)[:MAX_LENGTH]
    secondary = "".join(codes.secondary)[:MAX_LENGTH]
    return primary, secondary


def _c(w: str, current: int, length: int, at: _At, vowel: _Vowel, add: _Add) -> int:
    if (
        current > 1
        and not vowel(current - 2)
        and at(current - 1, "ACH")
        and w[current + 2] != "I"
        and (w[current + 2] != "E" or at(current - 2, "BACHER", "MACHER"))
    ):  # germanic: bacher, macher
        add("K")
        return current + 2
    if current == 0 and at(current, "CAESAR"):
        add("S")
        return current + 2
    if at(current, "CHIA"):  # chianti
        add("K")
        return current + 2
    if at(current, "CH"):
        if current > 0 and at(current, "CHAE"):  # michael
            add("K", "X")
        elif (
            current == 0
            and (
                at(current + 1, "HARAC", "HARIS")
                or at(current + 1, "HOR", "HYM", "HIA", "HEM")
            )
            and not at(0, "CHORE")
        ):  # greek roots: chemistry, chorus
            add("K")
        elif (
            at(0, "VAN ", "VON ", "SCH")
            or at(current - 2, "ORCHES", "ARCHIT", "ORCHID")
            or at(current + 2, "T", "S")
            or (
                (at(current - 1, "A", "O", "U", "E") or current == 0)
                and at(current + 2, "L", "R", "N", "M", "B", "H", "F", "V", "W", " ")
            )
        ):
            add("K")
        elif current > 0:
            if at(0, "MC"):
                add("K")
            else:
                add("X", "K")
        else:
            add("X")
        return current + 2
    if at(current, "CZ") and not at(current - 2, "WICZ"):  # czerny
        add("S", "X")
        return current + 2
    if at(current + 1, "CIA"):  # focaccia
        add("X")
        return current + 3
    if at(current, "CC") and not (current == 1 and w[0] == "M"):
        if at(current + 2, "I", "E", "H") and not at(current + 2, "HU"):
            if (current == 1 and w[0] == "A") or at(current - 1, "UCCEE", "UCCES"):
                add("KS")  # accident, succeed
            else:
                add("X")  # bacci, bertucci
            return current + 3
        add("K")
        return current + 2
    if at(current, "CK", "CG", "CQ"):
        add("K")
        return current + 2
    if at(current, "CI", "CE", "CY"):
        if at(current, "CIO", "CIE", "CIA"):
            add("S", "X")
        else:
            add("S")
        return current + 2
    add("K")
    if at(current + 1, " C", " Q", " G"):  # mac caffrey
        return current + 3
    if at(current + 1, "C", "K", "Q") and not at(current + 1, "CE", "CI"):
        return current + 2
    return current + 1


def _g(
    w: str,
    current: int,
    length: int,
    at: _At,
    vowel: _Vowel,
    add: _Add,
    slavo_germanic: bool,
) -> int:
    nxt = w[current + 1]
    if nxt == "H":
        if current > 0 and not vowel(current - 1):
            add("K")
            return current + 2
        if current == 0:  # ghislane, ghiradelli
            add("J" if w[current + 2] == "I" else "K")
            return current + 2
        if (
            (current > 1 and at(current - 2, "B", "H", "D"))
            or (current > 2 and at(current - 3, "B", "H", "D"))
            or (current > 3 and at(current - 4, "B", "H"))
        ):  # Parker's rule: hugh
            return current + 2
        if (
            current > 2
            and w[current - 1] == "U"
            and at(current - 3, "C", "G", "L", "R", "T")
        ):
            add("F")  # laugh, cough, tough
        elif current > 0 and w[current - 1] != "I":
            add("K")
        return current + 2
    if nxt == "N":
        if current == 1 and vowel(0) and not slavo_germanic:
            add("KN", "N")
        elif not at(current + 2, "EY") and w[current + 1] != "Y" and not slavo_germanic:
            add("N", "KN")
        else:
            add("KN")
        return current + 2
    if at(current + 1, "LI") and not slavo_germanic:  # tagliaro
        add("KL", "L")
        return current + 2
    if current == 0 and (
        nxt == "Y"
        or at(
            current + 1,
            "ES",
            "EP",
            "EB",
            "EL",
            "EY",
            "IB",
            "IL",
            "IN",
            "IE",
            "EI",
            "ER",
        )
    ):
        add("K", "J")
        return current + 2
    if (
        (at(current + 1, "ER") or nxt == "Y")
        and not at(0, "DANGER", "RANGER", "MANGER")
        and not at(current - 1, "E", "I")
        and not at(current - 1, "RGY", "OGY")
    ):
        add("K", "J")
        return current + 2
    if at(current + 1, "E", "I", "Y") or at(current - 1, "AGGI", "OGGI"):
        if at(0, "VAN ", "VON ", "SCH") or at(current + 1, "ET"):
            add("K")
        elif at(current + 1, "IER "):
            add("J")
        else:
            add("J", "K")
        return current + 2
    add("K")
    return current + 2 if nxt == "G" else current + 1


def _j(
    w: str,
    current: int,
    last: int,
    at: _At,
    vowel: _Vowel,
    add: _Add,
    slavo_germanic: bool,
) -> int:
    if at(current, "JOSE") or at(0, "SAN "):  # jose, san jacinto
        if (current == 0 and w[current + 4] == " ") or at(0, "SAN "):
            add("H")
        else:
            add("J", "H")
        return current + 1
    if current == 0:
        add("J", "A")  # Yankelovich/Jankelowicz
    elif vowel(current - 1) and not slavo_germanic and w[current + 1] in "AO":
        add("J", "H")  # bajador
    elif current == last:
        add("J", "")
    elif not at(current + 1, "L", "T", "K", "S", "N", "M", "B", "Z") and not at(
        current - 1, "S", "K", "L"
    ):
        add("J")
    return current + 2 if w[current + 1] == "J" else current + 1


def _s(
    w: str,
    current: int,
    last: int,
    at: _At,
    vowel: _Vowel,
    add: _Add,
    slavo_germanic: bool,
) -> int:
    if at(current - 1, "ISL", "YSL"):  # island, carlisle
        return current + 1
    if current == 0 and at(current, "SUGAR"):
        add("X", "S")
        return current + 1
    if at(current, "SH"):
        if at(current + 1, "HEIM", "HOEK", "HOLM", "HOLZ"):
            add("S")
        else:
            add("X")
        return current + 2
    if at(current, "SIO", "SIA", "SIAN"):  # italian, armenian
        if slavo_germanic:
            add("S")
        else:
            add("S", "X")
        return current + 3
    if (current == 0 and at(current + 1, "M", "N", "L", "W")) or at(current + 1, "Z"):
        add("S", "X")  # smith/schmidt, snider/schneider
        return current + 2 if at(current + 1, "Z") else current + 1
    if at(current, "SC"):
        if w[current + 2] == "H":
            if at(current + 3, "OO", "ER", "EN", "UY", "ED", "EM"):  # school
                if at(current + 3, "ER", "EN"):
                    add("X", "SK")  # schermerhorn
                else:
                    add("SK")
            elif current == 0 and not vowel(3) and w[3] != "W":
                add("X", "S")
            else:
                add("X")
            return current + 3
        if at(current + 2, "I", "E", "Y"):
            add("S")
        else:
            add("SK")
        return current + 3
    if current == last and at(current - 2, "AI", "OI"):  # resnais, artois
        add("", "S")
    else:
        add("S")
    return current + 2 if at(current + 1, "S", "Z") else current + 1


def _w(w: str, current: int, last: int, at: _At, vowel: _Vowel, add: _Add) -> int:
    if at(current, "WR"):
        add("R")
        return current + 2
    if current == 0 and (vowel(current + 1) or at(current, "WH")):
        if vowel(current + 1):
            add("A", "F")  # Wasserman/Vasserman
        else:
            add("A")  # Uomo/Womo
    if (
        (current == last and vowel(current - 1))
        or at(current - 1, "EWSKI", "EWSKY", "OWSKI", "OWSKY")
        or at(0, "SCH")
    ):  # Arnow/Arnoff
        add("", "F")
        return current + 1
    if at(current, "WICZ", "WITZ"):  # filipowicz
        add("TS", "FX")
        return current + 4
    return current + 1
