"""The whole article as one Rich Message (Bot API 10.1): sendRichMessage with
``rich_message = {"html": ..., "is_rtl": true}``.

Layout, in Telegram's rich HTML::

    <p><b>🔴 فوری</b></p>                                  (breaking only)
    <figure><img src="…"/><figcaption>caption<cite>credit</cite></figcaption></figure>
    <h1>title</h1>
    <p><b>lead</b></p>
    <ul><li><b>label:</b> text</li>…</ul>                  (the key points)
    <p>paragraph</p> … <h3>sub-heading</h3> …              (the story, quotes where they stand)
    <blockquote><p>quote</p><cite>speaker، role</cite></blockquote>
    <aside>short quote<cite>speaker، role</cite></aside>   (a pull quote for a short one)
    <footer>📅 date · source · code · 🔗 link · #tags</footer>

Telegram refuses a rich message over 32,768 characters or 500 blocks (list items and the
blocks inside a quotation count). Every part knows its visible length and block count as it
is made; an article that does not fit is cut at a block boundary, and a paragraph «… ادامه
در سایت» with the article's link says so. Cost is linear in the article's parts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from bot.news.article import Article, KeyPoint, Quote
from bot.news.blocks import utf16_len
from bot.news.footer import facts, hashtags, link_label
from bot.news.layout import is_heading, is_question, strip_breaking

MAX_CHARS = 32_768
"""Visible text at most (counted in UTF-16 units, never fewer than characters)."""
MAX_BLOCKS = 500
"""Blocks at most, nested ones (list items, a quotation's paragraphs) included."""
PULL_QUOTE = 160
"""A quote this short stands as a pull quote; a longer one is a block quotation."""
MORE = "ادامه در سایت"

_MAX_TAGS = 10


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def attr(value: str) -> str:
    return html.escape(value, quote=True)


@dataclass(frozen=True)
class Part:
    """A top-level block of the message: its HTML, visible length and block count."""

    html: str
    length: int
    blocks: int


def _text_part(tag: str, text: str, blocks: int = 1, inner: str | None = None) -> Part:
    body = escape(text) if inner is None else inner
    return Part(f"<{tag}>{body}</{tag}>", utf16_len(text), blocks)


def payload(article: Article) -> dict[str, Any]:
    """The sendRichMessage payload of the whole article (chat_id aside)."""
    return {
        "method": "sendRichMessage",
        "rich_message": {"html": render(article), "is_rtl": True},
    }


def render(article: Article) -> str:
    # A block's text is counted with one more unit: the line break between blocks.
    head = _head(article)
    footer = _footer(article)
    more = _more(article)
    budget_chars = MAX_CHARS - footer.length - footer.blocks
    budget_blocks = MAX_BLOCKS - footer.blocks
    parts = list(head)
    chars = sum(part.length + part.blocks for part in head)
    blocks = sum(part.blocks for part in head)
    story = _story(article)
    for index, part in enumerate(story):
        last = index == len(story) - 1
        reserve_chars = 0 if last else more.length + more.blocks
        reserve_blocks = 0 if last else more.blocks
        if (
            chars + part.length + part.blocks + reserve_chars > budget_chars
            or blocks + part.blocks + reserve_blocks > budget_blocks
        ):
            room = budget_chars - chars - more.length - more.blocks - 1
            if part.html.startswith("<p>") and room > 200 and blocks + 2 <= budget_blocks:
                parts.append(_cut_paragraph(part, room))
            parts.append(more)
            break
        chars += part.length + part.blocks
        blocks += part.blocks
        parts.append(part)
    parts.append(footer)
    return "".join(part.html for part in parts)


def _head(article: Article) -> list[Part]:
    parts = []
    marked, title = strip_breaking(article.title)
    if article.breaking or marked:
        parts.append(_text_part("p", "🔴 فوری", inner="<b>🔴 فوری</b>"))
    if article.image is not None:
        parts.append(_figure(article))
    parts.append(_text_part("h1", title))
    if article.lead:
        parts.append(_text_part("p", article.lead, inner=f"<b>{escape(article.lead)}</b>"))
    if article.key_points:
        parts.append(_key_points(article.key_points))
    return parts


def _figure(article: Article) -> Part:
    image = article.image
    assert image is not None
    caption = ""
    length = 0
    if image.caption or image.credit:
        inner = escape(image.caption or "")
        length += utf16_len(image.caption or "")
        if image.credit:
            inner += f"<cite>{escape(image.credit)}</cite>"
            length += utf16_len(image.credit)
        caption = f"<figcaption>{inner}</figcaption>"
    return Part(f'<figure><img src="{attr(image.url)}"/>{caption}</figure>', length, 1)


def _key_points(points: list[KeyPoint]) -> Part:
    """The list, as many items as Telegram's limits could ever take (each item is two
    blocks: the item and its paragraph)."""
    items = []
    length = 0
    room = MAX_CHARS // 2
    for point in points[: (MAX_BLOCKS // 2 - 1) // 2]:
        label = f"<b>{escape(point.label)}:</b> " if point.label else ""
        text = f"{point.label}: {point.text}" if point.label else point.text
        if length + utf16_len(text) > room:
            break
        items.append(f"<li>{label}{escape(point.text)}</li>")
        length += utf16_len(text)
    return Part(f"<ul>{''.join(items)}</ul>", length, 1 + 2 * len(items))


def _who(quote: Quote) -> str:
    return f"{quote.speaker}، {quote.role}" if quote.role else quote.speaker


def _quote(quote: Quote) -> Part:
    who = _who(quote)
    cite = f"<cite>{escape(who)}</cite>"
    length = utf16_len(quote.text) + utf16_len(who)
    if len(quote.text) <= PULL_QUOTE:
        return Part(f"<aside>{escape(quote.text)}{cite}</aside>", length, 1)
    return Part(f"<blockquote><p>{escape(quote.text)}</p>{cite}</blockquote>", length, 2)


def _story(article: Article) -> list[Part]:
    """Body paragraphs with each quote where it stands (after ``position`` paragraphs;
    quotes without a place come last), a quote's sub-heading before it."""
    quotes = sorted(
        article.quotes, key=lambda q: (q.position is None, q.position or 0)
    )  # stable: quotes at one place keep their order
    parts: list[Part] = []
    next_quote = 0

    def quotes_until(paragraph: int | None) -> None:
        nonlocal next_quote
        while next_quote < len(quotes):
            quote = quotes[next_quote]
            if paragraph is not None and (quote.position is None or quote.position > paragraph):
                return
            if quote.heading:
                parts.append(_text_part("h3", quote.heading))
            parts.append(_quote(quote))
            next_quote += 1

    paragraphs = article.paragraphs
    for index, paragraph in enumerate(paragraphs):
        quotes_until(index)
        last = index == len(paragraphs) - 1
        if not last and is_heading(paragraph):
            parts.append(_text_part("h3", paragraph))
        elif is_question(paragraph):
            parts.append(_text_part("p", paragraph, inner=f"<b>{escape(paragraph)}</b>"))
        else:
            parts.append(_text_part("p", paragraph))
    quotes_until(None)
    return parts


def _cut_paragraph(part: Part, room: int) -> Part:
    """The head of a paragraph that fits in ``room`` (whole words, «…»)."""
    text = html.unescape(part.html[len("<p>") : -len("</p>")])
    while utf16_len(text) > room - 1:
        text = text[: max(room - 1, 1) - (utf16_len(text) - len(text))]
        space = text.rfind(" ")
        if space > len(text) * 0.6:
            text = text[:space]
    return _text_part("p", text.rstrip() + "…")


def _more(article: Article) -> Part:
    if article.link:
        return Part(f'<p>… <a href="{attr(article.link)}">{MORE}</a></p>', len(MORE) + 2, 1)
    return _text_part("p", "…")


def _footer(article: Article) -> Part:
    pieces: list[str] = []
    length = 0
    if line := facts(article):
        pieces.append(escape(line))
        length += utf16_len(line)
    if link := link_label(article):
        label, href = link
        pieces.append(f'🔗 <a href="{attr(href)}">{escape(label)}</a>')
        length += utf16_len(label) + 3
    tags = hashtags(article.tags)[:_MAX_TAGS]
    if tags:
        pieces.append(escape(" ".join(tags)))
        length += utf16_len(" ".join(tags))
    if not pieces:
        return Part("", 0, 0)
    length += 3 * (len(pieces) - 1)
    return Part(f"<footer>{' · '.join(pieces)}</footer>", length, 1)
