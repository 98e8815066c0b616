"""The outbox: deliveries (one card to many chats) and their work items, in Redis.

A delivery is a hash (what to send, to whom, its status and counters). Its chats are first
copied into a snapshot (so subscribers joining or leaving mid-way change nothing), then put
into one Redis Stream, an entry per (delivery, chat), a page at a time. Delivery workers of
any process read the stream through one consumer group: an entry is acknowledged (and deleted)
only when its chat is done, so the work of a worker that dies stays pending and another claims
it (XAUTOCLAIM) after a minute.

Exactly once: before a card message goes to a chat, the worker marks it "in flight"; after
Telegram's answer it records the message id as sent. A claimed entry resumes after the last
message sent. The only window for a duplicate is a worker killed between Telegram's answer and
that record (a few milliseconds); a claimed entry found in flight but not sent is resent and
counted in `duplicates` ("possibly sent twice"), so it is never silent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from storage.keys import Keys
from storage.redis import awaited

GROUP = "workers"
SENT_TTL = 48 * 3600
"""Message ids are kept 48 h: Telegram lets a bot delete its messages for that long."""
RECORD_TTL = 30 * 24 * 3600
"""A finished delivery's hash and error list are kept this long (for /stats and reports)."""
ENQUEUE_PAGE = 1000


class Kind(Enum):
    BREAKING = "breaking"
    POST = "post"
    """An article's card to the channels."""
    RETRACT = "retract"
    """Delete what another delivery sent."""


class Status(Enum):
    ENQUEUEING = "enqueueing"
    RUNNING = "running"
    CANCELLED = "cancelled"
    DONE = "done"


class Outcome(Enum):
    SENT = "sent"
    BLOCKED = "blocked"
    """The chat blocked the bot or is gone; it was unsubscribed."""
    FAILED = "failed"
    SKIPPED = "skipped"
    """The delivery was cancelled before this chat's turn."""


COUNTERS = ("sent", "blocked", "failed", "skipped", "duplicates", "rate_limited")


@dataclass(frozen=True)
class Delivery:
    id: str
    kind: Kind
    status: Status
    messages: list[dict[str, Any]]
    title: str
    article_id: str | None
    admin_chat: int | None
    progress_message: int | None
    target: str | None
    """The delivery a retraction undoes."""
    created: float
    finished: float | None
    total: int
    enqueued: int
    counts: dict[str, int]

    @property
    def processed(self) -> int:
        return sum(self.counts[name] for name in ("sent", "blocked", "failed", "skipped"))

    @property
    def over(self) -> bool:
        return self.status is Status.DONE

    @classmethod
    def from_hash(cls, delivery_id: str, fields: dict[str, str]) -> Delivery:
        def number(name: str) -> int:
            return int(fields.get(name) or 0)

        return cls(
            id=delivery_id,
            kind=Kind(fields["kind"]),
            status=Status(fields["status"]),
            messages=json.loads(fields.get("messages") or "[]"),
            title=fields.get("title", ""),
            article_id=fields.get("article") or None,
            admin_chat=int(fields["admin"]) if fields.get("admin") else None,
            progress_message=int(fields["progress"]) if fields.get("progress") else None,
            target=fields.get("target") or None,
            created=float(fields.get("created") or 0),
            finished=float(fields["finished"]) if fields.get("finished") else None,
            total=number("total"),
            enqueued=number("enqueued"),
            counts={name: number(name) for name in COUNTERS},
        )


@dataclass(frozen=True)
class Entry:
    """One chat's share of a delivery, as read from the stream."""

    entry_id: str
    delivery_id: str
    chat: str


@dataclass(frozen=True)
class Marks:
    """What is known of an entry's chat: messages already sent there, one in flight."""

    sent: list[int]
    sent_to: str | None
    """The chat they went to, when it is not the entry's (a group that migrated)."""
    inflight: int | None


@dataclass(frozen=True)
class Done:
    entry: Entry
    outcome: Outcome
    reason: str = ""
    sent_to: str | None = None
    """Where the messages went (the entry's chat, or the id it migrated to)."""
    sent: tuple[int, ...] = ()
    """Every message id sent to the chat, recorded with the end of the entry."""


