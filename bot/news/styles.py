"""The card styles of channel posts and broadcasts: one message each, from the same Article.

- ``text``: a compact card (about 1,200 characters at most): title, lead cut at a sentence,
  key points, at most two short quotes, date and link, and «📖 متن کامل» when anything was
  left out;
- ``photo``: sendPhoto with the article's image and a caption within Telegram's 1,024 UTF-16
  units (title, lead cut at a sentence, date, link); an article without an image gets the
  ``text`` card;
- ``rich``: the whole article as one sendRichMessage (bot/news/rich.py).

Every payload names its Bot API ``method`` and carries exactly the parameters that go to it
(chat_id aside); readers' private chats keep the card of bot/news/card.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.news import rich
from bot.news.article import Article, Quote
from bot.news.blocks import LINE, PARAGRAPH, Builder, utf16_len
from bot.news.footer import facts, link_label, shorten
from bot.news.layout import strip_breaking

COMPACT_CHARS = 1_200
"""The compact card's visible text at most, in UTF-16 units."""
MAX_CAPTION = 1_024
FULL_TEXT = "📖 متن کامل"

_MAX_TITLE = 200
_MAX_LEAD = 480
_MAX_KEY_POINTS = 4
_MAX_KEY_POINT = 180
_MAX_QUOTES = 2
_SHORT_QUOTE = 240


class Style(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    RICH = "rich"


def payloads(article: Article, style: Style) -> list[dict[str, Any]]:
    """The card of an article in a style: one payload, its ``method`` included."""
    if style is Style.RICH:
        return [rich.payload(article)]
    if style is Style.PHOTO and article.image is not None:
        return [photo_payload(article)]
    return [compact_payload(article)]


def _header(builder: Builder, article: Article) -> int:
    """«🔴 فوری» and the title in bold; their length in UTF-16 units."""
    marked, title = strip_breaking(article.title)
    title = shorten(title, _MAX_TITLE)
    length = utf16_len(title)
    if article.breaking or marked:
        builder.text("🔴 فوری" + LINE)
        length += 8  # «🔴 فوری» and its line break, in UTF-16 units
    builder.tag("b", title)
    return length


@dataclass(frozen=True)
class _Footer:
    """The card's last lines, built once: the facts and the link; «📖 متن کامل» after them
    when something was left out (room for it is counted either way)."""

    html: str
    length: int
    """UTF-16 units, «📖 متن کامل» included."""
    full_html: str

    @classmethod
    def of(cls, article: Article) -> _Footer:
        builder = Builder()
        sep = PARAGRAPH
        if line := facts(article):
            builder.text(PARAGRAPH + line)
            sep = LINE
        if link := link_label(article):
            builder.text(sep + "🔗 ").link(*link)
            sep = LINE
        full = Builder()
        if article.link:
            full.text(sep + "📖 ").link("متن کامل", article.link)
        done, more = builder.block(), full.block()
        return cls(done.html, utf16_len(done.text) + utf16_len(more.text), more.html)

    def html_for(self, full: bool) -> str:
        return self.html + self.full_html if full else self.html


class _Compact:
    """The compact card, filled in order of importance within the budget."""

    def __init__(self, article: Article) -> None:
        self.article = article
        self.builder = Builder()
        self.footer = _Footer.of(article)
        self.room = COMPACT_CHARS - _header(self.builder, article) - self.footer.length
        self.left_out = bool(article.paragraphs)

    def _take(self, length: int) -> bool:
        if length > self.room:
            self.left_out = True
            return False
        self.room -= length
        return True

    def lead(self) -> None:
        lead = self.article.lead
        if not lead:
            return
        text = shorten(lead, max(min(_MAX_LEAD, self.room - 2), 80))
        if text != lead:
            self.left_out = True
        if self._take(len(PARAGRAPH) + utf16_len(text)):
            self.builder.text(PARAGRAPH + text)

    def key_points(self) -> None:
        points = self.article.key_points
        first = True
        for index, point in enumerate(points):
            if index == _MAX_KEY_POINTS:
                self.left_out = True
                return
            text = shorten(point.text, _MAX_KEY_POINT)
            self.left_out |= text != point.text
            label = f"{point.label}: " if point.label else ""
            sep = PARAGRAPH if first else LINE
            if not self._take(len(sep) + 3 + utf16_len(label + text)):
                return
            self.builder.text(sep + "🔹 ")
            if point.label:
                self.builder.tag("b", f"{point.label}:").text(" ")
            self.builder.text(text)
            first = False

    def quotes(self) -> None:
        shown = 0
        for quote in self.article.quotes:  # in story order: the first say the most
            if shown == _MAX_QUOTES:
                break
            text = shorten(quote.text, _SHORT_QUOTE)
            if text != quote.text and not text.endswith("…"):
                text += " …"  # a quote cut at a sentence still says that it goes on
            who = _who(quote)
            if not self._take(len(PARAGRAPH) + 4 + utf16_len(who + text)):
                break
            self.left_out |= text != quote.text
            self.builder.text(PARAGRAPH + "💬 ").tag("b", who).text(LINE)
            self.builder.tag("blockquote", text)
            shown += 1
        self.left_out |= shown < len(self.article.quotes)

    def payload(self) -> dict[str, Any]:
        self.lead()
        self.key_points()
        self.quotes()
        return {
            "method": "sendMessage",
            "text": self.builder.block().html + self.footer.html_for(self.left_out),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }


def _who(quote: Quote) -> str:
    return f"{quote.speaker}، {quote.role}:" if quote.role else f"{quote.speaker}:"


def compact_payload(article: Article) -> dict[str, Any]:
    """The ``text`` style: one sendMessage of about 1,200 characters at most."""
    return _Compact(article).payload()


def photo_payload(article: Article) -> dict[str, Any]:
    """The ``photo`` style: the article's image with a caption of at most 1,024 UTF-16 units
    (the article must have an image)."""
    assert article.image is not None
    builder = Builder()
    footer = _Footer.of(article)
    lead = article.lead or (article.key_points[0].text if article.key_points else None)
    room = MAX_CAPTION - _header(builder, article) - footer.length
    full = bool(article.paragraphs or article.quotes or len(article.key_points) > 1)
    if lead and room > 60:
        text = shorten(lead, min(room - len(PARAGRAPH), 600))
        full |= text != lead
        builder.text(PARAGRAPH + text)
    elif lead:
        full = True
    return {
        "method": "sendPhoto",
        "photo": article.image.url,
        "caption": builder.block().html + footer.html_for(full),
        "parse_mode": "HTML",
    }
