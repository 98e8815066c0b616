"""Long pauses Telegram asks for: a 429 whose retry_after is a minute or more (Telegram's
answer to a bot that kept drawing 429s) stops every process for exactly that long
(storage/ratelimit.py). The admins are told once, by one process, in Persian: when sending
resumes and what is waiting. The notice is tried at once (Telegram's wait may be for the
method or chat that drew it); if Telegram refuses it too, it goes when the pause is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from telegram import Bot
from telegram.error import TelegramError

from storage.locks import wait_for
from storage.outbox import Outbox
from storage.ratelimit import RateLimiter

log = logging.getLogger("khabar.delivery")

LONG_PAUSE = 20.0
"""Seconds of pause from which the admins are told."""
CHECK_EVERY = 1.0

Notice = Callable[[float, int], str]
"""The text for a pause of this many seconds with this many messages waiting."""


@dataclass
class PauseReporter:
    bot: Bot
    limiter: RateLimiter
    outbox: Outbox
    admins: list[int]
    notice: Notice
    every: float = CHECK_EVERY
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _unsent: list[tuple[int, str]] = field(default_factory=list, init=False)

    def start(self) -> None:
        if self.admins:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(RedisError):  # the workers report Redis's absence
                await self._check()
            await wait_for(self._stop, self.every)

    async def _check(self) -> None:
        left = await self.limiter.paused_for()
        if left <= 0 and self._unsent:
            unsent, self._unsent = self._unsent, []
            await self._tell(unsent)
            return
        if left < LONG_PAUSE or not await self.limiter.claim_pause_report(left):
            return
        log.warning("Telegram paused the bot for %.0f s; telling the admins", left)
        text = self.notice(left, await self.outbox.depth())
        self._unsent = await self._tell([(admin, text) for admin in self.admins])

    async def _tell(self, notices: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Send each notice once; those Telegram refused come back, to go after the pause."""
        refused = []
        for admin, text in notices:
            try:
                await self.bot.do_api_request(
                    "sendMessage", api_kwargs={"chat_id": admin, "text": text}
                )
            except TelegramError as error:
                log.warning("could not tell admin %s of the pause: %s", admin, error)
                refused.append((admin, text))
        return refused