def sent_marker(entry: Entry, chat: str, ids: Sequence[int]) -> str:
    value = ",".join(map(str, ids))
    return value if chat == entry.chat else f"{chat} {value}"


# Takes the snapshot of a delivery's chats and records the delivery, in one step: a delivery
# is never visible without its snapshot, and a channel is claimed for an article (the posted
# marker) in the same step that puts it in the snapshot, so a crash can neither post twice
# nor lose the post. Nothing is recorded when there is no chat to send to.
# KEYS: delivery, chats, subscribers (or the sent messages of the delivery a retraction
# undoes), deliveries, active, then a posted set per extra chat when claiming.
# ARGV: id, created, source ("subscribers", "sent" or "none"), article to claim ("" for
# none), field/value pairs of the hash, "--", extra chats.
_CREATE = """
local n = 5
local fields = {}
while ARGV[n] ~= '--' do
  fields[#fields + 1] = ARGV[n]
  fields[#fields + 1] = ARGV[n + 1]
  n = n + 2
end
if ARGV[3] == 'subscribers' then
  redis.call('ZUNIONSTORE', KEYS[2], 1, KEYS[3])
elseif ARGV[3] == 'sent' then
  local chats = redis.call('HKEYS', KEYS[3])
  for i = 1, #chats, 1000 do
    local page = {}
    for j = i, math.min(i + 999, #chats) do
      page[#page + 1] = 0
      page[#page + 1] = chats[j]
    end
    redis.call('ZADD', KEYS[2], unpack(page))
  end
end
for i = n + 1, #ARGV do
  if ARGV[4] == '' or redis.call('SADD', KEYS[5 + i - n], ARGV[4]) == 1 then
    redis.call('ZADD', KEYS[2], 'NX', 0, ARGV[i])
  end
end
local total = redis.call('ZCARD', KEYS[2])
if total == 0 then return 0 end
redis.call('HSET', KEYS[1], 'total', total, 'enqueued', 0, 'cursor', 0, unpack(fields))
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1])
return total
"""

# One page of the snapshot into the stream, unless the delivery was cancelled meanwhile.
# KEYS: delivery, chats, outbox. ARGV: id, page size. Returns how many were added (-1: the
# snapshot is all in; the delivery then runs).
_ENQUEUE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'enqueueing' then return -1 end
local cursor = tonumber(redis.call('HGET', KEYS[1], 'cursor'))
local chats = redis.call('ZRANGE', KEYS[2], cursor, cursor + tonumber(ARGV[2]) - 1)
for _, chat in ipairs(chats) do
  redis.call('XADD', KEYS[3], '*', 'd', ARGV[1], 'c', chat)
