"""What an alert asks for and what an article holds, in the search analyser's terms
(bot/news/analysis.py): pure functions, no Redis.

An alert is a few units, each a word or a quoted phrase; a unit is the tuple of its terms
(a word gives one, «"قیمت بنزین"» two). An article matches when every unit is in it: a word
anywhere in its title, lead, key points, quotes, body or tags, a phrase with its terms side by
side in one of them. Spelling variants fold as search folds them (Arabic ي/ك, half-spaces,
plurals, digits): «زلزله‌ها» and «زلزله ها» are «زلزله».
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.news.analysis import term_sequence, terms
from bot.news.article import Article
from bot.news.persian import search_key

Unit = tuple[str, ...]
"""A word (one term) or a quoted phrase (its terms in order)."""

_QUOTED = re.compile(r"«([^»]*)»|\"([^\"]*)\"|“([^”]*)”")
_SEPARATORS = frozenset("|:")
"""Characters that join an alert's parts in its index entry (never in a term)."""


@dataclass(frozen=True)
class Parsed:
    units: list[Unit]
    words: int
    """Words and phrases the reader typed, stop words included (the limit counts these)."""
    dropped: list[str]
    """Words that are not terms (stop words, punctuation)."""


def parse_alert(text: str) -> Parsed:
    """The units of an alert as a reader typed it: «زلزله "قیمت بنزین"»."""
    units: list[Unit] = []
    dropped: list[str] = []
    words = 0
    last = 0
    pieces: list[tuple[str, bool]] = []
    for found in _QUOTED.finditer(text):
        pieces.append((text[last : found.start()], False))
        pieces.append((next(g for g in found.groups() if g is not None), True))
        last = found.end()
    pieces.append((text[last:], False))
    for piece, quoted in pieces:
        if quoted:
            sequence = tuple(_clean(term_sequence(piece)))
            words += 1 if piece.strip() else 0
            if sequence:
                units.append(sequence)
            elif piece.strip():
                dropped.append(piece.strip())
            continue
        for word in piece.split():
            words += 1
            found_terms = _clean(term_sequence(word))
            if found_terms:
                units.extend((term,) for term in found_terms)
            else:
                dropped.append(word)
    return Parsed(list(dict.fromkeys(units)), words, dropped)


def _clean(found: list[str]) -> list[str]:
    return [term for term in found if term and not _SEPARATORS & set(term)]


def spec(units: list[Unit]) -> str:
    """The units as one string: «زلزله|قیمت بنزین» (an index entry's tail, an alert's id)."""
    return "|".join(" ".join(unit) for unit in units)


def units_of(text: str) -> list[Unit]:
    return [tuple(part.split(" ")) for part in text.split("|") if part]


@dataclass
class ArticleTerms:
    """An article's terms, for checking alerts against it."""

    present: set[str]
    positions: dict[str, list[int]]
    """Term → where it stands in the article's term sequence (fields kept apart)."""
    tags: set[str] = field(default_factory=set)
    """The article's tags in search-key form (what topics are matched against)."""

    @classmethod
    def of(cls, article: Article) -> ArticleTerms:
        texts = [article.title, article.lead or ""]
        texts += [f"{point.label or ''} {point.text}" for point in article.key_points]
        texts += [quote.text for quote in article.quotes]
        texts += article.paragraphs
        texts += article.tags
        present: set[str] = set()
        positions: dict[str, list[int]] = {}
        offset = 0
        for text in texts:
            if not text:
                continue
            present.update(terms(text, normalized=True))
            sequence = term_sequence(text, normalized=True)
            for number, term in enumerate(sequence, offset):
                positions.setdefault(term, []).append(number)
            offset += len(sequence) + 1  # a phrase never spans two fields
        present.update(positions)
        tags = {search_key(tag, normalized=True) for tag in article.tags}
        return cls(present, positions, tags)

    def has(self, unit: Unit) -> bool:
        if len(unit) == 1:
            return unit[0] in self.present
        if not all(term in self.positions for term in unit):
            return False
        rest = [set(self.positions[term]) for term in unit[1:]]
        return any(
            all(start + step in later for step, later in enumerate(rest, 1))
            for start in self.positions[unit[0]]
        )

    def matches(self, units: Sequence[Unit]) -> bool:
        return bool(units) and all(self.has(unit) for unit in units)


def topic_key(topic: str) -> str:
    """A topic or tag as it is compared: «اقتصادي» is «اقتصادی»."""
    return search_key(topic)
