"""The half-spaces lost in scraping, restored: ../shared/fixtures/zwnj.tsv and khabar's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.news.halfspace import repair_word
from bot.news.persian import ZWNJ, normalize, search_key
from tests.conftest import ARTICLES, FIXTURES, read_tsv

SHARED = read_tsv(FIXTURES / "zwnj.tsv")
OWN = read_tsv(FIXTURES / "zwnj-more.tsv")


def score(rows: list[tuple[str, str]]) -> tuple[int, int, list[str], list[str]]:
    """Repairs made right, repairs expected, misses, and words changed that had to stay."""
    made = expected = 0
    missed, broken = [], []
    for glued, want in rows:
        got = normalize(glued)
        if want == "=":
            if got != glued:
                broken.append(f"{glued} -> {got}")
            continue
        expected += 1
        if got == want:
            made += 1
        else:
            missed.append(f"{glued} -> {got} (want {want})")
    return made, expected, missed, broken


@pytest.mark.parametrize("rows", [SHARED, OWN], ids=["shared zwnj.tsv", "khabar's own"])
def test_at_least_95_percent_of_repairs_and_no_word_that_must_stay_is_changed(
    rows: list[tuple[str, str]],
) -> None:
    made, expected, missed, broken = score(rows)
    assert not broken, broken
    assert made >= 0.95 * expected, missed


@pytest.mark.parametrize(
    ("glued", "repaired"),
    [
        ("میتوان", "می‌توان"),
        ("نمیشود", "نمی‌شود"),
        ("ظرفیتهای", "ظرفیت‌های"),
        ("نمایندهای", "نماینده‌ای"),
        ("کوچکتر", "کوچک‌تر"),
        ("بهعنوان", "به‌عنوان"),
        ("کلانشهرهای", "کلان‌شهرهای"),
        ("بهترین", "بهترین"),
        ("میدان", "میدان"),
        ("کشورها", "کشورها"),
        ("ریشتر", "ریشتر"),
    ],
)
def test_repair_word(glued: str, repaired: str) -> None:
    assert repair_word(glued) == repaired


@pytest.mark.parametrize(
    ("spaced", "joined"),
    [
        ("می توان گفت", "می‌توان گفت"),
        ("ظرفیت های شهر", "ظرفیت‌های شهر"),
        ("کشور ها", "کشورها"),
        ("کوچک تر از", "کوچک‌تر از"),
        ("انجام شده است", "انجام شده است"),
        ("خاک تر", "خاک تر"),
    ],
)
def test_spaced_forms_are_joined_where_the_half_space_belongs(spaced: str, joined: str) -> None:
    assert normalize(spaced) == joined


@pytest.mark.parametrize(
    "text",
    [
        "https://www.hamshahrionline.ir/news/میتوان?q=ظرفیتهای",
        "newspaper.hamshahrionline.ir/7L98A",
        "news@hamshahri.ir",
        "COVID-19 و PM2.5",
    ],
)
def test_urls_addresses_and_latin_are_never_touched(text: str) -> None:
    assert normalize(text) == text


@pytest.mark.parametrize(
    "variants",
    [
        ("کلانشهرهای", "کلان‌شهرهای", "کلان‌شهر‌های"),
        ("میتوان", "می‌توان", "می توان"),
        ("ظرفیتهای", "ظرفیت‌های", "ظرفیت های"),
    ],
)
def test_glued_spaced_and_correct_spellings_share_a_search_key(variants: tuple[str, ...]) -> None:
    assert len({search_key(v) for v in variants}) == 1


@pytest.mark.parametrize("path", ARTICLES, ids=[p.stem for p in ARTICLES])
def test_no_glued_word_left_in_the_fixture_articles(path: Path) -> None:
    text = normalize(path.read_text(encoding="utf-8"))
    glued = [glued for glued, want in SHARED + OWN if want != "=" and ZWNJ in want]
    words = set(text.split())
    assert not [word for word in glued if word in words]


_PIECES = sorted(
    {word for path in ARTICLES for word in normalize(path.read_text(encoding="utf-8")).split()}
    | {"می", "نمی", "ها", "های", "تر", "ترین", "ای", "شده", "UCLG", "2.5", "x.ir/7L"}
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(["", " ", ZWNJ])), max_size=12))
def test_repairing_real_words_glued_and_spaced_at_random_is_idempotent(
    pieces: list[tuple[str, str]],
) -> None:
    text = "".join(piece + joint for piece, joint in pieces)
    once = normalize(text)
    assert normalize(once) == once
    assert once.replace(ZWNJ, "").replace(" ", "") == normalize(text.replace(ZWNJ, "")).replace(
        ZWNJ, ""
    ).replace(" ", ""), "only half-spaces and spaces may change"


@pytest.mark.parametrize(
    "word",
    [
        "کالسیمین",
        "ایستوود",
        "اینانا",
        "مینه",
        "غیرهمسطح",
        "نوجوانانه",
        "پوکهای",
        "تمدنشان",
        "وجوهی",
    ],
)
def test_names_and_unknown_words_are_never_cut_into_two_common_words(word: str) -> None:
    assert repair_word(word) == word


@pytest.mark.parametrize(
    ("glued", "repaired"),
    [
        ("زلزلهزدگان", "زلزله‌زدگان"),
        ("بیسوادان", "بی‌سوادان"),
        ("بیمبنا", "بی‌مبنا"),
        ("دربارهی", "درباره‌ی"),
        ("سرمایهگذاریها", "سرمایه‌گذاری‌ها"),
        ("واسطهگریها", "واسطه‌گری‌ها"),
        ("نمایندهای", "نماینده‌ای"),
        ("نرسیدهایم", "نرسیده‌ایم"),
        ("قطعهسازان", "قطعه‌سازان"),
    ],
)
def test_compounds_and_suffixes_after_repaired_stems(glued: str, repaired: str) -> None:
    assert repair_word(glued) == repaired


@pytest.mark.parametrize("word", ["دستهای", "نقشهای", "بیمهای"])
def test_a_word_two_common_readings_spell_differently_is_left_alone(word: str) -> None:
    # دست‌های (hands) or دسته‌ای (a group): only the sentence knows.
    assert repair_word(word) == word


def test_one_spelling_per_word_within_an_article() -> None:
    text = "شورای عالی اطلاع‌رسانی و اطلاع رسانی همگانی؛ گفت‌وگو و گفت و گو"
    page = f"عنوان خبر\n\n{text}."
    from bot.news.parse import parse_text

    lead = parse_text(page).lead
    assert lead == "شورای عالی اطلاع‌رسانی و اطلاع‌رسانی همگانی؛ گفت‌وگو و گفت‌وگو."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("موارد مطرح شده در دیدار", "موارد مطرح‌شده در دیدار"),
        ("کارها انجام شده است", "کارها انجام شده است"),
        ("در سال ۲۰۰۴ تأسیس شده و شهردار", "در سال ۲۰۰۴ تأسیس شده و شهردار"),
    ],
)
def test_a_participle_after_a_plural_noun_takes_a_half_space(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_the_shared_list_is_repaired_entirely() -> None:
    made, expected, missed, broken = score(SHARED)
    assert (made, missed, broken) == (expected, [], [])
