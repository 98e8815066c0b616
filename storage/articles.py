"""Articles in Redis: one hash per article, a sorted set by published time, cached cards,
and with them the search index (storage/search.py) and the short links (storage/shortlinks.py).

Saving is idempotent: an article is stored with a fingerprint of its content, and saving the
same content again writes nothing. A changed article replaces the old one whole, in the index
too. Retention (`purge`) takes old articles out of every one of these.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from bot.news.article import TEHRAN, Article
from bot.news.card import CARD_VERSION, payloads
from bot.news.styles import Style
from bot.news.styles import payloads as styled_payloads
from storage.keys import Keys
from storage.postings import Fields, analyze, analyze_fields, fields, indexed
from storage.redis import awaited
from storage.search import Hit, SearchIndex
from storage.shortlinks import ShortLinks

NEW_ARTICLES_KEPT = 10_000
STYLED_CARD_TTL = 7 * 24 * 3600
"""Seconds a channel/broadcast card is cached (a card is posted once, opened for days)."""
"""The new-articles stream is trimmed to about this many entries."""


class Saved(Enum):
    STORED = "stored"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def distinct_runs(articles: Sequence[Article]) -> Iterator[list[Article]]:
    """The articles in order, cut where an id comes again: each run can be saved at once."""
    run: dict[str, Article] = {}
    for article in articles:
        if article.id in run:
            yield list(run.values())
            run = {}
        run[article.id] = article
    if run:
        yield list(run.values())


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
# KEYS: latest, search ids, search dead, index stats, search terms, then per article: article,
# card.

# The article's old search document (number and length in `old`) stops being live; one the
# index no longer has (a reindex dropped it, storage/reindex.py) is no longer counted.
_RETIRE_OLD = """
    if old[1] and redis.call('HEXISTS', KEYS[2], old[1]) == 1 then
        redis.call('SETBIT', KEYS[3], old[1], 1)
        redis.call('HDEL', KEYS[2], old[1])
        redis.call('HDEL', KEYS[5], old[1])
        documents = documents - 1
        length = length - tonumber(old[2] or 0)
    end
"""
_TOTALS = """
redis.call('HINCRBY', KEYS[4], 'documents', documents)
redis.call('HINCRBY', KEYS[4], 'length', length)
return n
"""

# Stores new versions. Unlike the other batch scripts, it builds each article's keys itself and
# takes the batch's values joined into a few strings: with 2,000 articles a batch, encoding
# 18,000 arguments one by one cost the client more than Redis spent on the whole save.
# KEYS: as above (the cards' are not passed), then the new-articles stream.
# ARGV: article key prefix, card key prefix, first document number, announce (1/0), the
#       stream's length, then space-separated: ids, fingerprints, published times, lengths,
#       codes, JSON sizes (bytes); then the JSON of every article, concatenated.
# An article with no document before is new: it goes on the stream when announced (once, even
# when two processes save it at the same moment).
_REPLACE = (
    """
local article_prefix, card_prefix = ARGV[1], ARGV[2]
local number, announce, kept = tonumber(ARGV[3]) - 1, ARGV[4] == '1', ARGV[5]
local fingerprints, published_at = string.gmatch(ARGV[7], '%S+'), string.gmatch(ARGV[8], '%S+')
local lengths, codes = string.gmatch(ARGV[9], '%S+'), string.gmatch(ARGV[10], '%S+')
local sizes, blob, at = string.gmatch(ARGV[11], '%d+'), ARGV[12], 1
local documents, length, n = 0, 0, 0
for id in string.gmatch(ARGV[6], '%S+') do
    local article = article_prefix .. id
    local published, size, own_length = published_at(), tonumber(sizes()), lengths()
    number, n = number + 1, n + 1
    local old = redis.call('HMGET', article, 'doc', 'length')
    redis.call('HSET', article, 'json', string.sub(blob, at, at + size - 1),
               'fingerprint', fingerprints(), 'published', published, 'doc', number,
               'length', own_length, 'code', codes())
    at = at + size
    redis.call('ZADD', KEYS[1], published, id)
    redis.call('DEL', card_prefix .. id)
    redis.call('HSET', KEYS[2], number, id)
    documents = documents + 1
    length = length + tonumber(own_length)
    if announce and not old[1] then
        redis.call('XADD', KEYS[6], 'MAXLEN', '~', kept, '*', 'id', id)
    end
"""
    + _RETIRE_OLD
    + """
end
"""
    + _TOTALS
)

# Takes articles out of the store and the index; ARGV per article: id.
_REMOVE = (
    """
