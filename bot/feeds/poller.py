"""The feed poller: RSS 2.0 and Atom feeds (KHABAR_FEEDS) → articles, stored and announced
like any other, so the channels get them.

Inside `khabar run` every process runs a FeedPoller; only the holder of a lease in Redis
polls. It polls once at start-up, then each feed on its own schedule, kept in Redis
(storage/feeds.py) so that any process can take over. One poll of one feed:

1. a conditional GET (If-None-Match / If-Modified-Since); a 304 ends it;
2. feedparser on the bytes (it never fetches anything itself);
3. each item the feed had not shown before (its guid, else its link): the page is fetched
   and its text extracted (the Nastooh CMS of Hamshahri Online, IRNA and Khabaronline by its
   markup, other sites with trafilatura), then structured by bot.news.parse (key points, quotes);
   without a usable page, the item's own title and summary make the article;
4. the articles stored with `announce=True`; the items marked seen; the next poll set.

Every fetch has a timeout, a size cap and at most MAX_REDIRECTS redirects. A feed that fails
(HTTP error, not a feed, too big, too slow) is logged and tried again later, backing off
exponentially; feeds are polled concurrently, each with its own error handling, so one bad
feed never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import aiohttp
from pydantic import ValidationError

from bot import metrics
from bot.config import Settings
from bot.feeds.extract import item_article, page_article, read_page
from bot.feeds.fetch import FEED_ACCEPT, PAGE_ACCEPT, FetchError, feed_session, fetch
from bot.feeds.rss import (
    MAX_DELAY,
    Item,
    feed_items,
    feed_source,
    parse_feed,
    poll_period,
    retry_delay,
)
from bot.news.article import Article
from bot.news.parse import ParseError, describe_validation_error
from storage.articles import ArticleStore, Saved
from storage.feeds import FeedState, FeedStore
from storage.keys import Keys
from storage.locks import Lease, wait_for
from storage.redis import redact

log = logging.getLogger("khabar.feeds")

LEASE_SECONDS = 30.0
"""The poller's lease; renewed every third of it, during a poll too."""
MAX_ITEMS = 100
"""New items made into articles per poll of one feed: a feed that suddenly shows its whole
archive is not news, and would mean hundreds of page fetches. The older rest is marked seen."""
PAGE_CONCURRENCY = 4
"""Article pages fetched at once by one poller, for all feeds: polite to the sites."""
COUNTS = (
    "feeds",
    "ok",
    "not_modified",
    "errors",
    "items",
    "stored",
    "updated",
    "unchanged",
    "skipped",
)
"""What poll_once reports: feeds polled and how each poll ended (ok, not_modified, errors);
new items, and what became of them (stored, updated, unchanged articles; skipped items)."""


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
    grace: float = 5.0
    """Seconds a poll gets to finish when the process stops."""
    clock: Callable[[], float] = time.time
    state: FeedStore = field(init=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _pages: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(PAGE_CONCURRENCY), init=False
    )
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
            await asyncio.wait([self._task], timeout=self.grace + 1.0)
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
                    feed_session(self.settings.feed_allow_private)
                )
            lease = Lease(
                self.store.redis, self.keys.feed_poller(), self.lease_seconds, grace=self.grace
            )
            start_up = True

            async def poll_while_leading(lost: asyncio.Event) -> None:
                """Poll what is due, then wait for the next due feed; a poll under way when
                the lease is lost is abandoned to the new holder."""
                nonlocal start_up
                while not lost.is_set():
                    poll = asyncio.create_task(self._poll(session, start_up=start_up))
                    losing = asyncio.create_task(lost.wait())
                    try:
                        await asyncio.wait({poll, losing}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        losing.cancel()
                    if not poll.done():
                        poll.cancel()
                        await asyncio.gather(poll, return_exceptions=True)
                        log.warning(
                            "lost the feed poller lease during a poll; "
                            "another process polls from now on"
                        )
                        return
                    poll.result()
                    start_up = False
                    await wait_for(lost, max(self._next_due - self.clock(), 1.0))

            await lease.lead(poll_while_leading, self._stop)

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

    async def _poll_feed(
        self, session: aiohttp.ClientSession, state: FeedState
    ) -> tuple[Counter[str], float]:
        """One feed, whatever happens to it; what it did and when it is polled next."""
        try:
            return await self._fetch_and_store(session, state)
        except Exception as error:
            if isinstance(error, FetchError):
                reason, retry_after = str(error), error.retry_after
            else:  # not the feed's fault, or not only: the traceback is for the developers
                log.exception("feed %s: polling failed", redact(state.url))
                reason, retry_after = f"{type(error).__name__}: {error}", None
            failures = state.failures + 1
            delay = retry_delay(self.settings.feed_interval, failures)
            if retry_after is not None:
                delay = max(delay, min(retry_after, MAX_DELAY))
            next_poll = self.clock() + delay
            log.warning(
                "feed %s: %s; %d failed poll(s) in a row, next try in %s",
                redact(state.url),
                reason,
                failures,
                _duration(delay),
            )
            metrics.FEED_POLLS.labels("error").inc()
            try:
                await self.state.failed(
                    state.url,
                    failures=failures,
                    next_poll=next_poll,
                    error=reason,
                    now=self.clock(),
                )
            except Exception:
                log.exception("feed %s: could not record the failure", redact(state.url))
            return Counter(errors=1), next_poll

    async def _fetch_and_store(
        self, session: aiohttp.ClientSession, state: FeedState
    ) -> tuple[Counter[str], float]:
        conditional = {
            name: value
            for name, value in (
                ("If-None-Match", state.etag),
                ("If-Modified-Since", state.last_modified),
            )
            if value
        }
        response = await fetch(
            session,
            state.url,
            accept=FEED_ACCEPT,
            headers=conditional,
            timeout=self.settings.feed_timeout,
            max_bytes=self.settings.feed_max_bytes,
        )
        if response.status == 304:
            next_poll = self.clock() + (state.period or self.settings.feed_interval)
            await self.state.not_modified(
                state.url,
                etag=response.etag,
                last_modified=response.last_modified,
                next_poll=next_poll,
                now=self.clock(),
            )
            metrics.FEED_POLLS.labels("not_modified").inc()
            return Counter(not_modified=1), next_poll

        parsed = await asyncio.to_thread(parse_feed, response)
        period = poll_period(self.settings.feed_interval, parsed.get("feed", {}).get("ttl"))
        items = feed_items(parsed)
        fresh = [
            item
            for item, new in zip(
                items, await self.state.unseen(state.url, [i.key for i in items]), strict=True
            )
            if new
        ]
        if len(fresh) > MAX_ITEMS:
            log.info(
                "feed %s: %d new items; taking the newest %d, the rest is marked seen",
                redact(state.url),
                len(fresh),
                MAX_ITEMS,
            )
            fresh = sorted(
                fresh, key=lambda i: i.published or datetime.min.replace(tzinfo=UTC), reverse=True
            )[:MAX_ITEMS]
        source = feed_source(state.url)
        built = await asyncio.gather(
            *(self._article(session, state.url, item, source) for item in fresh)
        )
        # Oldest first, so the channels get them in the order they happened.
        articles = sorted((a for a in built if a is not None), key=_published_order)
        saved = await self.store.save_many(articles, announce=True) if articles else []
        next_poll = self.clock() + period
        await self.state.polled(
            state.url,
            etag=response.etag,
            last_modified=response.last_modified,
            next_poll=next_poll,
            period=period,
            seen=[i.key for i in items],
            now=self.clock(),
        )
        outcome = Counter(ok=1, items=len(fresh), skipped=len(fresh) - len(articles))
        outcome.update(result.value for result in saved)
        metrics.FEED_POLLS.labels("ok").inc()
        metrics.FEED_ARTICLES.inc(sum(1 for r in saved if r is not Saved.UNCHANGED))
        if fresh:
            log.info(
                "feed %s: %d new item(s), %d new article(s) stored",
                redact(state.url),
                len(fresh),
                outcome["stored"],
            )
        return outcome, next_poll

    async def _article(
        self, session: aiohttp.ClientSession, feed: str, item: Item, source: str | None
    ) -> Article | None:
        """The item's article, from its page when that works, else from the item; None (and
        logged) when neither is a valid article."""
        if item.link:
            try:
                async with self._pages:
                    response = await fetch(
                        session,
                        item.link,
                        accept=PAGE_ACCEPT,
                        timeout=self.settings.feed_timeout,
                        max_bytes=self.settings.feed_max_bytes,
                        html_only=True,
                    )
                page = await asyncio.to_thread(read_page, response)
                if page is None:
                    raise FetchError("no article text found in it")
                return await asyncio.to_thread(page_article, page, item, source)
            except (FetchError, ParseError, ValidationError) as error:
                why = (
                    describe_validation_error(error)
                    if isinstance(error, ValidationError)
                    else getattr(error, "problem", None) or str(error)
                )
                log.info(
                    "page %s: %s; the feed item's own text makes the article",
                    redact(item.link),
                    why,
                )
            except Exception:
                log.exception(
                    "page %s: could not be read; the feed item's own text makes the article",
                    redact(item.link),
                )
        try:
            return item_article(item, source)
        except ValidationError as error:
            # Marked seen all the same: the same item would fail the same way at every poll.
            log.warning(
                "feed %s: item %s skipped: %s",
                redact(feed),
                redact(item.key),
                describe_validation_error(error),
            )
            return None
