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


def _header(builder: Builder, article: Article) -> None:
    marked, title = strip_breaking(article.title)
    if article.breaking or marked:
        builder.text("🔴 فوری" + LINE)
    builder.tag("b", shorten(title, _MAX_TITLE))


def _footer(builder: Builder, article: Article, full: bool) -> None:
    if line := facts(article):
        builder.text(PARAGRAPH + line)
        sep = LINE
    else:
        sep = PARAGRAPH
    link = link_label(article)
    if link:
        builder.text(sep + "🔗 ").link(*link)
        sep = LINE
    if full and article.link:
        builder.text(sep + "📖 ").link("متن کامل", article.link)


def _footer_room(article: Article) -> int:
    probe = Builder()
    _footer(probe, article, True)
    return utf16_len(probe.block().text)


class _Compact:
    """The compact card, filled in order of importance within the budget."""

    def __init__(self, article: Article) -> None:
        self.article = article
        self.builder = Builder()
        _header(self.builder, article)
        self.room = COMPACT_CHARS - utf16_len(self.builder.block().text) - _footer_room(article)
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
        _footer(self.builder, self.article, self.left_out)
        return {
            "method": "sendMessage",
            "text": self.builder.block().html,
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
    _header(builder, article)
    lead = article.lead or (article.key_points[0].text if article.key_points else None)
    room = MAX_CAPTION - utf16_len(builder.block().text) - _footer_room(article)
    full = bool(article.paragraphs or article.quotes or len(article.key_points) > 1)
    if lead and room > 60:
        text = shorten(lead, min(room - len(PARAGRAPH), 600))
        full |= text != lead
        builder.text(PARAGRAPH + text)
    elif lead:
        full = True
    _footer(builder, article, full)
    return {
        "method": "sendPhoto",
        "photo": article.image.url,
        "caption": builder.block().html,
        "parse_mode": "HTML",
    }
