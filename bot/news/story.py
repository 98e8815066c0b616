"""The lines of an article after its title, read as a story: the byline and the lead, key
points, paragraphs, sub-headings and quotes in their order. Used by bot.news.parse.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.news.article import KeyPoint, Quote
from bot.news.layout import BULLET, is_cut, is_heading, is_question, strip_marker
from bot.news.quotes import find_quote, is_byline_only, split_byline
from bot.news.script import ZWNJ

_LABEL_MAX_WORDS = 10
_LABEL_MAX_CHARS = 90
_TITLE_LINE_MAX_WORDS = 30
_SUBTITLE_QUESTION_WORDS = 12


def squeezed(text: str) -> str:
    """Display text without spaces and half-spaces: a cheap key for comparing lines that are
    already normalized («به اشتراک بگذارید» and «به‌اشتراک بگذارید» agree)."""
    return text.replace(" ", "").replace(ZWNJ, "")


@dataclass
class Unit:
    """One line of article text, after the page furniture and the metadata are taken out."""

    text: str
    boxed: bool


class Story:
    """The lines after the title, read in order: the byline and the lead, then key points,
    paragraphs, sub-headings and quotes, each quote where it stands in the story."""

    def __init__(self) -> None:
        self.lead: str | None = None
        self.byline: str | None = None
        self.key_points: list[KeyPoint] = []
        self.quotes: list[Quote] = []
        self.paragraphs: list[str] = []
        self._heading: str | None = None
        self._seen: set[str] = set()
        self._interview = False
        self._open = False

    def add(self, unit: Unit, following: Unit | None) -> None:
        if unit.boxed:
            self.key_points.append(_key_point(unit.text))
            return
        marked, text = strip_marker(unit.text)
        if self.lead is None and self.byline is None:
            self.byline, text = split_byline(text)
            if self.byline is not None:
                self._seen.add(squeezed(text))
                self.lead = text  # what follows a byline is the lead, however short
                return
        if self.lead is not None and self.byline is None and is_byline_only(text):
            self.byline = text  # «گروه ادب و هنر» printed alone, at the end
            return
        key = squeezed(text)
        if not key or key in self._seen:
            return  # a page that repeats its lead or a paragraph shows it once
        self._seen.add(key)
        if self.lead is None and not is_heading(text):
            self.lead = text
            self._open = text[-1] not in _PARAGRAPH_END
            return
        # A quote starts a paragraph: after a line left open (a page cut mid-sentence) the
        # words before «:» are the end of that sentence, not a speaker.
        quote = None if marked or self.lead is None or self._open else find_quote(text)
        if quote is not None:
            update: dict[str, object] = {"position": len(self.paragraphs)}
            if self._heading:
                update["heading"] = self._heading
                self._heading = None
            self.quotes.append(quote.model_copy(update=update))
            return
        self._flush_heading()
        if following is not None and not following.boxed and is_heading(text):
            self._heading = text  # a quote's sub-heading, or a paragraph's
            return
        if marked and is_question(text):
            self._interview = True
        elif marked and not self._interview:
            text = BULLET + text
        if self.lead is None:
            self.lead = text
        else:
            self.paragraphs.append(text)
        self._open = text[-1] not in _PARAGRAPH_END

    def finish(self) -> None:
        self._flush_heading()

    def _flush_heading(self) -> None:
        if self._heading:
            self.paragraphs.append(self._heading)
            self._heading = None


_WRAPPED_MIN_LINES = 4
_WRAPPED_MIN_CHARS = 40
_WRAPPED_OPEN_SHARE = 0.6
_WRAPPED_EVEN_SHARE = 0.6
_WRAPPED_MAX_MEDIAN = 120
_LAST_LINE_SHARE = 0.85
_PARAGRAPH_END = ".!?؟»:…"


def unwrap(title: str, units: list[Unit]) -> tuple[str, list[Unit]]:
    """A page printed as lines of about one width (an old newspaper's columns), most of them
    ending in the middle of a sentence, is joined back into paragraphs: a new paragraph starts
    after a line that ends a sentence and falls short of the others. A short line before the
    first paragraph (one that starts with a byline) ends the title."""
    lines = [unit for unit in units if not unit.boxed and len(unit.text) >= _WRAPPED_MIN_CHARS]
    if len(lines) < _WRAPPED_MIN_LINES:
        return title, units
    lengths = sorted(len(unit.text) for unit in lines)
    median = lengths[len(lengths) // 2]
    open_lines = sum(unit.text[-1] not in _PARAGRAPH_END for unit in lines)
    even = sum(0.7 * median <= len(unit.text) <= 1.15 * median for unit in lines)
    if (
        median > _WRAPPED_MAX_MEDIAN
        or open_lines < _WRAPPED_OPEN_SHARE * len(lines)
        or even < _WRAPPED_EVEN_SHARE * len(lines)
    ):
        return title, units
    if (
        len(units) > 1
        and not (units[0].boxed or units[1].boxed)
        and len(units[0].text) < median / 2
        and title[-1] not in ".:"
        and split_byline(units[1].text)[0] is not None
    ):
        title, units = f"{title} {units[0].text}", units[1:]  # the title's second line
    paragraphs: list[tuple[list[str], bool]] = []  # the lines of each, boxed or not
    for unit in units:
        last = paragraphs[-1] if paragraphs else None
        if (
            last is None
            or last[1]
            or unit.boxed
            or (last[0][-1][-1] in _PARAGRAPH_END and len(last[0][-1]) < _LAST_LINE_SHARE * median)
            or len(last[0][-1]) < median / 2  # a line of its own: a heading, a name
        ):
            paragraphs.append(([unit.text], unit.boxed))
        else:
            last[0].append(unit.text)
    return title, [Unit(" ".join(lines), boxed) for lines, boxed in paragraphs]


def join_cut_lines(units: list[Unit]) -> list[Unit]:
    """Lines a page cut in the middle of a sentence, put back together."""
    joined: list[Unit] = []
    for unit in units:
        previous = joined[-1] if joined else None
        if previous and not previous.boxed and not unit.boxed and is_cut(previous.text):
            joined[-1] = Unit(f"{previous.text} {unit.text}", boxed=False)
        else:
            joined.append(unit)
    return joined


def join_headings(units: list[Unit]) -> list[Unit]:
    """A sub-heading printed on two lines is one sub-heading."""
    joined: list[Unit] = []
    for index, unit in enumerate(units):
        previous = joined[-1] if joined else None
        following = units[index + 1] if index + 1 < len(units) else None
        if (
            previous
            and following
            and not (previous.boxed or unit.boxed or following.boxed)
            and is_heading(previous.text)
            and is_heading(unit.text)
            and not is_heading(following.text)
        ):
            joined[-1] = Unit(f"{previous.text} {unit.text}", boxed=False)
        else:
            joined.append(unit)
    return joined


def with_subtitle(title: str, units: list[Unit]) -> tuple[str, list[Unit]]:
    """The title and the line under it, when that line is the rest of the headline (after a
    title that ends in «:»), its subtitle (a heading or a short question before the first
    paragraph), or any line before a lead that starts with a byline (all title matter)."""
    if len(units) < 2 or units[0].boxed or units[1].boxed:
        return title, units
    line, following = units[0].text, units[1].text
    if split_byline(line)[0] is not None or (is_heading(line) and find_quote(following)):
        return title, units  # the lead, or the heading of a quote
    words = len(line.split())
    before_byline = split_byline(following)[0] is not None and line[-1] not in ".:؛"
    if before_byline and words <= _TITLE_LINE_MAX_WORDS:
        return f"{title} {line}" if title.endswith(":") else f"{title}: {line}", units[1:]
    if title.endswith(":") and words <= _TITLE_LINE_MAX_WORDS and line[-1] != ".":
        return f"{title} {line}", units[1:]
    if is_heading(line) or (is_question(line) and words <= _SUBTITLE_QUESTION_WORDS):
        return f"{title}: {line}", units[1:]
    return title, units


def _key_point(text: str) -> KeyPoint:
    label, sep, rest = text.partition(":")
    if sep and rest.strip() and _is_label(label):
        return KeyPoint.trusted({"label": label.strip(), "text": rest.strip()})
    return KeyPoint.trusted({"text": text})


def _is_label(text: str) -> bool:
    text = text.strip()
    return (
        0 < len(text) <= _LABEL_MAX_CHARS
        and len(text.split()) <= _LABEL_MAX_WORDS
        and not any(mark in text for mark in ".!؟?؛«»")
    )
