"""Punctuation in display text, as a Persian typesetter sets it.

- Latin «, ; ?» after Persian words become «، ؛ ؟»;
- no space before «. ، ؛ ؟ ! : » ) ]», none after «« ( [»;
- a space after «. ، ؛ ؟ ! :» between two words: «است.در» → «است. در», but not inside a
  number (۲٫۵), an abbreviation written with dots (ه.ق، بی.بی.سی) or anything masked (URLs,
  e-mail addresses, Latin);
- parentheses and «» set apart from the words outside them: «نوامبر(۲۴ شعبان)اردو» →
  «نوامبر (۲۴ شعبان) اردو»;
- straight double quotes around Persian text → «»: "ویکتور بسیرو" → «ویکتور بسیرو».

Runs on masked text (bot.news.persian), so URLs and Latin are out of reach; idempotent.
"""

from __future__ import annotations

import re

from bot.news.script import DIGIT, LETTER, LETTER_SET, ZWNJ

_WORD = f"{LETTER}{ZWNJ}"
_LATIN_TO_PERSIAN = {",": "،", ";": "؛", "?": "؟"}
_LATIN_PUNCT = re.compile("[,;?]")
_PERSIANIZE = re.compile(f"[,;?](?<=[{LETTER}][,;?])(?=\\s|$|[{LETTER}])")
_CLOSING_MARKS = "،؛؟!.:»)],;?"
_OPENING_MARKS = "«(["
# Every pattern starts with the mark it is about, so the search skips ahead to the few
# candidates; what stands before the mark is checked by hand.
_MISSING_SPACE_AFTER = re.compile(f"[،؛؟!:](?=[{LETTER}«{DIGIT}])")
# «است.در»: a full stop between two words of two letters or more, neither of them part of
# a dotted abbreviation (ه.ق، ای.او.سیمونیچ، بی.بی.سی).
_GLUED_STOP = re.compile(f"\\.(?=[{_WORD}]{{2}})(?![{_WORD}]*\\.[{_WORD}])")
_OPENING = re.compile("[(«]")
_CLOSE_BEFORE_WORD = re.compile(f"[)»](?=[{LETTER}{DIGIT}])")
_LETTERS = LETTER_SET
_WORD_CHARS = LETTER_SET | {ZWNJ}
_DIGITS = frozenset("0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹")
_STRAIGHT_QUOTED = re.compile(f'"(?P<inner>[^"\\n]*[{LETTER}][^"\\n]*)"')


def fix_punctuation(text: str) -> str:
    """Persian punctuation marks, and the spacing a Persian typesetter gives them."""
    if '"' in text and text.count('"') % 2 == 0:
        text = _STRAIGHT_QUOTED.sub(lambda m: f"«{m['inner'].strip()}»", text)
    # str.replace runs at C speed; a pattern that starts with a space would be tried at
    # every space of the text.
    for mark in _CLOSING_MARKS:
        while f" {mark}" in text:
            text = text.replace(f" {mark}", mark)
    if _LATIN_PUNCT.search(text):
        text = _PERSIANIZE.sub(lambda m: _LATIN_TO_PERSIAN[m.group()], text)
    for mark in _OPENING_MARKS:
        while f"{mark} " in text:
            text = text.replace(f"{mark} ", mark)
    text = _MISSING_SPACE_AFTER.sub(lambda m: _space_after(m, text), text)
    if "." in text:
        text = _GLUED_STOP.sub(lambda m: _space_after_stop(m, text), text)
    if "(" in text or "«" in text:
        text = _OPENING.sub(lambda m: _space_before(m, text), text)
    if ")" in text or "»" in text:
        text = _CLOSE_BEFORE_WORD.sub(lambda m: m.group() + " ", text)
    return text


def _space_after(match: re.Match[str], text: str) -> str:
    """A space after the mark; before a number only after «،» or «؛» that follow a word
    («منطقه،۱۵»), never inside a time (۱۴:۳۰)."""
    mark, end = match.group(), match.end()
    if text[end] in _DIGITS:
        start = match.start()
        return f"{mark} " if mark in "،؛" and start and text[start - 1] in _LETTERS else mark
    return f"{mark} "


def _space_after_stop(match: re.Match[str], text: str) -> str:
    """«است.در» → «است. در»; a full stop after a number, a one-letter word or another full
    stop (an abbreviation) stays."""
    start = match.start()
    left = start
    while left > 0 and text[left - 1] in _WORD_CHARS:
        left -= 1
    if start - left < 2 or (left > 0 and text[left - 1] == "."):
        return "."
    return ". "


def _space_before(match: re.Match[str], text: str) -> str:
    start = match.start()
    before = text[start - 1] if start else ""
    return f" {match.group()}" if before in _LETTERS or before in _DIGITS else match.group()
