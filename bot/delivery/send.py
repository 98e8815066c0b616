"""One message to one chat, under the one retry policy of every delivery, retraction included.

What Telegram answers decides the outcome of an attempt:
- 429: every worker of every process pauses for exactly retry_after (a key in Redis), then
  the same message is sent again;
- migrate_to_chat_id: the subscription moves to the new id, and the message goes there;
- 403 (blocked, kicked, deactivated) or 400: `Refused` (`gone` when the chat is no more);
- network errors, timeouts and 5xx answers (Telegram or a proxy in front of it failing):
  retried with backoff (up to `max_backoff` between tries) for as long as the delivery is
  open: an outage delays a chat, it never gives it up;
- a timeout after the request went out may mean Telegram carried the message out and only
  its answer was lost. Such a send is not repeated blindly: first Telegram must answer a
  probe (getMe, which sends nothing), then the message goes again, counted "possibly twice":
  with a worker dying, the only way a chat can get a card twice. And while requests go
  unanswered for `stalled_after` seconds, no new one is sent (`Sender.until_answering`), so
  a stalled Bot API is not handed a pile of messages it will carry out twice.
- anything else: `GaveUp`, with Telegram's reason.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
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
from bot.delivery.media import Media
from storage.outbox import Outbox
from storage.ratelimit import RateLimiter
from storage.redis import backoff
from storage.refusals import RichRefusals
from storage.subscribers import Subscribers

log = logging.getLogger("khabar.delivery")
# Workers send the stored Bot API payload with Bot.do_api_request (see Sender.send_message);
# python-telegram-bot suggests its typed method for that, which costs twice the CPU.
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.send(Message|Photo)'", category=PTBUserWarning
)

FIRST_BACKOFF = 0.5
"""Seconds before the first retry after a network error; doubled for each one after."""
MAX_BACKOFF = 30.0
"""The longest wait between two tries (a long outage is probed this often)."""
STALLED_AFTER = 1.5
"""Seconds without an answer after which no new request is sent (Telegram answers in less
than one normally)."""
PROBE_TIMEOUT = 5.0
NETWORK_QUIET = 10.0


def _to(chat: str, fallback: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if fallback is None else {"chat_id": chat, **fallback}


def _maybe_carried_out(error: NetworkError) -> bool:
    """A timeout after the request was written: Telegram may have carried it out. A timeout
    connecting, or waiting for a connection of the pool, sent nothing."""
    return isinstance(error, TimedOut) and not isinstance(
        error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout
    )


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
    stalled_after: float = STALLED_AFTER
    _pending: dict[int, float] = field(default_factory=dict, init=False)
    """Requests on their way: a number → when they left (time.monotonic())."""
    _numbers: Iterator[int] = field(default_factory=itertools.count, init=False)
    _answered_at: float = field(default=0.0, init=False)
    _probe: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _warned_at: float = field(default=-NETWORK_QUIET, init=False)
    _failed_since: int = field(default=0, init=False)
    allow_private_pictures: bool = False
    """Pictures khabar downloads itself may be at private addresses (tests)."""
    rich_refusals: RichRefusals | None = None
    """The process's rich-message refusals (Services.rich_refusals)."""
    media: Media = field(init=False)

    def __post_init__(self) -> None:
        self.media = Media(
            self.outbox.redis, self.outbox.keys, self.allow_private_pictures, self.rich_refusals
        )

    async def attempt(self, chat: str, call: Call, slot: Slot, delivery_id: str) -> Attempt:
        """`call` in `chat` until it succeeds or is refused, or the policy gives up."""
        failures = 0
        while True:
            await self.until_answering()
            await slot(chat)
            if self._stalled():
                continue  # the slot goes unused: sent now, it would join the pile
            try:
                return Sent(chat, await self._timed(call, chat))
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
                if _maybe_carried_out(error):
                    await self._until_probe_answered(time.monotonic())
                    await self.outbox.count(delivery_id, "duplicates")
                failures += 1
                self._network_trouble(error)
                await asyncio.sleep(backoff(failures - 1, self.first_backoff, self.max_backoff))
            except TelegramError as error:
                return GaveUp(chat, str(error))

    def _network_trouble(self, error: NetworkError) -> None:
        """One line every NETWORK_QUIET seconds however many chats are retrying."""
        now = time.monotonic()
        self._failed_since += 1
        if now - self._warned_at >= NETWORK_QUIET:
            log.warning(
                "Telegram requests fail (%s): %d retries since the last line; retrying with "
                "backoff",
                error,
                self._failed_since,
            )
            self._warned_at, self._failed_since = now, 0

    def _stalled(self) -> bool:
        """A request has waited `stalled_after` seconds for its answer."""
        return bool(self._pending) and (
            time.monotonic() - min(self._pending.values()) > self.stalled_after
        )

    async def until_answering(self) -> None:
        while self._stalled():
            await asyncio.sleep(0.2)

    async def _timed(self, call: Call, chat: str) -> int | None:
        number = next(self._numbers)
        self._pending[number] = time.monotonic()
        try:
            result = await call(chat)
        finally:
            del self._pending[number]
        self._answered_at = time.monotonic()
        return result

    async def _until_probe_answered(self, since: float) -> None:
        """Wait until Telegram answers something after `since` (one probe for all)."""
        failures = 0
        async with self._probe:
            while self._answered_at < since:
                try:
                    await self.bot.get_me(read_timeout=PROBE_TIMEOUT)
                    self._answered_at = time.monotonic()
                except TelegramError as error:
                    failures += 1
                    log.warning("Telegram does not answer (%s); probing again", error)
                    await asyncio.sleep(backoff(failures - 1, self.first_backoff, self.max_backoff))

    def send_message(self, payload: dict[str, Any]) -> Call:
        """The stored payload as it is (it was built for the Bot API) with its ``method``
        (sendMessage when it names none; sendPhoto and sendRichMessage through
        bot/delivery/media.py, which falls back to the payload's ``fallback`` text): no
        Telegram objects are built for it or for the answer, which halves the CPU of a send."""
        method = payload.get("method", "sendMessage")
        fallback = payload.get("fallback")
        fields = {
            key: value
            for key, value in payload.items()
            if value is not None and key not in ("method", "fallback")
        }
        if self.paid:
            fields["allow_paid_broadcast"] = True
            if fallback is not None:
                fallback = {**fallback, "allow_paid_broadcast": True}

        async def send(chat: str) -> int:
            if method == "sendPhoto":
                message = await self.media.send_photo(
                    self._post, {"chat_id": chat, **fields}, _to(chat, fallback)
                )
            elif method == "sendRichMessage":
                message = await self.media.send_rich(
                    self._post, {"chat_id": chat, **fields}, _to(chat, fallback)
                )
            else:
                message = await self.bot.do_api_request(
                    method, api_kwargs={"chat_id": chat, **fields}
                )
            return int(message["message_id"])

        return send

    async def _post(self, method: str, fields: dict[str, Any]) -> dict[str, Any]:
        message = await self.bot.do_api_request(method, api_kwargs=fields)
        assert isinstance(message, dict)
        return message

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
