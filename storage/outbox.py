"""The outbox: the work of deliveries (storage/deliveries.py), in Redis.

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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.commands.core import AsyncScript

from storage.deliveries import (
    RECORD_TTL,
    SENT_TTL,
    DeliveryRecords,
    Done,
    Entry,
    Marks,
    Outcome,
    parse_sent,
    sent_marker,
)
from storage.redis import awaited, ensure_group, read_group

GROUP = "workers"
ENQUEUE_PAGE = 1000


# One page of the snapshot into the stream, unless the delivery was cancelled meanwhile.
# Returns how many were added (-1: the snapshot is all in; the delivery then runs).
_ENQUEUE = """
local delivery, chats, outbox = KEYS[1], KEYS[2], KEYS[3]
local id, page = ARGV[1], tonumber(ARGV[2])
if redis.call('HGET', delivery, 'status') ~= 'enqueueing' then return -1 end
local cursor = tonumber(redis.call('HGET', delivery, 'cursor'))
local page_chats = redis.call('ZRANGE', chats, cursor, cursor + page - 1)
for _, chat in ipairs(page_chats) do
  redis.call('XADD', outbox, '*', 'd', id, 'c', chat)
end
redis.call('HINCRBY', delivery, 'cursor', #page_chats)
redis.call('HINCRBY', delivery, 'enqueued', #page_chats)
if #page_chats == 0 then return -1 end
return #page_chats
"""

# The snapshot is all in (or the delivery was cancelled): it runs, and is over at once when
# every entry is already done.
_QUEUED = """
local delivery, chats, active = KEYS[1], KEYS[2], KEYS[3]
local id, now, record_ttl = ARGV[1], ARGV[2], ARGV[3]
redis.call('DEL', chats)
redis.call('HSET', delivery, 'queued', 1)
if redis.call('HGET', delivery, 'status') == 'enqueueing' then
  redis.call('HSET', delivery, 'status', 'running')
end
local c = redis.call('HMGET', delivery, 'sent', 'blocked', 'failed', 'skipped', 'enqueued',
                     'admin')
local processed = (tonumber(c[1]) or 0) + (tonumber(c[2]) or 0) + (tonumber(c[3]) or 0)
  + (tonumber(c[4]) or 0)
if processed >= tonumber(c[5]) then
  redis.call('HSET', delivery, 'status', 'done', 'finished', now)
  if not c[6] then
    redis.call('SREM', active, id)
    redis.call('EXPIRE', delivery, record_ttl)
  end
  return 1
end
return 0
"""

# Entries done: counted on their delivery, their last message recorded as sent, acknowledged
# and deleted from the stream in one step, so a count never disagrees with the entries left
# and a finished chat can never be sent to again; the delivery that reaches its last entry is
# marked done here (exactly once). After the first two KEYS come four per entry (its
# delivery, the delivery's errors, sent and in-flight hashes); after the first four ARGV, six
# per entry (stream id, delivery id, outcome, chat, reason, sent marker or "").
_FINISH = """
local outbox, active = KEYS[1], KEYS[2]
local group, now, sent_ttl, record_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local finished = {}
for k = 3, #KEYS, 4 do
  local delivery, errors, sent, inflight = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  local a = 5 + (k - 3) / 4 * 6
  local entry, id, outcome, chat, reason, marker =
    ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local acked = redis.call('XACK', outbox, group, entry)
  redis.call('XDEL', outbox, entry)
  if marker ~= '' then
    local old = redis.call('HGET', sent, chat)
    if acked == 0 and old and old ~= marker then  -- another worker did it too: keep both
      marker = old .. ',' .. string.match(marker, '([^ ]*)$')
    end
    redis.call('HSET', sent, chat, marker)
    redis.call('EXPIRE', sent, sent_ttl)
  end
  redis.call('HDEL', inflight, chat)
  if acked == 1 then
    redis.call('HINCRBY', delivery, outcome, 1)
    if reason ~= '' then
      redis.call('HSET', errors, chat, reason)
      redis.call('EXPIRE', errors, record_ttl)
    end
    local c = redis.call('HMGET', delivery, 'sent', 'blocked', 'failed', 'skipped', 'enqueued',
                         'queued', 'status', 'admin')
    local processed = (tonumber(c[1]) or 0) + (tonumber(c[2]) or 0) + (tonumber(c[3]) or 0)
      + (tonumber(c[4]) or 0)
    if c[6] and processed >= tonumber(c[5]) and c[7] ~= 'done' then
      redis.call('HSET', delivery, 'status', 'done', 'finished', now)
      if not c[8] then  -- nobody to report to: over now
        redis.call('SREM', active, id)
        redis.call('EXPIRE', delivery, record_ttl)
      end
      finished[#finished + 1] = id
    end
  end
end
return finished
"""

# Resets the idle time of a worker's entries, only those still its own: an entry another
# process claimed while this one was stalled must not be taken back (both would send).
# Returns the ids no longer this consumer's.
_TOUCH = """
local outbox = KEYS[1]
local group, consumer = ARGV[1], ARGV[2]
local lost = {}
for i = 3, #ARGV do
  local entry = ARGV[i]
  local pending = redis.call('XPENDING', outbox, group, entry, entry, 1)
  if pending[1] and pending[1][2] == consumer then
    redis.call('XCLAIM', outbox, group, consumer, 0, entry, 'JUSTID')
  else
    lost[#lost + 1] = entry
  end
end
return lost
"""

# A consumer is deleted only with nothing pending: XGROUP DELCONSUMER would drop its pending
# entries where neither XAUTOCLAIM nor a new read can reach them.
_LEAVE = """
local outbox = KEYS[1]
local group, consumer = ARGV[1], ARGV[2]
local pending = redis.call('XPENDING', outbox, group, '-', '+', 1, consumer)
if #pending == 0 then
  return redis.call('XGROUP', 'DELCONSUMER', outbox, group, consumer)
end
return -1
"""


def _entries(reply: Any) -> list[Entry]:
    found = []
    for entry_id, fields in reply or []:
        if fields and "d" in fields and "c" in fields:  # None: deleted while pending
            found.append(Entry(entry_id, fields["d"], fields["c"]))
    return found


@dataclass
class Outbox(DeliveryRecords):
    """The deliveries' records (DeliveryRecords) and the stream their chats are worked from."""

    _enqueue: AsyncScript = field(init=False, repr=False)
    _queued: AsyncScript = field(init=False, repr=False)
    _finish: AsyncScript = field(init=False, repr=False)
    _touch: AsyncScript = field(init=False, repr=False)
    _leave: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._enqueue = self.redis.register_script(_ENQUEUE)
        self._queued = self.redis.register_script(_QUEUED)
        self._finish = self.redis.register_script(_FINISH)
        self._touch = self.redis.register_script(_TOUCH)
        self._leave = self.redis.register_script(_LEAVE)

    async def ensure_group(self) -> None:
        await ensure_group(self.redis, self.keys.outbox(), GROUP, start="0")

    async def enqueue(self, delivery_id: str, page: int = ENQUEUE_PAGE) -> None:
        """Put the delivery's snapshot into the outbox, a page per round trip (resumable: the
        cursor moves with each page, in the same step)."""
        keys = [
            self.keys.delivery(delivery_id),
            self.keys.delivery_chats(delivery_id),
            self.keys.outbox(),
        ]
        while await self._enqueue(keys=keys, args=[delivery_id, page]) >= 0:
            pass
        await self._queued(
            keys=[
                self.keys.delivery(delivery_id),
                self.keys.delivery_chats(delivery_id),
                self.keys.active_deliveries(),
            ],
            args=[delivery_id, self.clock(), RECORD_TTL],
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
        """New entries for this consumer; none when the outbox was lost (it is made again)."""
        return _entries(
            await read_group(
                self.redis,
                self.keys.outbox(),
                GROUP,
                consumer,
                start="0",
                after=">",
                count=count,
                block_ms=block_ms,
            )
        )

    async def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[Entry]:
        """Entries pending for longer than `min_idle_ms` with a worker that stopped touching
        them (it died): now this consumer's."""
        reply = await self.redis.xautoclaim(
            self.keys.outbox(), GROUP, consumer, min_idle_ms, "0-0", count=count
        )
        return _entries(reply[1])

    async def touch(self, consumer: str, entry_ids: Sequence[str]) -> list[str]:
        """Reset the idle time of entries still being worked on, so nobody claims them;
        returns those another consumer has claimed meanwhile (no longer ours)."""
        if not entry_ids:
            return []
        lost: list[str] = await self._touch(
            keys=[self.keys.outbox()], args=[GROUP, consumer, *entry_ids]
        )
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
        args: list[str | float] = [GROUP, self.clock(), SENT_TTL, RECORD_TTL]
        for item in done:
            entry = item.entry
            keys += [
                self.keys.delivery(entry.delivery_id),
                self.keys.delivery_errors(entry.delivery_id),
                self.keys.delivery_sent(entry.delivery_id),
                self.keys.delivery_inflight(entry.delivery_id),
            ]
            marker = sent_marker(entry, item.sent_to or entry.chat, item.sent) if item.sent else ""
            reason = item.reason[:300] if item.outcome is Outcome.FAILED else ""
            args += [
                entry.entry_id,
                entry.delivery_id,
                item.outcome.value,
                entry.chat,
                reason,
                marker,
            ]
        finished: list[str] = await self._finish(keys=keys, args=args)
        return finished

    async def depth(self) -> int:
        """Entries in the outbox: waiting, or being worked on."""
        return int(await self.redis.xlen(self.keys.outbox()))
