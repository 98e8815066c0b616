from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.news.persian import ZWNJ, normalize, search_key, to_ascii_digits, to_persian_digits
from tests.conftest import FIXTURES, read_tsv

CASES = read_tsv(FIXTURES / "normalize.tsv")


@pytest.mark.parametrize(("raw", "expected"), CASES, ids=[c[0][:30] for c in CASES])
def test_normalize_gives_the_display_form(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), CASES, ids=[c[0][:30] for c in CASES])
def test_normalize_is_idempotent_on_the_cases(raw: str, expected: str) -> None:
    assert normalize(expected) == expected


persian_text = st.text(
    alphabet=st.sampled_from(
        list("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكۀةأإآئؤء")
        + list("0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣")
        + list(" \n\u00a0\u200c\u200b\u200f.,:;?!«»()%٫٬،؛؟-/@")
        + list("abcXYZ")
        + ["\u0640", "\u064e", "\ufefb", "😀"]
    ),
    max_size=200,
)


@given(persian_text)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(persian_text)
def test_normalize_leaves_no_arabic_letters_or_stray_marks(text: str) -> None:
    result = normalize(text)
    assert not set(result) & set("يكـ\u200b\u200f\u00a0")
    assert "  " not in result
    assert not result.startswith(ZWNJ) and not result.endswith(ZWNJ)


def test_very_long_text_is_normalized_in_pieces_without_losing_words() -> None:
    words = [f"word{n} و 1{n % 10}" for n in range(30_000)]
    text = " ".join(words)
    result = normalize(text)
    assert len(result.split()) == len(text.split())
    assert result.count("word") == 30_000
    assert "۱" in result


def test_digit_conversions_round_trip() -> None:
    assert to_persian_digits("2025 ٤") == "۲۰۲۵ ۴"
    assert to_ascii_digits("۱۴۰۴ ٤") == "1404 4"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("كلان‌شهر", "کلانشهر"),
        ("رئیس‌جمهور", "رييسجمهور"),
        ("سال ۱۴۰۴", "سال 1404"),
        ("سال۱۴۰۴", "سال 1404"),
        ("تأسیس", "تاسیس"),
        ("مُدیر", "مدیر"),
        ("جمعیت ۱٬۲۵۰٬۰۰۰", "جمعیت 1250000"),
        ("COVID-19", "covid 19"),
        ("خانۀ ما", "خانه ما"),
    ],
)
def test_search_key_matches_spelling_variants(a: str, b: str) -> None:
    assert search_key(a) == search_key(b)


def test_search_key_keeps_decimals_and_drops_punctuation() -> None:
    assert search_key("ذرات ۲٫۵ میکرون، امروز!") == "ذرات 2.5 میکرون امروز"


def test_control_characters_never_reach_a_reader() -> None:
    assert normalize("زلزله\x00 در\x1b بم\x7f\x85\x07") == "زلزله در بم"
    assert normalize("سطر اول\nسطر\tدوم") == "سطر اول\nسطر دوم"
