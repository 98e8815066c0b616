"""One message to one chat, under the one retry policy of every delivery, retraction included.

What Telegram answers decides the outcome of an attempt:
- 429: every worker of every process pauses for exactly retry_after (a key in Redis), then
  the same message is sent again;
- migrate_to_chat_id: the subscription moves to the new id, and the message goes there;
- 403 (blocked, kicked, deactivated) or 400: `Refused` (`gone` when the chat is no more);
- network errors, timeouts and 5xx answers (Telegram or a proxy in front of it failing):
  retried with backoff (up to `max_backoff` between tries) for as long as the delivery is
  open: an outage delays a chat, it never gives it up. A timeout may mean Telegram carried
  the message out before the answer was lost: the retry is counted "possibly twice" (once
  per chat), the only way a chat can get a card twice besides a worker dying;
- anything else: `GaveUp`, with Telegram's reason.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBUserWarning

from bot import metrics
from storage.outbox import Outbox
from storage.ratelimit import RateLimiter
from storage.redis import backoff
from storage.subscribers import Subscribers

log = logging.getLogger("khabar.delivery")
# Workers send the stored Bot API payload with Bot.do_api_request (see Sender.send_message);
# python-telegram-bot suggests its typed method for that, which costs twice the CPU.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)

FIRST_BACKOFF = 0.5
"""Seconds before the first retry after a network error; doubled for each one after."""
MAX_BACKOFF = 30.0
"""The longest wait between two tries (a long outage is probed this often)."""


@dataclass(frozen=True)
class Sent:
    chat: str
    """Where it went: the chat, or the supergroup it became."""
    message_id: int | None


@dataclass(frozen=True)
class Refused:
    chat: str
    reason: str
    gone: bool
    """Blocked, kicked, deactivated or not found: the chat is unsubscribed."""


@dataclass(frozen=True)
class GaveUp:
    chat: str
    reason: str


Attempt = Sent | Refused | GaveUp
Call = Callable[[str], Awaitable[int | None]]
"""Sends (or deletes) one message in the chat given; the id of a message sent."""
Slot = Callable[[str], Awaitable[None]]
"""Waits for a send slot for the chat given (may raise to stop the attempt)."""


@dataclass
class Sender:
    bot: Bot
    outbox: Outbox
    subscribers: Subscribers
    limiter: RateLimiter
    paid: bool = False
    first_backoff: float = FIRST_BACKOFF
    max_backoff: float = MAX_BACKOFF

    async def attempt(self, chat: str, call: Call, slot: Slot, delivery_id: str) -> Attempt:
        """`call` in `chat` until it succeeds or is refused, or the policy gives up."""
        failures = 0
        timed_out = False
        while True:
            await slot(chat)
            try:
                return Sent(chat, await call(chat))
            except RetryAfter as error:
                await self._rate_limited(delivery_id, error)
            except ChatMigrated as error:
                new_chat = str(error.new_chat_id)
                await self.subscribers.migrate(int(chat), int(new_chat))
                log.info("chat %s became %s; delivery %s follows it", chat, new_chat, delivery_id)
                chat = new_chat
            except (Forbidden, BadRequest) as error:
                text = str(error)
                gone = isinstance(error, Forbidden) or "chat not found" in text.lower()
                if gone and chat.lstrip("-").isdigit():
                    await self.subscribers.unsubscribe(int(chat))
                return Refused(chat, text, gone)
            except NetworkError as error:
                if isinstance(error, TimedOut) and not timed_out:
                    # Telegram may have taken it before the answer was lost.
                    timed_out = True
                    await self.outbox.count(delivery_id, "duplicates")
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning(
                        "delivery %s to %s: %s (try %d); trying again",
                        delivery_id,
                        chat,
                        error,
                        failures,
                    )
                await asyncio.sleep(backoff(failures - 1, self.first_backoff, self.max_backoff))
            except TelegramError as error:
                return GaveUp(chat, str(error))

    def send_message(self, payload: dict[str, Any]) -> Call:
        """sendMessage with the stored payload as it is (it was built for the Bot API): no
        Telegram objects are built for it or for the answer, which halves the CPU of a send."""
        fields = {key: value for key, value in payload.items() if value is not None}
        if self.paid:
            fields["allow_paid_broadcast"] = True

        async def send(chat: str) -> int:
            message = await self.bot.do_api_request(
                "sendMessage", api_kwargs={"chat_id": chat, **fields}
            )
            return int(message["message_id"])

        return send

    def delete_message(self, message_id: int) -> Call:
        async def delete(chat: str) -> None:
            await self.bot.delete_message(chat_id=chat, message_id=message_id)

        return delete

    async def _rate_limited(self, delivery_id: str, error: RetryAfter) -> None:
        seconds = error.retry_after
        wait = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        log.warning("Telegram asked to wait %.0f s (429); every worker pauses", wait)
        metrics.RATE_LIMITED.inc()
        await self.limiter.pause(wait)
        await self.outbox.count(delivery_id, "rate_limited")
