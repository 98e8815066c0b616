"""The feed poller: RSS 2.0 and Atom feeds (KHABAR_FEEDS) → articles, stored and announced
like any other, so the channels get them.

Inside `khabar run` every process runs a FeedPoller; only the holder of a lease in Redis
polls. It polls once at start-up, then each feed on its own schedule, kept in Redis
(storage/feeds.py) so that any process can take over. One poll of one feed:

1. a conditional GET (If-None-Match / If-Modified-Since); a 304 ends it;
2. feedparser on the bytes (it never fetches anything itself);
3. each item the feed had not shown before (its guid, else its link): the page is fetched
   and its text extracted (the Nastooh CMS of Hamshahri Online, IRNA and Khabaronline by its
   markup, other sites with trafilatura), then structured by bot.parse (key points, quotes);
   without a usable page, the item's own title and summary make the article;
4. the articles stored with `announce=True`; the items marked seen; the next poll set.

Every fetch has a timeout, a size cap and at most MAX_REDIRECTS redirects. A feed that fails
(HTTP error, not a feed, too big, too slow) is logged and tried again later, backing off
exponentially; feeds are polled concurrently, each with its own error handling, so one bad
feed never holds up the others.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import email.utils
import io
import ipaddress
import logging
import re
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import feedparser
import lxml.etree
import lxml.html
import trafilatura
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from pydantic import ValidationError

from bot import metrics
from bot.article import Article, stable_id
from bot.config import Settings
from bot.parse import ParseError, describe_validation_error, parse_text, source_of
from bot.persian import ZWNJ, normalize, search_key, to_ascii_digits
from storage.articles import ArticleStore, Saved
from storage.feeds import FeedState, FeedStore
from storage.keys import Keys
from storage.locks import Lease

log = logging.getLogger("khabar.feeds")
_LINK_CODE = re.compile(r"/(?:news|fa/news)/(\d{3,12})(?:/|$)")

LEASE_SECONDS = 30.0
"""The poller's lease; renewed every third of it, during a poll too."""
MAX_DELAY = 6 * 3600.0
"""Seconds: the longest wait between two polls of a feed, whatever its errors or <ttl> say."""
MAX_REDIRECTS = 5
MAX_ITEMS = 100
"""New items made into articles per poll of one feed: a feed that suddenly shows its whole
archive is not news, and would mean hundreds of page fetches. The older rest is marked seen."""
PAGE_CONCURRENCY = 4
"""Article pages fetched at once by one poller, for all feeds: polite to the sites."""
STOP_GRACE = 5.0
MAX_TAGS = 20
USER_AGENT = "khabar-feed-poller/0.1"
FEED_ACCEPT = ("application/rss+xml, application/atom+xml;q=0.9, application/xml;q=0.8, "
               "text/xml;q=0.8, */*;q=0.1")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
COUNTS = ("feeds", "ok", "not_modified", "errors", "items", "stored", "updated", "unchanged",
          "skipped")
"""What poll_once reports: feeds polled and how each poll ended (ok, not_modified, errors);
new items, and what became of them (stored, updated, unchanged articles; skipped items)."""

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_LINK = re.compile(r"^https?://[^\s<>\"]+$")
_ASCII_SPACE = re.compile(r"[ \t\r\f\v]+")
_CODE = re.compile(r"کد\s*(?:مطلب|خبر)\s*[:：]?\s*([0-9۰-۹٠-٩]{1,20})")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_SECRET_PARAM = re.compile(
    r"((?:^|&)[^=&]*(?:token|key|secret|pass|auth|sig)[^=&]*=)[^&]*", re.I)
