"""Persian text → search terms: the search-key form, stop words out, light suffix stripping.

«کلان‌شهرها», «کلانشهرها» and «کلان شهرها» all give «کلانشهر»; «ظرفيت‌هاي» (Arabic yeh)
gives «ظرفیت»; «۱۴۰۴» and «1404» give «1404». Stripping is checked against the lexicon, so
«ایران» never becomes «ایر» nor «تهران» «تهر»: a suffix comes off only when what is left is
a word and the whole is not a word of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import compress

from bot.news.lexicon import lexicon
from bot.news.persian import ZWNJ, normalize, search_key, search_words

_STOP_WORDS = """
و در به از که این را با است برای آن یک تا هم ها های می نمی شد شده شود کرد کرده کند کنند
بود بوده باشد اند ای ام او ما شما آنها آن‌ها اینکه آنکه یا اما اگر نیز هر همه بر درباره
پس پیش بین روی زیر سر خود دیگر چه چرا چون چند نه هیچ وی ایشان بی ولی یعنی حتی باید
"""
_PLURAL = ("هایی", "های", "ها")
_SUFFIXES = frozenset(("ترین", "تر", "ای", "ام", "اش", "ات", "اند", "ایم", "اید", "ها", "های"))
_OTHER = ("ترین", "تر", "ان")
"""Not «ات»: Arabic plurals in «ات» are words of their own (صادرات, انتخابات, اطلاعات)."""
_MIN_STEM = 2


@cache
def _stop_words() -> frozenset[str]:
    return frozenset(search_key(word) for word in _STOP_WORDS.split())


@dataclass(frozen=True)
class _Folded:
    """The lexicon in search-key form (no half-spaces, folded letters)."""

    known: frozenset[str]
    lemmas: frozenset[str]
    spelled: dict[str, float]
    """Corpus frequency of any spelling."""
    glued: dict[str, float]
    """Corpus frequency of the glued spelling alone (a word written glued in the corpus,
    «تنها», is a word; «کتاب‌ها» is a plural)."""


@cache
def _folded_lexicon() -> _Folded:
    lex = lexicon()
    spelled: dict[str, float] = {}
    glued: dict[str, float] = {}
    for word, frequency in lex.zipf.items():
        key = search_key(word)
        spelled[key] = max(spelled.get(key, 0.0), frequency)
        if ZWNJ not in word:
            glued[key] = max(glued.get(key, 0.0), frequency)
    lemmas = frozenset(search_key(word) for word in lex.tags)
    return _Folded(frozenset(spelled.keys() | lemmas), lemmas, spelled, glued)


@lru_cache(maxsize=200_000)
def stem(term: str) -> str:
    """The term without a plural or comparative suffix, when the lexicon agrees."""
    folded = _folded_lexicon()
    known, lemmas, spelled, glued = folded.known, folded.lemmas, folded.spelled, folded.glued
    # «ای» after a silent «ه» (جاده‌ای, هسته‌ای) reads like the plural «های» once the
    # half-space is gone: the lexicon's half-spaced spellings say which it is.
    if term.endswith("های") and (single := term[:-2]) in known and _adjective(term):
        return single
    # A glued «…هٔ ای» whose plural reading leaves no word (زلزلهای: «زلزل» is none) is the
    # indefinite: زلزله‌ای → زلزله.
    if term.endswith("های") and (single := term[:-2]) in known and term[:-3] not in known:
        return single
    for suffix in _PLURAL:
        rest = term[: -len(suffix)]
        if not term.endswith(suffix) or len(rest) < _MIN_STEM:
            continue
        # A word that merely ends so («تنها», «اجاره‌بها») keeps its «ها»: it is known, and
        # not rarer written glued than what is left without the suffix.
        if term not in known or spelled.get(rest, 0.0) > glued.get(term, 0.0):
            return rest
    if term in lemmas:
        return term
    # «یان» after a vowel: دانشجویان → دانشجو, آقایان → آقا.
    if term.endswith("یان") and term[-4:-3] in ("و", "ا") and term[:-3] in known:
        return term[:-3]
    # «گان» for a silent «ه»: نمایندگان → نماینده, زلزله‌زدگان → زلزله‌زده.
    if term.endswith("گان") and (single := term[:-3] + "ه") in known:
        return single
    # The ezafe or indefinite «ی» after a vowel: هوای → هوا, دانشجوی → دانشجو.
    if term.endswith("ی") and term[-2:-1] in ("و", "ا"):
        rest = term[:-1]
        if rest in known and rest not in _stop_words():  # not «رای» → «را»
            return rest
    for suffix in _OTHER:
        rest = term[: -len(suffix)]
        if (
            term.endswith(suffix)
            and len(rest) >= _MIN_STEM + 1
            and rest in known
            # «فیلتر» is no comparative of «فیل»: a word more common than what is left
            and (suffix == "ان" or spelled.get(rest, 0.0) > glued.get(term, 0.0))
        ):
            return rest
    return term


def _adjective(term: str) -> bool:
    """Whether a glued «…های» is more often «…ه‌ای» than «…‌های» in the lexicon."""
    zipf = lexicon().zipf
    single = zipf.get(f"{term[:-2]}{ZWNJ}ای", 0.0)
    return single > zipf.get(f"{term[:-3]}{ZWNJ}های", 0.0) and single > 0.0


def commonness(term: str) -> float:
    """How common a term is in Persian at large: the lexicon's Zipf frequency of the word
    (about 7 for «ایران», 3 for a rare word), 0 for a word the lexicon does not know."""
    return _folded_lexicon().spelled.get(term, 0.0)


def terms(text: str, *, normalized: bool = False) -> list[str]:
    """The search terms of a text, in order, repeats kept (for term frequencies);
    `normalized`: the text is in display form already (see `search_key`).

    Two neighbouring words that the lexicon writes as one with a half-space («کلان شهر» →
    «کلانشهر», «راه آهن») add that compound too, so a text that spaces a compound is found by
    a query that writes it whole, and the other way round."""
    words = search_words(text, normalized=normalized)
    stems = list(map(_TERMS.__getitem__, words))  # "" for stop words
    pairs = _compounds()
    found = list(filter(None, stems))
    # Only the few words that begin a compound are looked at with their neighbour (found in
    # C, by compress and map: this runs for every word of every article indexed).
    starts = compress(range(len(words) - 1), map(_compound_starts().__contains__, words))
    found.extend(filter(None, (pairs.get((words[at], stems[at + 1])) for at in starts)))
    return found


class _TermTable(dict[str, str]):
    """Word → its term, "" for a stop word: each word goes through `stem` once, then it is a
    plain dict lookup (this runs for every word of every article indexed)."""

    LIMIT = 500_000

    def __missing__(self, word: str) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        term = self[word] = "" if word in _stop_words() else stem(word)
        return term


_TERMS = _TermTable()


@cache
def _compounds() -> dict[tuple[str, str], str]:
    """(first word, term of the second) → the compound's term, for the words the lexicon
    writes as two joined by a half-space, neither a stop word or a suffix («کلان‌شهر»,
    «راه‌آهن», «زلزله‌زده»): («کلان», «شهر») → «کلانشهر», which «کلان شهرها» matches too."""
    known = _folded_lexicon().known
    stop = _stop_words()
    pairs: dict[tuple[str, str], str] = {}
    for spellings in lexicon().half_spaced.values():
        for spelling in spellings:
            parts = [search_key(part) for part in spelling.split(ZWNJ)]
            if len(parts) == 2 and all(
                len(part) >= _MIN_STEM
                and part in known
                and part not in stop
                and part not in _SUFFIXES
                for part in parts
            ):
                key, term = (parts[0], stem(parts[1])), stem("".join(parts))
                # Two spellings of one key («صاحب‌نظر», «صاحب‌نظران»): the shorter term,
                # whatever order the lexicon lists them in.
                if key not in pairs or (len(term), term) < (len(pairs[key]), pairs[key]):
                    pairs[key] = term
    return pairs


@cache
def _compound_starts() -> frozenset[str]:
    """The words a compound of `_compounds` begins with."""
    return frozenset(first for first, _ in _compounds())


def query_terms(text: str) -> list[str]:
    """A query's words as search terms, one per word a reader typed, a spaced compound
    («کلان شهر») counting as one word."""
    return list(dict.fromkeys(term_sequence(text)))


def term_sequence(text: str, *, normalized: bool = False) -> list[str]:
    """The terms of a text in order, one per word, stop words left out and a spaced compound
    («کلان شهر», «راه آهن») one term as when written whole: two texts have a phrase when
    their sequences hold its terms side by side («"راه آهن"» in «خط راه‌آهن تهران»)."""
    # A reader's text is put in display form first, as an article's is when it is stored:
    # «مرگ و میر» is «مرگ‌ومیر» there, and must be here.
    key = search_key(text if normalized else normalize(text), normalized=True)
    words = [word for word in key.split() if _TERMS[word]]
    pairs = _compounds()
    found: list[str] = []
    index = 0
    while index < len(words):
        after = _TERMS[words[index + 1]] if index + 1 < len(words) else ""
        if compound := pairs.get((words[index], after)):
            found.append(compound)
            index += 2
        else:
            found.append(_TERMS[words[index]])
            index += 1
    return found
