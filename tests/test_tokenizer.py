"""The tokenizer shared by search and models, and Double Metaphone."""

from __future__ import annotations

from pathlib import Path

import pytest

from walrus import InvalidValue, Tokenizer
from walrus.features.text.metaphone import double_metaphone

# (word, primary, secondary): codes of the published algorithm
CODES = [
    ("Smith", "SM0", "XMT"),
    ("Schmidt", "XMT", "SMT"),
    ("Jose", "HS", "HS"),
    ("Xavier", "SF", "SFR"),
    ("Thomas", "TMS", "TMS"),
    ("Catherine", "K0RN", "KTRN"),
    ("Katherine", "K0RN", "KTRN"),
    ("Caesar", "SSR", "SSR"),
    ("Michael", "MKL", "MXL"),
    ("Ghislane", "JLN", "JLN"),
    ("Wasserman", "ASRM", "FSRM"),
    ("Filipowicz", "FLPT", "FLPF"),
    ("Knight", "NT", "NT"),
    ("John", "JN", "AN"),
    ("Jon", "JN", "AN"),
    ("Arnow", "ARN", "ARNF"),
    ("Arnoff", "ARNF", "ARNF"),
    ("Thumbail", "0MPL", "TMPL"),
    ("Aubrey", "APR", "APR"),
    ("Cherry", "XR", "XR"),
    ("Chemistry", "KMST", "KMST"),
    ("laugh", "LF", "LF"),
    ("Hugh", "H", "H"),
    ("Gallegos", "KLKS", "KKS"),
    ("edge", "AJ", "AJ"),
    ("school", "SKL", "SKL"),
    ("Tagliaro", "TKLR", "TLR"),
    ("Zhao", "J", "J"),
    ("breaux", "PR", "PR"),
    ("accident", "AKST", "AKST"),
    ("bacci", "PX", "PX"),
    ("", "", ""),
]


@pytest.mark.parametrize(("word", "primary", "secondary"), CODES)
def test_double_metaphone(word: str, primary: str, secondary: str) -> None:
    assert double_metaphone(word) == (primary, secondary)
    assert double_metaphone(word.lower()) == (primary, secondary)


def test_codes_are_at_most_four_characters() -> None:
    for word in ["Schwarzenegger", "antidisestablishmentarianism", "x" * 50]:
        primary, secondary = double_metaphone(word)
        assert 0 < len(primary) <= 4 and len(secondary) <= 4


def test_tokenize_folds_splits_stems_and_drops_stop_words() -> None:
    tokenizer = Tokenizer()
    assert tokenizer.tokenize("The Running DOGS, and the Café Müller!") == [
        "run",
        "dog",
        "cafe",
        "muller",
    ]
    assert tokenizer.tokenize("walrus walruses WALRUS") == ["walrus"] * 3
    # accents are folded on Latin letters only (see walrus.features.text.words)
    assert tokenizer.tokenize("Привет мир 東京 Ελλάδα") == [
        "привет",
        "мир",
        "東京",
        "ελλάδα",
    ]
    assert tokenizer.tokenize("") == []
    assert tokenizer.tokenize("the and of") == []


def test_positions_count_stop_words() -> None:
    tokenizer = Tokenizer()
    assert tokenizer.analyze("the cat in the hat") == [(1, ("cat",)), (4, ("hat",))]


def test_query_terms() -> None:
    tokenizer = Tokenizer()
    assert tokenizer.query_terms("Running") == ["run"]
    assert tokenizer.query_terms("the") == []
    assert tokenizer.query_terms("e-mail") == ["e", "mail"]
    assert Tokenizer(stemmer=False).query_terms("Running") == ["running"]


def test_metaphone_terms() -> None:
    tokenizer = Tokenizer(metaphone=True)
    assert tokenizer.query_terms("John") == tokenizer.query_terms("jon") == ["JN", "AN"]
    assert tokenizer.query_terms("Smith") == ["SM0", "XMT"]
    assert tokenizer.query_terms("москва") == ["москва"]  # no Latin sounds
    assert tokenizer.tokenize("Jon Schmidt") == ["JN", "AN", "XMT", "SMT"]


def test_min_word_length_and_stop_words(tmp_path: Path) -> None:
    assert Tokenizer(min_word_length=4).tokenize("a big elephant here") == [
        "eleph",
        "here",
    ]
    assert Tokenizer(stopwords_file=None).tokenize("the cat") == ["the", "cat"]
    words = tmp_path / "stop.txt"
    words.write_text("# mine\ncat\nCafé\n", encoding="utf-8")
    assert Tokenizer(stopwords_file=words).tokenize("the cat cafe") == ["the"]
    with pytest.raises(InvalidValue):
        Tokenizer(min_word_length=-1)
    with pytest.raises(InvalidValue):
        Tokenizer(min_word_length=2.5)  # type: ignore[arg-type]


def test_settings_name_every_option(tmp_path: Path) -> None:
    base = Tokenizer().settings
    assert base == Tokenizer().settings
    words = tmp_path / "stop.txt"
    words.write_text("cat\n", encoding="utf-8")
    others = [
        Tokenizer(stemmer=False),
        Tokenizer(metaphone=True),
        Tokenizer(min_word_length=3),
        Tokenizer(stopwords_file=None),
        Tokenizer(stopwords_file=words),
    ]
    settings = {t.settings for t in others}
    assert len(settings) == len(others) and base not in settings
    assert all(len(s) < 80 for s in settings)
