"""Subscribers: chats that receive breaking news, with their kind and language.

The set is a sorted set scored by the chat id itself, so it can be walked in pages by score
(ZRANGEBYSCORE from the last id seen) without loading 100k+ ids at once, and a page walk is
stable while chats subscribe and leave.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum

from redis.asyncio import Redis

from storage.keys import Keys
from storage.redis import awaited


class ChatKind(Enum):
    PRIVATE = "private"
    GROUP = "group"
    CHANNEL = "channel"


# Subscribe, unsubscribe and migrate change three keys that must agree (the set, the chat's
# hash, the per-kind counts); as scripts they run atomically, so two processes handling the
# same chat at once can never leave the counts off by one.
_SUBSCRIBE = """
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[1]) == 0 then
  local old = redis.call('HGET', KEYS[2], 'kind')
  if old and old ~= ARGV[2] then
    redis.call('HINCRBY', KEYS[3], old, -1)
    redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
  end
  redis.call('HSET', KEYS[2], 'kind', ARGV[2], 'language', ARGV[3])
  return 0
end
redis.call('HSET', KEYS[2], 'kind', ARGV[2], 'language', ARGV[3], 'since', ARGV[4])
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
return 1
"""
_UNSUBSCRIBE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local kind = redis.call('HGET', KEYS[2], 'kind')
if kind then redis.call('HINCRBY', KEYS[3], kind, -1) end
redis.call('DEL', KEYS[2])
return 1
"""
_MIGRATE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[3])
end
return 1
"""


@dataclass(frozen=True)
class Subscriber:
    chat_id: int
    kind: ChatKind
    language: str


class Subscribers:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._subscribe = redis.register_script(_SUBSCRIBE)
        self._unsubscribe = redis.register_script(_UNSUBSCRIBE)
        self._migrate = redis.register_script(_MIGRATE)

    async def subscribe(self, chat_id: int, kind: ChatKind, language: str = "fa") -> bool:
        """True when the chat was not subscribed before; subscribing twice is harmless."""
        added = await self._subscribe(
            keys=[
                self.keys.subscribers(),
                self.keys.subscriber(chat_id),
                self.keys.subscriber_kinds(),
            ],
            args=[chat_id, kind.value, language, int(time.time())],
        )
        return bool(added)

    async def unsubscribe(self, chat_id: int) -> bool:
        """True when the chat was subscribed."""
        removed = await self._unsubscribe(
            keys=[
                self.keys.subscribers(),
                self.keys.subscriber(chat_id),
                self.keys.subscriber_kinds(),
            ],
            args=[chat_id],
        )
        return bool(removed)

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> bool:
        """A group that became a supergroup keeps its subscription under its new id."""
        moved = await self._migrate(
            keys=[
                self.keys.subscribers(),
                self.keys.subscriber(old_chat_id),
                self.keys.subscriber(new_chat_id),
            ],
            args=[old_chat_id, new_chat_id],
        )
        return bool(moved)

    async def get(self, chat_id: int) -> Subscriber | None:
        fields = await awaited(self.redis.hgetall(self.keys.subscriber(chat_id)))
        if not fields or await self.redis.zscore(self.keys.subscribers(), chat_id) is None:
            return None
        return Subscriber(chat_id, ChatKind(fields["kind"]), fields.get("language", "fa"))

    async def count(self) -> int:
        return int(await self.redis.zcard(self.keys.subscribers()))

    async def count_by_kind(self) -> dict[ChatKind, int]:
        counts = await awaited(self.redis.hgetall(self.keys.subscriber_kinds()))
        return {kind: int(counts.get(kind.value, 0)) for kind in ChatKind}

    async def pages(self, size: int = 1000) -> AsyncIterator[list[int]]:
        """Every subscribed chat id, `size` at a time, in id order."""
        low = "-inf"
        while True:
            page = await self.redis.zrangebyscore(
                self.keys.subscribers(), low, "+inf", start=0, num=size
            )
            if not page:
                return
            ids = [int(chat_id) for chat_id in page]
            yield ids
            low = f"({ids[-1]}"
