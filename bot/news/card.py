"""Article → the message card(s) sent to Telegram: sendMessage payloads in HTML mode.

Layout::

    🔴 فوری                            (breaking only; a title's own «فوری:» is not repeated)
    <b>title</b>

    lead

    🔹 <b>label:</b> text                (one line per key point)

    body paragraphs, in story order     (when they fit; sub-headings and questions bold)
    with the quotes where they stand:
    <b>sub-heading</b>
    💬 <b>speaker، role:</b>
    <blockquote>quote</blockquote>       (expandable when long)

    📅 پنج‌شنبه ۲۴ مهر ۱۴۰۴ · ایسنا · کد خبر ۲۶۵۲۴۰
    🔗 short link, else the article's address
    #hashtags                           (half-spaces kept: #جام_ملت‌های_اروپا)
    📖 ادامه مطلب                        (when something had to be left out)

A card is at most two messages, each within Telegram's limits (4096 UTF-16 units of visible
text, 100 entities). Text is split between them at paragraph, then sentence boundaries; what
still does not fit is cut in this order: body paragraphs, then the longest quotes, the lead,
the key points, and a «ادامه مطلب» link is added. The card is built from blocks whose visible
length and entity count are known as they are made, so no HTML is ever parsed back; what can
never fit (thousands of key points or quotes) is left out in one pass before packing, so a
card costs time linear in its items.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TypeVar

from bot.news import jalali
from bot.news.article import Article, KeyPoint, Quote
from bot.news.blocks import (
    LINE,
    MAX_ENTITIES,
    MAX_TEXT,
    PARAGRAPH,
    Block,
    Builder,
    CardMessage,
    pack,
    plain,
)
from bot.news.layout import is_heading, is_question, strip_breaking
from bot.news.persian import ZWNJ, to_persian_digits

_Texted = TypeVar("_Texted", KeyPoint, Quote)

CARD_VERSION = 2
"""Bumped whenever the rendering changes, so cached cards are rebuilt."""

MAX_MESSAGES = 2

_EXPANDABLE_QUOTE = 500
_MIN_QUOTE = 200
_MIN_QUOTE_LAST_RESORT = 60
_MIN_LEAD = 300
_MIN_KEY_POINT = 120
_MIN_TITLE = 200
_MAX_TAGS = 10
_MAX_HASHTAG = 50
_MAX_LINK_LABEL = 60
_UNSHOWN_BYLINES = frozenset({"اشاره"})  # a label, not who wrote the article
_ELLIPSIS = "…"
_HASHTAG_JUNK = re.compile(f"[^\\w{ZWNJ}]+")


def render(article: Article, max_messages: int = MAX_MESSAGES) -> list[CardMessage]:
    """The card of an article: one or two messages (one where only one can go, as in an inline
    result), always valid for Telegram."""
    plan = _Plan(article, max_messages)
    while True:
        blocks = plan.blocks()
        if (messages := pack(blocks, max_messages)) is not None:
            return messages
        overflow = sum(b.length + len(b.sep) for b in blocks) - max_messages * MAX_TEXT
        plan.shrink(max(overflow, 0) + 200)


def payloads(article: Article) -> list[dict[str, Any]]:
    return [message.payload() for message in render(article)]


def _shorten(text: str, limit: int) -> str:
    """Text cut to at most ``limit`` characters at a word boundary, ending in «…»."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    space = cut.rfind(" ")
    if space > len(cut) * 0.7:
        cut = cut[:space]
    return cut.rstrip(" ،,؛;:.-–") + _ELLIPSIS


