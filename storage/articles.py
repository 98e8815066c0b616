"""Articles in Redis: one hash per article, a sorted set by published time, cached cards.

Saving is idempotent: an article is stored with a fingerprint of its content, and saving the
same content again writes nothing. A changed article replaces the old one whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from redis.asyncio import Redis

from bot.article import TEHRAN, Article
from bot.card import CARD_VERSION, payloads
from storage.keys import Keys
from storage.redis import awaited


class Saved(Enum):
    STORED = "stored"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def fingerprint(article: Article) -> str:
    return hashlib.blake2b(article.model_dump_json().encode(), digest_size=12).hexdigest()


def published_timestamp(article: Article, now: datetime) -> float:
    """Seconds since the epoch: the published time, a date's Tehran midnight, else now."""
    value = article.published
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=TEHRAN).timestamp()
    return now.timestamp()


@dataclass
class ArticleStore:
    redis: Redis
    keys: Keys
    retention: timedelta = timedelta(days=90)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def save(self, article: Article) -> Saved:
        key = self.keys.article(article.id)
        digest = fingerprint(article)
        previous = await awaited(self.redis.hget(key, "fingerprint"))
        if previous == digest:
            return Saved.UNCHANGED
        published = published_timestamp(article, self.clock())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "json": article.model_dump_json(),
                    "fingerprint": digest,
                    "published": published,
                },
            )
            pipe.zadd(self.keys.latest(), {article.id: published})
            pipe.delete(self.keys.card(article.id, CARD_VERSION))
            await pipe.execute()
        return Saved.UPDATED if previous else Saved.STORED

    async def get(self, article_id: str) -> Article | None:
        raw = await awaited(self.redis.hget(self.keys.article(article_id), "json"))
        return None if raw is None else Article.trusted(json.loads(raw))

    async def get_many(self, article_ids: Sequence[str]) -> list[Article]:
        """The articles that exist, in the order asked."""
        if not article_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                pipe.hget(self.keys.article(article_id), "json")
            raws: list[str | None] = await pipe.execute()
        return [Article.trusted(json.loads(raw)) for raw in raws if raw is not None]

    async def latest(self, offset: int = 0, limit: int = 10) -> list[Article]:
        """Newest first, `limit` articles from `offset` on (for paging)."""
        ids = await self.redis.zrevrange(self.keys.latest(), offset, offset + limit - 1)
        return await self.get_many(ids)

    async def count(self) -> int:
        return int(await self.redis.zcard(self.keys.latest()))

    async def expired(self) -> list[str]:
        """Ids of articles published before the retention window."""
        cutoff = (self.clock() - self.retention).timestamp()
        return list(await self.redis.zrangebyscore(self.keys.latest(), "-inf", f"({cutoff}"))

    async def delete(self, article_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.article(article_id))
            pipe.zrem(self.keys.latest(), article_id)
            pipe.delete(self.keys.card(article_id, CARD_VERSION))
            await pipe.execute()

    async def card(self, article: Article) -> list[dict[str, Any]]:
        """The card's sendMessage payloads, rendered once per layout version and cached for
        as long as articles are kept (a new CARD_VERSION means new keys, so old cards are
        never served)."""
        key = self.keys.card(article.id, CARD_VERSION)
        if (raw := await self.redis.get(key)) is not None:
            return list(json.loads(raw))
        rendered = payloads(article)
        ttl = int(self.retention.total_seconds())
        await self.redis.set(key, json.dumps(rendered, ensure_ascii=False), ex=ttl)
        return rendered
