"""Rebuilding the search index (storage/reindex.py) on real articles: the rebuilt index ranks
as a fresh one, saves meanwhile end up indexed once, two rebuilds never overlap, and a
rebuild that Redis stopped completes when run again."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.news.article import Article
from bot.news.parse import parse_file
from storage.articles import ArticleStore, published_timestamp
from storage.keys import Keys
from storage.locks import Lease
from storage.redis import awaited, connect
from storage.reindex import Progress, ReindexBusy, Reindexer
from tests.conftest import ARTICLES, FIXTURES
from tests.support.cluster import OwnRedis

NOW = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
QUERIES = ["تهران", "شهرداری مناطق", "آلودگی هوا", "مترو", "شورای شهر", "«شورای شهر»", "بودجه"]
TYPED = ["تهر", "شهردا"]
BATCH = 16


@functools.cache
def real_articles() -> tuple[Article, ...]:
    """The real news of the fixtures: 56 Hamshahri pages (1381-1386) and three of 2025."""
    pages = sorted((FIXTURES / "realnews" / "pages").glob("*.txt"))
    return tuple(parse_file(path) for path in [*pages, *ARTICLES])


def store_for(redis: Redis, keys: Keys) -> ArticleStore:
    return ArticleStore(redis, keys, clock=lambda: NOW)


def in_publication_order(articles: tuple[Article, ...]) -> list[Article]:
    return sorted(articles, key=lambda a: (published_timestamp(a, NOW), a.id))


async def with_real_articles(redis: Redis, keys: Keys) -> tuple[ArticleStore, list[Article]]:
    """A store with the real articles, and them oldest first."""
    store = store_for(redis, keys)
    articles = in_publication_order(real_articles())
    await store.save_many(articles)
    return store, articles


async def fresh(redis: Redis, keys: Keys, articles: tuple[Article, ...]) -> ArticleStore:
    """An index built from nothing, as a rebuild walks: oldest first, BATCH at a time."""
    store = store_for(redis, Keys(f"{keys.prefix}:fresh"))
    ordered = in_publication_order(articles)
    for start in range(0, len(ordered), BATCH):
        await store.save_many(ordered[start : start + BATCH])
    return store


async def stored_the_old_way(store: ArticleStore) -> None:
    """The articles saved as an archive grows (out of order, older versions first), then the
    index damaged the ways an older version's differs: terms gone, no telling terms, totals
    wrong."""
    articles = list(real_articles())
    random.Random(7).shuffle(articles)
    drafts = [a.model_copy(update={"title": a.title + " (پیش‌نویس)"}) for a in articles[:10]]
    for start in range(0, len(articles), 7):
        await store.save_many(drafts[start : start + 7] + articles[start : start + 7])
    redis, keys = store.redis, store.keys
    await redis.delete(keys.postings("تهران"), keys.postings("مترو"), keys.search_terms())
    await awaited(redis.hset(keys.index_stats(), mapping={"documents": 3, "length": 10}))


async def results(store: ArticleStore) -> dict[str, list[tuple[str, float]]]:
    found = {}
    for query in QUERIES:
        hits = (await store.search.search(query, limit=30)).hits
        found[query] = [(hit.article_id, hit.score) for hit in hits]
    for query in TYPED:
        hits = (await store.search.search(query, limit=30, typing=True)).hits
        found[query + "…"] = [(hit.article_id, hit.score) for hit in hits]
    return found


@dataclass(frozen=True)
class Indexed:
    """What the index holds, by article rather than by document number."""

    ids: list[str]
    telling: dict[str, str | None]
    lengths: dict[str, int]
    stats: list[str | None]
    vocabulary: list[str]

    def totals_right(self) -> bool:
        return self.stats == [str(len(self.ids)), str(sum(self.lengths.values()))]


async def index_of(store: ArticleStore) -> Indexed:
    redis, keys = store.redis, store.keys
    ids: dict[str, str] = await awaited(redis.hgetall(keys.search_ids()))
    telling: dict[str, str] = await awaited(redis.hgetall(keys.search_terms()))
    lengths = {}
    for number, article_id in ids.items():
        doc, length = await awaited(redis.hmget(keys.article(article_id), ["doc", "length"]))
        assert doc == number, f"{article_id}: its hash names its live document"
        lengths[article_id] = int(length)
    return Indexed(
        ids=sorted(ids.values()),
        telling={article_id: telling.get(number) for number, article_id in ids.items()},
        lengths=lengths,
        stats=await awaited(redis.hmget(keys.index_stats(), ["documents", "length"])),
        vocabulary=await redis.zrange(keys.vocabulary(), 0, -1),
    )


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    own = OwnRedis()
    await own.start()
    yield own
    await own.close()


async def test_a_rebuilt_index_ranks_as_a_freshly_built_one(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    await stored_the_old_way(store)
    announced = await redis.xrange(keys.new_articles())
    seen: list[Progress] = []

    rebuilt = await Reindexer(store, BATCH, 1, on_progress=seen.append).run()

    articles = real_articles()
    assert (rebuilt.indexed, rebuilt.left) == (len(articles), 0)
    assert rebuilt.dropped > 1_000
    assert [p.done for p in seen] == [*range(0, len(articles), BATCH), len(articles)]
    reference = await fresh(redis, keys, articles)
    assert await results(store) == await results(reference)
    assert all(await results(store)), "every query finds something"
    index = await index_of(store)
    assert index == await index_of(reference)
    assert len(index.ids) == len(articles) and index.totals_right()
    assert all(index.telling.values()), "every document has its telling terms"
    assert await redis.xrange(keys.new_articles()) == announced, "nothing announced again"
    assert len({fields["id"] for _, fields in announced}) == len(announced) == len(articles)


async def test_document_numbers_follow_publication_and_are_never_used_twice(
    redis: Redis, keys: Keys
) -> None:
    store = store_for(redis, keys)
    await stored_the_old_way(store)
    handed_out = int(await awaited(redis.hget(keys.index_stats(), "next")) or 0)
    await Reindexer(store, BATCH, 0).run()
    numbers = [
        int(await awaited(redis.hget(keys.article(article.id), "doc")) or 0)
        for article in in_publication_order(real_articles())
    ]
    assert numbers == list(range(handed_out + 1, handed_out + 1 + len(numbers)))


async def test_rebuilding_twice_gives_the_same_index(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    await stored_the_old_way(store)
    await Reindexer(store, BATCH, 0).run()
    once, once_index = await results(store), await index_of(store)
    second = await Reindexer(store, BATCH, 0).run()
    assert second.indexed == len(real_articles())
    assert await results(store) == once
    assert await index_of(store) == once_index


async def test_articles_saved_and_removed_during_a_rebuild_are_indexed_once(
    redis: Redis, keys: Keys
) -> None:
    store, articles = await with_real_articles(redis, keys)
    announced = len(await redis.xrange(keys.new_articles()))
    rebuild = Reindexer(store, batch=BATCH, analysers=0)
    await rebuild.drop()
    members = await redis.zrange(keys.latest(), 0, -1, withscores=True)
    first, later = articles[0], articles[-1]
    assert members[0][0] == first.id and members[-1][0] == later.id

    read = await rebuild.read(members[:BATCH])
    # While the first batch is analysed: its first article is changed, a new one comes.
    await store.save(first.model_copy(update={"title": "آبرسانی سیار به روستای زرین‌دشت"}))
    await store.save(Article(id="new-1", title="گشایش کتابخانه محله نارمک", published=NOW))
    assert await rebuild.commit(read, await rebuild.analyse(read)) == 1, "the save won"
    # Before the walk reaches them: the last article changes, another goes.
    await store.save(later.model_copy(update={"lead": "پرورش شترمرغ در کویر آغاز شد."}))
    await store.delete(articles[-2].id)
    for start in range(BATCH, len(members), BATCH):
        read = await rebuild.read(members[start : start + BATCH])
        await rebuild.commit(read, await rebuild.analyse(read))

    stored = await redis.zrange(keys.latest(), 0, -1)
    index = await index_of(store)
    assert index.ids == sorted(stored), "every stored article live once, no other"
    assert index.totals_right()
    assert await found(store, "زرین‌دشت") == [first.id]
    assert await found(store, "نارمک") == ["new-1"]
    assert await found(store, "شترمرغ") == [later.id]
    assert articles[-2].id not in await found(store, articles[-2].title)
    assert len(await redis.xrange(keys.new_articles())) == announced + 1, "new-1, once"


async def found(store: ArticleStore, query: str) -> list[str]:
    return [hit.article_id for hit in (await store.search.search(query, limit=100)).hits]


async def test_saves_while_a_rebuild_runs_leave_every_article_indexed_once(
    redis: Redis, keys: Keys
) -> None:
    store, articles = await with_real_articles(redis, keys)
    saves: list[asyncio.Task[object]] = []

    def meanwhile(progress: Progress) -> None:
        if progress.done == BATCH:
            last = articles[-1].model_copy(update={"title": "تولد کرگدن در باغ‌وحش"})
            saves.append(asyncio.create_task(store.save(last)))
            saves.append(
                asyncio.create_task(store.save(Article(id="n-2", title="زرافه‌ای تازه در باغ‌وحش")))
            )

    await Reindexer(store, BATCH, 0, on_progress=meanwhile).run()
    await asyncio.gather(*saves)
    stored = await redis.zrange(keys.latest(), 0, -1)
    index = await index_of(store)
    assert index.ids == sorted(stored) and index.totals_right()
    assert await found(store, "کرگدن") == [articles[-1].id]
    assert await found(store, "زرافه") == ["n-2"]


async def test_two_rebuilds_never_overlap(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    await store.save_many(real_articles()[:3])
    other = Lease(redis, keys.reindexer(), seconds=5)
    assert await other.acquire()
    with pytest.raises(ReindexBusy, match="another reindex is running"):
        await Reindexer(store, analysers=0, lease_seconds=0.3).run()
    assert await redis.get(keys.reindexer()) == other.holder


async def test_a_lock_left_by_a_rebuild_that_died_delays_the_next_by_one_lease_at_most(
    redis: Redis, keys: Keys
) -> None:
    store = store_for(redis, keys)
    await store.save_many(real_articles()[:3])
    assert await Lease(redis, keys.reindexer(), seconds=0.3).acquire()  # never renewed
    rebuilt = await Reindexer(store, analysers=0, lease_seconds=0.5).run()
    assert rebuilt.indexed == 3
    assert not await redis.exists(keys.reindexer()), "released at the end"


@pytest.mark.slow  # a Redis server of its own
async def test_a_rebuild_stopped_by_redis_going_away_completes_when_run_again(
    own_redis: OwnRedis,
) -> None:
    redis = await connect(own_redis.url)
    keys = Keys("khabar-reindex")
    store = store_for(redis, keys)
    await stored_the_old_way(store)

    def redis_goes_away(progress: Progress) -> None:
        if progress.done and own_redis.process is not None:
            own_redis.process.kill()

    with pytest.raises(RedisError):
        await Reindexer(store, BATCH, 0, 1.0, on_progress=redis_goes_away).run()
    await own_redis.process.wait()  # type: ignore[union-attr]
    await own_redis.start()  # its data back from the append-only file (the lock too)
    rebuilt = await Reindexer(store, BATCH, 0, 1.0).run()
    assert rebuilt.indexed == len(real_articles())
    reference = await fresh(redis, keys, real_articles())
    assert await results(store) == await results(reference)
    assert await index_of(store) == await index_of(reference)
    await redis.aclose()
