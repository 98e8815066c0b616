"""Display only: words set apart by mistake that a Persian typesetter joins with a
half-space, where search keys need nothing (they drop half-spaces anyway): a participle used as
an adjective («موارد مطرح‌شده»), «و» compounds the lexicon knows («گفت‌وگو»), compound halves
and endings written apart («سرمایه گذاری», «حرفه ای»). Runs on masked text, before the
half-space repair of bot.news.halfspace.
"""

from __future__ import annotations

import re
from functools import cache

from bot.news.halfspace import (
    _COMPOUND_WITH_AND,
    _KNOWN_STEM,
    _MIN_PART,
    _NON_JOINING,
    _REPAIRED,
    _REPAIRED_MAX,
    _SHORT_WORDS_IN_H,
    _SPACED_AFTER_H,
    _SPACED_DISPLAY,
    _SPACED_SUFFIXES_TOO,
    _TOKEN,
    _attach,
    _word_before,
    join_spaced,
    repair_word,
)
from bot.news.lexicon import lexicon
from bot.news.script import LETTER as _LETTER
from bot.news.script import LETTER_SET, ZWNJ

# «موارد مطرح شده در دیدار» → «موارد مطرح‌شده در دیدار»: a participle after a plural noun,
# used as an adjective. «انجام شده است», «تأسیس شده و» (a verb) stay as they are.
_PARTICIPLE = re.compile(f" شده (?=([{_LETTER}]+))")
_PARTICIPLE_ENDING = "شده"
_PLURAL_ENDINGS = ("ها", "های", "هایی", "ات", "ان")
_BROKEN_PLURALS = frozenset(
    ["موارد", "مسائل", "مسایل", "اقدامات", "مطالب", "اخبار", "آثار", "اموال", "اسناد", "افراد"]
)
_AFTER_A_VERB = frozenset(
    [
        "است",
        "اند",
        "بود",
        "بودند",
        "باشد",
        "باشند",
        "بوده",
        "بودن",
        "و",
        "که",
        "یا",
        "تا",
        "را",
        "نیز",
        "هم",
        "اما",
        "ولی",
        "است؛",
    ]
)


def _join_participles(text: str) -> str:
    lex = lexicon()
    pieces: list[str] = []
    done = 0
    for match in _PARTICIPLE.finditer(text):
        start = match.start()
        stem = _word_before(text, start)
        noun = _word_before(text, start - len(stem) - 1) if start > len(stem) else ""
        if not stem or ZWNJ in stem or text[start - len(stem) - 1 : start - len(stem)] != " ":
            continue
        plural = noun in _BROKEN_PLURALS or noun.endswith(_PLURAL_ENDINGS)
        if plural and match.group(1) not in _AFTER_A_VERB and lex.known(stem):
            pieces.append(text[done : start - len(stem)])
            pieces.append(_attach(stem, _PARTICIPLE_ENDING))
            done = start + len(" " + _PARTICIPLE_ENDING)
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


@cache
def _and_compounds() -> dict[tuple[str, str], str]:
    """«گفت و گو» → «گفت‌وگو»: the compounds with «و» the lexicon writes as one word, by their
    two halves."""
    lex = lexicon()
    compounds: dict[tuple[str, str], str] = {}
    for word in lex.zipf.keys() | lex.tags.keys():
        left, joint, right = word.partition(f"{ZWNJ}و")
        if (
            joint
            and left
            and len(right) >= _MIN_PART
            and ZWNJ not in left + right
            and (lex.frequency(word) >= _COMPOUND_WITH_AND or lex.is_lemma(word))
        ):
            compounds[left, right] = word
    return compounds


@cache
def _and_lefts() -> frozenset[str]:
    return frozenset(left for left, _ in _and_compounds())


def _join_and_compounds(text: str) -> str:
    compounds = _and_compounds()
    lefts = _and_lefts()
    pieces: list[str] = []
    done = 0
    at = text.find(" و ")
    while at >= 0:
        left = _word_before(text, at)
        if left not in lefts:
            at = text.find(" و ", at + 1)
            continue
        end = at + 3
        while end < len(text) and (text[end] in LETTER_SET or text[end] == ZWNJ):
            end += 1
        joined = compounds.get((left, text[at + 3 : end]))
        if joined and at - len(left) >= done:
            pieces.append(text[done : at - len(left)])
            pieces.append(joined)
            done = end
        at = text.find(" و ", at + 1)
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _join_spaced_display(text: str) -> str:
    """Spaced forms joined in display text only (search keys keep reading them as written):
    «سرمایه گذاری» → «سرمایه‌گذاری», «حرفه ای» → «حرفه‌ای», «گفت و گو» → «گفت‌وگو»."""
    lex = lexicon()

    def join(match: re.Match[str]) -> str:
        stem = _word_before(text, match.start())
        end = match.group(1)
        if not stem or ZWNJ in stem:
            return match.group()
        if end in _SPACED_AFTER_H:
            vowel = stem[-1] in "هی" and len(stem) >= 3 and stem not in _SHORT_WORDS_IN_H
            return f"{ZWNJ}{end}" if vowel else match.group()
        if end in _SPACED_SUFFIXES_TOO or lex.frequency(stem) >= _KNOWN_STEM:
            return end if stem[-1] in _NON_JOINING else f"{ZWNJ}{end}"
        return match.group()

    return _join_and_compounds(_SPACED_DISPLAY.sub(join, text))


def restore_half_spaces(text: str) -> str:
    """Half-spaces lost in scraping put back: display joins first, then word by word (the
    repair of each word cached)."""
    text = join_spaced(text)
    text = _join_spaced_display(text)
    if " شده " in text:
        text = _join_participles(text)
    parts = _TOKEN.split(text)
    if len(_REPAIRED) > _REPAIRED_MAX:
        _REPAIRED.clear()
    known = _REPAIRED.get
    words = [known(word) for word in parts[1::2]]
    if None in words:
        for index, word in enumerate(parts[1::2]):
            if words[index] is None:
                words[index] = _REPAIRED[word] = word if ZWNJ in word else repair_word(word)
    parts[1::2] = words
    return "".join(parts)
