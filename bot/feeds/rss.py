"""RSS 2.0 and Atom feeds (feedparser, given bytes: it never fetches anything itself) → the
items the poller makes articles of; when to poll a feed next.
"""

from __future__ import annotations

import contextlib
import html
import io
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from bot.feeds.extract import clean_link, html_lines
from bot.feeds.fetch import FetchError, Response
from bot.news.article import stable_id
from bot.news.parse import source_of

MAX_DELAY = 6 * 3600.0
"""Seconds: the longest wait between two polls of a feed, whatever its errors or <ttl> say."""
_ASCII_SPACE = re.compile(r"[ \t\r\f\v]+")
_DESCRIPTION_IMAGE = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']""", re.I)
_IMAGE_PATH = re.compile(r"\.(?:jpe?g|png|webp|gif)$", re.I)


@dataclass(frozen=True)
class Item:
    """One feed entry, as much of it as an article needs."""

    key: str
    """What identifies it in its feed: the guid, else the link."""
    link: str | None
    title: str
    summary: list[str]
    """The summary (or full content, when the feed carries it) as lines, HTML stripped."""
    published: datetime | None
    tags: list[str]
    image: str | None = None
    """The item's picture: media:content, an image enclosure, else media:thumbnail."""


def parse_feed(response: Response) -> Any:
    """feedparser's result; FetchError when the bytes are no RSS or Atom feed."""
    # A file-like object: given bytes or a str, feedparser may read a local file of that name
    # or fetch a URL.
    parsed = feedparser.parse(
        io.BytesIO(response.body),
        response_headers={
            "content-type": f"{response.content_type}; charset={response.charset}"
            if response.charset
            else response.content_type,
            "content-location": response.url,
        },
    )
    if not parsed.get("version") and not parsed.get("entries"):
        problem = parsed.get("bozo_exception")
        raise FetchError("not an RSS or Atom feed" + (f" ({problem})" if problem else ""))
    return parsed


def poll_period(interval: float, ttl: object) -> float:
    """Seconds until the next poll: the interval, or the feed's longer <ttl> (minutes) up to
    MAX_DELAY."""
    try:
        minutes = float(str(ttl).strip())
    except ValueError:
        return interval
    return max(interval, min(minutes * 60, MAX_DELAY))


def retry_delay(interval: float, failures: int) -> float:
    """Seconds until a failing feed is tried again: interval × 2^failures, up to MAX_DELAY."""
    return min(interval * 2.0 ** min(failures, 32), max(MAX_DELAY, interval))


def feed_source(url: str) -> str | None:
    """The source's name from a URL's host, as bot.news.parse names sources ("hamshahri"); None
    for an address, which names no source."""
    host = urlsplit(url).hostname or ""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return None
    return source_of(host)


def _text(detail: Any, value: object) -> str:
    """A feed text field as plain text (feedparser says whether it holds HTML)."""
    if not isinstance(value, str):
        return ""
    if detail and "html" in str(detail.get("type", "")):
        return " ".join(html_lines(value))
    return _ASCII_SPACE.sub(" ", value).strip()


def _entry_link(entry: Any) -> str | None:
    links = [entry.get("link")]
    links += [
        link.get("href")
        for link in entry.get("links", [])
        if link.get("rel", "alternate") == "alternate"
    ]
    return next((clean for value in links if (clean := clean_link(value))), None)


def _entry_date(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)  # feedparser: UTC
    except (TypeError, ValueError):
        return None


def _is_image(kind: object, medium: object, url: str) -> bool:
    if str(medium or "") == "image" or str(kind or "").startswith("image/"):
        return True
    return not kind and not medium and bool(_IMAGE_PATH.search(urlsplit(url).path))


def _entry_image(entry: Any) -> str | None:
    """media:content (an image), else an image enclosure, else media:thumbnail, else an
    <img> in the description."""
    candidates = [
        media.get("url")
        for media in entry.get("media_content", [])
        if _is_image(media.get("type"), media.get("medium"), str(media.get("url", "")))
    ]
    candidates += [
        link.get("href")
        for link in entry.get("links", [])
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/")
    ]
    candidates += [thumb.get("url") for thumb in entry.get("media_thumbnail", [])]
    # Many Persian feeds put the picture at the head of the description instead.
    if found := _DESCRIPTION_IMAGE.search(str(entry.get("summary") or "")):
        candidates.append(html.unescape(found.group(1)))
    return next((clean for value in candidates if (clean := clean_link(value))), None)


def feed_items(parsed: Any) -> list[Item]:
    """The entries of a parsed feed, in its order, each once."""
    items: dict[str, Item] = {}
    for entry in parsed.get("entries", []):
        link = _entry_link(entry)
        title = _text(entry.get("title_detail"), entry.get("title"))
        content = entry.get("content") or []
        body = max(content, key=lambda part: len(part.get("value", "")), default=None)
        summary = html_lines(body["value"]) if body else []
        if not summary and entry.get("summary"):
            summary = html_lines(entry["summary"])
        key = entry.get("id") or link or (stable_id(title, *summary) if title else None)
        if not key or key in items:
            continue
        tags = [tag.get("term") or tag.get("label") or "" for tag in entry.get("tags", [])]
        items[key] = Item(
            key=key,
            link=link,
            title=title,
            summary=summary,
            published=_entry_date(entry),
            tags=[t for t in tags if t],
            image=_entry_image(entry),
        )
    return list(items.values())
