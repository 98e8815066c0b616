"""Half-spaces lost in scraping: «میتوان» → «می‌توان», «ظرفیتهای» → «ظرفیت‌های».

Every decision is checked against the lexicon (bot.news.lexicon): a word the curated lemma list
has as it is stays as it is (بهترین، میدان، همشهری); a split is taken when the split spelling
is clearly more frequent, or when the word is a known stem with a prefix or suffix that takes a
half-space. When unsure, nothing changes. Runs on masked text (bot.news.persian): URLs and
Latin runs are out of reach.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from bot.news.lexicon import lexicon
from bot.news.script import LETTER as _LETTER
from bot.news.script import LETTER_SET, ZWNJ

# Letters that never join the next one: no half-space is needed (or wanted) after them.
_NON_JOINING = frozenset("اآأإٱدذرزژوؤءۀ")
_CLEARLY_MORE = 0.3  # Zipf units: about twice as frequent
_COMPARABLE = 0.5  # Zipf units: about as frequent
# Web text glues suffixes often (بزرگتر is 6× more frequent there than بزرگ‌تر), so after a
# known stem an attested split spelling is taken even when it is up to 10× rarer.
_RARER_BUT_ATTESTED = 1.0
_COMMON_WORD = 3.5  # Zipf: a word seen about 3 times in a million
_COMPOUND_PART = 3
_MIN_PART = 2
_MAX_WORD = 30  # longer runs of letters are not words (and would cost quadratic time)
_PREVERBS = ("", "بر", "در", "باز", "فرا", "ور", "وا")
_VERB_PREFIXES = ("می", "نمی")
# Suffix, and what the stem before it must be: "" anything known, "AJ" an adjective,
# "ه" a word ending in silent «ه» (نماینده‌ای، شده‌اند; «ی» only where the corpus shows it:
# درباره‌ی, not وجوه‌ی), "ی" a word ending in «ی»
# (زندگی‌اش، مادری‌ام), "repaired" a stem that itself lost a half-space (حمل‌ونقلی، صاحب‌نامان).
# A stem that lost a half-space may take any of them too (سرمایه‌گذاری‌ها).
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("هایشان", ""),
    ("هایتان", ""),
    ("هایمان", ""),
    ("هایش", ""),
    ("هایم", ""),
    ("هایت", ""),
    ("هایی", ""),
    ("های", ""),
    ("ها", ""),
    ("ترین", "AJ"),
    ("تری", "AJ"),
    ("تر", "AJ"),
    ("شده", ""),
    ("اند", "ه"),
    ("ای", "ه"),
    ("ام", "ه"),
    ("ات", "ه"),
    ("اش", "ه"),
    ("ایم", "ه"),
    ("اید", "ه"),
    ("اش", "ی"),
    ("ام", "ی"),
    ("ای", "ی"),
    ("اند", "ی"),
    ("ی", "repaired"),
    ("ان", "repaired"),
)
# Second halves of compounds that always take a half-space after a known word that ends in a
# joining letter (زلزله‌زدگان، تصمیم‌گیری، اطلاع‌رسانی): for words the corpus never shows.
_COMPOUND_ENDS = (
    "زده",
    "زدگان",
    "زدگی",
    "کننده",
    "کنندگان",
    "گذاری",
    "گیری",
    "رسانی",
    "آموز",
    "آموزان",
    "آموزی",
    "نشینی",
    "آمیز",
    "پذیر",
    "پذیری",
    "ناپذیر",
    "سازی",
    "سازان",
)
# Written apart by mistake after a known word: «سرمایه گذاری», «اطلاع رسانی», «ناامید کننده».
# Only halves that are never words of their own (not «زده»: «آتش زده بودند»).
_SPACED_COMPOUND_ENDS = (
    "گذاری",
    "رسانی",
    "کننده",
    "کنندگان",
    "گیرنده",
    "گیرندگان",
    "گیری",
    "آمیز",
    "پذیر",
    "پذیری",
    "ناپذیر",
    "آموزان",
    "سازی",
)
# After a word ending in a silent «ه» or in «ی», set apart by mistake: «حرفه ای»,
# «رفته اند», «قصه اش», «یاری اش».
_SPACED_AFTER_H = ("ای", "اند", "ایم", "اید", "اش", "ام", "ات")
_SHORT_WORDS_IN_H = frozenset(["که", "چه", "نه", "به", "می", "نمی", "بی", "وی", "ای"])
# Possessive forms of «ها» that search keys do not join (display only): «خواسته هایت».
_SPACED_SUFFIXES_TOO = ("هایت", "هایتان")
# The lookahead on the first letters lets most spaces fail at once.
_DISPLAY_ENDS = (*_SPACED_COMPOUND_ENDS, *_SPACED_AFTER_H, *_SPACED_SUFFIXES_TOO)
_SPACED_DISPLAY = re.compile(f" (?=[گرکآپساه])({'|'.join(_DISPLAY_ENDS)})(?![{_LETTER}{ZWNJ}])")
_COMPOUND_WITH_AND = 3.5  # Zipf: «گفت‌وگو» is a word; «نان و پنیر» is two
_CLEAR_STEM = 1.0  # Zipf: a stem this much more common than a rival reading's wins alone
_KNOWN_STEM = 3.0
_COMMON_STEM = 4.0  # Zipf: the stem of a suffix or compound must be at least this common
_NEGATIVE_PREFIX = "بی"
_TO = "به"
_NOUN_ENDINGS = ("ی", "ها", "های", "هایی", "ان")
# Written apart by mistake: «ظرفیت های», «کوچک تر» (only the suffixes that are never words).
_SPACED_SUFFIXES = ("هایشان", "هایتان", "هایمان", "هایش", "هایم", "هایی", "های", "ها", "ترین")
_WORD = f"[{_LETTER}]+"
_TOKEN = re.compile(f"([{_LETTER}{ZWNJ}]+)")
# Both start with a literal, so the regex engine skips ahead to candidates; what stands
# before the match is checked by hand.
_SPACED_PREFIX = re.compile(f"می ({_WORD})(?![{_LETTER}{ZWNJ}])")
_SPACED_SUFFIX = re.compile(f" ({'|'.join(_SPACED_SUFFIXES)}|تری|تر)(?![{_LETTER}{ZWNJ}])")


def _attach(stem: str, suffix: str) -> str:
    return f"{stem}{suffix}" if stem[-1] in _NON_JOINING else f"{stem}{ZWNJ}{suffix}"


def _word_before(text: str, end: int) -> str:
    start = end
    while start > 0 and (text[start - 1] in LETTER_SET or text[start - 1] == ZWNJ):
        start -= 1
    return text[start:end]


def _join_spaced_prefixes(text: str) -> str:
    lex = lexicon()

    def join(match: re.Match[str]) -> str:
        start, rest = match.start(), match.group(1)
        if start > 0 and text[start - 1] == "ن":
            start -= 1
        if start > 0 and (text[start - 1] in LETTER_SET or text[start - 1] == ZWNJ):
            return match.group()  # the end of a longer word: اسلامی، رسمی
        joined = f"می{ZWNJ}{rest}"
        if lex.is_verb_form(rest) or lex.frequency(joined) > lex.frequency(rest):
            return joined
        return match.group()

    return _SPACED_PREFIX.sub(join, text)


def _join_spaced_suffixes(text: str) -> str:
    lex = lexicon()

    def join(match: re.Match[str]) -> str:
        suffix = match.group(1)
        stem = _word_before(text, match.start())
        if not stem or stem[-1] == ZWNJ:
            return match.group()
        # «تر» is also a word (wet): joined only where the corpus shows the comparative.
        if suffix in ("تر", "تری") and not lex.frequency(_attach(stem, suffix)):
            return match.group()
        return suffix if stem[-1] in _NON_JOINING else f"{ZWNJ}{suffix}"

    return _SPACED_SUFFIX.sub(join, text)


@lru_cache(maxsize=65_536)
def repair_word(word: str) -> str:
    """The word with the half-spaces it lost put back, when the lexicon is sure; else as is."""
    lex = lexicon()
    if not 2 * _MIN_PART <= len(word) <= _MAX_WORD:
        return word
    glued = lex.frequency(word)
    if glued and not lex.spellings_with_half_spaces(word):
        # Every change below needs either an unknown glued word or an attested split
        # spelling; a known word with no half-spaced spelling in the lexicon stays.
        return word
    if lex.is_lemma(word):
        # A word in its own right (بهترین، میدان، همشهری): split only when the corpus
        # clearly prefers the split spelling.
        return _attested_split(word, glued, lemma=True) or word
    return (
        _attested_split(word, glued, lemma=False)
        or _verb_prefix(word, glued)
        or _known_suffix(word, glued)
        or _lemma_split(word)
        or _compound(word, glued)
        or word
    )


def _split_points(word: str) -> Iterator[int]:
    """Where a half-space may go: between two parts of two letters or more, after a letter
    that joins the next one."""
    for cut in range(_MIN_PART, len(word) - _MIN_PART + 1):
        if word[cut - 1] not in _NON_JOINING:
            yield cut


def _attested_split(word: str, glued: float, *, lemma: bool) -> str | None:
    """One half-space where the corpus shows that spelling: clearly more often than the glued
    one, or (two known words, the glued form no lemma) about as often: همان‌طور. A single «ی»
    after a silent «ه» counts as a part (درباره‌ی)."""
    lex = lexicon()
    qualified: list[tuple[float, str]] = []
    for candidate in lex.spellings_with_half_spaces(word):
        left, _, right = candidate.partition(ZWNJ)
        if ZWNJ in right or len(left) < _MIN_PART:
            continue
        if len(right) < _MIN_PART and not (right == "ی" and left[-1] == "ه"):
            continue
        frequency = lex.frequency(candidate)
        needed = glued + _CLEARLY_MORE
        if not lemma and lex.known(left) and lex.known(right):
            needed = glued - _COMPARABLE
        if frequency and frequency >= needed:
            qualified.append((frequency, candidate))
    if not qualified:
        return None
    qualified.sort(reverse=True)
    if len(qualified) > 1 and qualified[0][0] - qualified[1][0] < _CLEARLY_MORE:
        return None  # دستهای: دست‌های and دسته‌ای both common; only the context knows
    return qualified[0][1]


def _verb_prefix(word: str, glued: float) -> str | None:
    """می / نمی before a conjugated verb (after a preverb: برمی‌گردد). Glued, such a word is
    always the verb misspelt, so the split is taken unless the corpus knows only the glued
    spelling; a verb of two letters (می‌زد) only where the corpus shows it (not «مینه»)."""
    lex = lexicon()
    for preverb in _PREVERBS:
        for prefix in _VERB_PREFIXES:
            head = preverb + prefix
            rest = word[len(head) :]
            if not word.startswith(head) or len(rest) < _MIN_PART:
                continue
            candidate = f"{head}{ZWNJ}{rest}"
            attested = lex.frequency(candidate)
            if len(rest) == _MIN_PART and not attested:
                continue
            if lex.is_verb_form(rest) and (not glued or attested):
                return None if _noun_reading(word) else candidate
    return None


def _noun_reading(word: str) -> bool:
    """Also a noun with a suffix (میدانی = میدان + ی, not می‌دانی): then it is ambiguous."""
    lex = lexicon()
    return any(
        word.endswith(suffix) and lex.has_tag(word[: -len(suffix)], "N") for suffix in _NOUN_ENDINGS
    )


def _known_suffix(word: str, glued: float) -> str | None:
    """A known word and a suffix written with a half-space: ظرفیت‌های، نماینده‌ای، کوچک‌تر.

    Every reading of the word as stem + suffix is weighed; when two readings would put the
    half-space in different places (پوکه‌ای or پوک‌های), nothing changes unless the corpus
    shows the spelling. A glued word the corpus knows is split only when the split spelling
    is attested too."""
    lex = lexicon()
    readings: list[tuple[float, str]] = []
    for suffix, needs in _SUFFIXES:
        stem = word[: -len(suffix)]
        if not word.endswith(suffix) or len(stem) < _MIN_PART:
            continue
        repaired = repair_word(stem) if len(stem) >= 2 * _MIN_PART else stem
        if repaired != stem and needs in ("", "repaired"):
            # «ی» and «ان» join a repaired stem directly: حمل‌ونقلی، صاحب‌نامان.
            joined = repaired + suffix if needs == "repaired" else _attach(repaired, suffix)
            readings.append((lex.frequency(repaired), joined))
            continue
        if (
            needs == "repaired"
            or not (lex.known(stem) or (needs == "ه" and _participle(stem)))
            or (_verbal(stem) and not lex.is_lemma(stem))  # نمایند + ها, نرسید + هایم: no
            or (needs == "AJ" and not lex.has_tag(stem, "AJ"))
            or (needs in ("ه", "ی") and stem[-1] != needs)
            or (needs == "ی" and lex.frequency(stem) < _KNOWN_STEM)
        ):
            continue
        readings.append((lex.frequency(stem), _attach(stem, suffix)))
    if not readings:
        return None
    readings.sort(reverse=True)
    best, candidate = readings[0]
    if candidate == word:
        return None
    attested = lex.frequency(candidate)
    rivals = [frequency for frequency, other in readings if other != candidate]
    if rivals and rivals[0] >= _COMMON_STEM:
        return None  # دستهای: دست‌های or دسته‌ای? Only the context knows.
    if rivals and rivals[0] > best - _CLEAR_STEM and not attested:
        return None
    if not glued or attested >= glued - _RARER_BUT_ATTESTED:
        return candidate
    return None


def _verbal(word: str) -> bool:
    """A conjugated verb, negated or not (نمایند، نرسید): no noun suffix follows it."""
    lex = lexicon()
    return lex.is_verb_form(word) or (word.startswith("ن") and lex.is_verb_form(word[1:]))


def _participle(word: str) -> bool:
    """A past participle, negated or not: نرسیده، نکرده (past stem + «ه»)."""
    lex = lexicon()
    stem = word[:-1]
    return word.endswith("ه") and (
        lex.is_verb_form(stem) or (stem.startswith("ن") and lex.is_verb_form(stem[1:]))
    )


def _lemma_split(word: str) -> str | None:
    """A compound the lemma list spells with a half-space (کلان‌شهر، تام‌الاختیار)."""
    lex = lexicon()
    lemmas = [c for c in lex.spellings_with_half_spaces(word) if lex.is_lemma(c)]
    if not lemmas:
        return None
    best = min(lemmas, key=lambda c: c.count(ZWNJ))
    glued = lex.frequency(word)
    if glued >= _KNOWN_STEM and not any(lex.frequency(c) for c in lemmas):
        # The corpus shows only the glued spelling: a common word stays (لیلی), and so does
        # one whose halves are not both common words (پایکوبی); کلان‌شهر is split.
        halves = best.split(ZWNJ)
        if glued >= _COMMON_STEM or min(map(lex.frequency, halves)) < _COMMON_STEM:
            return None
    return best


def _compound(word: str, glued: float) -> str | None:
    """A word the corpus never shows made of a common word and a compound half that always
    takes a half-space (زلزله‌زدگان، اطلاع‌رسانی), or «بی» / «به» before a common word
    (بی‌سوادان، به‌گزارش)."""
    if glued:
        return None
    lex = lexicon()
    for end in _COMPOUND_ENDS:
        stem = word[: -len(end)]
        if (
            word.endswith(end)
            and len(stem) >= _COMPOUND_PART
            and stem[-1] not in _NON_JOINING
            and lex.frequency(stem) >= _KNOWN_STEM
        ):
            return f"{stem}{ZWNJ}{end}"
    rest = word[len(_TO) :]
    if word.startswith(_TO) and len(rest) >= _COMPOUND_PART and lex.frequency(rest) >= _COMMON_STEM:
        return f"{_TO}{ZWNJ}{rest}"  # به‌گزارش، به‌منظور (a glued «به» that lost its half-space)
    rest = word[len(_NEGATIVE_PREFIX) :]
    if word.startswith(_NEGATIVE_PREFIX) and len(rest) >= _COMPOUND_PART:
        base = rest[:-2] if rest.endswith("ان") else rest[:-1] if rest.endswith("ی") else rest
        if lex.frequency(rest) >= _KNOWN_STEM or (
            len(base) >= _COMPOUND_PART and lex.frequency(base) >= _COMMON_WORD
        ):
            return f"{_NEGATIVE_PREFIX}{ZWNJ}{rest}"
    return None


def join_spaced(text: str) -> str:
    """«می توان» → «می‌توان», «ظرفیت های» → «ظرفیت‌های»."""
    if "می " in text:
        text = _join_spaced_prefixes(text)
    if " ها" in text or " تر" in text:
        text = _join_spaced_suffixes(text)
    return text


_REPAIRED: dict[str, str] = {}
_REPAIRED_MAX = 200_000


def clear_word_cache() -> None:
    """Forget every word repaired so far (for measuring the cold path)."""
    _REPAIRED.clear()
    repair_word.cache_clear()
