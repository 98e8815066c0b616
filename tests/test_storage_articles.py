from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.news.article import Article
from bot.news.card import CARD_VERSION, payloads
from bot.news.parse import parse_file
from storage.articles import ArticleStore, Saved
from storage.keys import Keys
from storage.redis import StorageUnavailable, awaited, connect
from tests.conftest import ARTICLES

NOW = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)


def store_for(redis: Redis, keys: Keys) -> ArticleStore:
    return ArticleStore(redis, keys, retention=timedelta(days=90), clock=lambda: NOW)


async def test_saving_twice_changes_nothing(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    article = parse_file(ARTICLES[0])
    assert await store.save(article) is Saved.STORED
    before = await awaited(redis.hgetall(keys.article(article.id)))
    assert await store.save(parse_file(ARTICLES[0])) is Saved.UNCHANGED
    assert await awaited(redis.hgetall(keys.article(article.id))) == before
    assert await store.get(article.id) == article
    assert await store.count() == 1


async def test_a_changed_article_replaces_the_old_one(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    article = parse_file(ARTICLES[0])
    await store.save(article)
    changed = article.model_copy(update={"title": "عنوان تازه"})
    assert await store.save(changed) is Saved.UPDATED
    stored = await store.get(article.id)
    assert stored is not None and stored.title == "عنوان تازه"
    assert await store.count() == 1


async def test_latest_is_newest_first_with_paging(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    for path in ARTICLES:
        await store.save(parse_file(path))
    newest = [a.id for a in await store.latest(0, 10)]
    assert newest == ["265488", "265301", "265240"]
    assert [a.id for a in await store.latest(1, 1)] == ["265301"]
    assert await store.latest(5, 10) == []


async def test_expired_articles_are_those_outside_the_retention_window(
    redis: Redis, keys: Keys
) -> None:
    store = store_for(redis, keys)
    old = Article(id="1", title="قدیمی", lead="متن", published=date(2025, 7, 1))
    fresh = Article(id="2", title="تازه", lead="متن", published=date(2025, 10, 30))
    undated = Article(id="3", title="بی‌تاریخ", lead="متن")
    for article in (old, fresh, undated):
        await store.save(article)
    assert await store.expired() == ["1"]
    await store.delete("1")
    assert await store.get("1") is None
    assert await store.count() == 2


async def test_the_card_is_cached_per_layout_version_and_rebuilt_on_change(
    redis: Redis, keys: Keys
) -> None:
    store = store_for(redis, keys)
    article = parse_file(ARTICLES[1])
    await store.save(article)
    assert await store.card(article) == payloads(article)
    assert await redis.exists(keys.card(article.id, CARD_VERSION))
    changed = article.model_copy(update={"title": "عنوان تازه"})
    await store.save(changed)
    assert not await redis.exists(keys.card(article.id, CARD_VERSION))
    assert "عنوان تازه" in (await store.card(changed))[0]["text"]


async def test_an_unreachable_redis_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(StorageUnavailable) as caught:
        await connect("redis://:hunter2@127.0.0.1:1/0")
    assert "127.0.0.1:1" in str(caught.value) and "hunter2" not in str(caught.value)