_BLOCKS = frozenset({"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                     "blockquote", "section", "article", "tr", "table", "pre", "figure"})
# trafilatura drops every non-printing character, the half-space (ZWNJ) too, which Persian
# needs inside words; a printing stand-in no Persian text uses carries it through.
_ZWNJ_STAND_IN = "\u2058"


def _has_class(name: str) -> str:
    """An XPath test for one class among several (cssselect is not a dependency)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


# The Nastooh CMS (Hamshahri Online, IRNA, Khabaronline): its article markup.
_NASTOOH_TITLE = f"//h1[{_has_class('title')}]"
_NASTOOH_LEAD = f"//*[{_has_class('introtext')}]"
_NASTOOH_BODY = f"//*[{_has_class('item-body')}]//*[{_has_class('item-text')}]"
_NASTOOH_TAGS = f"//*[{_has_class('tags')}]//a"
_NASTOOH_CODE = f"//*[{_has_class('item-code')}]"
_NASTOOH_SHORT_LINK = (f"//*[{_has_class('short-link')}]//input/@value"
                       f" | //*[{_has_class('short-link')}]//a/@href")


class FetchError(Exception):
    """A fetch or a feed that gave nothing usable; the message says why, for the log."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    status: int
    url: str
    """Where the answer came from, after redirects."""
    body: bytes
    content_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None


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


@dataclass
class Page:
    """What an article page holds. Lines stay raw: bot.parse normalizes them, and a leading
    no-break space is kept, since it boxes a key point."""

    title: str | None = None
    lead: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    code: str | None = None
    short_link: str | None = None
    published: date | None = None


# ---------------------------------------------------------------------------------------------
# Fetching.


def shown(url: str) -> str:
    """The URL for logs: no password, no token-like query values."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = _SECRET_PARAM.sub(r"\1***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    return None


def _public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


class PublicResolver(AbstractResolver):
    """Resolves as usual but keeps only public addresses: feeds are other people's, and an
    item linking to (or redirecting to) an address inside the newsroom's network would have
    that page fetched and its text published."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = [a for a in await self._inner.resolve(host, port, family) if _public(a["host"])]
        if not found:
            raise OSError(f"{host} has no public address")
        return found

    async def close(self) -> None:
        await self._inner.close()


async def _public_hop(session: aiohttp.ClientSession, context: Any,
                      params: aiohttp.TraceRequestStartParams) -> None:
    # Every request, redirects included; host names are checked by PublicResolver, addresses
    # written in the URL (which are not resolved) here.
    host = params.url.host or ""
    with contextlib.suppress(ValueError):
        if not ipaddress.ip_address(host.strip("[]")).is_global:
            raise FetchError("a private or local address")


def feed_session(allow_private: bool) -> aiohttp.ClientSession:
    """The poller's HTTP client: public addresses only, unless KHABAR_FEED_ALLOW_PRIVATE."""
    if allow_private:
        return aiohttp.ClientSession()
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_public_hop)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=PublicResolver()),
                                 trace_configs=[trace])