end
redis.call('HINCRBY', KEYS[1], 'cursor', #chats)
redis.call('HINCRBY', KEYS[1], 'enqueued', #chats)
if #chats == 0 then return -1 end
return #chats
"""

# The snapshot is all in (or the delivery was cancelled): it runs, and is over at once when
# every entry is already done. KEYS: delivery, chats, active. ARGV: id, now.
_QUEUED = """
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'queued', 1)
if redis.call('HGET', KEYS[1], 'status') == 'enqueueing' then
  redis.call('HSET', KEYS[1], 'status', 'running')
end
local c = redis.call('HMGET', KEYS[1], 'sent', 'blocked', 'failed', 'skipped', 'enqueued',
                     'admin')
local processed = (tonumber(c[1]) or 0) + (tonumber(c[2]) or 0) + (tonumber(c[3]) or 0)
  + (tonumber(c[4]) or 0)
if processed >= tonumber(c[5]) then
  redis.call('HSET', KEYS[1], 'status', 'done', 'finished', ARGV[2])
  if not c[6] then
    redis.call('SREM', KEYS[3], ARGV[1])
    redis.call('EXPIRE', KEYS[1], 2592000)
  end
  return 1
end
return 0
"""

# Entries done: counted on their delivery, their last message recorded as sent, acknowledged
# and deleted from the stream in one step, so a count never disagrees with the entries left
# and a finished chat can never be sent to again; the delivery that reaches its last entry is
# marked done here (exactly once). KEYS: outbox, active, then per entry: its delivery, its
# delivery's errors, sent and in-flight hashes. ARGV: group, now, then per entry: stream id,
# delivery id, outcome, chat, reason, sent marker ("" for none).
_FINISH = """
local finished = {}
for i = 3, #KEYS, 4 do
  local n = 3 + (i - 3) / 4 * 6
  local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[n])
  redis.call('XDEL', KEYS[1], ARGV[n])
  local marker = ARGV[n + 5]
  if marker ~= '' then
    local old = redis.call('HGET', KEYS[i + 2], ARGV[n + 3])
    if acked == 0 and old and old ~= marker then  -- another worker did it too: keep both
      marker = old .. ',' .. string.match(marker, '([^ ]*)$')
    end
    redis.call('HSET', KEYS[i + 2], ARGV[n + 3], marker)
    redis.call('EXPIRE', KEYS[i + 2], 172800)
  end
  redis.call('HDEL', KEYS[i + 3], ARGV[n + 3])
  if acked == 1 then
    redis.call('HINCRBY', KEYS[i], ARGV[n + 2], 1)
    if ARGV[n + 4] ~= '' then
      redis.call('HSET', KEYS[i + 1], ARGV[n + 3], ARGV[n + 4])
      redis.call('EXPIRE', KEYS[i + 1], 2592000)
    end
    local c = redis.call('HMGET', KEYS[i], 'sent', 'blocked', 'failed', 'skipped', 'enqueued',
                         'queued', 'status', 'admin')
    local processed = (tonumber(c[1]) or 0) + (tonumber(c[2]) or 0) + (tonumber(c[3]) or 0)
      + (tonumber(c[4]) or 0)
    if c[6] and processed >= tonumber(c[5]) and c[7] ~= 'done' then
      redis.call('HSET', KEYS[i], 'status', 'done', 'finished', ARGV[2])
      if not c[8] then  -- nobody to report to: over now
        redis.call('SREM', KEYS[2], ARGV[n + 1])
        redis.call('EXPIRE', KEYS[i], 2592000)
      end
      finished[#finished + 1] = ARGV[n + 1]
    end
  end
end
return finished
"""

# Resets the idle time of a worker's entries, only those still its own: an entry another
# process claimed while this one was stalled must not be taken back (both would send).
# KEYS: outbox. ARGV: group, consumer, entry ids. Returns the ids no longer this consumer's.
_TOUCH = """
local lost = {}
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
"""

# A consumer is deleted only with nothing pending: XGROUP DELCONSUMER would drop its pending
# entries where neither XAUTOCLAIM nor a new read can reach them.
_LEAVE = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #pending == 0 then
  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1
"""

_CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'enqueueing' or status == 'running' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled')
  return 1
end
return 0
"""


def _pairs(fields: dict[str, str | int | float | None]) -> list[str | int | float]:
    flat: list[str | int | float] = []
    for name, value in fields.items():
        if value is not None:
            flat += [name, value]
    return flat


def _entries(reply: Any) -> list[Entry]:
    found = []
    for entry_id, fields in reply or []:
        if fields and "d" in fields and "c" in fields:  # None: deleted while pending
            found.append(Entry(entry_id, fields["d"], fields["c"]))
    return found


def parse_sent(value: str | None) -> tuple[str | None, list[int]]:
    """A sent marker: "12,13", or "-100777 12,13" when the messages went to a migrated id."""
    if not value:
        return None, []
    chat, _, ids = value.rpartition(" ")
    return chat or None, [int(i) for i in ids.split(",") if i]


@dataclass
class Outbox:
    redis: Redis
    keys: Keys
    clock: Any = time.time
    _create: AsyncScript = field(init=False, repr=False)
    _enqueue: AsyncScript = field(init=False, repr=False)
    _queued: AsyncScript = field(init=False, repr=False)
    _finish: AsyncScript = field(init=False, repr=False)
    _cancel: AsyncScript = field(init=False, repr=False)
    _touch: AsyncScript = field(init=False, repr=False)
    _leave: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._create = self.redis.register_script(_CREATE)
        self._enqueue = self.redis.register_script(_ENQUEUE)
        self._queued = self.redis.register_script(_QUEUED)
        self._finish = self.redis.register_script(_FINISH)
        self._cancel = self.redis.register_script(_CANCEL)
        self._touch = self.redis.register_script(_TOUCH)
        self._leave = self.redis.register_script(_LEAVE)

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.keys.outbox(), GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    # Creating and filling ---------------------------------------------------------------------
    async def create(
        self, kind: Kind, messages: Sequence[dict[str, Any]], *, title: str,
        subscribers: bool = False, chats: Sequence[str] = (), claim_for: str | None = None,
        article_id: str | None = None, admin_chat: int | None = None,
        target: str | None = None,
    ) -> Delivery | None:
        """A new delivery of `messages` (sendMessage payloads, sent in order) to every
        subscriber (when `subscribers`) and to `chats` (with `claim_for`, only the chats that
        did not have that article yet, now marked as having it); a retraction (`target`)
        goes to every chat the target reached. Its chats are fixed now; `enqueue` puts them
        in the outbox. None when there is nobody to send to."""
        number = int(await self.redis.incr(self.keys.delivery_numbers()))
        delivery_id = str(number)
        source, source_key = "none", self.keys.subscribers()
        if subscribers:
            source = "subscribers"
        if target is not None:
            source, source_key = "sent", self.keys.delivery_sent(target)
        now = self.clock()
        hash_fields = _pairs({
            "kind": kind.value, "status": Status.ENQUEUEING.value,
            "messages": json.dumps(list(messages), ensure_ascii=False), "title": title,
            "article": article_id, "admin": admin_chat, "target": target, "created": now,
        })
        keys = [self.keys.delivery(delivery_id), self.keys.delivery_chats(delivery_id),
                source_key, self.keys.deliveries(), self.keys.active_deliveries()]
        if claim_for is not None:
            keys += [self.keys.posted(chat) for chat in chats]
        total = await self._create(
            keys=keys, args=[delivery_id, now, source, claim_for or "", *hash_fields, "--",
                             *chats],
        )
        if not total:
            return None
        return await self.get(delivery_id)

    async def enqueue(self, delivery_id: str, page: int = ENQUEUE_PAGE) -> None:
        """Put the delivery's snapshot into the outbox, a page per round trip (resumable: the
        cursor moves with each page, in the same step)."""
        keys = [self.keys.delivery(delivery_id), self.keys.delivery_chats(delivery_id),
                self.keys.outbox()]
        while await self._enqueue(keys=keys, args=[delivery_id, page]) >= 0:
            pass
        await self._queued(
            keys=[self.keys.delivery(delivery_id), self.keys.delivery_chats(delivery_id),
                  self.keys.active_deliveries()],
            args=[delivery_id, self.clock()],
        )

    async def unqueued(self) -> list[str]:
        """Active deliveries whose chats are not all in the outbox yet."""
        ids = sorted(await awaited(self.redis.smembers(self.keys.active_deliveries())))
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.hget(self.keys.delivery(delivery_id), "queued")
            queued = await pipe.execute()
        return [d for d, flag in zip(ids, queued, strict=True) if not flag]

    # Reading and finishing entries --------------------------------------------------------------
    async def read(self, consumer: str, count: int, block_ms: int) -> list[Entry]:
        reply = await self.redis.xreadgroup(GROUP, consumer, {self.keys.outbox(): ">"},
                                            count=count, block=block_ms)
        return [entry for _, entries in reply or [] for entry in _entries(entries)]

    async def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[Entry]:
        """Entries pending for longer than `min_idle_ms` with a worker that stopped touching
        them (it died): now this consumer's."""
        reply = await self.redis.xautoclaim(self.keys.outbox(), GROUP, consumer, min_idle_ms,
                                            "0-0", count=count)
        return _entries(reply[1])

    async def touch(self, consumer: str, entry_ids: Sequence[str]) -> list[str]:
        """Reset the idle time of entries still being worked on, so nobody claims them;
        returns those another consumer has claimed meanwhile (no longer ours)."""
        if not entry_ids:
            return []
        lost: list[str] = await self._touch(keys=[self.keys.outbox()],
                                            args=[GROUP, consumer, *entry_ids])
        return lost

    async def hand_back(self, entries: Sequence[Entry]) -> None:
        """Entries a stopping worker did not start: back in the outbox for anyone, now."""
        if not entries:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            for entry in entries:
                pipe.xadd(self.keys.outbox(), {"d": entry.delivery_id, "c": entry.chat})
                pipe.xack(self.keys.outbox(), GROUP, entry.entry_id)
                pipe.xdel(self.keys.outbox(), entry.entry_id)
            await pipe.execute()

    async def join(self, consumer: str) -> None:
        """A worker's consumer, visible to operators (XINFO CONSUMERS) before it reads."""
        await self.redis.xgroup_createconsumer(self.keys.outbox(), GROUP, consumer)

    async def leave(self, consumer: str) -> None:
        """A stopping worker's consumer goes, unless entries are still pending with it (those
        wait to be claimed)."""
        await self._leave(keys=[self.keys.outbox()], args=[GROUP, consumer])

    async def marks(self, entries: Sequence[Entry]) -> list[Marks]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry in entries:
                pipe.hget(self.keys.delivery_sent(entry.delivery_id), entry.chat)
                pipe.hget(self.keys.delivery_inflight(entry.delivery_id), entry.chat)
            replies = await pipe.execute()
        marks = []
        for sent, inflight in zip(replies[0::2], replies[1::2], strict=True):
            chat, ids = parse_sent(sent)
            marks.append(Marks(ids, chat, int(inflight) if inflight is not None else None))
        return marks

    def inflight_note(self, entry: Entry, part: int) -> tuple[str, str, str]:
        """The "in flight" mark of a card message, written with its send slot (ratelimit)."""
        return self.keys.delivery_inflight(entry.delivery_id), entry.chat, str(part)

    async def mark_sent(self, items: Sequence[tuple[Entry, str, list[int]]]) -> None:
        """(entry, the chat the messages went to, every message id sent there so far): for
        the messages of a card before its last (the last one is recorded by `finish`)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for entry, chat, ids in items:
                key = self.keys.delivery_sent(entry.delivery_id)
                pipe.hset(key, entry.chat, sent_marker(entry, chat, ids))
                pipe.expire(key, SENT_TTL)
                pipe.hdel(self.keys.delivery_inflight(entry.delivery_id), entry.chat)
            await pipe.execute()

    async def finish(self, done: Sequence[Done]) -> list[str]:
        """Entries done; returns the deliveries that these finished."""
        if not done:
            return []
        keys = [self.keys.outbox(), self.keys.active_deliveries()]
        args: list[str | float] = [GROUP, self.clock()]
        for item in done:
            entry = item.entry
            keys += [self.keys.delivery(entry.delivery_id),
                     self.keys.delivery_errors(entry.delivery_id),
                     self.keys.delivery_sent(entry.delivery_id),
                     self.keys.delivery_inflight(entry.delivery_id)]
            marker = sent_marker(entry, item.sent_to or entry.chat, item.sent) if item.sent else ""
            reason = item.reason[:300] if item.outcome is Outcome.FAILED else ""
            args += [entry.entry_id, entry.delivery_id, item.outcome.value, entry.chat, reason,
                     marker]
        finished: list[str] = await self._finish(keys=keys, args=args)
        return finished

    async def count(self, delivery_id: str, counter: str, by: int = 1) -> None:
        await awaited(self.redis.hincrby(self.keys.delivery(delivery_id), counter, by))

    # Deliveries -----------------------------------------------------------------------------
    async def get(self, delivery_id: str) -> Delivery | None:
        fields = await awaited(self.redis.hgetall(self.keys.delivery(delivery_id)))
        return Delivery.from_hash(delivery_id, fields) if fields.get("kind") else None

    async def get_many(self, delivery_ids: Sequence[str]) -> dict[str, Delivery]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in delivery_ids:
                pipe.hgetall(self.keys.delivery(delivery_id))
            replies = await pipe.execute()
        return {d: Delivery.from_hash(d, f) for d, f in zip(delivery_ids, replies, strict=True)
                if f.get("kind")}

    async def statuses(self, delivery_ids: Sequence[str]) -> dict[str, Status | None]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in delivery_ids:
                pipe.hget(self.keys.delivery(delivery_id), "status")
            replies = await pipe.execute()
        return {d: Status(s) if s else None for d, s in zip(delivery_ids, replies, strict=True)}

    async def active(self) -> list[Delivery]:
        ids = sorted(await awaited(self.redis.smembers(self.keys.active_deliveries())), key=int)
        return list((await self.get_many(ids)).values())

    async def recent_for(self, article_id: str, kind: Kind, look_back: int = 200
                         ) -> str | None:
        """The newest of the last `look_back` deliveries that sent this article as `kind`."""
        ids = await self.redis.zrevrange(self.keys.deliveries(), 0, look_back - 1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.hmget(self.keys.delivery(delivery_id), ["article", "kind"])
            found = await pipe.execute()
        for delivery_id, (article, sent_as) in zip(ids, found, strict=True):
            if article == article_id and sent_as == kind.value:
                return str(delivery_id)
        return None

    async def set_progress_message(self, delivery_id: str, message_id: int) -> None:
        await awaited(self.redis.hset(self.keys.delivery(delivery_id), "progress",
                                      str(message_id)))

    async def reported(self, delivery_id: str) -> None:
        """The final report is out: the delivery leaves the active set; its record stays a
        while, its message ids 48 h."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem(self.keys.active_deliveries(), delivery_id)
            pipe.expire(self.keys.delivery(delivery_id), RECORD_TTL)
            await pipe.execute()

    async def cancel(self, delivery_id: str) -> bool:
        """Stop a delivery: chats not reached yet are skipped. False when it was not running."""
        return bool(await self._cancel(keys=[self.keys.delivery(delivery_id)]))

    async def messages_in(self, delivery_id: str, chat: str) -> tuple[str, list[int]]:
        """Where a delivery's messages to a chat went, and their ids (for a retraction)."""
        value = await awaited(self.redis.hget(self.keys.delivery_sent(delivery_id), chat))
        to, ids = parse_sent(value)
        return to or chat, ids

    async def unclaim_post(self, channel: str, article_id: str) -> None:
        """The post to the channel failed: the channel is free to get the article again."""
        await awaited(self.redis.srem(self.keys.posted(channel), article_id))

    async def forget_sent(self, delivery_id: str, chat: str) -> None:
        """The chat's messages of the delivery are gone (retracted): not to be retracted
        again."""
        await awaited(self.redis.hdel(self.keys.delivery_sent(delivery_id), chat))

    async def errors(self, delivery_id: str, limit: int = 5) -> list[tuple[str, str]]:
        """Some chats the delivery failed for (not the blocked ones), and why."""
        _, found = await awaited(self.redis.hscan(self.keys.delivery_errors(delivery_id),
                                                       0, count=limit))
        return list(found.items())[:limit]

    async def depth(self) -> int:
        """Entries in the outbox: waiting, or being worked on."""
        return int(await self.redis.xlen(self.keys.outbox()))

    async def note_error(self, text: str) -> None:
        await self.redis.set(self.keys.last_error(), f"{int(self.clock())} {text[:500]}",
                             ex=RECORD_TTL)

    async def last_error(self) -> tuple[float, str] | None:
        value: str | None = await self.redis.get(self.keys.last_error())
        if not value:
            return None
        stamp, _, text = value.partition(" ")
        return float(stamp), text
