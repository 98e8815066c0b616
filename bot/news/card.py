"""Article → the message card(s) sent to Telegram: sendMessage payloads in HTML mode.

Layout::

    🔴 فوری                            (breaking only)
    <b>title</b>

    lead

    🔹 <b>label:</b> text                (one line per key point)

    body paragraphs                     (when they fit)

    <b>sub-heading</b>
    💬 <b>speaker، role:</b>
    <blockquote>quote</blockquote>       (expandable when long)

    📅 پنج‌شنبه ۲۴ مهر ۱۴۰۴ · کد ۲۶۵۲۴۰
    🔗 short link
    #hashtags
    📖 ادامه مطلب                        (when something had to be left out)

A card is at most two messages, each within Telegram's limits (4096 UTF-16 units of visible
text, 100 entities). Text is split between them at paragraph, then sentence boundaries; what
still does not fit is cut in this order: body paragraphs, then the longest quotes, the lead,
the key points, and a «ادامه مطلب» link is added. The card is built from blocks whose visible
length and entity count are known as they are made, so no HTML is ever parsed back.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.news import jalali
from bot.news.article import Article, KeyPoint, Quote
from bot.news.persian import ZWNJ, to_persian_digits

_Texted = TypeVar("_Texted", KeyPoint, Quote)

CARD_VERSION = 1
"""Bumped whenever the rendering changes, so cached cards are rebuilt."""

MAX_TEXT = 4096
MAX_ENTITIES = 100
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
_ELLIPSIS = "…"
_PARAGRAPH = "\n\n"
_LINE = "\n"
# The lookbehind starts a match only at the first mark of a run, so a run of thousands of
# dots costs one pass, not one per dot.
_SENTENCE_END = re.compile(r"(?<![.!?؟؛…])[.!?؟؛…]++[»\")]*+(?=\s)|\n")
_HASHTAG_JUNK = re.compile(r"[^\w]+")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class CardMessage:
    """One message of a card: its HTML and the text a reader sees."""

    html: str
    text: str

    def payload(self) -> dict[str, Any]:
        """Exactly what goes to sendMessage (chat_id aside)."""
        return {
            "text": self.html,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }


def render(article: Article, max_messages: int = MAX_MESSAGES) -> list[CardMessage]:
    """The card of an article: one or two messages (one where only one can go, as in an inline
    result), always valid for Telegram."""
    plan = _Plan(article)
    while True:
        blocks = plan.blocks()
        if (messages := _pack(blocks, max_messages)) is not None:
            return messages
        overflow = sum(b.length + len(b.sep) for b in blocks) - max_messages * MAX_TEXT
        plan.shrink(max(overflow, 0) + 200)


def payloads(article: Article) -> list[dict[str, Any]]:
    return [message.payload() for message in render(article)]


# ---------------------------------------------------------------------------------------------
# Blocks: pieces of a card that know their HTML, visible length and entity count.


@dataclass
class _Block:
    html: str
    text: str
    entities: int
    sep: str = _PARAGRAPH
    plain: bool = False
    """Plain text may be split between messages at sentence boundaries."""
    length: int = field(init=False)

    def __post_init__(self) -> None:
        self.length = utf16_len(self.text)


class _Builder:
    def __init__(self) -> None:
        self._html: list[str] = []
        self._text: list[str] = []
        self._entities = 0

    def text(self, value: str, entities: int = 0) -> _Builder:
        """Plain text; ``entities`` counts those Telegram finds in it itself (#hashtags)."""
        self._html.append(_escape(value))
        self._text.append(value)
        self._entities += entities
        return self

    def line(self) -> _Builder:
        """Start a new line, unless nothing has been written yet."""
        return self.text(_LINE) if self._text else self

    def tag(self, name: str, value: str, attrs: str = "") -> _Builder:
        self._html.append(f"<{name}{attrs}>{_escape(value)}</{name}>")
        self._text.append(value)
        self._entities += 1
        return self

    def link(self, label: str, href: str) -> _Builder:
        return self.tag("a", label, f' href="{html.escape(href, quote=True)}"')

    def block(self, sep: str = _PARAGRAPH) -> _Block:
        return _Block("".join(self._html), "".join(self._text), self._entities, sep)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _plain(text: str, sep: str = _PARAGRAPH) -> _Block:
    block = _Builder().text(text).block(sep)
    block.plain = True
    return block


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

    def __init__(self, article: Article) -> None:
        self.article = article
        self.title = article.title
        self.lead = article.lead
        self.key_points: list[KeyPoint] = list(article.key_points)
        self.paragraphs: list[str] = list(article.paragraphs)
        self.quotes: list[Quote] = list(article.quotes)
        self.truncated = False

    def blocks(self) -> list[_Block]:
        blocks = [self._header()]
        if self.lead:
            blocks.append(_plain(self.lead))
        for index, point in enumerate(self.key_points):
            blocks.append(_key_point(point, _PARAGRAPH if index == 0 else _LINE))
        blocks.extend(_plain(paragraph) for paragraph in self.paragraphs)
        blocks.extend(_quote(quote) for quote in self.quotes)
        if footer := self._footer():
            blocks.append(footer)
        return blocks

    def shrink(self, overflow: int) -> None:
        """Say less, the least important first; every call makes the card shorter."""
        self.truncated = True
        for step in self._steps(overflow):
            if step:
                return
        raise AssertionError("a card of a title alone always fits")  # pragma: no cover

    def _steps(self, overflow: int) -> Iterator[bool]:
        yield self._drop(self.paragraphs)
        yield self._shorten_longest(self.quotes, overflow, _MIN_QUOTE)
        yield self._shorten_lead(overflow)
        yield self._shorten_longest(self.key_points, overflow, _MIN_KEY_POINT)
        yield self._drop_headings()
        yield self._shorten_longest(self.quotes, overflow, _MIN_QUOTE_LAST_RESORT)
        yield self._shorten_title()
        yield self._drop(self.quotes)
        yield self._drop(self.key_points)
        yield self._drop_lead()

    @staticmethod
    def _drop(items: list[Any]) -> bool:
        if items:
            items.pop()
            return True
        return False

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

    def _header(self) -> _Block:
        builder = _Builder()
        if self.article.breaking:
            builder.text("🔴 فوری\n")
        return builder.tag("b", self.title).block()

    def _footer(self) -> _Block | None:
        article = self.article
        builder = _Builder()
        facts = []
        if article.published:
            facts.append(f"📅 {jalali.format_date(article.published)}")
        if article.id.isdigit():
            facts.append(f"کد {to_persian_digits(article.id)}")
        if facts:
            builder.text(" · ".join(facts))
        if article.short_url and article.short_link:
            label = _shorten(article.short_link, _MAX_LINK_LABEL)
            builder.line().text("🔗 ").link(label, article.short_url)
        if hashtags := _hashtags(article.tags):
            builder.line().text(" ".join(hashtags), entities=len(hashtags))
        if self.truncated and article.link:
            builder.line().text("📖 ").link("ادامه مطلب", article.link)
        footer = builder.block()
        return footer if footer.text else None


def _key_point(point: KeyPoint, sep: str) -> _Block:
    builder = _Builder().text("🔹 ")
    if point.label:
        builder.tag("b", f"{point.label}:").text(" ")
    return builder.text(point.text).block(sep)


def _quote(quote: Quote) -> _Block:
    builder = _Builder()
    if quote.heading:
        builder.tag("b", quote.heading).text(_LINE)
    who = f"{quote.speaker}، {quote.role}:" if quote.role else f"{quote.speaker}:"
    builder.text("💬 ").tag("b", who).text(_LINE)
    expandable = " expandable" if len(quote.text) > _EXPANDABLE_QUOTE else ""
    return builder.tag("blockquote", quote.text, expandable).block()


def _hashtags(tags: list[str]) -> list[str]:
    """#tags a reader can tap: words joined by «_» (Telegram ends a hashtag at a space)."""
    result: list[str] = []
    for tag in tags:
        word = _HASHTAG_JUNK.sub("_", tag.replace(ZWNJ, "_")).strip("_")
        if word and len(word) <= _MAX_HASHTAG and f"#{word}" not in result:
            result.append(f"#{word}")
    return result[:_MAX_TAGS]


# ---------------------------------------------------------------------------------------------
# Packing blocks into messages.


@dataclass
class _Message:
    html: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    length: int = 0
    entities: int = 0

    def room(self, sep: str) -> int:
        return MAX_TEXT - self.length - (len(sep) if self.text else 0)

    def add(self, block: _Block) -> None:
        if self.text:
            self.html.append(block.sep)
            self.text.append(block.sep)
            self.length += len(block.sep)
        self.html.append(block.html)
        self.text.append(block.text)
        self.length += block.length
        self.entities += block.entities

    def fits(self, block: _Block) -> bool:
        return block.length <= self.room(block.sep) and (
            self.entities + block.entities <= MAX_ENTITIES
        )

    def done(self) -> CardMessage:
        return CardMessage("".join(self.html), "".join(self.text))


def _pack(blocks: list[_Block], max_messages: int) -> list[CardMessage] | None:
    """Blocks laid into messages in order; None when they need more than `max_messages`."""
    messages = [_Message()]
    for block in blocks:
        current = messages[-1]
        if current.fits(block):
            current.add(block)
            continue
        if block.plain:
            rest = block.text
            while rest:
                current = messages[-1]
                head, rest = _split_to_fit(rest, current.room(block.sep), not current.text)
                if head:
                    current.add(_plain(head, block.sep))
                if rest and current.text:
                    messages.append(_Message())
                if len(messages) > max_messages:
                    return None
            continue
        messages.append(_Message())
        if len(messages) > max_messages or not messages[-1].fits(block):
            return None
        messages[-1].add(block)
    return [message.done() for message in messages]


def _split_to_fit(text: str, room: int, empty: bool) -> tuple[str, str]:
    """The longest head of text that fits in room, cut at a sentence end; then at a space and
    finally anywhere only when the message is still empty (a sentence longer than a message)."""
    if utf16_len(text) <= room:
        return text, ""
    if room <= 0:
        return "", text
    best = length = 0
    for match in _SENTENCE_END.finditer(text):
        length += utf16_len(text[best : match.end()])  # text[:best] is counted already
        if length > room:
            break
        best = match.end()
    if best == 0 and empty:
        window = _prefix_within(text, room)
        space = text.rfind(" ", 0, window + 1)
        best = space if space > 0 else window
    head, rest = text[:best].rstrip(), text[best:].lstrip()
    return head, rest


def _prefix_within(text: str, room: int) -> int:
    """The number of characters of text that fit in ``room`` UTF-16 units."""
    end = min(len(text), room)
    while end > 0 and utf16_len(text[:end]) > room:
        end -= max(1, (utf16_len(text[:end]) - room) // 2)
    return end
