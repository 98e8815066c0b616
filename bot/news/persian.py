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
from collections.abc import Callable

from bot.news.halfspace import join_spaced
from bot.news.punctuation import fix_punctuation
from bot.news.script import DIGIT, LETTER, LETTER_SET, PERSIAN_DIGITS, ZWNJ
from bot.news.spacing import restore_half_spaces
from bot.news.spelling import read_nbsp

__all__ = [
    "PERSIAN_DIGITS",
    "ZWNJ",
    "normalize",
    "search_key",
    "to_ascii_digits",
    "to_persian_digits",
]

_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_ASCII_DIGITS = "0123456789"
_FOREIGN_DIGIT_CHARS = _ASCII_DIGITS + _ARABIC_DIGITS
_ALL_DIGITS = _FOREIGN_DIGIT_CHARS + PERSIAN_DIGITS
_LETTER = LETTER
_DIGIT = DIGIT

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
_INVISIBLE = (
    "\u061c\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\u00ad"
    # C0 controls (tab, newlines and the spaces above apart), DEL and C1: never text, and
    # NUL or ESC shown to a reader is garbage.
    "\x00-\x08\x0e-\x1f\x7f-\x9f"
)


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


def _clean_characters(text: str, *, nbsp: bool = False) -> str:
    """Letters folded, invisible characters out, odd spaces made plain; with ``nbsp``, an
    NBSP between two letters read as the half-space it usually stands for (display only:
    search keys keep reading it as a space)."""
    text = _FOLDABLE.sub(lambda match: match.group().translate(_LETTERS), text)
    if nbsp and "\u00a0" in text:
        text = read_nbsp(text)
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
    # A Latin run may hold a run of spaces («Windows  11»): one space, as everywhere else.
    spans.append(core if "  " not in core else _SPACE_RUNS.sub(" ", core))
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


def _fix_half_spaces(text: str) -> str:
    """One ZWNJ at most, and only between two letters; elsewhere it is noise."""
    if ZWNJ not in text:
        return text

    def keep(match: re.Match[str]) -> str:
        start, end = match.span()
        between_letters = (
            start > 0
            and end < len(text)
            and text[start - 1] in LETTER_SET
            and text[end] in LETTER_SET
        )
        return ZWNJ if between_letters else ""

    return _ZWNJ_RUN.sub(keep, text)


_ORDINAL_SUFFIX = "(?:امین|مین|ام|م)(?![" + _LETTER + "])"
# Both start with what they look for, so the search skips ahead (a lookbehind first would be
# tried at every position).
_WORD_THEN_NUMBER = re.compile(f"[{_DIGIT}](?<=[{_LETTER}][{_DIGIT}])")
_NUMBER_THEN_WORD = re.compile(f"[{_DIGIT}](?=[{_LETTER}])(?!{_ORDINAL_SUFFIX})")
_DECIMAL_POINT = re.compile(f"[.٫](?<=[{_DIGIT}][.٫])(?=[{_DIGIT}])")
_GROUPED = re.compile(f"[,٬](?<=[{_DIGIT}][,٬])(?=[{_DIGIT}])")
_THOUSANDS = re.compile(
    f"(?<![{_DIGIT}.,٫٬])[{_DIGIT}]{{1,3}}(?:[,٬][{_DIGIT}]{{3}})+(?![{_DIGIT}]|[.,٫٬][{_DIGIT}])"
)
_PERCENT = re.compile(f"(?<=[{_DIGIT}]) ?[%٪]")


def _has_any(text: str, chars: str) -> bool:
    """Whether any of the characters is in the text: a few scans at C speed, much cheaper
    than running a pattern over text that has none of them."""
    return any(char in text for char in chars)


def _fix_numbers(text: str) -> str:
    """Numbers in Persian form, set apart from the words they were glued to."""
    if not _has_any(text, _ALL_DIGITS):
        return text
    text = _WORD_THEN_NUMBER.sub(r" \g<0>", text)
    text = _NUMBER_THEN_WORD.sub(r"\g<0> ", text)
    if ("," in text or "٬" in text) and _GROUPED.search(text):
        text = _THOUSANDS.sub(lambda m: m.group().replace(",", "٬"), text)
    if "." in text or "٫" in text:
        text = _DECIMAL_POINT.sub("٫", text)
    if "%" in text or "٪" in text:
        text = _PERCENT.sub("٪", text)
    if not _has_any(text, _FOREIGN_DIGIT_CHARS):
        return text
    return _FOREIGN_DIGITS.sub(lambda match: match.group().translate(_TO_PERSIAN_DIGITS), text)


_STEPS: tuple[Callable[[str], str], ...] = (
    restore_half_spaces,
    _fix_numbers,
    fix_punctuation,
)
"""Word-level steps, in order. They see masked text: URLs and Latin runs are out of reach."""

_SPACE_RUNS = re.compile(r" {2,}")


def normalize(text: str) -> str:
    """The display form: what a Persian reader should see. Idempotent."""
    if len(text) > _MAX_PIECE:
        cut = max(text.rfind("\n", 0, _MAX_PIECE), text.rfind(" ", 0, _MAX_PIECE), _MAX_PIECE // 2)
        separator = "\n" if text[cut] == "\n" else " "
        head, tail = normalize(text[:cut]), normalize(text[cut:])
        return f"{head}{separator}{tail}" if head and tail else head or tail
    text = _fix_half_spaces(_clean_characters(text, nbsp=True))
    text, spans = _mask(text)
    for step in _STEPS:
        text = step(text)
    if "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    if " \n" in text or "\n " in text:
        # Line by line at C speed: a pattern that may match empty is tried at every position.
        text = "\n".join(line.strip(" ") for line in text.split("\n"))
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
    return " ".join(search_words(text, normalized=normalized))


def search_words(text: str, *, normalized: bool = False) -> list[str]:
    """`search_key`'s words, as a list (what indexing wants: no joining to split again)."""
    if not normalized:
        text = join_spaced(_clean_characters(text))
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
    return words


def _search_change(match: re.Match[str]) -> str:
    return _SEARCH_FOLD.get(match.group(), "")  # diacritics go
