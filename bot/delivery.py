"""Delivery: breaking news to every subscriber and new articles to the channels, through the
outbox (storage/outbox.py) and the shared limits (storage/ratelimit.py).

Inside `khabar run`, every process runs a `Deliverer`: a few workers, each a consumer of the
outbox's group, with up to `batch` chats in hand at a time. One gate per process asks Redis
for send slots for all its waiting chats in one script call; the marks (in flight, sent) and
the acknowledgements are written in batches too, so Redis round trips do not grow with the
number of messages in flight.

What Telegram answers decides what happens to a chat:
- 429: every worker of every process pauses for exactly retry_after (a key in Redis), then
  the same message is sent again;
- 403 (blocked, kicked, deactivated) or 400 "chat not found": the chat is unsubscribed;
- migrate_to_chat_id: the subscription moves to the new id, and the message goes there;
- network errors and timeouts: retried with backoff, at most MAX_TRIES times;
- anything else: the chat is given up, the reason recorded on the delivery.
A card of two messages goes to a chat in order; a cancelled delivery skips the chats it has
not started, never half a card.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from redis.exceptions import RedisError, ResponseError
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
from bot.config import Settings
from bot.news.article import TEHRAN, Article
from storage.articles import ArticleStore
from storage.keys import Keys
from storage.locks import Lease
from storage.outbox import Delivery, Done, Entry, Kind, Marks, Outbox, Outcome, Status
from storage.ratelimit import Ask, RateLimiter
from storage.subscribers import Subscribers

log = logging.getLogger("khabar.delivery")
# Workers send the stored Bot API payload with Bot.do_api_request (see Deliverer._send);
# python-telegram-bot suggests its typed method for that, which costs twice the CPU.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'",
                        category=PTBUserWarning)

MAX_TRIES = 5
"""Network errors in a row before a chat is given up."""
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)
HOUSEKEEPING_EVERY = 10.0
STOP_GRACE = 5.0
"""Seconds a stopping process gives messages already on their way."""
READ_BLOCK_MS = 500

T = TypeVar("T")
CardMaker = Callable[[Article], Awaitable[list[dict[str, Any]]]]
"""An article → the payloads of its card with buttons (handlers know the button texts)."""


class Stopping(Exception):
    """The process is stopping: what was not sent goes back to the outbox."""


class Batcher(Generic[T]):
    """Collects items from many coroutines and writes them with one call; `add` returns when
    the item's batch is written. While one batch is being written the next one fills up, so
    the batches grow with the load and there is no timer to tune."""

    def __init__(self, write: Callable[[list[T]], Awaitable[Any]]) -> None:
        self._write = write
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._writing = False
        self._task: asyncio.Task[None] | None = None

    async def add(self, item: T) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._writing:
            self._writing = True
            self._task = asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self._write([item for item, _ in batch])
                except Exception as error:  # each waiter sees the failure of its own write
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._writing = False


class Gate:
    """Send slots for one process: chats wait here in order, and one script call asks the
    shared limiter for all of them at once."""

    MAX_ASK = 500

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self._waiting: list[tuple[Ask, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._no_first = False
        self._asking: list[tuple[Ask, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def take(self, chat: str, note: tuple[str, str, str]) -> None:
        """Wait for a slot to send one message to `chat` (`note`, the in-flight mark, is
        written with it); Stopping when the gate closes."""
        ask = Ask(chat, *note)
        if self._closed or (self._no_first and ask.note_value == "0"):
            raise Stopping
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((ask, future))
        self._wake.set()
        await future

    def refuse_first_messages(self) -> None:
        """A stopping process starts no new chat; cards already begun go on."""
        self._no_first = True
        for ask, future in self._waiting:
            if ask.note_value == "0" and not future.done():
                future.set_exception(Stopping())

    async def close(self) -> None:
        self._closed = True
        for _, future in (*self._waiting, *self._asking):
            if not future.done():
                future.set_exception(Stopping())
        self._waiting = []
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _later(self, ask: Ask, future: asyncio.Future[None]) -> None:
        if self._closed or (self._no_first and ask.note_value == "0"):
            if not future.done():
                future.set_exception(Stopping())
            return
        self._waiting.append((ask, future))
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                self._waiting = [(c, f) for c, f in self._waiting if not f.done()]
                asked = self._asking = self._waiting[: self.MAX_ASK]
                del self._waiting[: self.MAX_ASK]  # chats arriving meanwhile queue behind
                if not asked:
                    break
                try:
                    grant = await self.limiter.acquire([ask for ask, _ in asked])
                except Exception:
                    log.exception("the rate limiter failed; trying again in a second")
                    self._waiting[:0] = asked
                    await asyncio.sleep(1.0)
                    continue
                unasked = []
                for (ask, future), verdict in zip(asked, grant.chats, strict=True):
                    if future.done():
                        continue
                    if verdict is None:
                        unasked.append((ask, future))
                    elif verdict == 0.0:
                        future.set_result(None)
                    else:  # this chat's own limit: it waits, the others go on
                        loop.call_later(verdict, self._later, ask, future)
                self._waiting[:0] = unasked
                if grant.wait > 0:
                    await asyncio.sleep(grant.wait)


def process_name() -> str:
    """host:pid:random: a restarted container (same host name, pid 1) is someone else."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Deliverer:
    """The delivery workers of one process."""

    bot: Bot
    outbox: Outbox
    subscribers: Subscribers
    limiter: RateLimiter
    paid: bool = False
    workers: int = 4
    batch: int = 16
    claim_after: float = 60.0
    """Seconds: an entry nobody touched for this long belonged to a worker that died (its
    owner touches what it holds four times as often); another process takes it over."""
    name: str = field(default_factory=process_name)
    _gate: Gate = field(init=False)
    _deliveries: dict[str, Delivery] = field(default_factory=dict, init=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _entry_tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _held: dict[str, dict[str, Entry]] = field(default_factory=dict, init=False)
    """Per consumer: entries read and not yet finished (touched, so nobody claims them)."""
    _room: dict[str, asyncio.Event] = field(default_factory=dict, init=False)
    _started: set[str] = field(default_factory=set, init=False)
    """Entries with a message on its way or sent: never handed back, only finished (or
    claimed, if this process dies)."""
    _decided: set[str] = field(default_factory=set, init=False)
    """Entries whose outcome is known and being recorded: not handed back either."""
    _sent: Batcher[tuple[Entry, str, list[int]]] = field(init=False)
    _done: Batcher[Done] = field(init=False)

    def __post_init__(self) -> None:
        self._gate = Gate(self.limiter)
        self._sent = Batcher(self.outbox.mark_sent)
        self._done = Batcher(self._finish)

    # Running ----------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.outbox.ensure_group()
        self._gate.start()
        loop = asyncio.get_running_loop()
        for number in range(self.workers):
            consumer = f"{self.name}:{number}"
            self._held[consumer] = {}
            self._room[consumer] = asyncio.Event()
            await self.outbox.join(consumer)
            self._tasks.append(loop.create_task(self._work(consumer)))
        self._tasks.append(loop.create_task(self._housekeeping()))

    def alive(self) -> bool:
        """Every worker loop is running (for /healthz)."""
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    async def stop(self) -> None:
        """Stop reading and starting chats; messages on their way get STOP_GRACE seconds to
        be answered and recorded; every chat not started goes back to the outbox, for another
        process, at once."""
        self._stopping.set()
        self._gate.refuse_first_messages()
        await asyncio.wait(self._tasks, timeout=1.0)
        if self._entry_tasks:
            await asyncio.wait(self._entry_tasks, timeout=STOP_GRACE)
        await self._gate.close()
        if self._entry_tasks:  # they see Stopping now
            await asyncio.wait(self._entry_tasks, timeout=1.0)
        for task in (*self._tasks, *self._entry_tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._entry_tasks, return_exceptions=True)
        handed = [entry for held in self._held.values() for entry in held.values()
                  if entry.entry_id not in self._started | self._decided]
        try:
            await self.outbox.hand_back(handed)
            for consumer in self._held:
                await self.outbox.leave(consumer)
        except Exception:
            log.exception("could not hand back %d chats; another process claims them later",
                          len(handed))
        if handed:
            log.info("handed back %d chats to the outbox", len(handed))

    def _spawn(self, consumer: str, entry: Entry, marks: Marks, delivery: Delivery | None
               ) -> None:
        self._held[consumer][entry.entry_id] = entry
        task = asyncio.get_running_loop().create_task(
            self._run_entry(consumer, entry, marks, delivery))
        self._entry_tasks.add(task)
        task.add_done_callback(self._entry_tasks.discard)

    async def _work(self, consumer: str) -> None:
        held = self._held[consumer]
        while not self._stopping.is_set():
            try:
                room = self.batch - len(held)
                if room < max(1, self.batch // 2):  # refill in chunks: fewer round trips
                    self._room[consumer].clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._room[consumer].wait(), 1.0)
                    continue
                entries = await self.outbox.read(consumer, room, READ_BLOCK_MS)
                if entries and not self._stopping.is_set():
                    for entry, marks, delivery in await self._prepare(entries):
                        self._spawn(consumer, entry, marks, delivery)
                elif entries:  # read just as the process stops: straight back
                    await self.outbox.hand_back(entries)
            except Exception as error:
                log.exception("delivery worker %s: reading the outbox failed", consumer)
                if "NOGROUP" in str(error):  # the stream was lost (a Redis without its data)
                    with contextlib.suppress(Exception):
                        await self.outbox.ensure_group()
                await asyncio.sleep(1.0)

    async def _prepare(self, entries: Sequence[Entry]
                       ) -> list[tuple[Entry, Marks, Delivery | None]]:
        missing = sorted({e.delivery_id for e in entries} - self._deliveries.keys())
        self._deliveries |= await self.outbox.get_many(missing) if missing else {}
        marks = await self.outbox.marks(entries)
        return [(entry, mark, self._deliveries.get(entry.delivery_id))
                for entry, mark in zip(entries, marks, strict=True)]

    def _release(self, consumer: str, entry: Entry) -> None:
        """No longer this process's: finished, or left for another to claim."""
        self._held[consumer].pop(entry.entry_id, None)
        self._started.discard(entry.entry_id)
        self._decided.discard(entry.entry_id)
        self._room[consumer].set()

    async def _run_entry(self, consumer: str, entry: Entry, marks: Marks,
                         delivery: Delivery | None) -> None:
        try:
            done = await self._deliver(entry, marks, delivery)
        except Stopping:
            return  # handed back by stop() unless a message went out; then claimed later
        except RedisError as error:
            # Not the chat's fault: leave the entry untouched, so it is claimed and resumed
            # after its last recorded message once Redis answers again.
            log.warning("delivery %s to %s paused by Redis (%s); it will be resumed",
                        entry.delivery_id, entry.chat, error)
            self._release(consumer, entry)
            return
        except Exception as error:
            log.exception("delivery %s to %s failed", entry.delivery_id, entry.chat)
            done = Done(entry, Outcome.FAILED, f"internal error: {error!r}")
        self._decided.add(entry.entry_id)
        try:
            await self._done.add(done)
            if (delivery is not None and delivery.kind is Kind.POST and delivery.article_id
                    and done.outcome in (Outcome.FAILED, Outcome.BLOCKED)):
                # Not posted after all: /post may try again once the channel is fixed.
                await self.outbox.unclaim_post(entry.chat, delivery.article_id)
        except Exception:
            log.exception("could not record delivery %s to %s; it will be claimed again",
                          entry.delivery_id, entry.chat)
        self._release(consumer, entry)

    async def _finish(self, done: list[Done]) -> None:
        finished = await self.outbox.finish(done)
        for item in done:
            metrics.MESSAGES.labels(item.outcome.value).inc()
        for delivery_id in finished:
            log.info("delivery %s is done", delivery_id)

    async def _housekeeping(self) -> None:
        """Keep held entries from looking abandoned; claim those of dead workers; finish
        filling deliveries whose enqueuer died; notice cancellations. Each on its own, so one
        failing does not stop the others."""
        last_touch = last_claim = 0.0
        touch_every = self.claim_after / 4
        claim_every = min(HOUSEKEEPING_EVERY, self.claim_after / 3)
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):  # a cancellation is seen within this
                await asyncio.wait_for(self._stopping.wait(), 0.25)
            if self._stopping.is_set():
                return
            now = time.monotonic()
            await self._quietly(self._refresh_statuses())
            if now - last_touch >= touch_every:
                last_touch = now
                await self._quietly(self._touch())
            if now - last_claim >= claim_every:
                last_claim = now
                await self._quietly(self._claim_abandoned())
                await self._quietly(self._finish_enqueueing())

    @staticmethod
    async def _quietly(step: Awaitable[None]) -> None:
        try:
            await step
        except Exception:
            log.exception("delivery housekeeping failed")

    async def _touch(self) -> None:
        for consumer, held in self._held.items():
            for entry_id in await self.outbox.touch(consumer, list(held)):
                # Another process claimed it while this one was stalled: it is theirs now.
                log.warning("entry %s was taken over by another process", entry_id)
                held.pop(entry_id, None)
                self._room[consumer].set()

    async def _finish_enqueueing(self) -> None:
        for delivery_id in await self.outbox.unqueued():
            await enqueue_if_free(self.outbox, delivery_id)

    async def _refresh_statuses(self) -> None:
        """Cancellations are seen within a quarter of a second; deliveries that are over
        leave the cache (an entry of theirs still around is a stray copy: it is skipped)."""
        if not self._deliveries:
            return
        for delivery_id, status in (await self.outbox.statuses(list(self._deliveries))).items():
            cached = self._deliveries[delivery_id]
            if status is None or status is Status.DONE:
                del self._deliveries[delivery_id]
            elif status is not cached.status:
                self._deliveries[delivery_id] = (await self.outbox.get_many([delivery_id])
                                                 ).get(delivery_id, cached)

    async def _claim_abandoned(self) -> None:
        consumer = f"{self.name}:0"
        room = self.batch * self.workers - sum(len(h) for h in self._held.values())
        if room <= 0:
            return
        entries = await self.outbox.claim_stale(consumer, int(self.claim_after * 1000), room)
        if not entries:
            return
        log.info("took over %d chats from a delivery worker that stopped", len(entries))
        for entry, marks, delivery in await self._prepare(entries):
            self._spawn(consumer, entry, marks, delivery)

    # One chat ---------------------------------------------------------------------------------
    def _cancelled(self, delivery_id: str) -> bool:
        delivery = self._deliveries.get(delivery_id)
        return delivery is None or delivery.status is Status.CANCELLED

    async def _deliver(self, entry: Entry, marks: Marks, delivery: Delivery | None) -> Done:
        if delivery is None:
            return Done(entry, Outcome.FAILED, "the delivery no longer exists")
        if delivery.kind is Kind.RETRACT:
            return await self._retract(entry, delivery)
        chat = marks.sent_to or entry.chat
        ids = list(marks.sent)
        if marks.inflight is not None and marks.inflight >= len(ids):
            # A worker died with this message on its way: Telegram may have it already.
            await self.outbox.count(delivery.id, "duplicates")
        last = len(delivery.messages) - 1
        timed_out = False
        for part in range(len(ids), len(delivery.messages)):
            tries = 0
            while True:
                if part == 0 and self._stopping.is_set():
                    raise Stopping
                if part == 0 and self._cancelled(delivery.id):
                    return Done(entry, Outcome.SKIPPED)
                await self._gate.take(chat, self.outbox.inflight_note(entry, part))
                if part == 0 and self._cancelled(delivery.id):  # noticed while it waited
                    return Done(entry, Outcome.SKIPPED)
                self._started.add(entry.entry_id)
                try:
                    message_id = await self._send(chat, delivery.messages[part])
                except RetryAfter as error:
                    await self._rate_limited(delivery, error)
                    continue
                except ChatMigrated as error:
                    new_chat = str(error.new_chat_id)
                    await self.subscribers.migrate(int(chat), int(new_chat))
                    log.info("chat %s became %s; delivery %s follows it", chat, new_chat,
                             delivery.id)
                    chat = new_chat
                    continue
                except (Forbidden, BadRequest) as error:
                    return await self._refused(entry, chat, error)
                except NetworkError as error:
                    if isinstance(error, TimedOut) and not timed_out:
                        # Telegram may have taken it before the answer was lost.
                        timed_out = True
                        await self.outbox.count(delivery.id, "duplicates")
                    tries += 1
                    if tries >= MAX_TRIES:
                        return await self._give_up(entry, f"network: {error}")
                    await asyncio.sleep(BACKOFF[min(tries, len(BACKOFF)) - 1])
                    continue
                except TelegramError as error:
                    return await self._give_up(entry, str(error))
                ids.append(message_id)
                if part < last:
                    await self._sent.add((entry, chat, ids))
                break
        return Done(entry, Outcome.SENT, sent_to=chat, sent=tuple(ids))

    async def _send(self, chat: str, payload: dict[str, Any]) -> int:
        """sendMessage with the payload as it is (it was built for the Bot API): no Telegram
        objects are built for it or for the answer, which halves the CPU of a send."""
        fields = {key: value for key, value in payload.items() if value is not None}
        if self.paid:
            fields["allow_paid_broadcast"] = True
        message = await self.bot.do_api_request("sendMessage",
                                                api_kwargs={"chat_id": chat, **fields})
        return int(message["message_id"])

    async def _rate_limited(self, delivery: Delivery, error: RetryAfter) -> None:
        seconds = error.retry_after
        wait = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        log.warning("Telegram asked to wait %.0f s (429); every worker pauses", wait)
        metrics.RATE_LIMITED.inc()
        await self.limiter.pause(wait)
        await self.outbox.count(delivery.id, "rate_limited")

    async def _refused(self, entry: Entry, chat: str, error: TelegramError) -> Done:
        text = str(error)
        gone = isinstance(error, Forbidden) or "chat not found" in text.lower()
        if gone:
            if chat.lstrip("-").isdigit():
                await self.subscribers.unsubscribe(int(chat))
            return Done(entry, Outcome.BLOCKED, text)
        return await self._give_up(entry, text)

    async def _give_up(self, entry: Entry, reason: str) -> Done:
        log.warning("delivery %s to %s given up: %s", entry.delivery_id, entry.chat, reason)
        await self.outbox.note_error(f"delivery {entry.delivery_id} to {entry.chat}: {reason}")
        return Done(entry, Outcome.FAILED, reason)

    async def _retract(self, entry: Entry, delivery: Delivery) -> Done:
        assert delivery.target is not None
        chat, ids = await self.outbox.messages_in(delivery.target, entry.chat)
        failures = []
        for part, message_id in enumerate(ids):
            tries = 0
            while True:
                await self._gate.take(chat, self.outbox.inflight_note(entry, part))
                self._started.add(entry.entry_id)
                try:
                    await self.bot.delete_message(chat_id=chat, message_id=message_id)
                except RetryAfter as error:
                    await self._rate_limited(delivery, error)
                    continue
                except Forbidden as error:
                    return Done(entry, Outcome.BLOCKED, str(error))
                except BadRequest as error:  # already deleted, or too old to delete
                    if "not found" not in str(error).lower():
                        failures.append(str(error))
                except NetworkError as error:
                    tries += 1
                    if tries < MAX_TRIES:
                        await asyncio.sleep(BACKOFF[tries - 1])
                        continue
                    failures.append(f"network: {error}")
                except TelegramError as error:
                    failures.append(str(error))
                break
        if failures:  # kept: a later /retract tries again
            return await self._give_up(entry, failures[0])
        await self.outbox.forget_sent(delivery.target, entry.chat)
        return Done(entry, Outcome.SENT)


