"""The tokenizer shared by search and models, and Double Metaphone."""

from __future__ import annotations

import json
import subprocess
import sys
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


# -- stemming: PyStemmer's C implementation, or the pure-Python fallback ---------

_BASES = [
    "connect", "generate", "hope", "relate", "condition", "rational", "happy",
    "run", "sky", "die", "lie", "news", "inning", "proceed", "exceed", "succeed",
    "gentle", "early", "idle", "atlas", "cosmos", "bias", "communism", "arsenal",
    "general", "operate", "electric", "sensible", "agree", "fly", "walrus",
    "carpenter", "ocean", "beautiful", "national", "organize", "feed", "dry",
]  # fmt: skip
_SUFFIXES = "- s es ed ing ly ness er ation ization ful fulness ive iveness able"
STEM_WORDS = [b + s.strip("-") for b in _BASES for s in _SUFFIXES.split()] + [
    "skies", "dying", "lying", "gently", "singly", "idly", "howe", "andes",
    "a", "e", "ss", "yy", "y", "123", "x2y", "привет", "東京", "ελλάδα",
]  # fmt: skip


def test_stems_are_the_pure_python_stemmers() -> None:
    from snowballstemmer.english_stemmer import EnglishStemmer

    from walrus.features.text.tokenizer import stem

    pure = EnglishStemmer()
    assert [stem(w) for w in STEM_WORDS] == [pure.stemWord(w) for w in STEM_WORDS]
    expected = [pure.stemWord(w) for w in STEM_WORDS]
    assert Tokenizer(stopwords_file=None).tokenize(" ".join(STEM_WORDS)) == expected


def test_compiled_stemming_is_the_default_where_installed() -> None:
    stemmer_module = pytest.importorskip("Stemmer")  # PyStemmer, a default dependency
    from walrus.features.text.tokenizer import _english_stemmer

    assert isinstance(_english_stemmer(), stemmer_module.Stemmer)


def test_without_pystemmer_the_pure_fallback_gives_the_same_terms() -> None:
    """A subprocess where ``import Stemmer`` fails: snowballstemmer's own
    Python stemmer runs, and the terms are the ones of this process."""
    code = (
        "import json, sys\n"
        "sys.modules['Stemmer'] = None  # PyStemmer unavailable\n"
        "import snowballstemmer\n"
        "from walrus import Tokenizer\n"
        "from walrus.features.text.tokenizer import _english_stemmer\n"
        "assert type(_english_stemmer()).__module__ != 'Stemmer'\n"
        "text = sys.stdin.read()\n"
        "print(json.dumps(Tokenizer(stopwords_file=None).tokenize(text)))\n"
    )
    text = " ".join(STEM_WORDS) + " The Running DOGS, and the Café Müller!"
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == Tokenizer(stopwords_file=None).tokenize(text)


def test_ascii_text_folds_as_the_general_path_would() -> None:
    """fold() lowers ASCII text directly; the result is what case folding and
    normalizing give (ASCII has no accents)."""
    import unicodedata

    from walrus.features.text.words import fold

    ascii_text = "".join(chr(c) for c in range(128))
    general = unicodedata.normalize("NFKD", ascii_text.casefold())
    assert fold(ascii_text) == unicodedata.normalize("NFC", general)
    assert fold("Café WALRUS") == "cafe walrus"  # one accent: the general path