async def fetch(
    session: aiohttp.ClientSession, url: str, *, accept: str, timeout: float, max_bytes: int,
    headers: Mapping[str, str] | None = None, html_only: bool = False,
) -> Response:
    """GET with a timeout over the whole exchange, a size cap (the body is read no further)
    and at most MAX_REDIRECTS redirects. A 304 comes back with an empty body; any other
    answer but a 2xx raises FetchError, and so does a non-HTML page when `html_only`."""
    request = {"Accept": accept, "User-Agent": USER_AGENT, **(headers or {})}
    try:
        async with asyncio.timeout(timeout), session.get(
            # aiohttp counts the answer that would need one redirect too many as the limit.
            url, headers=request, max_redirects=MAX_REDIRECTS + 1,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            if response.status != 304 and not 200 <= response.status < 300:
                retry = _retry_after(response.headers) if response.status in (429, 503) else None
                raise FetchError(f"HTTP {response.status}", retry)
            if html_only and response.content_type not in _HTML_TYPES:
                raise FetchError(f"not an HTML page ({response.content_type})")
            if (response.content_length or 0) > max_bytes:
                raise FetchError(f"larger than {max_bytes} bytes ({response.content_length})")
            body = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"larger than {max_bytes} bytes")
            return Response(
                status=response.status, url=str(response.url), body=bytes(body),
                content_type=response.content_type, charset=response.charset,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
    except TimeoutError:
        raise FetchError(f"no complete answer within {timeout:g} s") from None
    except aiohttp.TooManyRedirects:
        raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
    # The texts of these two hold the URL, which may hold a password: left out.
    except aiohttp.InvalidURL:
        raise FetchError("an invalid URL (or a redirect to one)") from None
    except aiohttp.ClientResponseError as error:
        raise FetchError(f"{type(error).__name__}: HTTP {error.status} {error.message}") from None
    except aiohttp.ClientError as error:
        raise FetchError(f"{type(error).__name__}: {error}") from None


# ---------------------------------------------------------------------------------------------
# Feeds.


def parse_feed(response: Response) -> Any:
    """feedparser's result; FetchError when the bytes are no RSS or Atom feed."""
    # A file-like object: given bytes or a str, feedparser may read a local file of that name
    # or fetch a URL.
    parsed = feedparser.parse(io.BytesIO(response.body), response_headers={
        "content-type": f"{response.content_type}; charset={response.charset}"
        if response.charset else response.content_type,
        "content-location": response.url,
    })
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
    """The source's name from a URL's host, as bot.parse names sources ("hamshahri"); None
    for an address, which names no source."""
    host = urlsplit(url).hostname or ""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return None
    return source_of(host)


def _clean_link(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    link = value.strip().replace(" ", "%20")
    return link if _LINK.match(link) else None


def _text(detail: Any, value: object) -> str:
    """A feed text field as plain text (feedparser says whether it holds HTML)."""
    if not isinstance(value, str):
        return ""
    if detail and "html" in str(detail.get("type", "")):
        return " ".join(html_lines(value))
    return _ASCII_SPACE.sub(" ", value).strip()


def _entry_link(entry: Any) -> str | None:
    links = [entry.get("link")]
    links += [link.get("href") for link in entry.get("links", [])
              if link.get("rel", "alternate") == "alternate"]
    return next((clean for value in links if (clean := _clean_link(value))), None)


def _entry_date(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)  # feedparser: UTC
    except (TypeError, ValueError):
        return None


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
        items[key] = Item(key=key, link=link, title=title, summary=summary,
                          published=_entry_date(entry), tags=[t for t in tags if t])
    return list(items.values())


# ---------------------------------------------------------------------------------------------
# Pages.


def html_lines(html: str) -> list[str]:
    """An HTML fragment's text, a line per paragraph or <br>."""
    if not html.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return [line for line in (_ASCII_SPACE.sub(" ", html).strip(),) if line]
    return _element_lines(root)


def _element_lines(element: Any) -> list[str]:
    """The text of an element, a line per block or <br>; spaces collapsed, no-break spaces
    kept (str.strip would drop the ones that box a key point)."""
    for child in element.iter():
        if child.tag == "br":
            child.tail = "\n" + (child.tail or "")
        elif child.tag in _BLOCKS and child is not element:
            child.text = "\n" + (child.text or "")
            child.tail = "\n" + (child.tail or "")
    lines = (_ASCII_SPACE.sub(" ", line).strip(" \n") for line in
             element.text_content().split("\n"))
    return [line for line in lines if line.strip()]


def _html_tree(body: bytes, charset: str | None) -> Any:
    """The page as an lxml tree, decoded by the declared charset (header, then <meta>), else
    UTF-8, which nearly every Persian site uses; None when it is no HTML at all."""
    if charset is None and (found := _META_CHARSET.search(body[:4096])):
        charset = found.group(1).decode("ascii", "replace")
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError:
        charset = None
    parser = lxml.html.HTMLParser(encoding=charset or "utf-8", remove_comments=True)
    try:
        tree = lxml.html.document_fromstring(body, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None
    for junk in tree.xpath("//script | //style | //noscript | //template"):
        junk.drop_tree()
    return tree


def _page_code(tree: Any) -> str | None:
    """The source's article code, «کد خبر / کد مطلب»: Nastooh's own box, else anywhere."""
    for text in (" ".join(box.text_content() for box in tree.xpath(_NASTOOH_CODE)),
                 tree.text_content()):
        if match := _CODE.search(text):
            return to_ascii_digits(match.group(1))
    return None


def nastooh_page(tree: Any) -> Page | None:
    """Title, lead, body paragraphs and tags by the Nastooh CMS's markup; None when the page
    is not laid out that way."""
    bodies = tree.xpath(_NASTOOH_BODY)
    if not bodies:
        return None
    paragraphs: list[str] = []
    for body in bodies:
        blocks = body.xpath(".//p")
        for block in blocks or [body]:
            paragraphs += _element_lines(block)
    titles = [" ".join(_element_lines(h1)) for h1 in tree.xpath(_NASTOOH_TITLE)]
    leads = [" ".join(_element_lines(lead)) for lead in tree.xpath(_NASTOOH_LEAD)]
    links = [link for value in tree.xpath(_NASTOOH_SHORT_LINK)
             if (link := _clean_link(value)) and urlsplit(link).path.strip("/")]
    return Page(
        title=next((t for t in titles if t), None),
        lead=next((lead for lead in leads if lead), None),
        paragraphs=paragraphs,
        tags=[a.text_content().strip() for a in tree.xpath(_NASTOOH_TAGS)],
        code=_page_code(tree),
        short_link=links[0] if links else None,
    )


def generic_page(tree: Any, url: str) -> Page | None:
    """The main text of any other page, by trafilatura (offline: it is given the tree)."""
    for element in tree.iter():
        if isinstance(element.tag, str):
            if element.text and ZWNJ in element.text:
                element.text = element.text.replace(ZWNJ, _ZWNJ_STAND_IN)
            if element.tail and ZWNJ in element.tail:
                element.tail = element.tail.replace(ZWNJ, _ZWNJ_STAND_IN)
    document = trafilatura.bare_extraction(
        tree, url=url, with_metadata=True, include_comments=False, include_tables=False,
        include_images=False, deduplicate=False,
    )

    def restored(text: object) -> str:
        return str(text or "").replace(_ZWNJ_STAND_IN, ZWNJ)

    lines = [line for line in restored(getattr(document, "text", "")).split("\n")
             if line.strip()]
    if not lines:
        return None
    tags = [tag.strip() for value in getattr(document, "tags", None) or []
            for tag in re.split("[،,]", restored(value))]
    published = None
    with contextlib.suppress(TypeError, ValueError):
        published = date.fromisoformat(str(getattr(document, "date", "")))
    return Page(title=restored(getattr(document, "title", "")) or None, paragraphs=lines,
                tags=tags, code=_page_code(tree), published=published)


def read_page(response: Response) -> Page | None:
    """What an article page holds, by the Nastooh rules, else trafilatura; None when nothing
    could be read from it."""
    tree = _html_tree(response.body, response.charset)
    if tree is None:
        return None
    page = nastooh_page(tree)
    if page is None or not (page.lead or page.paragraphs):
        page = generic_page(tree, response.url)
    return page


# ---------------------------------------------------------------------------------------------
# Articles.


def _tags(values: Iterable[str]) -> list[str]:
    tags: dict[str, str] = {}
    for value in values:
        tag = normalize(value)[:100]
        if tag and search_key(tag) not in tags:
            tags[search_key(tag)] = tag
    return list(tags.values())[:MAX_TAGS]


def _article_id(item: Item, code: str | None) -> str:
    """The page's article code, else a stable hash of the link: the same item always gets
    the same id, with or without its page."""
    if code and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", code):
        return code
    # Nastooh links carry the code too (/news/948104/...): the same id when the page fails.
    if item.link and (found := _LINK_CODE.search(urlsplit(item.link).path)):
        return found.group(1)
    return stable_id(item.link or item.key)


def page_article(page: Page, item: Item, source: str | None) -> Article:
    """The page's text structured as a raw page is (bot.parse: key points, quotes); the
    item gives the link, the date, and the title or tags the page lacks."""
    lines = [page.title or item.title, page.lead or "", *page.paragraphs]
    if page.short_link:
        lines.append(f"لینک کوتاه : {page.short_link}")
    parsed = parse_text("\n".join(line for line in lines if line.strip()),
                        name=shown(item.link or item.key), source=source)
    return Article.trusted({
        **parsed.model_dump(),
        "id": _article_id(item, page.code),
        "source": source,
        "url": item.link or parsed.url,
        "published": item.published or parsed.published or page.published,
        "tags": _tags(page.tags or item.tags),
    })


def item_article(item: Item, source: str | None) -> Article:
    """The feed item alone: its title, its summary as lead and paragraphs, its date."""
    lines = list(item.summary)
    if lines and search_key(lines[0]) == search_key(item.title):
        lines = lines[1:]  # many feeds repeat the title as the summary
    return Article.model_validate({
        "id": _article_id(item, None),
        "source": source,
        "title": item.title,
        "lead": lines[0] if lines else None,
        "paragraphs": lines[1:],
        "published": item.published,
        "url": item.link,
        "tags": _tags(item.tags),
    })


def _published_order(article: Article) -> float:
    value = article.published
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    return float("inf")


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


# ---------------------------------------------------------------------------------------------
# The poller.


@dataclass
class FeedPoller:
    """Polls the feeds of `settings.feeds` into `store`. `start()` runs it in the background
    (only the lease holder among the processes polls); `poll_once()` polls what is due now,
    without the lease (tests, tools)."""

    store: ArticleStore
    settings: Settings
    session: aiohttp.ClientSession | None = None
    """Used as given, never closed; when None the poller makes its own and closes it."""
    lease_seconds: float = LEASE_SECONDS
    clock: Callable[[], float] = time.time
    state: FeedStore = field(init=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _pages: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(PAGE_CONCURRENCY), init=False)
    _next_due: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.state = FeedStore(self.store.redis, self.keys)

    @property
    def keys(self) -> Keys:
        return self.store.keys

    def start(self) -> None:
        """Poll in the background until `stop()`; nothing to do without feeds."""
        if not self.settings.feeds:
            log.info("no feeds configured (KHABAR_FEEDS): the feed poller stays idle")
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop polling (a poll under way is cut short: it is done again whole by whoever
        polls next) and release the lease."""
        self._stop.set()
        if self._task:
            await asyncio.wait([self._task], timeout=STOP_GRACE)
            if not self._task.done():
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

    async def poll_once(self) -> dict[str, int]:
        """Poll every feed that is due now; the counts of COUNTS."""
        if self.session is not None:
            return await self._poll(self.session, start_up=False)
        async with feed_session(self.settings.feed_allow_private) as session:
            return await self._poll(session, start_up=False)

    async def _run(self) -> None:
        async with contextlib.AsyncExitStack() as stack:
            session = self.session
            if session is None:
                session = await stack.enter_async_context(
                    feed_session(self.settings.feed_allow_private))
            lease = Lease(self.store.redis, self.keys.feed_poller(), self.lease_seconds)
            holding, start_up = False, True
            try:
                while not self._stop.is_set():
                    try:
                        holding = await lease.renew() if holding else await lease.acquire()
                        if holding:
                            holding = await self._poll_holding(lease, session, start_up)
                            start_up = False
                            wait = min(max(self._next_due - self.clock(), 1.0),
                                       self.lease_seconds / 3)
                        else:
                            wait = self.lease_seconds / 3
                    except Exception:
                        log.exception("feed polling failed; trying again shortly")
                        wait = 1.0
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), wait)
            finally:  # cancelled too: another process need not wait for the lease to expire
                if holding:
                    try:
                        await lease.release()
                    except Exception:
                        log.exception("could not release the feed poller lease; it expires")

    async def _poll_holding(self, lease: Lease, session: aiohttp.ClientSession,
                            start_up: bool) -> bool:
        """One poll, renewing the lease as it goes (a poll may outlast it); False when the
        lease was lost, and the poll abandoned to the new holder."""
        poll = asyncio.create_task(self._poll(session, start_up=start_up))
        stopping = asyncio.create_task(self._stop.wait())
        try:
            while True:
                await asyncio.wait({poll, stopping}, timeout=self.lease_seconds / 3,
                                   return_when=asyncio.FIRST_COMPLETED)
                if poll.done():
                    poll.result()
                    return True
                if stopping.done():
                    return True
                if not await lease.renew():
                    log.warning("lost the feed poller lease during a poll; "
                                "another process polls from now on")
                    return False
        finally:
            for task in (poll, stopping):
                task.cancel()
            await asyncio.gather(poll, stopping, return_exceptions=True)

    async def _poll(self, session: aiohttp.ClientSession, *, start_up: bool) -> dict[str, int]:
        """Poll the due feeds concurrently; at start-up every feed not backing off is due."""
        urls = list(dict.fromkeys(self.settings.feeds))
        now = self.clock()
        states = await self.state.states(urls)
        due = [s for s in states if s.next_poll <= now or (start_up and s.failures == 0)]
        results = await asyncio.gather(*(self._poll_feed(session, s) for s in due))
        counts: Counter[str] = Counter(feeds=len(due))
        polled = {s.url for s in due}
        next_polls = [s.next_poll for s in states if s.url not in polled]
        for outcome, next_poll in results:
            counts.update(outcome)
            next_polls.append(next_poll)
        self._next_due = min(next_polls, default=now + self.settings.feed_interval)
        return {name: counts[name] for name in COUNTS}

    async def _poll_feed(self, session: aiohttp.ClientSession, state: FeedState
                         ) -> tuple[Counter[str], float]:
        """One feed, whatever happens to it; what it did and when it is polled next."""
        try:
            return await self._fetch_and_store(session, state)
        except Exception as error:
            if isinstance(error, FetchError):
                reason, retry_after = str(error), error.retry_after
            else:  # not the feed's fault, or not only: the traceback is for the developers
                log.exception("feed %s: polling failed", shown(state.url))
                reason, retry_after = f"{type(error).__name__}: {error}", None
            failures = state.failures + 1
            delay = retry_delay(self.settings.feed_interval, failures)
            if retry_after is not None:
                delay = max(delay, min(retry_after, MAX_DELAY))
            next_poll = self.clock() + delay
            log.warning("feed %s: %s; %d failed poll(s) in a row, next try in %s",
                        shown(state.url), reason, failures, _duration(delay))
            metrics.FEED_POLLS.labels("error").inc()
            try:
                await self.state.failed(state.url, failures=failures, next_poll=next_poll,
                                        error=reason, now=self.clock())
            except Exception:
                log.exception("feed %s: could not record the failure", shown(state.url))
            return Counter(errors=1), next_poll

    async def _fetch_and_store(self, session: aiohttp.ClientSession, state: FeedState
                               ) -> tuple[Counter[str], float]:
        conditional = {name: value for name, value in (
            ("If-None-Match", state.etag), ("If-Modified-Since", state.last_modified)) if value}
        response = await fetch(session, state.url, accept=FEED_ACCEPT, headers=conditional,
                               timeout=self.settings.feed_timeout,
                               max_bytes=self.settings.feed_max_bytes)
        if response.status == 304:
            next_poll = self.clock() + (state.period or self.settings.feed_interval)
            await self.state.not_modified(state.url, etag=response.etag,
                                          last_modified=response.last_modified,
                                          next_poll=next_poll, now=self.clock())
            metrics.FEED_POLLS.labels("not_modified").inc()
            return Counter(not_modified=1), next_poll

        parsed = await asyncio.to_thread(parse_feed, response)
        period = poll_period(self.settings.feed_interval, parsed.get("feed", {}).get("ttl"))
        items = feed_items(parsed)
        fresh = [item for item, new in zip(
            items, await self.state.unseen(state.url, [i.key for i in items]), strict=True)
            if new]
        if len(fresh) > MAX_ITEMS:
            log.info("feed %s: %d new items; taking the newest %d, the rest is marked seen",
                     shown(state.url), len(fresh), MAX_ITEMS)
            fresh = sorted(fresh, key=lambda i: i.published or datetime.min.replace(tzinfo=UTC),
                           reverse=True)[:MAX_ITEMS]
        source = feed_source(state.url)
        built = await asyncio.gather(*(self._article(session, state.url, item, source)
                                       for item in fresh))
        # Oldest first, so the channels get them in the order they happened.
        articles = sorted((a for a in built if a is not None), key=_published_order)
        saved = await self.store.save_many(articles, announce=True) if articles else []
        next_poll = self.clock() + period
        await self.state.polled(state.url, etag=response.etag,
                                last_modified=response.last_modified, next_poll=next_poll,
                                period=period, seen=[i.key for i in items], now=self.clock())
        outcome = Counter(ok=1, items=len(fresh), skipped=len(fresh) - len(articles))
        outcome.update(result.value for result in saved)
        metrics.FEED_POLLS.labels("ok").inc()
        metrics.FEED_ARTICLES.inc(sum(1 for r in saved if r is not Saved.UNCHANGED))
        if fresh:
            log.info("feed %s: %d new item(s), %d new article(s) stored", shown(state.url),
                     len(fresh), outcome["stored"])
        return outcome, next_poll

    async def _article(self, session: aiohttp.ClientSession, feed: str, item: Item,
                       source: str | None) -> Article | None:
        """The item's article, from its page when that works, else from the item; None (and
        logged) when neither is a valid article."""
        if item.link:
            try:
                async with self._pages:
                    response = await fetch(session, item.link, accept=PAGE_ACCEPT,
                                           timeout=self.settings.feed_timeout,
                                           max_bytes=self.settings.feed_max_bytes,
                                           html_only=True)
                page = await asyncio.to_thread(read_page, response)
                if page is None:
                    raise FetchError("no article text found in it")
                return await asyncio.to_thread(page_article, page, item, source)
            except (FetchError, ParseError, ValidationError) as error:
                why = (describe_validation_error(error) if isinstance(error, ValidationError)
                       else getattr(error, "problem", None) or str(error))
                log.info("page %s: %s; the feed item's own text makes the article",
                         shown(item.link), why)
            except Exception:
                log.exception("page %s: could not be read; the feed item's own text makes "
                              "the article", shown(item.link))
        try:
            return item_article(item, source)
        except ValidationError as error:
            # Marked seen all the same: the same item would fail the same way at every poll.
            log.warning("feed %s: item %s skipped: %s", shown(feed), shown(item.key),
                        describe_validation_error(error))
            return None