# Starting deliveries (what the admin commands and the HTTP API call) ------------------------
ENQUEUE_LEASE = 30.0


async def enqueue_if_free(outbox: Outbox, delivery_id: str) -> bool:
    """Fill the outbox from the delivery's snapshot, unless another process is at it."""
    lease = Lease(outbox.redis, outbox.keys.enqueuer(delivery_id), ENQUEUE_LEASE)
    if not await lease.acquire():
        return False
    try:
        await outbox.enqueue(delivery_id)
    finally:
        await lease.release()
    return True


async def start_breaking(outbox: Outbox, settings: Settings, article: Article,
                         messages: list[dict[str, Any]], admin_chat: int | None
                         ) -> Delivery | None:
    """A (stored) breaking article's card to every subscriber and every channel that does not
    have it yet; None when there is nobody to send it to."""
    delivery = await outbox.create(
        Kind.BREAKING, messages, title=article.title, subscribers=True,
        chats=settings.channel_ids, claim_for=article.id, article_id=article.id,
        admin_chat=admin_chat,
    )
    if delivery is not None:
        await enqueue_if_free(outbox, delivery.id)
    return delivery


async def post_to_channels(outbox: Outbox, settings: Settings, article: Article,
                           messages: list[dict[str, Any]], admin_chat: int | None = None
                           ) -> Delivery | None:
    """The article's card to each channel that does not have it yet; None when all do."""
    if not settings.channel_ids:
        return None
    delivery = await outbox.create(
        Kind.POST, messages, title=article.title, chats=settings.channel_ids,
        claim_for=article.id, article_id=article.id, admin_chat=admin_chat,
    )
    if delivery is not None:
        await enqueue_if_free(outbox, delivery.id)
    return delivery


