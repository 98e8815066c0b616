"""Articles in Redis: one hash per article, a sorted set by published time, cached cards,
and with them the search index (storage/search.py) and the short links (storage/shortlinks.py).

Saving is idempotent: an article is stored with a fingerprint of its content, and saving the
same content again writes nothing. A changed article replaces the old one whole, in the index
too. Retention (`purge`) takes old articles out of every one of these.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from redis.asyncio import Redis

from bot.article import TEHRAN, Article
from bot.card import CARD_VERSION, payloads
from storage.keys import Keys
from storage.redis import awaited
from storage.search import SearchIndex, analyze, postings
from storage.shortlinks import ShortLinks


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


# The old search document of an article (its number and length in `old`) stops being live.
_RETIRE_OLD = """
if old[1] then
    redis.call('SETBIT', KEYS[5], old[1], 1)
    redis.call('HDEL', KEYS[4], old[1])
    redis.call('HINCRBY', KEYS[6], 'documents', -1)
    redis.call('HINCRBY', KEYS[6], 'length', -tonumber(old[2] or 0))
end
return old[1]
"""

# Stores a new version of an article and makes it the live document of the search index, in
# one step, so two processes saving the same article leave exactly one live version.
# KEYS: article, latest, card, search ids, search dead, index stats
# ARGV: id, json, fingerprint, published, document number, length, code
_REPLACE = """
local old = redis.call('HMGET', KEYS[1], 'doc', 'length')
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'fingerprint', ARGV[3], 'published', ARGV[4],
           'doc', ARGV[5], 'length', ARGV[6], 'code', ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[4], ARGV[5], ARGV[1])
redis.call('HINCRBY', KEYS[6], 'documents', 1)
redis.call('HINCRBY', KEYS[6], 'length', ARGV[6])
""" + _RETIRE_OLD

# Takes an article out of the store and the search index. KEYS as above; ARGV: id.
_REMOVE = """
local old = redis.call('HMGET', KEYS[1], 'doc', 'length')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
""" + _RETIRE_OLD


@dataclass(frozen=True)
class _Stored:
    """What is in Redis about an article before a save or a removal."""

    fingerprint: str | None
    json: str | None
    code: str | None

    def article(self) -> Article | None:
        return None if self.json is None else Article.trusted(json.loads(self.json))


@dataclass
class ArticleStore:
    """Articles, their search index entries and short links, kept in step."""

    redis: Redis
    keys: Keys
    retention: timedelta = timedelta(days=90)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    public_url: str = "http://127.0.0.1:8080"
    search: SearchIndex = field(init=False)
    links: ShortLinks = field(init=False)

    def __post_init__(self) -> None:
        self.search = SearchIndex(self.redis, self.keys)
        self.links = ShortLinks(self.redis, self.keys, self.public_url)

    async def save(self, article: Article) -> Saved:
        return (await self.save_many([article]))[0]

    async def save_many(self, articles: Sequence[Article]) -> list[Saved]:
        """Store articles (a batch is written in a few round trips), index them and give each
        new one its short code. What each save did comes back in order; an article given twice
        in one batch is saved twice, in order."""
        results: list[Saved] = []
        batch: dict[str, Article] = {}
        for article in articles:
            if article.id in batch:
                results += await self._save_distinct(list(batch.values()))
                batch = {}
            batch[article.id] = article
        if batch:
            results += await self._save_distinct(list(batch.values()))
        return results

    async def _save_distinct(self, articles: list[Article]) -> list[Saved]:
        before = await self._stored([article.id for article in articles])
        digests = [fingerprint(article) for article in articles]
        changed = [
            (article, digest, old)
            for article, digest, old in zip(articles, digests, before, strict=True)
            if old.fingerprint != digest
        ]
        if not changed:
            return [Saved.UNCHANGED] * len(articles)
        now = self.clock()
        published = [published_timestamp(article, now) for article, _, _ in changed]
        documents = [analyze(article) for article, _, _ in changed]
        average = await self.search.average_length()
        new_codes = iter(await self.links.claim_many(
            [article.id for article, _, old in changed if old.code is None]
        ))
        first = await self.search.reserve(published)
        packed = postings(list(enumerate(documents, first)), average)
        replace = self.redis.register_script(_REPLACE)
        async with self.redis.pipeline(transaction=True) as pipe:
            self.search.add(pipe, packed)
            for number, ((article, digest, old), when, document) in enumerate(
                zip(changed, published, documents, strict=True), first
            ):
                code = old.code or next(new_codes)
                args: list[str | float] = [
                    article.id, article.model_dump_json(), digest, when, number,
                    document.length, code,
                ]
                await replace(keys=self._article_keys(article.id), args=args, client=pipe)
                if aliases := self.links.aliases(article):
                    pipe.mset(aliases)
                if (previous := old.article()) is not None:
                    self.search.forget(pipe, analyze(previous))
            await pipe.execute()
        return [
            Saved.UNCHANGED if old.fingerprint == digest
            else Saved.UPDATED if old.fingerprint else Saved.STORED
            for digest, old in zip(digests, before, strict=True)
        ]

    async def _stored(self, article_ids: Sequence[str]) -> list[_Stored]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                pipe.hmget(self.keys.article(article_id), ["fingerprint", "json", "code"])
            replies: list[list[str | None]] = await pipe.execute()
        return [_Stored(*reply) for reply in replies]

    def _article_keys(self, article_id: str) -> list[str]:
        return [
            self.keys.article(article_id),
            self.keys.latest(),
            self.keys.card(article_id, CARD_VERSION),
            self.keys.search_ids(),
            self.keys.search_dead(),
            self.keys.index_stats(),
        ]

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

    async def delete(self, article_id: str) -> bool:
        return await self.delete_many([article_id]) == 1

    async def delete_many(self, article_ids: Sequence[str]) -> int:
        """Take articles out of the store, the search index and the short links; returns how
        many there were."""
        stored = await self._stored(article_ids)
        remove = self.redis.register_script(_REMOVE)
        removed = 0
        async with self.redis.pipeline(transaction=True) as pipe:
            for article_id, old in zip(article_ids, stored, strict=True):
                if (article := old.article()) is None:
                    continue
                await remove(keys=self._article_keys(article_id), args=[article_id], client=pipe)
                self.links.queue_forget(pipe, article, old.code)
                self.search.forget(pipe, analyze(article))
                removed += 1
            await pipe.execute()
        return removed

    async def purge(self, batch: int = 500) -> int:
        """Remove the articles older than the retention window from everything, then compact
        the search index; returns how many left."""
        expired = await self.expired()
        removed = 0
        for start in range(0, len(expired), batch):
            removed += await self.delete_many(expired[start : start + batch])
        await self.search.compact()
        return removed

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