class _Plan:
    """What the card will say, and how to say less when it does not fit."""

    def __init__(self, article: Article, max_messages: int) -> None:
        self.article = article
        marked, self.title = strip_breaking(article.title)
        self.breaking = article.breaking or marked
        self.lead = article.lead
        # What can never fit is left out at once: shrinking one item at a time would cost
        # time quadratic in the number of items.
        room, entities = max_messages * MAX_TEXT, max_messages * MAX_ENTITIES
        self.key_points: list[KeyPoint] = _fitting(
            article.key_points, room, entities, 0, _MIN_KEY_POINT
        )
        self.paragraphs: list[str] = list(article.paragraphs)
        self.quotes: list[Quote] = _fitting(
            article.quotes, room, entities, 2, _MIN_QUOTE_LAST_RESORT
        )
        self.truncated = len(self.key_points) < len(article.key_points) or len(self.quotes) < len(
            article.quotes
        )

    def blocks(self) -> list[Block]:
        blocks = [self._header()]
        if self.lead:
            blocks.append(plain(self.lead))
        for index, point in enumerate(self.key_points):
            blocks.append(_key_point(point, PARAGRAPH if index == 0 else LINE))
        blocks.extend(self._story())
        if footer := self._footer():
            blocks.append(footer)
        return blocks

    def _story(self) -> Iterator[Block]:
        """Body paragraphs with each quote where it stands (after ``position`` paragraphs;
        quotes without a place come last)."""
        placed = sorted(
            range(len(self.quotes)),
            key=lambda i: (self.quotes[i].position is None, self.quotes[i].position or 0, i),
        )
        next_quote = 0
        for index, paragraph in enumerate(self.paragraphs):
            while next_quote < len(placed) and _before(self.quotes[placed[next_quote]], index):
                yield _quote(self.quotes[placed[next_quote]])
                next_quote += 1
            last = index == len(self.paragraphs) - 1
            if is_question(paragraph) or (not last and is_heading(paragraph)):
                yield Builder().tag("b", paragraph).block()
            else:
                yield plain(paragraph)
        for index in placed[next_quote:]:
            yield _quote(self.quotes[index])

    def shrink(self, overflow: int) -> None:
        """Say less, the least important first; every call makes the card shorter."""
        self.truncated = True
        for step in self._steps(overflow):
            if step:
                return
        raise AssertionError("a card of a title alone always fits")  # pragma: no cover

    def _steps(self, overflow: int) -> Iterator[bool]:
        yield self._drop(self.paragraphs, overflow, len)
        yield self._shorten_longest(self.quotes, overflow, _MIN_QUOTE)
        yield self._shorten_lead(overflow)
        yield self._shorten_longest(self.key_points, overflow, _MIN_KEY_POINT)
        yield self._drop_headings()
        yield self._shorten_longest(self.quotes, overflow, _MIN_QUOTE_LAST_RESORT)
        yield self._shorten_title()
        yield self._drop(self.quotes, overflow, lambda quote: len(quote.text))
        yield self._drop(self.key_points, overflow, lambda point: len(point.text))
        yield self._drop_lead()

    @staticmethod
    def _drop(items: list[Any], overflow: int, size: Any) -> bool:
        """Drop items from the end, as many as the overflow needs (at least one)."""
        if not items:
            return False
        dropped = 0
        while items and (dropped == 0 or dropped < overflow):
            dropped += size(items.pop()) + len(PARAGRAPH)
        return True

    @staticmethod
    def _shorten_longest(items: list[_Texted], overflow: int, minimum: int) -> bool:
        if not items:
            return False
        index = max(range(len(items)), key=lambda i: len(items[i].text))
        item = items[index]
        if len(item.text) <= minimum:
            return False
        text = _shorten(item.text, max(minimum, len(item.text) - overflow))
        items[index] = item.model_copy(update={"text": text})
        return True

    def _shorten_lead(self, overflow: int) -> bool:
        if not self.lead or len(self.lead) <= _MIN_LEAD:
            return False
        self.lead = _shorten(self.lead, max(_MIN_LEAD, len(self.lead) - overflow))
        return True

    def _drop_headings(self) -> bool:
        if not any(quote.heading for quote in self.quotes):
            return False
        self.quotes = [quote.model_copy(update={"heading": None}) for quote in self.quotes]
        return True

    def _shorten_title(self) -> bool:
        if len(self.title) <= _MIN_TITLE:
            return False
        self.title = _shorten(self.title, _MIN_TITLE)
        return True

    def _drop_lead(self) -> bool:
        if self.lead is None:
            return False
        self.lead = None
        return True

    def _header(self) -> Block:
        builder = Builder()
        if self.breaking:
            builder.text("🔴 فوری\n")
        return builder.tag("b", self.title).block()

    def _footer(self) -> Block | None:
        article = self.article
        builder = Builder()
        facts = []
        if article.published:
            facts.append(f"📅 {jalali.format_date(article.published)}")
        if article.byline and article.byline not in _UNSHOWN_BYLINES:
            facts.append(article.byline)
        if article.id.isdigit():
            facts.append(f"کد خبر {to_persian_digits(article.id)}")
        if facts:
            builder.text(" · ".join(facts))
        if article.short_url and article.short_link:
            label = _shorten(article.short_link, _MAX_LINK_LABEL)
            builder.line().text("🔗 ").link(label, article.short_url)
        elif article.url:
            label = _shorten(re.sub(r"^https?://(www\.)?", "", article.url), _MAX_LINK_LABEL)
            builder.line().text("🔗 ").link(label, article.url)
        if hashtags := _hashtags(article.tags):
            builder.line().text(" ".join(hashtags), entities=len(hashtags))
        if self.truncated and article.link:
            builder.line().text("📖 ").link("ادامه مطلب", article.link)
        footer = builder.block()
        return footer if footer.text else None


def _before(quote: Quote, paragraph: int) -> bool:
    return quote.position is not None and quote.position <= paragraph


def _fitting(
    items: list[_Texted], room: int, entities: int, entities_each: int, shortest: int
) -> list[_Texted]:
    """The items from the start that could at best fit in ``room`` UTF-16 units and
    ``entities`` entities (a key point's label is one more), each counted at the length it
    may be shortened to: the rest can never be shown."""
    used = count = 0
    for index, item in enumerate(items):
        label = item.label if isinstance(item, KeyPoint) else item.speaker
        # UTF-16 units are at least as many as characters.
        used += min(len(item.text), shortest) + len(label or "") + len(LINE)
        count += entities_each + (1 if isinstance(item, KeyPoint) and item.label else 0)
        if used > room or count > entities:
            return items[:index]
    return list(items)


def _key_point(point: KeyPoint, sep: str) -> Block:
    builder = Builder().text("🔹 ")
    if point.label:
        builder.tag("b", f"{point.label}:").text(" ")
    return builder.text(point.text).block(sep)


def _quote(quote: Quote) -> Block:
    builder = Builder()
    if quote.heading:
        builder.tag("b", quote.heading).text(LINE)
    who = f"{quote.speaker}، {quote.role}:" if quote.role else f"{quote.speaker}:"
    builder.text("💬 ").tag("b", who).text(LINE)
    expandable = " expandable" if len(quote.text) > _EXPANDABLE_QUOTE else ""
    return builder.tag("blockquote", quote.text, expandable).block()


def _hashtags(tags: list[str]) -> list[str]:
    """#tags a reader can tap: words joined by «_» (Telegram ends a hashtag at a space)."""
    result: list[str] = []
    for tag in tags:
        # Telegram keeps a half-space inside a hashtag: #جام_ملت‌های_اروپا.
        word = _HASHTAG_JUNK.sub("_", tag).strip("_" + ZWNJ)
        if word and len(word) <= _MAX_HASHTAG and f"#{word}" not in result:
            result.append(f"#{word}")
            if len(result) == _MAX_TAGS:
                break
    return result