RETRACT_WAIT = 20.0


async def retract(outbox: Outbox, delivery: Delivery, admin_chat: int | None
                  ) -> Delivery | None:
    """Stop the delivery and delete every message it sent (Telegram allows it for 48 h);
    None when it sent nothing. A running delivery is stopped first and given a moment to
    finish the cards on their way, so their messages are deleted too."""
    await outbox.cancel(delivery.id)
    deadline = time.monotonic() + RETRACT_WAIT
    while time.monotonic() < deadline:
        found = await outbox.get(delivery.id)
        if found is None or found.status is Status.DONE:
            break
        await asyncio.sleep(0.2)
    retraction = await outbox.create(
        Kind.RETRACT, [], title=delivery.title, target=delivery.id, admin_chat=admin_chat,
    )
    if retraction is not None:
        await enqueue_if_free(outbox, retraction.id)
    return retraction


# Channel posting ----------------------------------------------------------------------------
CHANNEL_GROUP = "channels"
CHANNEL_CONSUMER = "poster"
POSTER_LEASE = 15.0


@dataclass
class ChannelPoster:
    """Every article stored for the first time, from any source, goes to each channel once.
    Only the holder of a lease reads the new-articles stream (as one fixed consumer, so a
    successor picks up what its predecessor left pending)."""

    store: ArticleStore
    outbox: Outbox
    settings: Settings
    card: CardMaker
    max_age: timedelta = timedelta(hours=24)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _grouped: bool = field(default=False, init=False)

    @property
    def keys(self) -> Keys:
        return self.store.keys

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await asyncio.wait([self._task], timeout=STOP_GRACE)

    async def _run(self) -> None:
        redis = self.store.redis
        lease = Lease(redis, self.keys.channel_poster(), POSTER_LEASE)
        holding = False
        while not self._stop.is_set():
            try:
                holding = await lease.renew() if holding else await lease.acquire()
                if holding:
                    await self.post_new(block_ms=1000)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), POSTER_LEASE / 3)
            except Exception as error:
                log.exception("channel posting failed; trying again shortly")
                if "NOGROUP" in str(error):  # the stream was lost: make the group again
                    self._grouped = False
                await asyncio.sleep(1.0)
        if holding:
            await lease.release()

    async def ensure_group(self) -> None:
        """The posters' group starts at the end: what was stored before khabar first ran with
        channels is archive, not news. Asked of Redis once per poster."""
        if self._grouped:
            return
        try:
            await self.store.redis.xgroup_create(self.keys.new_articles(), CHANNEL_GROUP,
                                                 id="$", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._grouped = True

    async def post_new(self, block_ms: int = 0) -> int:
        """Post what was stored since the last call; returns how many articles were posted."""
        redis = self.store.redis
        await self.ensure_group()
        posted = 0
        for start in ("0", ">"):  # first what a predecessor left pending, then new entries
            reply = await redis.xreadgroup(CHANNEL_GROUP, CHANNEL_CONSUMER,
                                           {self.keys.new_articles(): start}, count=100,
                                           block=block_ms if start == ">" else None)
            for _, entries in reply or []:
                for entry_id, values in entries:
                    article_id = (values or {}).get("id", "")
                    try:
                        posted += await self._post(article_id)
                    except RedisError:
                        raise  # the entry stays pending: tried again
                    except Exception:  # this article only: the others go on
                        log.exception("could not post article %s to the channels", article_id)
                    await redis.xack(self.keys.new_articles(), CHANNEL_GROUP, entry_id)
        return posted

    async def _post(self, article_id: str) -> bool:
        article = await self.store.get(article_id)
        if article is None or article.breaking or not self.recent(article):
            return False
        messages = await self.card(article)
        return await post_to_channels(self.outbox, self.settings, article, messages) is not None

    def recent(self, article: Article) -> bool:
        """Archives loaded in bulk are not news: only articles of the last `max_age` go out."""
        published = article.published
        if published is None:
            return True
        now = datetime.now(TEHRAN)
        if isinstance(published, datetime):
            return now - published <= self.max_age
        return (now.date() - published).days <= max(1, self.max_age.days)