local n = (#KEYS - 5) / 2
local documents, length = 0, 0
for i = 0, n - 1 do
    local article, card = KEYS[6 + 2 * i], KEYS[7 + 2 * i]
    local old = redis.call('HMGET', article, 'doc', 'length')
    redis.call('DEL', article, card)
    redis.call('ZREM', KEYS[1], ARGV[i + 1])
"""
    + _RETIRE_OLD
    + """
end
"""
    + _TOTALS
)


# What Redis knows of a batch of articles before a save: fingerprint and code of each.
_LOOKUP = """
local found = {}
for i, key in ipairs(KEYS) do
    local values = redis.call('HMGET', key, 'fingerprint', 'code')
    found[2 * i - 1], found[2 * i] = values[1], values[2]
end
return found
"""


@dataclass(frozen=True)
class _Stored:
    """What is in Redis about an article before a removal."""

    json: str | None
    code: str | None

    def article(self) -> Article | None:
        return None if self.json is None else Article.trusted(json.loads(self.json))


@dataclass
class Batch:
    """Articles on their way into the store. `ArticleStore.prepare` fills in what Redis says
    (which changed, their numbers and codes); `index` (plain CPU work, picklable, so it may
    run in another process) the search postings; `ArticleStore.commit` writes it all."""

    outcomes: list[Saved]
    """What happens to each article given, in order."""
    dumps: list[str]
    """JSON of the changed articles, the only ones below."""
    digests: list[str]
    published: list[float]
    codes: list[str]
    first: int
    """Document number of the first changed article; the others follow."""
    average_length: float
    replaced: list[str]
    """JSON of the versions the changed articles replace."""
    fields: list[Fields]
    """The changed articles' text as the index weighs it."""
    articles: list[Article] | None = None
    """The changed articles, when at hand (not sent to another process)."""
    lengths: list[int] = field(default_factory=list)
    telling: list[str] = field(default_factory=list)
    """Each changed article's terms for pseudo-relevance feedback (storage/postings.py)."""
    packed: dict[str, bytes] = field(default_factory=dict)
    dead: Counter[str] = field(default_factory=Counter)
    announce: bool = True
    """Whether articles stored for the first time go on the new-articles stream (from which
    they are posted to the channels)."""

    def changed(self) -> list[Article]:
        if self.articles is None:
            self.articles = [Article.trusted(json.loads(dump)) for dump in self.dumps]
        return self.articles


def index(batch: Batch) -> Batch:
    """The search index's share of a batch: postings of the new versions, dead terms of the
    replaced ones."""
    documents = [analyze_fields(text) for text in batch.fields]
    batch.lengths = [document.length for document in documents]
    batch.packed, batch.telling = indexed(
        list(enumerate(documents, batch.first)), batch.average_length
    )
    for dump in batch.replaced:
        batch.dead.update(analyze(Article.trusted(json.loads(dump))).weights.keys())
    return batch


@dataclass
class ArticleStore:
    """Articles, their search index entries and short links, kept in step."""

    redis: Redis
    keys: Keys
    retention: timedelta | None = None
    """Articles published longer ago than this leave the store (`purge`); None keeps all."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    public_url: str = "http://127.0.0.1:8080"
    search: SearchIndex = field(init=False)
    links: ShortLinks = field(init=False)

    _lookup: AsyncScript = field(init=False, repr=False)
    _replace: AsyncScript = field(init=False, repr=False)
    _remove: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.search = SearchIndex(self.redis, self.keys)
        self.links = ShortLinks(self.redis, self.keys, self.public_url)
        self._lookup = self.redis.register_script(_LOOKUP)
        self._replace = self.redis.register_script(_REPLACE)
        self._remove = self.redis.register_script(_REMOVE)

    async def save(self, article: Article, *, announce: bool = True) -> Saved:
        return (await self.save_many([article], announce=announce))[0]

    async def save_many(self, articles: Sequence[Article], *, announce: bool = True) -> list[Saved]:
        """Store articles (a batch is written in a few round trips), index them and give each
        new one its short code. What each save did comes back in order; an article given twice
        in one batch is saved twice, in order. New articles are announced on the new-articles
        stream (for the channels) unless `announce` is false."""
        results: list[Saved] = []
        for distinct in distinct_runs(articles):
            batch = await self.prepare(distinct)
            batch.announce = announce
            await self.commit(index(batch))
            results += batch.outcomes
        return results

    async def prepare(self, articles: Sequence[Article]) -> Batch:
        """The first step of a save (see Batch); the ids must be distinct."""
        dumps = [article.model_dump_json() for article in articles]
        digests = [fingerprint(dump) for dump in dumps]
        found = await self._lookup(keys=[self.keys.article(article.id) for article in articles])
        before, codes = found[0::2], found[1::2]
        outcomes = [
            Saved.UNCHANGED if old == digest else Saved.UPDATED if old else Saved.STORED
            for digest, old in zip(digests, before, strict=True)
        ]
        changed = [n for n, outcome in enumerate(outcomes) if outcome is not Saved.UNCHANGED]
        if not changed:
            return Batch(outcomes, [], [], [], [], 0, 0.0, [], [], [])
        now = self.clock()
        fresh = iter(await self.links.claim_many([articles[n].id for n in changed if not codes[n]]))
        published = [published_timestamp(articles[n], now) for n in changed]
        updated = [articles[n].id for n in changed if outcomes[n] is Saved.UPDATED]
        return Batch(
            outcomes=outcomes,
            dumps=[dumps[n] for n in changed],
            digests=[digests[n] for n in changed],
            published=published,
            codes=[codes[n] or next(fresh) for n in changed],
            first=await self.search.reserve(published),
            average_length=await self.search.average_length(),
            replaced=[s.json for s in await self._stored(updated) if s.json is not None],
            fields=[fields(articles[n]) for n in changed],
            articles=[articles[n] for n in changed],
        )

    async def commit(self, batch: Batch) -> None:
        """The last step of a save: everything of an indexed batch written in one transaction."""
        articles = batch.changed()
        if not articles:
            return
        aliases: dict[str, str] = {}
        for article in articles:
            aliases |= self.links.aliases(article)
        dumps = [dump.encode() for dump in batch.dumps]
        args: list[str | bytes | int] = [
            self.keys.article(""),
            self.keys.card("", CARD_VERSION),
            batch.first,
            1 if batch.announce else 0,
            NEW_ARTICLES_KEPT,
            " ".join(article.id for article in articles),
            " ".join(batch.digests),
            " ".join(map(repr, batch.published)),
            " ".join(map(str, batch.lengths)),
            " ".join(batch.codes),
            " ".join(str(len(dump)) for dump in dumps),
            b"".join(dumps),
        ]
        keys = [*self._batch_keys([]), self.keys.new_articles()]
        async with self.redis.pipeline(transaction=True) as pipe:
            await self.search.add(pipe, batch.packed)
            self.search.describe(pipe, batch.first, batch.telling)
            await self._replace(keys=keys, args=args, client=pipe)
            if aliases:
                pipe.mset(aliases)
            await self.search.forget(pipe, batch.dead)
            await pipe.execute()

    async def _stored(self, article_ids: Sequence[str]) -> list[_Stored]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                pipe.hmget(self.keys.article(article_id), ["json", "code"])
            replies: list[list[str | None]] = await pipe.execute()
        return [_Stored(*reply) for reply in replies]

    def _batch_keys(self, article_ids: Sequence[str]) -> list[str]:
        """The KEYS of the batch scripts above."""
        keys = [
            self.keys.latest(),
            self.keys.search_ids(),
            self.keys.search_dead(),
            self.keys.index_stats(),
            self.keys.search_terms(),
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
        """Ids of articles published before the retention window (none without one)."""
        if self.retention is None:
            return []
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
            await self._remove(keys=self._batch_keys(ids), args=ids, client=pipe)
            dead: Counter[str] = Counter()
            for _, article, code in found:
                self.links.queue_forget(pipe, article, code)
                dead.update(analyze(article).weights.keys())
            await self.search.forget(pipe, dead)
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

    async def styled_card(self, article: Article, style: Style) -> list[dict[str, Any]]:
        """The card in a channel/broadcast style (bot/news/styles.py), cached per version of
        the article for a week."""
        digest = fingerprint(article.model_dump_json())[:16]
        key = self.keys.styled_card(article.id, CARD_VERSION, style.value, digest)
        if (raw := await self.redis.get(key)) is not None:
            return list(json.loads(raw))
        rendered = styled_payloads(article, style)
        await self.redis.set(key, json.dumps(rendered, ensure_ascii=False), ex=STYLED_CARD_TTL)
        return rendered

    async def card(self, article: Article) -> list[dict[str, Any]]:
        """The card's sendMessage payloads, rendered once per layout version and cached for
        as long as articles are kept (a new CARD_VERSION means new keys, so old cards are
        never served)."""
        key = self.keys.card(article.id, CARD_VERSION)
        if (raw := await self.redis.get(key)) is not None:
            return list(json.loads(raw))
        rendered = payloads(article)
        ttl = int(self.retention.total_seconds()) if self.retention else None
        await self.redis.set(key, json.dumps(rendered, ensure_ascii=False), ex=ttl)
        return rendered
