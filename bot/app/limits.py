"""The replies' side of the one message budget (storage/ratelimit.py).

Every call of the Application's bot that sends or edits a message (answers, edits of lists
and of delivery progress, notices) books its slot in Redis and waits for it: readers are
answered in turn, before any delivery, and never draw a 429. A slot further away than the
horizon is not waited for (the reader has moved on, or Telegram asked the bot to pause): the
call fails with RetryAfter, which the error handler logs without an apology.

While Redis does not answer, replies are paced in this process alone (`LocalPacer`), more
slowly, since the other processes cannot be seen: a Redis restart never stops the answers.
A 429 from Telegram pauses every process for exactly retry_after (the shared pause; a long
one is reported to the admins by bot/delivery/pauses.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot import metrics
from storage.ratelimit import Rate, RateLimiter, chat_rate

log = logging.getLogger("khabar.limits")

SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendRichMessage",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageReplyMarkup",
    }
)
"""What Telegram counts against a bot's message limits."""
REPLY_HORIZON = 20.0
"""Seconds a reply may wait for its slot; past that it is dropped."""
LOCAL_BOT = Rate(10.0)
"""Without Redis: this process's share of the bot's budget (others may be sending too)."""

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def seconds_of(retry_after: int | float | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after


class LocalPacer:
    """GCRA in this process only: the same per-chat rates, a smaller bot-wide one."""

    def __init__(self, bot: Rate = LOCAL_BOT) -> None:
        self.bot = bot
        self._bot_tat = 0.0
        self._chats: dict[str, float] = {}
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def book(self, chat: str) -> float:
        now = time.monotonic()
        if len(self._chats) > 10_000:
            self._chats = {key: tat for key, tat in self._chats.items() if tat > now}
        rate = chat_rate(chat)
        chat_tat = max(self._chats.get(chat, now), now)
        at = max(now, self._paused_until, self._bot_tat, chat_tat - rate.tolerance_ms / 1000)
        self._bot_tat = at + 1 / self.bot.per_second
        self._chats[chat] = max(chat_tat, at) + 1 / rate.per_second
        return at - now


class ReplyLimiter(BaseRateLimiter[int]):
    def __init__(self, shared: RateLimiter, horizon: float = REPLY_HORIZON) -> None:
        self.shared = shared
        self.horizon = horizon
        self.local = LocalPacer()
        self._redis_down = False

    async def initialize(self) -> None:
        """Nothing to set up: the budget lives in Redis."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSON:
        chat = data.get("chat_id")
        if endpoint not in SENDING or chat is None:
            return await callback(*args, **kwargs)
        retried = False
        while True:
            await self._wait_turn(str(chat))
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = seconds_of(error.retry_after)
                log.warning("Telegram asked to wait %.0f s (429); every process pauses", seconds)
                metrics.RATE_LIMITED.inc()
                self.local.pause(seconds)
                with contextlib.suppress(RedisError):
                    await self.shared.pause(seconds)
                if retried or seconds > self.horizon:
                    raise
                retried = True

    async def _wait_turn(self, chat: str) -> None:
        try:
            wait = await self.shared.book(chat, self.horizon)
            if self._redis_down:
                log.info("Redis answers again: replies share the budget of every process")
                self._redis_down = False
        except RedisError as error:
            if not self._redis_down:
                log.warning("Redis does not answer (%s): replies paced in this process", error)
                self._redis_down = True
            wait = self.local.book(chat)
        if wait < 0:
            raise RetryAfter(math.ceil(-wait))
        if wait > 0:
            await asyncio.sleep(wait)
