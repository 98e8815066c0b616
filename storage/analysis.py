"""Persian text → search terms: the search-key form, stop words out, light suffix stripping.

«کلان‌شهرها», «کلانشهرها» and «کلان شهرها» all give «کلانشهر»; «ظرفيت‌هاي» (Arabic yeh)
gives «ظرفیت»; «۱۴۰۴» and «1404» give «1404». Stripping is checked against the lexicon, so
«ایران» never becomes «ایر» nor «تهران» «تهر»: a suffix comes off only when what is left is
a word and the whole is not a word of its own.
"""

from __future__ import annotations

import itertools
from functools import cache, lru_cache

from bot.lexicon import lexicon
from bot.persian import search_key

_STOP_WORDS = """
و در به از که این را با است برای آن یک تا هم ها های می نمی شد شده شود کرد کرده کند کنند
بود بوده باشد اند ای ام او ما شما آنها آن‌ها اینکه آنکه یا اما اگر نیز هر همه بر درباره
پس پیش بین روی زیر سر خود دیگر چه چرا چون چند نه هیچ وی ایشان بی ولی یعنی حتی باید
"""
_PLURAL = ("هایی", "های", "ها")
_OTHER = ("ترین", "تر", "ان", "ات")
_MIN_STEM = 2


@cache
def _stop_words() -> frozenset[str]:
    return frozenset(search_key(word) for word in _STOP_WORDS.split())


@cache
def _folded_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """Known words and lemmas in search-key form (no half-spaces, folded letters)."""
    lex = lexicon()
    known = frozenset(search_key(word) for word in lex.zipf.keys() | lex.tags.keys())
    lemmas = frozenset(search_key(word) for word in lex.tags)
    return known, lemmas


@lru_cache(maxsize=200_000)
def stem(term: str) -> str:
    """The term without a plural or comparative suffix, when the lexicon agrees."""
    known, lemmas = _folded_lexicon()
    for suffix in _PLURAL:
        if term.endswith(suffix) and len(term) - len(suffix) >= _MIN_STEM:
            return term[: -len(suffix)]
    if term in lemmas:
        return term
    # «یان» after a vowel: دانشجویان → دانشجو, آقایان → آقا.
    if term.endswith("یان") and term[-4:-3] in ("و", "ا") and term[:-3] in known:
        return term[:-3]
    # «گان» for a silent «ه»: نمایندگان → نماینده, زلزله‌زدگان → زلزله‌زده.
    if term.endswith("گان") and (single := term[:-3] + "ه") in known:
        return single
    # The ezafe or indefinite «ی» after a vowel: هوای → هوا, دانشجوی → دانشجو.
    if term.endswith("ی") and term[-2:-1] in ("و", "ا") and term[:-1] in known:
        return term[:-1]
    for suffix in _OTHER:
        rest = term[: -len(suffix)]
        if term.endswith(suffix) and len(rest) >= _MIN_STEM + 1 and rest in known:
            return rest
    return term


def terms(text: str) -> list[str]:
    """The search terms of a text, in order, repeats kept (for term frequencies).

    Two neighbouring words that the lexicon knows as one word («کلان شهر» → «کلانشهر»,
    «راه آهن») add that compound too, so a text that spaces a compound is found by a query
    that writes it whole, and the other way round."""
    stop = _stop_words()
    words = search_key(text).split()
    found = [stem(word) for word in words if word not in stop]
    found.extend(_compounds(words, stop))
    return found


def _compounds(words: list[str], stop: frozenset[str]) -> list[str]:
    known = _folded_lexicon()[0]
    compounds = []
    for first, second in itertools.pairwise(words):
        if len(first) < _MIN_STEM or len(second) < _MIN_STEM or first in stop or second in stop:
            continue
        if (joined := first + stem(second)) in known:
            compounds.append(stem(joined))
    return compounds


def query_terms(text: str) -> list[str]:
    """A query's words as search terms, one per word a reader typed, a spaced compound
    («کلان شهر») counting as one word."""
    stop = _stop_words()
    known = _folded_lexicon()[0]
    words = [word for word in search_key(text).split() if word not in stop]
    found: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        after = words[index + 1] if index + 1 < len(words) else ""
        if min(len(word), len(after)) >= _MIN_STEM and (joined := word + stem(after)) in known:
            found.append(stem(joined))
            index += 2
            continue
        found.append(stem(word))
        index += 1
    return list(dict.fromkeys(found))
