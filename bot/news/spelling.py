"""Spelling beyond the single word: an NBSP read as the half-space it stands for, and one
spelling per word within an article. Both use the half-space repair of bot.news.halfspace.
"""

from __future__ import annotations

import re

from bot.news.halfspace import (
    _MIN_PART,
    _NON_JOINING,
    _SUFFIXES,
    _VERB_PREFIXES,
    _word_before,
    repair_word,
)
from bot.news.lexicon import lexicon
from bot.news.script import LETTER as _LETTER
from bot.news.script import LETTER_SET, ZWNJ

# Suffixes that, after an NBSP, show it stands for a half-space.
_NBSP_SUFFIXES = frozenset(
    (*(suffix for suffix, _ in _SUFFIXES), "شان", "مان", "تان", "هاست", "هایند")
)


def read_nbsp(text: str) -> str:
    """An NBSP between two letters is how the corpus and many CMS exports write a half-space,
    and sometimes a plain space: a half-space where a suffix or «می» follows or the joined
    spelling is a word the lexicon knows (or would restore), else a space."""
    parts = text.split("\u00a0")
    pieces = [parts[0]]
    for right in parts[1:]:
        left = pieces[-1]
        if left and right and left[-1] in LETTER_SET and right[0] in LETTER_SET:
            pieces.append(_nbsp_joint(left, right))
        else:
            pieces.append(" ")
        pieces.append(right)
    return "".join(pieces)


def _nbsp_joint(before: str, after: str) -> str:
    lex = lexicon()
    left = _word_before(before, len(before)).rpartition(ZWNJ)[2]
    end = 0
    while end < len(after) and after[end] in LETTER_SET:
        end += 1
    right = after[:end]
    joined = f"{left}{ZWNJ}{right}"
    half = (
        right in _NBSP_SUFFIXES
        or left in _VERB_PREFIXES
        or lex.known(joined)
        or repair_word(f"{left}{right}") == joined
    )
    if not half:
        return " "
    return "" if left[-1] in _NON_JOINING else ZWNJ


_HALF_SPACED_WORD = re.compile(f"[{_LETTER}]+(?:{ZWNJ}[{_LETTER}]+)+")


def one_spelling(texts: list[str | None]) -> list[str | None]:
    """One spelling per word within an article: where a word has a half-space in one place
    («اطلاع‌رسانی», «گفت‌وگو»), its glued or spaced spelling elsewhere in the same article
    («اطلاعرسانی», «اطلاع رسانی», «گفت و گو») takes it too. A glued spelling that is a word of
    its own (میدان beside می‌دان) is left alone unless the lexicon knows the half-spaced one."""
    lex = lexicon()
    forms: dict[str, str] = {}
    for text in texts:
        if text and ZWNJ in text:
            for word in _HALF_SPACED_WORD.findall(text):
                glued = word.replace(ZWNJ, "")
                if not lex.frequency(glued) or lex.frequency(word):
                    forms.setdefault(glued, word)
                parts = word.split(ZWNJ)
                if min(map(len, parts)) >= _MIN_PART:
                    forms.setdefault(" ".join(parts), word)
                    if any(part.startswith("و") for part in parts[1:]):
                        spaced = " ".join(f"و {p[1:]}" if p.startswith("و") else p for p in parts)
                        forms.setdefault(spaced, word)
    if not forms:
        return texts
    joined = "\n".join(text for text in texts if text)
    present = [form for form in forms if form in joined and forms[form] != form]
    if not present:
        return texts
    present.sort(key=len, reverse=True)
    alternatives = "|".join(re.escape(form) for form in present)
    pattern = re.compile(f"(?<![{_LETTER}{ZWNJ}])(?:{alternatives})(?![{_LETTER}{ZWNJ}])")
    return [pattern.sub(lambda m: forms[m.group()], text) if text else text for text in texts]
