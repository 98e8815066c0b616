from __future__ import annotations

from redis.asyncio import Redis

from storage.keys import Keys
from storage.subscribers import ChatKind, Subscriber, Subscribers


async def test_subscribing_twice_is_harmless(redis: Redis, keys: Keys) -> None:
    subscribers = Subscribers(redis, keys)
    assert await subscribers.subscribe(42, ChatKind.PRIVATE) is True
    assert await subscribers.subscribe(42, ChatKind.PRIVATE) is False
    assert await subscribers.count() == 1
    assert await subscribers.get(42) == Subscriber(42, ChatKind.PRIVATE, "fa")
    assert (await subscribers.count_by_kind())[ChatKind.PRIVATE] == 1


async def test_unsubscribe_removes_the_chat_and_its_count(redis: Redis, keys: Keys) -> None:
    subscribers = Subscribers(redis, keys)
    await subscribers.subscribe(-100123, ChatKind.GROUP)
    await subscribers.subscribe(7, ChatKind.PRIVATE)
    assert await subscribers.unsubscribe(-100123) is True
    assert await subscribers.unsubscribe(-100123) is False
    assert await subscribers.get(-100123) is None
    assert await subscribers.count_by_kind() == {
        ChatKind.PRIVATE: 1,
        ChatKind.GROUP: 0,
        ChatKind.CHANNEL: 0,
    }


async def test_a_changed_kind_moves_the_count(redis: Redis, keys: Keys) -> None:
    subscribers = Subscribers(redis, keys)
    await subscribers.subscribe(-5, ChatKind.GROUP)
    await subscribers.subscribe(-5, ChatKind.CHANNEL, "en")
    assert await subscribers.get(-5) == Subscriber(-5, ChatKind.CHANNEL, "en")
    counts = await subscribers.count_by_kind()
    assert (counts[ChatKind.GROUP], counts[ChatKind.CHANNEL]) == (0, 1)


async def test_migrating_a_chat_keeps_its_subscription(redis: Redis, keys: Keys) -> None:
    subscribers = Subscribers(redis, keys)
    await subscribers.subscribe(-123, ChatKind.GROUP)
    assert await subscribers.migrate(-123, -100123) is True
    assert await subscribers.get(-123) is None
    assert await subscribers.get(-100123) == Subscriber(-100123, ChatKind.GROUP, "fa")
    assert await subscribers.migrate(-999, -1000999) is False
    assert await subscribers.count() == 1


async def test_pages_walk_every_chat_once_without_loading_all(redis: Redis, keys: Keys) -> None:
    subscribers = Subscribers(redis, keys)
    chats = list(range(-1050, 0, 3)) + list(range(1, 2_000, 7))
    for chat in chats:
        await subscribers.subscribe(chat, ChatKind.PRIVATE if chat > 0 else ChatKind.GROUP)
    pages = [page async for page in subscribers.pages(size=100)]
    assert all(len(page) <= 100 for page in pages)
    walked = [chat for page in pages for chat in page]
    assert walked == sorted(chats)
