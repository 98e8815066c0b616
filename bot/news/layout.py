"""The shape of an article's lines: sub-headings, list and interview markers, lines a page
broke in two, text a page repeats, a title's «فوری:». Shared by the parser (which decides) and
the card (which shows sub-headings and questions in bold).
"""

from __future__ import annotations

import re

_HEADING_MAX_WORDS = 12
_HEADING_MAX_CHARS = 100
_QUESTION_MAX_WORDS = 60
_SENTENCE_END = ".!?؟:؛…»\"'"
# A line that ends in one of these was cut in the middle of a sentence.
_OPEN_ENDINGS = frozenset(
    [
        "از",
        "در",
        "به",
        "با",
        "که",
        "را",
        "و",
        "برای",
        "بر",
        "تا",
        "یا",
        "این",
        "آن",
        "های",
        "ای",
        "یک",
        "هر",
        "چند",
        "اما",
        "ولی",
        "بین",
        "میان",
        "درباره",
        "طی",
        "توسط",
    ]
)
_MARKER = re.compile(r"^\s*(?:[*•▪◾●■]|[-–—](?!\s*[\d۰-۹]))\s*")
_BREAKING = re.compile(r"^\s*(?:فوری|خبر فوری)\s*[:：\-–—|]\s*")
BULLET = "• "


def is_heading(text: str) -> bool:
    """A sub-heading: a short line that ends no sentence and leaves none open
    («بهره‌مندی از ظرفیت‌های زیرساختی»; not «وزیر ارشاد به برپایی», a line cut in two)."""
    words = text.split()
    return (
        bool(words)
        and len(text) <= _HEADING_MAX_CHARS
        and len(words) <= _HEADING_MAX_WORDS
        and text[-1] not in _SENTENCE_END
        and words[-1] not in _OPEN_ENDINGS
        and not text.startswith(BULLET)
    )


def is_question(text: str) -> bool:
    """A paragraph that is one question (an interview's, or a sub-heading asking one)."""
    return text.endswith(("؟", "?")) and len(text.split()) <= _QUESTION_MAX_WORDS


def is_cut(text: str) -> bool:
    """The line was cut in the middle of a sentence (a wrapped page): it ends in a word that
    always has more after it."""
    words = text.split()
    return bool(words) and words[-1] in _OPEN_ENDINGS and text[-1] not in _SENTENCE_END


def strip_marker(text: str) -> tuple[bool, str]:
    """Whether the line starts with a list or interview marker (``* ``, ``- ``, ``•``), and the
    line without it. «1385- ...» keeps its year."""
    match = _MARKER.match(text)
    if match is None or match.end() == len(text):
        return False, text
    return True, text[match.end() :]


def strip_breaking(title: str) -> tuple[bool, str]:
    """A title that starts «فوری:» is a breaking item; the mark is shown by the card, once."""
    match = _BREAKING.match(title)
    if match is None or match.end() == len(title):
        return False, title
    return True, title[match.end() :]
