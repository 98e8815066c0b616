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
from storage.search import Document, Hit, SearchIndex, analyze, postings
from storage.shortlinks import ShortLinks


class Saved(Enum):
    STORED = "stored"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def fingerprint(dump: str) -> str:
    """Of an article's JSON (`model_dump_json`): equal for equal content."""
    return hashlib.blake2b(dump.encode(), digest_size=12).hexdigest()


def published_timestamp(article: Article, now: datetime) -> float:
    """Seconds since the epoch: the published time, a date's Tehran midnight, else now."""
    value = article.published
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=TEHRAN).timestamp()
    return now.timestamp()


# Both scripts below work on a batch of articles in one call, so that a batch of thousands
# costs one command, not one per article; each article's change is atomic with its index
# entry, so two processes saving the same article leave exactly one live version.
# KEYS: latest, search ids, search dead, index stats, then per article: article, card.

# The article's old search document (number and length in `old`) stops being live.
_RETIRE_OLD = """
    if old[1] then
        redis.call('SETBIT', KEYS[3], old[1], 1)
        redis.call('HDEL', KEYS[2], old[1])
        documents = documents - 1
        length = length - tonumber(old[2] or 0)
    end
"""
_TOTALS = """
redis.call('HINCRBY', KEYS[4], 'documents', documents)
redis.call('HINCRBY', KEYS[4], 'length', length)
return n
"""

# Stores new versions; ARGV per article: id, json, fingerprint, published, document number,
# length, code.
_REPLACE = """
local n = (#KEYS - 4) / 2
local documents, length = 0, 0
for i = 0, n - 1 do
    local article, card, a = KEYS[5 + 2 * i], KEYS[6 + 2 * i], 7 * i
    local id, published, number = ARGV[a + 1], ARGV[a + 4], ARGV[a + 5]
    local old = redis.call('HMGET', article, 'doc', 'length')
    redis.call('HSET', article, 'json', ARGV[a + 2], 'fingerprint', ARGV[a + 3],
               'published', published, 'doc', number, 'length', ARGV[a + 6], 'code', ARGV[a + 7])
    redis.call('ZADD', KEYS[1], published, id)
    redis.call('DEL', card)
    redis.call('HSET', KEYS[2], number, id)
    documents = documents + 1
    length = length + tonumber(ARGV[a + 6])
""" + _RETIRE_OLD + """
end
""" + _TOTALS

# Takes articles out of the store and the index; ARGV per article: id.
_REMOVE = """
local n = (#KEYS - 4) / 2
local documents, length = 0, 0
for i = 0, n - 1 do
    local article, card = KEYS[5 + 2 * i], KEYS[6 + 2 * i]
    local old = redis.call('HMGET', article, 'doc', 'length')
    redis.call('DEL', article, card)
    redis.call('ZREM', KEYS[1], ARGV[i + 1])
""" + _RETIRE_OLD + """
end
""" + _TOTALS


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

    async def save_many(
        self, articles: Sequence[Article], documents: Sequence[Document] | None = None
    ) -> list[Saved]:
        """Store articles (a batch is written in a few round trips), index them and give each
        new one its short code. What each save did comes back in order; an article given twice
        in one batch is saved twice, in order. `documents`, when given, are the articles'
        `analyze` results, worked out elsewhere (another process, for bulk ingest)."""
        if documents is None:
            documents = [analyze(article) for article in articles]
        results: list[Saved] = []
        batch: dict[str, tuple[Article, Document]] = {}
        for article, document in zip(articles, documents, strict=True):
            if article.id in batch:
                results += await self._save_distinct(list(batch.values()))
                batch = {}
            batch[article.id] = (article, document)
        if batch:
            results += await self._save_distinct(list(batch.values()))
        return results

    async def _save_distinct(self, given: list[tuple[Article, Document]]) -> list[Saved]:
        articles = [article for article, _ in given]
        before = await self._stored([article.id for article in articles])
        dumps = [article.model_dump_json() for article in articles]
        digests = [fingerprint(dump) for dump in dumps]
        changed = [
            (article, dump, digest, old, document)
            for (article, document), dump, digest, old
            in zip(given, dumps, digests, before, strict=True)
            if old.fingerprint != digest
        ]
        if not changed:
            return [Saved.UNCHANGED] * len(articles)
        now = self.clock()
        published = [published_timestamp(article, now) for article, *_ in changed]
        documents = [document for *_, document in changed]
        average = await self.search.average_length()
        new_codes = iter(await self.links.claim_many(
            [article.id for article, _, _, old, _ in changed if old.code is None]
        ))
        first = await self.search.reserve(published)
        packed = postings(list(enumerate(documents, first)), average)
        keys = self._batch_keys([article.id for article, *_ in changed])
        args: list[str | float] = []
        aliases: dict[str, str] = {}
        for number, ((article, dump, digest, old, document), when) in enumerate(
            zip(changed, published, strict=True), first
        ):
            code = old.code or next(new_codes)
            args += [article.id, dump, digest, when, number, document.length, code]
            aliases |= self.links.aliases(article)
        previous = [analyze(p) for *_, old, _ in changed if (p := old.article()) is not None]
        async with self.redis.pipeline(transaction=True) as pipe:
            await self.search.add(pipe, packed)
            await self.redis.register_script(_REPLACE)(keys=keys, args=args, client=pipe)
            if aliases:
                pipe.mset(aliases)
            await self.search.forget(pipe, previous)
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

    def _batch_keys(self, article_ids: Sequence[str]) -> list[str]:
        """The KEYS of the batch scripts above."""
        keys = [
            self.keys.latest(),
            self.keys.search_ids(),
            self.keys.search_dead(),
            self.keys.index_stats(),
        ]
        for article_id in article_ids:
            keys += [self.keys.article(article_id), self.keys.card(article_id, CARD_VERSION)]
        return keys

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

    async def find(
        self, query: str, offset: int = 0, limit: int = 10, *, typing: bool = False
    ) -> list[tuple[Article, Hit]]:
        """Search results with their articles (see SearchIndex.search), best first."""
        return (await self.find_page(query, offset, limit, typing=typing))[1]

    async def find_page(
        self, query: str, offset: int = 0, limit: int = 10, *, typing: bool = False
    ) -> tuple[int, list[tuple[Article, Hit]]]:
        """How many articles match, and one page of them with their hits."""
        results = await self.search.search(query, offset, limit, typing=typing)
        articles = {a.id: a for a in await self.get_many([h.article_id for h in results.hits])}
        page = [(articles[h.article_id], h) for h in results.hits if h.article_id in articles]
        return results.total, page

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
        found = [
            (article_id, article, old.code)
            for article_id, old in zip(article_ids, stored, strict=True)
            if (article := old.article()) is not None
        ]
        if not found:
            return 0
        ids = [article_id for article_id, _, _ in found]
        async with self.redis.pipeline(transaction=True) as pipe:
            await self.redis.register_script(_REMOVE)(
                keys=self._batch_keys(ids), args=ids, client=pipe
            )
            for _, article, code in found:
                self.links.queue_forget(pipe, article, code)
            await self.search.forget(pipe, [analyze(article) for _, article, _ in found])
            await pipe.execute()
        return len(found)

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
