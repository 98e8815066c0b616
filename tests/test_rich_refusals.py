"""A rich message the Bot API refused is remembered in Redis (a key with a TTL) by every
process: two processes' Media against the fake Bot API over HTTP, which refuses
sendRichMessage as an older self-hosted server does (404); the real Redis, and a Redis that
is away (then each process goes by what it saw itself, and no message is lost)."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from telegram import Bot

from bot.delivery.media import Media, Post
from bot.sandbox.media import send_rich_message
from storage.keys import Keys
from storage.redis import connect
from storage.refusals import RICH_RETRY_AFTER, RichRefusals
from tests.support.fake_telegram import TOKEN, FakeTelegram, serve
from tests.support.storage_fixtures import TEST_REDIS_URL, drop_prefix
from tests.test_bot_reader import unreachable_redis

CHATS = [5001, 5002, 5003]
RICH = {"rich_message": {"html": "<h1>عنوان</h1><p>لید خبر</p>", "is_rtl": True}}


def fallback(chat: int) -> dict[str, Any]:
    return {"chat_id": chat, "text": "<b>عنوان</b>\n\nلید خبر", "parse_mode": "HTML"}


@pytest.fixture
async def refusing() -> AsyncIterator[tuple[FakeTelegram, Post]]:
    """A Bot API without rich messages (404 "method not found") and a way to post to it."""
    telegram = FakeTelegram()
    del telegram._handlers["sendrichmessage"]
    telegram.add_private_chats(CHATS)
    runner, url = await serve(telegram)
    bot = Bot(TOKEN, base_url=url)
    await bot.initialize()

    async def post(method: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = await bot.do_api_request(method, api_kwargs=params)
        assert isinstance(answer, dict)
        return answer

    yield telegram, post
    await bot.shutdown()
    await runner.cleanup()


@pytest.fixture
async def shared() -> AsyncIterator[tuple[Redis, Keys]]:
    redis = await connect(TEST_REDIS_URL)
    keys = Keys(f"khabar-test-{uuid.uuid4().hex[:12]}")
    yield redis, keys
    await drop_prefix(redis, keys.prefix)
    await redis.aclose()


async def send_rich(media: Media, post: Post, chat: int) -> dict[str, Any]:
    return await media.send_rich(post, {"chat_id": chat, **RICH}, fallback(chat))


async def test_a_refusal_one_process_saw_sends_text_in_every_process(
    refusing: tuple[FakeTelegram, Post],
    shared: tuple[Redis, Keys],
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram, post = refusing
    redis, keys = shared
    first, second = Media(redis, keys), Media(redis, keys)  # two processes' own memories
    with caplog.at_level(logging.WARNING, "khabar.delivery"):
        sent = await send_rich(first, post, CHATS[0])
        assert telegram.calls["sendrichmessage"] == 1
        assert "rich_message" not in telegram.chat(CHATS[0])[0].payload
        assert sent["text"].startswith("عنوان"), "the text card went instead, not nothing"
        left = await redis.pttl(keys.rich_refused())
        assert RICH_RETRY_AFTER * 1000 - 5_000 < left <= RICH_RETRY_AFTER * 1000
        assert "sendRichMessage" in await redis.get(keys.rich_refused()), "the reason, for logs"

        await send_rich(second, post, CHATS[1])
        await send_rich(second, post, CHATS[2])
        await send_rich(first, post, CHATS[2])
    assert telegram.calls["sendrichmessage"] == 1, "the second process never tried"
    assert [len(telegram.chat(chat)) for chat in CHATS] == [1, 1, 2]
    assert caplog.text.count("refused a rich message") == 2, "one line per process"


async def test_rich_messages_are_tried_again_once_the_refusal_expires(
    refusing: tuple[FakeTelegram, Post], shared: tuple[Redis, Keys]
) -> None:
    telegram, post = refusing
    redis, keys = shared
    first = Media(redis, keys, refusals=RichRefusals(redis, keys, retry_after=0.3))
    second = Media(redis, keys, refusals=RichRefusals(redis, keys, retry_after=0.3))
    await send_rich(first, post, CHATS[0])
    await send_rich(second, post, CHATS[1])
    assert telegram.calls["sendrichmessage"] == 1
    await asyncio.sleep(0.4)
    assert await redis.exists(keys.rich_refused()) == 0
    telegram._handlers["sendrichmessage"] = functools.partial(send_rich_message, telegram)
    await send_rich(second, post, CHATS[1])
    assert telegram.calls["sendrichmessage"] == 2, "tried again"


async def test_with_redis_away_each_process_remembers_its_own_refusal(
    refusing: tuple[FakeTelegram, Post], caplog: pytest.LogCaptureFixture
) -> None:
    telegram, post = refusing
    away, keys = await unreachable_redis(), Keys("khabar-test-away")
    first, second = Media(away, keys), Media(away, keys)
    try:
        with caplog.at_level(logging.WARNING, "khabar.delivery"):
            await send_rich(first, post, CHATS[0])
            await send_rich(first, post, CHATS[1])
            assert telegram.calls["sendrichmessage"] == 1, "remembered in the process"
            await send_rich(second, post, CHATS[2])
    finally:
        await away.aclose()
    assert telegram.calls["sendrichmessage"] == 2, "the other process learnt it itself"
    assert all(len(telegram.chat(chat)) == 1 for chat in CHATS), "no message lost"
    assert all("rich_message" not in telegram.chat(chat)[0].payload for chat in CHATS)
    assert "Redis did not take the refusal" in caplog.text
