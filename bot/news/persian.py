"""Persian text: the display form every text field holds, and the search-key form.

Display normalization runs in three stages:

1. character clean-up: letters folded, presentation forms decomposed, tatweel, bidi controls
   and odd spaces removed, a half-space kept only between two letters;
2. masking: URLs, e-mail addresses and Latin runs are swapped for private-use placeholders,
   so nothing after this point can touch them;
3. the word-level steps in ``_STEPS`` on the masked text (half-spaces lost in scraping put
   back, numbers, punctuation), then the placeholders are restored.

Every step is idempotent, so normalizing display text again changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache

from bot.news.lexicon import lexicon

ZWNJ = "\u200c"

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_ASCII_DIGITS = "0123456789"

# Letters of the Arabic script as Persian uses them, with the combining marks that may sit on
# them; a ZWNJ is meaningful only between two of these.
_LETTER = "\u0620-\u063f\u0641-\u065f\u066e-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06fc\u06ff\u0670"
_DIGIT = "0-9\u0660-\u0669\u06f0-\u06f9"

# Masked spans are swapped for characters of the supplementary private use plane, which
# clean-up removes from the input first, so a placeholder can never be mistaken for text.
_PLACEHOLDER_START = 0xF0000
_PLACEHOLDER_RANGE = "\U000f0000-\U000ffffd"
_PRIVATE_USE = "\ue000-\uf8ff\U000f0000-\U0010fffd"
# A span is at least one character followed by one that ends it, so text up to twice the
# number of placeholders always fits; longer text is normalized in pieces.
_MAX_PIECE = 100_000

_SPACES = "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t\v\f"
# Bidi embeddings, isolates and marks, BOM, soft hyphen, word joiner: invisible and, in
# Persian news text, always stray.
_INVISIBLE = "\u061c\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\u00ad"


def _letter_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {
        ord("ي"): "ی",
        ord("ى"): "ی",
        ord("ې"): "ی",
        ord("ۍ"): "ی",
        ord("ك"): "ک",
        ord("ڪ"): "ک",
        ord("ە"): "ه",
        ord("ھ"): "ه",
        ord("ہ"): "ه",
        ord("ة"): "ه",
        ord("\u0640"): None,  # tatweel
    }
    # Presentation forms (old fonts, PDF copies) decompose to the base letters.
    for block in (range(0xFB50, 0xFE00), range(0xFE70, 0xFF00)):
        for code in block:
            char = chr(code)
            folded = unicodedata.normalize("NFKC", char)
            if folded != char:
                table[code] = (
                    folded.translate(table) if len(folded) > 1 else table.get(ord(folded), folded)
                )
    return table


_LETTERS = _letter_table()
# translate() with a large table looks up every character; most text needs none of it.
_FOLDABLE = re.compile(
    "["
    + "".join(re.escape(chr(code)) for code in _LETTERS if code < 0xFB50)
    + "\ufb50-\ufdff\ufe70-\ufeff]+"
)
_FOREIGN_DIGITS = re.compile("[0-9\u0660-\u0669]+")
_TO_PERSIAN_DIGITS = str.maketrans(_ASCII_DIGITS + _ARABIC_DIGITS, PERSIAN_DIGITS * 2)
_TO_ASCII_DIGITS = str.maketrans(PERSIAN_DIGITS + _ARABIC_DIGITS, _ASCII_DIGITS * 2)

_SPACE_RUN = re.compile(f"[{_SPACES}]")
_INVISIBLE_RUN = re.compile(f"[{_INVISIBLE}{_PRIVATE_USE}]+")
_ZWSP_IN_WORD = re.compile(f"(?<=[{_LETTER}])\u200b+(?=[{_LETTER}])")
_ZWSP = re.compile("\u200b+")


def to_persian_digits(text: str) -> str:
    """ASCII and Arabic-Indic digits to Persian digits (no masking: for numbers only)."""
    return text.translate(_TO_PERSIAN_DIGITS)


def to_ascii_digits(text: str) -> str:
    """Persian and Arabic-Indic digits to ASCII digits."""
    return text.translate(_TO_ASCII_DIGITS)


def _clean_characters(text: str) -> str:
    text = _FOLDABLE.sub(lambda match: match.group().translate(_LETTERS), text)
    if "\u200b" in text:
        # A zero-width space inside a Persian word is a half-space typed with the wrong key.
        text = _ZWSP.sub("", _ZWSP_IN_WORD.sub(ZWNJ, text))
    if _INVISIBLE_RUN.search(text):
        text = _INVISIBLE_RUN.sub("", text)
    return _SPACE_RUN.sub(" ", text)


# ---------------------------------------------------------------------------------------------
# Masking: spans that must come out exactly as they went in.

_URL = r"(?:[a-zA-Z][a-zA-Z0-9+.-]*://|www\.)[^\s<>\"«»]*[^\s<>\"«».,،؛:;!?؟)\]'}]"
_BARE_URL = (
    r"(?<![\w@.-])(?:[a-zA-Z0-9-]+\.)+[a-zA-Z]{2,24}"
    r"(?:/[^\s<>\"«»]*[^\s<>\"«».,،؛:;!?؟)\]'}]|/)?(?![\w@-])"
)
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
# A run of ASCII words that starts with a Latin letter: "PM2.5", "COVID-19", "Windows 11 Pro".
_LATIN_RUN = r"[A-Za-z][!-~]*(?: +[!-~]*[A-Za-z0-9][!-~]*)*"
_MASKED = re.compile(f"{_URL}|{_EMAIL}|{_BARE_URL}|{_LATIN_RUN}")
_PLACEHOLDER = re.compile(f"[{_PLACEHOLDER_RANGE}]")
_ASCII_LETTER = re.compile("[A-Za-z]")
_TRAILING_PUNCT = ".,:;!?)]'\""


def _hide(match: re.Match[str], spans: list[str]) -> str:
    span = match.group()
    # ASCII punctuation that ends a sentence stays outside, so Persian spacing rules see it.
    core = span.rstrip(_TRAILING_PUNCT) or span
    spans.append(core)
    return chr(_PLACEHOLDER_START + len(spans) - 1) + span[len(core) :]


def _mask(text: str) -> tuple[str, list[str]]:
    spans: list[str] = []
    if not _ASCII_LETTER.search(text):  # every masked span holds a Latin letter
        return text, spans
    # Only lines with Latin in them are scanned: most of an article has none.
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if _ASCII_LETTER.search(line):
            lines[index] = _MASKED.sub(lambda match: _hide(match, spans), line)
    return "\n".join(lines), spans


def _unmask(text: str, spans: list[str]) -> str:
    if not spans:
        return text
    return _PLACEHOLDER.sub(lambda m: spans[ord(m.group()) - _PLACEHOLDER_START], text)


# ---------------------------------------------------------------------------------------------
# Word-level steps (run on masked text).

_ZWNJ_RUN = re.compile(f"{ZWNJ}+")
_LETTER_SET = frozenset(re.findall(f"[{_LETTER}]", "".join(map(chr, range(0x600, 0x700)))))


def _fix_half_spaces(text: str) -> str:
    """One ZWNJ at most, and only between two letters; elsewhere it is noise."""
    if ZWNJ not in text:
        return text

    def keep(match: re.Match[str]) -> str:
        start, end = match.span()
        between_letters = (
            start > 0
            and end < len(text)
            and text[start - 1] in _LETTER_SET
            and text[end] in _LETTER_SET
        )
        return ZWNJ if between_letters else ""

    return _ZWNJ_RUN.sub(keep, text)


# ---------------------------------------------------------------------------------------------
# Half-spaces lost in scraping: «میتوان» → «می‌توان», «ظرفیتهای» → «ظرفیت‌های».
#
# Every decision is checked against the lexicon (bot.news.lexicon): a word the curated lemma list
# has as it is stays as it is (بهترین، میدان، همشهری); a split is taken when the split
# spelling is clearly more frequent, or when the word is a known stem with a prefix or suffix
# that takes a half-space. When unsure, nothing changes.

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
# Suffix → what the stem before it must be: "" anything known, "AJ" an adjective,
# "ه" a word ending in silent «ه» (نماینده‌ای، شده‌اند), "repaired" a stem that itself lost a
# half-space (حمل‌ونقلی).
_SUFFIXES: dict[str, str] = {
    "هایشان": "",
    "هایتان": "",
    "هایمان": "",
    "هایش": "",
    "هایم": "",
    "هایت": "",
    "هایی": "",
    "های": "",
    "ها": "",
    "ترین": "AJ",
    "تری": "AJ",
    "تر": "AJ",
    "شده": "",
    "اند": "ه",
    "ای": "ه",
    "ام": "ه",
    "ات": "ه",
    "اش": "ه",
    "ایم": "ه",
    "اید": "ه",
    "ی": "repaired",
}
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
    while start > 0 and (text[start - 1] in _LETTER_SET or text[start - 1] == ZWNJ):
        start -= 1
    return text[start:end]


def _join_spaced_prefixes(text: str) -> str:
    lex = lexicon()

    def join(match: re.Match[str]) -> str:
        start, rest = match.start(), match.group(1)
        if start > 0 and text[start - 1] == "ن":
            start -= 1
        if start > 0 and (text[start - 1] in _LETTER_SET or text[start - 1] == ZWNJ):
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
        or _two_common_words(word, glued)
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
    one, or (two known words, the glued form no lemma) about as often: همان‌طور."""
    lex = lexicon()
    best, best_frequency = None, 0.0
    for candidate in lex.spellings_with_half_spaces(word):
        left, _, right = candidate.partition(ZWNJ)
        if ZWNJ in right or len(left) < _MIN_PART or len(right) < _MIN_PART:
            continue
        frequency = lex.frequency(candidate)
        needed = glued + _CLEARLY_MORE
        if not lemma and lex.known(left) and lex.known(right):
            needed = glued - _COMPARABLE
        if frequency and frequency >= needed and frequency > best_frequency:
            best, best_frequency = candidate, frequency
    return best


