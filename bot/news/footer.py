"""What the compact, photo and rich cards share: text cut to a length, the facts line
(date, source, code) and the link a card shows."""

from __future__ import annotations

import re

from bot.news import jalali
from bot.news.article import Article
from bot.news.blocks import split_to_fit, utf16_len
from bot.news.card import _hashtags as hashtags
from bot.news.persian import to_persian_digits

__all__ = ["facts", "hashtags", "link_label", "shorten"]

_MAX_LINK_LABEL = 50
_UNSHOWN_BYLINES = frozenset({"اشاره"})  # a label, not who wrote the article
_ELLIPSIS = "…"
_SCHEME = re.compile(r"^https?://(www\.)?")


def shorten(text: str, limit: int) -> str:
    """Text within ``limit`` UTF-16 units: whole sentences when at least half of the room is
    used that way, else cut at a word with «…»."""
    if utf16_len(text) <= limit:
        return text
    head, _rest = split_to_fit(text, limit, True)
    if utf16_len(head) >= limit // 2 and head[-1:] in '.!?؟؛…»")':
        return head
    cut = text[: max(limit - 1, 1)]
    while utf16_len(cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ،,؛;:.-–") + _ELLIPSIS


def facts(article: Article) -> str:
    """📅 date · byline · code: the card's first footer line (empty when nothing is known)."""
    parts = []
    if article.published:
        parts.append(f"📅 {jalali.format_date(article.published)}")
    if article.byline and article.byline not in _UNSHOWN_BYLINES:
        parts.append(article.byline)
    if article.id.isdigit():
        parts.append(f"کد خبر {to_persian_digits(article.id)}")
    return " · ".join(parts)


def link_label(article: Article) -> tuple[str, str] | None:
    """The link a card shows (label, href): the source's short link, else the article."""
    if article.short_url and article.short_link:
        return shorten(article.short_link, _MAX_LINK_LABEL), article.short_url
    if article.url:
        return shorten(_SCHEME.sub("", article.url), _MAX_LINK_LABEL), article.url
    return None
