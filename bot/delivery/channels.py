"""Channel posting: every article stored for the first time, from any source, goes to each
channel once. Only the holder of a lease reads the new-articles stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis.exceptions import RedisError

from bot.config import Settings
from bot.delivery.start import post_to_channels
from bot.news.article import TEHRAN, Article
from storage.articles import ArticleStore
from storage.channels import NewArticles
from storage.locks import Lease
from storage.outbox import Outbox

log = logging.getLogger("khabar.delivery")

POSTER_LEASE = 15.0


class CardMaker(Protocol):
    """An article → the payloads of its card with buttons (handlers know the button texts):
    the readers' card, or with a style (text, photo, rich) the one message of channels and
    broadcasts."""

    def __call__(
        self, article: Article, style: str | None = None
    ) -> Awaitable[list[dict[str, Any]]]: ...


@dataclass
class ChannelPoster:
    store: ArticleStore
    outbox: Outbox
    settings: Settings
    card: CardMaker
    max_age: timedelta = timedelta(hours=24)
    lease_seconds: float = POSTER_LEASE
    grace: float = 5.0
    stream: NewArticles = field(init=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.stream = NewArticles(self.store.redis, self.store.keys)

    def start(self) -> None:
        lease = Lease(
            self.store.redis, self.store.keys.channel_poster(), self.lease_seconds, grace=self.grace
        )
        self._task = asyncio.get_running_loop().create_task(
            lease.lead(self._post_while, self._stop)
        )

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await asyncio.wait([self._task], timeout=self.grace + 1.0)

    async def _post_while(self, lost: asyncio.Event) -> None:
        await self.stream.ensure_group()
        while not lost.is_set():
            await self.post_new(block_ms=1000)

    async def post_new(self, block_ms: int = 0) -> int:
        """Post what was stored since the last call (first what a predecessor left pending);
        returns how many articles were posted."""
        posted = 0
        for entries in (await self.stream.pending(), await self.stream.new(block_ms)):
            for entry_id, article_id in entries:
                try:
                    posted += await self._post(article_id)
                except RedisError:
                    raise  # the entry stays pending: tried again
                except Exception:  # this article only: the others go on
                    log.exception("could not post article %s to the channels", article_id)
                await self.stream.ack(entry_id)
        return posted

    async def _post(self, article_id: str) -> bool:
        article = await self.store.get(article_id)
        if article is None or article.breaking or not self.recent(article):
            return False
        messages = await self.card(article, self.settings.channel_card)
        return await post_to_channels(self.outbox, self.settings, article, messages) is not None

    def recent(self, article: Article) -> bool:
        """Archives loaded in bulk are not news: only articles of the last `max_age` go out."""
        published = article.published
        if published is None:
            return True
        now = datetime.now(TEHRAN)
        if isinstance(published, datetime):
            return now - published <= self.max_age
        return (now.date() - published).days <= max(1, self.max_age.days)
