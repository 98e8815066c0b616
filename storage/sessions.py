"""Short-lived state of readers' conversations, in Redis so that any process can answer the
next update: search queries behind paging buttons, "send me your query" waits, flood guard."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from enum import Enum

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from storage.keys import Keys

QUERY_TTL = 24 * 3600
WAIT_TTL = 10 * 60
DRAFT_TTL = 24 * 3600

# Counts a user's updates in a window; past the limit the user is muted for a while, and only
# the update that crosses the limit is told so (SET NX on the mute key), atomically.
# KEYS: count, mute; ARGV: limit, window seconds, mute seconds. Returns 0 go on, 1 tell, 2 drop.
_FLOOD = """
local count_key, mute_key = KEYS[1], KEYS[2]
local limit, window, mute_for = tonumber(ARGV[1]), ARGV[2], ARGV[3]
if redis.call('EXISTS', mute_key) == 1 then return 2 end
local count = redis.call('INCR', count_key)
if count == 1 then redis.call('EXPIRE', count_key, window) end
if count <= limit then return 0 end
redis.call('SET', mute_key, 1, 'EX', mute_for)
redis.call('DEL', count_key)
return 1
"""


class Flood(Enum):
    OK = 0
    WARN = 1
    """Over the limit just now: tell the user once."""
    IGNORE = 2


@dataclass
class Sessions:
    redis: Redis
    keys: Keys
    flood_limit: int = 8
    flood_window: int = 10
    flood_mute: int = 30
    _flood: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._flood = self.redis.register_script(_FLOOD)

    async def save_query(self, query: str) -> str:
        """A short id for a search query (callback data holds 64 bytes, a Persian query more)."""
        query_id = hashlib.blake2b(query.encode(), digest_size=6).hexdigest()
        await self.redis.set(self.keys.saved_query(query_id), query, ex=QUERY_TTL)
        return query_id

    async def query(self, query_id: str) -> str | None:
        query: str | None = await self.redis.get(self.keys.saved_query(query_id))
        return query

    async def wait_for(self, chat_id: int, user_id: int, what: str) -> None:
        """Remember that the user's next message in the chat answers `what` (e.g. "search")."""
        await self.redis.set(self.keys.awaiting(chat_id, user_id), what, ex=WAIT_TTL)

    async def awaited(self, chat_id: int, user_id: int) -> str | None:
        """What the user's message answers, if anything; forgotten once asked."""
        what: str | None = await self.redis.getdel(self.keys.awaiting(chat_id, user_id))
        return what

    async def save_draft(self, article_json: str) -> str:
        """An article waiting for an admin's «send» (callback data can't hold it)."""
        draft_id = secrets.token_urlsafe(6)
        await self.redis.set(self.keys.draft(draft_id), article_json, ex=DRAFT_TTL)
        return draft_id

    async def take_draft(self, draft_id: str) -> str | None:
        """The draft, forgotten at once: a second press of «send» finds nothing."""
        draft: str | None = await self.redis.getdel(self.keys.draft(draft_id))
        return draft

    async def flood(self, user_id: int) -> Flood:
        keys = [self.keys.flood(user_id), self.keys.muted(user_id)]
        args = [self.flood_limit, self.flood_window, self.flood_mute]
        verdict = await self._flood(keys=keys, args=args, client=self.redis)
        return Flood(int(verdict))
