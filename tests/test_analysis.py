from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.news.analysis import query_terms, stem, terms
from tests.conftest import FIXTURES, read_tsv

STEMS = read_tsv(FIXTURES / "stems.tsv")


@pytest.mark.parametrize(("term", "expected"), STEMS, ids=[t for t, _ in STEMS])
def test_light_stemming_never_cuts_a_word_of_its_own(term: str, expected: str) -> None:
    assert stem(term) == (term if expected == "=" else expected)


@pytest.mark.parametrize(
    "variants",
    [
        ("کلان‌شهرها", "کلانشهرها", "كلان‌شهرهاي"),
        ("ظرفیت‌های", "ظرفیتهای", "ظرفیت های", "ظرفيتها"),
        ("سال ۱۴۰۴", "سال 1404", "سال١٤٠٤"),
        ("می‌توان", "میتوان", "می توان"),
    ],
)
def test_spellings_people_type_give_the_same_terms(variants: tuple[str, ...]) -> None:
    assert len({tuple(terms(v)) for v in variants}) == 1, [terms(v) for v in variants]


def test_stop_words_and_punctuation_are_dropped() -> None:
    assert terms("زلزله در بم، و بازسازی آن!") == ["زلزله", "بم", "بازسازی"]


def test_an_indefinite_after_silent_he_is_the_word_itself() -> None:
    # «زلزله‌ای» with its half-space lost reads like a plural «…های», but «زلزل» is no word.
    assert query_terms("زلزله‌ای") == query_terms("زلزله") == query_terms("زلزلهای")
    assert query_terms("کتابهای") == query_terms("کتاب")


def test_terms_are_the_same_in_every_process() -> None:
    """The index is written by one process (ingest, a feed poller) and searched by another:
    a term that depended on the hash seed (the lexicon walked as a set) would make a spaced
    compound («صاحب نظران») unfindable in half of them."""
    script = (
        "from bot.news.analysis import terms; "
        "print(terms('صاحب نظران و صاحب‌نظر، انتخاب کنندگان راه آهن کلان شهرها'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(outputs) == 1, outputs
    assert "صاحبنظر" in outputs.pop()
