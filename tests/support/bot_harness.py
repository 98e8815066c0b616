"""The bot, running for real (python-telegram-bot's Application, long polling over HTTP)
against the fake Bot API server and the real Redis, and a reader to drive it."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app.build import build, services_for
from bot.app.runtime import Runtime
from bot.app.serve import card_maker
from bot.config import Settings
from bot.services import Services
from handlers.common import KhabarApplication
from storage.articles import ArticleStore
from tests.support.fake_telegram import TOKEN, FakeTelegram, Limits, Sent, User, serve
from tests.support.storage_fixtures import TEST_REDIS_URL, drop_prefix


@dataclass
class Harness:
    telegram: FakeTelegram
    application: KhabarApplication
    services: Services

    @property
    def store(self) -> ArticleStore:
        return self.services.store

    async def send(
        self,
        user: User | int,
        text: str,
        replies: int = 1,
        *,
        chat_id: int | None = None,
        chat_type: str | None = None,
    ) -> list[Sent]:
        """A user writes in a chat; the bot's `replies` new messages there."""
        user = user if isinstance(user, User) else User(user)
        chat = user.id if chat_id is None else chat_id
        before = len(self.telegram.messages[chat])
        await self.telegram.send_text(user, text, chat_id=chat, chat_type=chat_type)
        if replies == 0:
            return []
        return await self.telegram.wait_for(chat, replies, after=before)

    async def press(self, user: User | int, sent: Sent, text: str) -> str:
        """A user presses the button labelled `text` under a message; the query id."""
        [button] = [b for b in sent.buttons if b["text"] == text]
        query_id = await self.telegram.press(user, sent, button["callback_data"])
        await self.telegram.wait_until(lambda: query_id in self.telegram.callback_answers)
        return query_id

    async def inline(self, user: User | int, query: str, offset: str = "") -> dict[str, object]:
        query_id = await self.telegram.inline(user, query, offset)
        await self.telegram.wait_until(lambda: query_id in self.telegram.inline_answers)
        return self.telegram.inline_answers[query_id]


RELAXED = Limits(private_burst=30, private_rate=30, group_burst=30, group_rate=30)


@contextlib.asynccontextmanager
async def running_bot(
    telegram: FakeTelegram | None = None, **overrides: Any
) -> AsyncIterator[Harness]:
    """The bot polling a fresh fake server (or `telegram`), on a Redis prefix of its own that
    is removed after; `overrides` are settings (admin_ids, channel_ids, broadcast_rate...)."""
    telegram = telegram or FakeTelegram(RELAXED)
    runner, url = await serve(telegram)
    prefix = f"khabar-test-bot-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        **{
            "bot_token": SecretStr(TOKEN),
            "bot_api_url": url,
            "redis_url": TEST_REDIS_URL,
            "redis_prefix": prefix,
            "retention_days": 36500,
            "public_url": "https://khabar.example.ir",
            **overrides,
        }
    )
    services = await services_for(settings)
    application = build(settings, services)
    await application.initialize()
    runtime = await Runtime.start(services, card_maker(services))
    if application.post_init:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    await application.start()
    try:
        yield Harness(telegram, application, services)
    finally:
        await application.updater.stop()
        await application.stop()
        await runtime.stop()
        await application.shutdown()
        await runner.cleanup()
        redis = services.redis
        await drop_prefix(redis, prefix)
        await redis.aclose()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with running_bot() as running:
        yield running
        errors = running.telegram.errors
    assert errors == [], "the bot sent something Telegram would refuse"
