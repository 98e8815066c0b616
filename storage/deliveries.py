"""Deliveries as records: what a delivery is (one card to many chats, its kind, status and
counters), creating one with the snapshot of its chats, and reading, counting and cancelling
them. The stream their chats are worked from is storage/outbox.py (`Outbox` is these records
plus that stream).
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

from storage.keys import Keys
from storage.redis import awaited

SENT_TTL = 48 * 3600
"""Message ids are kept 48 h: Telegram lets a bot delete its messages for that long."""
RECORD_TTL = 30 * 24 * 3600
"""A finished delivery's hash and error list are kept this long (for /stats and reports)."""


class Kind(Enum):
    BREAKING = "breaking"
    POST = "post"
    """An article's card to the channels."""
    RETRACT = "retract"
    """Delete what another delivery sent."""
    ALERT = "alert"
    """An article (or a digest of them) to the chats whose alerts it matched
    (storage/alerts.py); the outbox takes one only while no breaking item is under way."""


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
# The source is the subscribers, the chats a retracted delivery reached ("sent"), or none;
# after the hash's field/value pairs and "--" come the extra chats, each with its posted set
# among the KEYS when an article is claimed.
_CREATE = """
local delivery, chats, source_key, deliveries, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, created, source, claim_for = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local n = 5
local fields = {}
while ARGV[n] ~= '--' do
  fields[#fields + 1] = ARGV[n]
  fields[#fields + 1] = ARGV[n + 1]
  n = n + 2
end
if source == 'subscribers' then
  redis.call('ZUNIONSTORE', chats, 1, source_key)
elseif source == 'sent' then
  local reached = redis.call('HKEYS', source_key)
  for i = 1, #reached, 1000 do
    local page = {}
    for j = i, math.min(i + 999, #reached) do
      page[#page + 1] = 0
      page[#page + 1] = reached[j]
    end
    redis.call('ZADD', chats, unpack(page))
  end
end
for i = n + 1, #ARGV do  -- the extra chats; KEYS[5 + k] is the posted set of the k-th
  local posted = KEYS[5 + i - n]
  if claim_for == '' or redis.call('SADD', posted, claim_for) == 1 then
    redis.call('ZADD', chats, 'NX', 0, ARGV[i])
  end
end
local total = redis.call('ZCARD', chats)
if total == 0 then return 0 end
redis.call('HSET', delivery, 'total', total, 'enqueued', 0, 'cursor', 0, unpack(fields))
redis.call('ZADD', deliveries, created, id)
redis.call('SADD', active, id)
return total
"""

_CANCEL = """
local delivery = KEYS[1]
local status = redis.call('HGET', delivery, 'status')
if status == 'enqueueing' or status == 'running' then
  redis.call('HSET', delivery, 'status', 'cancelled')
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


def parse_sent(value: str | None) -> tuple[str | None, list[int]]:
    """A sent marker: "12,13", or "-100777 12,13" when the messages went to a migrated id."""
    if not value:
        return None, []
    chat, _, ids = value.rpartition(" ")
    return chat or None, [int(i) for i in ids.split(",") if i]


@dataclass
class DeliveryRecords:
    redis: Redis
    keys: Keys
    clock: Any = time.time
    _create: AsyncScript = field(init=False, repr=False)
    _cancel: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._create = self.redis.register_script(_CREATE)
        self._cancel = self.redis.register_script(_CANCEL)

    async def create(
        self,
        kind: Kind,
        messages: Sequence[dict[str, Any]],
        *,
        title: str,
        subscribers: bool = False,
        chats: Sequence[str] = (),
        claim_for: str | None = None,
        article_id: str | None = None,
        admin_chat: int | None = None,
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
        hash_fields = _pairs(
            {
                "kind": kind.value,
                "status": Status.ENQUEUEING.value,
                "messages": json.dumps(list(messages), ensure_ascii=False),
                "title": title,
                "article": article_id,
                "admin": admin_chat,
                "target": target,
                "created": now,
            }
        )
        keys = [
            self.keys.delivery(delivery_id),
            self.keys.delivery_chats(delivery_id),
            source_key,
            self.keys.deliveries(),
            self.keys.active_deliveries(),
        ]
        if claim_for is not None:
            keys += [self.keys.posted(chat) for chat in chats]
        total = await self._create(
            keys=keys,
            args=[delivery_id, now, source, claim_for or "", *hash_fields, "--", *chats],
        )
        if not total:
            return None
        return await self.get(delivery_id)

    async def count(self, delivery_id: str, counter: str, by: int = 1) -> None:
        await awaited(self.redis.hincrby(self.keys.delivery(delivery_id), counter, by))

    async def get(self, delivery_id: str) -> Delivery | None:
        fields = await awaited(self.redis.hgetall(self.keys.delivery(delivery_id)))
        return Delivery.from_hash(delivery_id, fields) if fields.get("kind") else None

    async def get_many(self, delivery_ids: Sequence[str]) -> dict[str, Delivery]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in delivery_ids:
                pipe.hgetall(self.keys.delivery(delivery_id))
            replies = await pipe.execute()
        return {
            d: Delivery.from_hash(d, f)
            for d, f in zip(delivery_ids, replies, strict=True)
            if f.get("kind")
        }

    async def statuses(self, delivery_ids: Sequence[str]) -> dict[str, Status | None]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in delivery_ids:
                pipe.hget(self.keys.delivery(delivery_id), "status")
            replies = await pipe.execute()
        return {d: Status(s) if s else None for d, s in zip(delivery_ids, replies, strict=True)}

    async def active(self) -> list[Delivery]:
        ids = sorted(await awaited(self.redis.smembers(self.keys.active_deliveries())), key=int)
        return list((await self.get_many(ids)).values())

    async def recent_for(self, article_id: str, kind: Kind, look_back: int = 200) -> str | None:
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
        await awaited(self.redis.hset(self.keys.delivery(delivery_id), "progress", str(message_id)))

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
        _, found = await awaited(
            self.redis.hscan(self.keys.delivery_errors(delivery_id), 0, count=limit)
        )
        return list(found.items())[:limit]

    async def note_error(self, text: str) -> None:
        await self.redis.set(
            self.keys.last_error(), f"{int(self.clock())} {text[:500]}", ex=RECORD_TTL
        )

    async def last_error(self) -> tuple[float, str] | None:
        value: str | None = await self.redis.get(self.keys.last_error())
        if not value:
            return None
        stamp, _, text = value.partition(" ")
        return float(stamp), text
