"""The delivery workers of one process: breaking news to every subscriber and new articles
to the channels, through the outbox (storage/outbox.py) and the shared limits
(storage/ratelimit.py).

Inside `khabar run`, every process runs a `Deliverer`: a few workers, each a consumer of the
outbox's group, with up to `batch` chats in hand at a time. One gate per process asks Redis
for send slots for all its waiting chats in one script call; the marks (in flight, sent) and
the acknowledgements are written in batches too, so Redis round trips do not grow with the
number of messages in flight. Each message goes out under the one retry policy of
bot/delivery/send.py. A card of two messages goes to a chat in order; a cancelled delivery
skips the chats it has not started, never half a card.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from telegram import Bot

from bot import metrics
from bot.delivery.gate import Batcher, Gate, Stopping
from bot.delivery.send import FIRST_BACKOFF, MAX_BACKOFF, Refused, Sender, Sent, Slot
from bot.delivery.start import enqueue_if_free
from storage.deliveries import Delivery, Done, Entry, Kind, Marks, Outcome, Status
from storage.locks import holder_name, wait_for
from storage.outbox import Outbox
from storage.ratelimit import RateLimiter
from storage.redis import Outage, backoff
from storage.refusals import RichRefusals
from storage.subscribers import Subscribers

log = logging.getLogger("khabar.delivery")

HOUSEKEEPING_EVERY = 10.0
STOP_GRACE = 5.0
"""Seconds a stopping process gives messages already on their way."""
READ_BLOCK_MS = 500


class Cancelled(Exception):
    """The delivery was cancelled before this chat's card was begun."""


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
    max_backoff: float = MAX_BACKOFF
    """The longest wait between two tries of a send that failed on the network."""
    name: str = field(default_factory=holder_name)
    grace: float = STOP_GRACE
    """Seconds a stopping process gives messages already on their way."""
    allow_private_pictures: bool = False
    """Pictures of photo cards khabar downloads itself may be at private addresses."""
    rich_refusals: RichRefusals | None = None
    """The process's rich-message refusals (Services.rich_refusals)."""
    _outage: Outage = field(init=False)
    _gate: Gate = field(init=False)
    _sender: Sender = field(init=False)
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
        self._outage = Outage(log, "the delivery workers")
        self._gate = Gate(self.limiter)
        self._sender = Sender(
            self.bot,
            self.outbox,
            self.subscribers,
            self.limiter,
            self.paid,
            first_backoff=min(FIRST_BACKOFF, self.max_backoff),
            max_backoff=self.max_backoff,
            allow_private_pictures=self.allow_private_pictures,
            rich_refusals=self.rich_refusals,
        )
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
        """Stop reading and starting chats; messages on their way get `grace` seconds to
        be answered and recorded; every chat not started goes back to the outbox, for another
        process, at once."""
        self._stopping.set()
        self._gate.refuse_first_messages()
        await asyncio.wait(self._tasks, timeout=1.0)
        if self._entry_tasks:
            await asyncio.wait(self._entry_tasks, timeout=self.grace)
        await self._gate.close()
        if self._entry_tasks:  # they see Stopping now
            await asyncio.wait(self._entry_tasks, timeout=1.0)
        for task in (*self._tasks, *self._entry_tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._entry_tasks, return_exceptions=True)
        handed = [
            entry
            for held in self._held.values()
            for entry in held.values()
            if entry.entry_id not in self._started | self._decided
        ]
        try:
            await self.outbox.hand_back(handed)
            for consumer in self._held:
                await self.outbox.leave(consumer)
        except Exception as error:
            self._outage.failed(error)
            log.warning(
                "could not hand back %d chats; another process claims them later", len(handed)
            )
            return
        if handed:
            log.info("handed back %d chats to the outbox", len(handed))

    def _spawn(self, consumer: str, entry: Entry, marks: Marks, delivery: Delivery | None) -> None:
        self._held[consumer][entry.entry_id] = entry
        task = asyncio.get_running_loop().create_task(
            self._run_entry(consumer, entry, marks, delivery)
        )
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
                self._outage.answered()
            except Exception as error:
                self._outage.failed(error)
                await asyncio.sleep(1.0)

    async def _prepare(
        self, entries: Sequence[Entry]
    ) -> list[tuple[Entry, Marks, Delivery | None]]:
        missing = sorted({e.delivery_id for e in entries} - self._deliveries.keys())
        self._deliveries |= await self.outbox.get_many(missing) if missing else {}
        marks = await self.outbox.marks(entries)
        return [
            (entry, mark, self._deliveries.get(entry.delivery_id))
            for entry, mark in zip(entries, marks, strict=True)
        ]

    def _release(self, consumer: str, entry: Entry) -> None:
        """No longer this process's: finished, or left for another to claim."""
        self._held[consumer].pop(entry.entry_id, None)
        self._started.discard(entry.entry_id)
        self._decided.discard(entry.entry_id)
        self._room[consumer].set()

    async def _run_entry(
        self, consumer: str, entry: Entry, marks: Marks, delivery: Delivery | None
    ) -> None:
        """One chat to the end. Redis trouble is not the chat's fault: the chat is resumed
        here after its last recorded message once Redis answers (it stays this process's,
        so nobody else takes it meanwhile)."""
        failures = 0
        while True:
            try:
                done = await self._deliver(entry, marks, delivery)
                break
            except Stopping:
                return  # handed back by stop() unless a message went out; then claimed later
            except RedisError as error:
                failures += 1
                self._outage.failed(error)
                resumed = await self._marks_once_redis_answers(entry, failures)
                if resumed is None:  # stopping: another process resumes it from the marks
                    self._release(consumer, entry)
                    return
                marks = resumed
            except Exception as error:
                log.exception("delivery %s to %s failed", entry.delivery_id, entry.chat)
                done = Done(entry, Outcome.FAILED, f"internal error: {error!r}")
                break
        self._decided.add(entry.entry_id)
        await self._record(entry, delivery, done)
        self._release(consumer, entry)

    async def _marks_once_redis_answers(self, entry: Entry, failures: int) -> Marks | None:
        """What Redis recorded of the entry, read once it answers again; None on stop."""
        while not self._stopping.is_set():
            await wait_for(self._stopping, backoff(failures - 1, 0.5, 5.0))
            try:
                [marks] = await self.outbox.marks([entry])
                return marks
            except RedisError:
                failures += 1
        return None

    async def _record(self, entry: Entry, delivery: Delivery | None, done: Done) -> None:
        """The outcome, recorded however long Redis takes to answer (until the process stops:
        then the entry is claimed again and its marks tell what was sent)."""
        failures = 0
        while True:
            try:
                await self._done.add(done)
                if (
                    delivery is not None
                    and delivery.kind is Kind.POST
                    and delivery.article_id
                    and done.outcome in (Outcome.FAILED, Outcome.BLOCKED)
                ):
                    # Not posted after all: /post may try again once the channel is fixed.
                    await self.outbox.unclaim_post(entry.chat, delivery.article_id)
                return
            except Exception as error:
                failures += 1
                self._outage.failed(error)
                if not isinstance(error, RedisError) or self._stopping.is_set():
                    log.warning(
                        "could not record delivery %s to %s; it will be claimed again",
                        entry.delivery_id,
                        entry.chat,
                    )
                    return
                await wait_for(self._stopping, backoff(failures - 1, 0.5, 5.0))

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

    async def _quietly(self, step: Awaitable[None]) -> None:
        try:
            await step
        except Exception as error:
            self._outage.failed(error)

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
                self._deliveries[delivery_id] = (await self.outbox.get_many([delivery_id])).get(
                    delivery_id, cached
                )

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

    def _slot(self, entry: Entry, part: int, delivery: Delivery, cancellable: bool = True) -> Slot:
        """A send slot for one message of the entry's card: a card not begun is not begun
        when the process stops or the delivery was cancelled, even after waiting its turn."""
        first = part == 0

        async def slot(chat: str) -> None:
            if first and self._stopping.is_set():
                raise Stopping
            if first and cancellable and self._cancelled(delivery.id):
                raise Cancelled
            await self._gate.take(chat, self.outbox.inflight_note(entry, part))
            if first and cancellable and self._cancelled(delivery.id):  # seen while waiting
                raise Cancelled
            self._started.add(entry.entry_id)

        return slot

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
        for part in range(len(ids), len(delivery.messages)):
            send = self._sender.send_message(delivery.messages[part])
            try:
                result = await self._sender.attempt(
                    chat, send, self._slot(entry, part, delivery), delivery.id
                )
            except Cancelled:
                return Done(entry, Outcome.SKIPPED)
            if isinstance(result, Refused) and result.gone:
                return Done(entry, Outcome.BLOCKED, result.reason)
            if not isinstance(result, Sent):
                return await self._give_up(entry, result.reason)
            chat = result.chat
            assert result.message_id is not None
            ids.append(result.message_id)
            if part < last:
                await self._sent.add((entry, chat, ids))
        return Done(entry, Outcome.SENT, sent_to=chat, sent=tuple(ids))

    async def _give_up(self, entry: Entry, reason: str) -> Done:
        log.warning("delivery %s to %s given up: %s", entry.delivery_id, entry.chat, reason)
        await self.outbox.note_error(f"delivery {entry.delivery_id} to {entry.chat}: {reason}")
        return Done(entry, Outcome.FAILED, reason)

    async def _retract(self, entry: Entry, delivery: Delivery) -> Done:
        assert delivery.target is not None
        chat, ids = await self.outbox.messages_in(delivery.target, entry.chat)
        failures = []
        for part, message_id in enumerate(ids):
            delete = self._sender.delete_message(message_id)
            result = await self._sender.attempt(
                chat, delete, self._slot(entry, part, delivery, cancellable=False), delivery.id
            )
            if isinstance(result, Refused) and result.gone:
                return Done(entry, Outcome.BLOCKED, result.reason)
            if isinstance(result, Refused) and "not found" in result.reason.lower():
                continue  # already deleted
            if not isinstance(result, Sent):  # too old to delete, or Telegram failing
                failures.append(result.reason)
        if failures:  # kept: a later /retract tries again
            return await self._give_up(entry, failures[0])
        await self.outbox.forget_sent(delivery.target, entry.chat)
        return Done(entry, Outcome.SENT)