def _verb_prefix(word: str, glued: float) -> str | None:
    """می / نمی before a conjugated verb (after a preverb: برمی‌گردد). Glued, such a word is
    always the verb misspelt, so the split is taken unless the corpus knows only the glued
    spelling."""
    lex = lexicon()
    for preverb in _PREVERBS:
        for prefix in _VERB_PREFIXES:
            head = preverb + prefix
            rest = word[len(head) :]
            if not word.startswith(head) or len(rest) < _MIN_PART:
                continue
            candidate = f"{head}{ZWNJ}{rest}"
            if lex.is_verb_form(rest) and (not glued or lex.frequency(candidate)):
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

    Where a word splits more than one way (نماینده+ای or نمایند+های), the reading with the
    more frequent stem wins; when that reading needs no half-space, nothing changes. A glued
    word the corpus knows is split only when the split spelling is attested too."""
    lex = lexicon()
    readings = []
    for suffix, needs in _SUFFIXES.items():
        stem = word[: -len(suffix)]
        if not word.endswith(suffix) or len(stem) < _MIN_PART:
            continue
        if (
            (needs != "repaired" and not lex.known(stem))
            or (needs == "AJ" and not lex.has_tag(stem, "AJ"))
            or (needs == "ه" and stem[-1] != "ه")
            or (needs == "repaired" and repair_word(stem) == stem)
        ):
            continue
        readings.append((lex.frequency(stem), stem, suffix))
    if not readings:
        return None
    _, stem, suffix = max(readings)
    needs = _SUFFIXES[suffix]
    # «ی» after a repaired stem joins it directly: حمل‌ونقل + ی → حمل‌ونقلی.
    repaired = repair_word(stem)
    candidate = repaired + suffix if needs == "repaired" else _attach(repaired, suffix)
    if candidate == word:
        return None
    if not glued or lex.frequency(candidate) >= glued - _RARER_BUT_ATTESTED:
        return candidate
    return None


def _lemma_split(word: str) -> str | None:
    """A compound the lemma list spells with a half-space (کلان‌شهر، تام‌الاختیار), when it
    does not list the glued spelling."""
    lex = lexicon()
    lemmas = [c for c in lex.spellings_with_half_spaces(word) if lex.is_lemma(c)]
    return min(lemmas, key=lambda c: c.count(ZWNJ)) if lemmas else None


def _two_common_words(word: str, glued: float) -> str | None:
    """A word the corpus never shows that is two common words glued: برقی‌سازی،
    رحمانی‌فضلی. The split with the more frequent rarer half wins."""
    if glued:
        return None
    lex = lexicon()
    best, best_score = None, _COMMON_WORD
    for cut in _split_points(word):
        left, right = word[:cut], word[cut:]
        if min(len(left), len(right)) < _COMPOUND_PART:
            continue
        score = min(lex.frequency(left), lex.frequency(right))
        if score >= best_score:
            best, best_score = f"{left}{ZWNJ}{right}", score
    return best


def _join_spaced(text: str) -> str:
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


def _restore_half_spaces(text: str) -> str:
    parts = _TOKEN.split(_join_spaced(text))
    words = parts[1::2]
    if len(_REPAIRED) > _REPAIRED_MAX:
        _REPAIRED.clear()
    for index, word in enumerate(words):
        repaired = _REPAIRED.get(word)
        if repaired is None:
            repaired = _REPAIRED[word] = word if ZWNJ in word else repair_word(word)
        words[index] = repaired
    parts[1::2] = words
    return "".join(parts)


_ORDINAL_SUFFIX = "(?:امین|مین|ام|م)(?![" + _LETTER + "])"
_WORD_THEN_NUMBER = re.compile(f"(?<=[{_LETTER}])(?=[{_DIGIT}])")
_NUMBER_THEN_WORD = re.compile(f"(?<=[{_DIGIT}])(?=[{_LETTER}])(?!{_ORDINAL_SUFFIX})")
_DECIMAL_POINT = re.compile(f"(?<=[{_DIGIT}])[.٫](?=[{_DIGIT}])")
_THOUSANDS = re.compile(
    f"(?<![{_DIGIT}.,٫٬])[{_DIGIT}]{{1,3}}(?:[,٬][{_DIGIT}]{{3}})+(?![{_DIGIT}]|[.,٫٬][{_DIGIT}])"
)
_PERCENT = re.compile(f"(?<=[{_DIGIT}]) ?[%٪]")


def _fix_numbers(text: str) -> str:
    """Numbers in Persian form, set apart from the words they were glued to."""
    text = _WORD_THEN_NUMBER.sub(" ", text)
    text = _NUMBER_THEN_WORD.sub(" ", text)
    if "," in text or "٬" in text:
        text = _THOUSANDS.sub(lambda m: m.group().replace(",", "٬"), text)
    if "." in text or "٫" in text:
        text = _DECIMAL_POINT.sub("٫", text)
    if "%" in text or "٪" in text:
        text = _PERCENT.sub("٪", text)
    return _FOREIGN_DIGITS.sub(lambda match: match.group().translate(_TO_PERSIAN_DIGITS), text)


_LATIN_TO_PERSIAN_PUNCT = {",": "،", ";": "؛", "?": "؟"}
_LATIN_PUNCT = re.compile("[,;?]")
_PERSIANIZE_PUNCT = re.compile(f"(?<=[{_LETTER}])[,;?](?=\\s|$|[{_LETTER}])")
_SPACE_BEFORE_PUNCT = re.compile(r" +(?=[،؛؟!.:»)\],;?])")
_SPACE_AFTER_OPENING = re.compile(r"(?<=[«(\[]) +")
_MISSING_SPACE_AFTER = re.compile(f"(?<=[،؛؟!:])(?=[{_LETTER}«])")


def _fix_punctuation(text: str) -> str:
    """Persian punctuation marks, and the spacing a Persian typesetter gives them."""
    text = _SPACE_BEFORE_PUNCT.sub("", text)
    if _LATIN_PUNCT.search(text):
        text = _PERSIANIZE_PUNCT.sub(lambda m: _LATIN_TO_PERSIAN_PUNCT[m.group()], text)
    text = _SPACE_AFTER_OPENING.sub("", text)
    return _MISSING_SPACE_AFTER.sub(" ", text)


_STEPS: tuple[Callable[[str], str], ...] = (
    _restore_half_spaces,
    _fix_numbers,
    _fix_punctuation,
)
"""Word-level steps, in order. They see masked text: URLs and Latin runs are out of reach."""

_SPACE_RUNS = re.compile(r" {2,}")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")


def normalize(text: str) -> str:
    """The display form: what a Persian reader should see. Idempotent."""
    if len(text) > _MAX_PIECE:
        cut = max(text.rfind("\n", 0, _MAX_PIECE), text.rfind(" ", 0, _MAX_PIECE), _MAX_PIECE // 2)
        separator = "\n" if text[cut] == "\n" else " "
        head, tail = normalize(text[:cut]), normalize(text[cut:])
        return f"{head}{separator}{tail}" if head and tail else head or tail
    text = _fix_half_spaces(_clean_characters(text))
    text, spans = _mask(text)
    for step in _STEPS:
        text = step(text)
    if "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    if "\n" in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = text.strip()
    return _unmask(text, spans)


# ---------------------------------------------------------------------------------------------
# Search keys.

_SEARCH_FOLD: dict[str, str] = {
    "أ": "ا",
    "إ": "ا",
    "ٱ": "ا",
    "آ": "ا",
    "ؤ": "و",
    "ئ": "ی",
    "ۀ": "ه",
    "٫": ".",
    "٬": "",
    "\u200d": "",
    **{digit: str(value % 10) for value, digit in enumerate(PERSIAN_DIGITS + _ARABIC_DIGITS)},
}
_DIACRITIC_RANGE = "\u064b-\u065f\u0670\u06d6-\u06ed"
# One pass over the text for every character that changes: a regular expression that finds
# the few is several times faster than str.translate, which looks every character up.
_SEARCH_CHANGES = re.compile(f"[{''.join(_SEARCH_FOLD)}{_DIACRITIC_RANGE}]")
_DIGIT_GROUPING = re.compile(r"(?<=\d)[,٬](?=\d{3}(?!\d))")
# Words: runs of letters, or numbers with their decimals; a number glued to a word is two.
_SEARCH_TOKEN = re.compile(r"\d+(?:\.\d+)*|[^\W\d_]+")


def search_key(text: str, *, normalized: bool = False) -> str:
    """The form text is matched in: folded letters, no diacritics, ASCII digits, no ZWNJ.

    Glued, half-spaced and wrongly spaced spellings («کلانشهرها», «کلان‌شهرها», «می‌توان»,
    «می توان», «ظرفیت های») give the same key; words are separated by single spaces,
    punctuation dropped, Latin lower-cased, numbers split from the words they are glued to.
    `normalized` says the text is already in display form (`normalize`), which has had the
    character clean-up and the joining of spaced forms: they are skipped.
    """
    if not normalized:
        text = _join_spaced(_clean_characters(text))
    text = unicodedata.normalize("NFC", text)
    if "," in text or "٬" in text:
        text = _DIGIT_GROUPING.sub("", text)
    text = _SEARCH_CHANGES.sub(_search_change, text.replace(ZWNJ, ""))
    words: list[str] = []
    for word in text.casefold().split():
        if word.isalpha():  # most words: no regular expression needed
            words.append(word)
        else:
            words.extend(_SEARCH_TOKEN.findall(word))
    return " ".join(words)


def _search_change(match: re.Match[str]) -> str:
    return _SEARCH_FOLD.get(match.group(), "")  # diacritics go
