"""Retention: none by default (every article kept), a window only when set. Real Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from redis.asyncio import Redis

from bot.news.article import Article
from bot.news.card import CARD_VERSION
from storage.articles import ArticleStore, Saved
from storage.keys import Keys

NOW = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
ANCIENT = Article(id="1", title="خبری از گذشته", lead="متن", published=date(1995, 7, 1))


async def test_without_retention_every_article_is_kept(redis: Redis, keys: Keys) -> None:
    store = ArticleStore(redis, keys, clock=lambda: NOW)
    assert store.retention is None
    assert await store.save(ANCIENT) is Saved.STORED
    assert await store.expired() == []
    assert await store.purge() == 0
    assert await store.get("1") == ANCIENT


async def test_without_retention_a_cached_card_does_not_expire(redis: Redis, keys: Keys) -> None:
    store = ArticleStore(redis, keys, clock=lambda: NOW)
    await store.card(ANCIENT)
    assert await redis.ttl(keys.card("1", CARD_VERSION)) == -1


async def test_with_retention_old_articles_leave_and_cards_expire(redis: Redis, keys: Keys) -> None:
    store = ArticleStore(redis, keys, retention=timedelta(days=30), clock=lambda: NOW)
    await store.save(ANCIENT)
    assert await store.expired() == ["1"]
    await store.card(ANCIENT)
    assert 0 < await redis.ttl(keys.card("1", CARD_VERSION)) <= 30 * 86400
