"""Where matched alerts wait: the new-articles stream as the alert matcher reads it, the
deliveries ready for the outbox, and what is held for a chat's digest or for the morning.

Exactly once, crash-safe: an article's stream entry is acknowledged in the same transaction
that files its alerts (ready deliveries and held items); a ready delivery leaves its list
only after the outbox has it, and the outbox claims (article, chat) when it is created
(storage/deliveries.py `claim_for`), so one made twice by a matcher that died in between
reaches nobody twice. A digest is claimed the same way, as "digest:<its time>".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from storage.channels import NewArticles
from storage.keys import Keys
from storage.redis import awaited

GROUP = "alerts"
CONSUMER = "matcher"
"""One fixed consumer: the holder of the matcher's lease reads as it, so a successor picks
up what its predecessor left pending."""
PAGE = 50
CLAIMS_KEPT = 30 * 24 * 3600
MATCHED_KEPT = 7 * 24 * 3600
"""Articles are remembered as matched for a week (an older one sent as breaking news is
matched again; its chats that had it are skipped by the outbox's claim)."""


@dataclass(frozen=True)
class Ready:
    """An alert delivery waiting for the outbox: one article to chats with one reason."""

    article_id: str
    reason: str
    chats: list[int]

    def dump(self) -> str:
        data = {"article": self.article_id, "reason": self.reason, "chats": self.chats}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def load(cls, text: str) -> Ready:
        data = json.loads(text)
        return cls(data["article"], data["reason"], [int(chat) for chat in data["chats"]])


@dataclass(frozen=True)
class Held:
    """An article held for a chat: for its digest, or until its quiet hours end."""

    chat: int
    article_id: str
    reason: str
    due: float


# A held item is filed, and the chat's next due time moves earlier if it is sooner.
_HOLD = """
local pending, due = KEYS[1], KEYS[2]
local chat, when, member = ARGV[1], tonumber(ARGV[2]), ARGV[3]
redis.call('ZADD', pending, when, member)
local current = redis.call('ZSCORE', due, chat)
if not current or tonumber(current) > when then redis.call('ZADD', due, when, chat) end
return 1
"""

# A digest is out: what it listed leaves the chat's held items, and the chat is due again at
# its next held item's time, or no more.
_SENT_DIGEST = """
local pending, due = KEYS[1], KEYS[2]
local chat, upto = ARGV[1], ARGV[2]
redis.call('ZREMRANGEBYSCORE', pending, '-inf', upto)
local next = redis.call('ZRANGE', pending, 0, 0, 'WITHSCORES')
if next[2] then
  redis.call('ZADD', due, next[2], chat)
else
  redis.call('ZREM', due, chat)
end
return 1
"""


@dataclass
class AlertQueue:
    redis: Redis
    keys: Keys

    def __post_init__(self) -> None:
        self.stream = NewArticles(self.redis, self.keys, GROUP, CONSUMER, PAGE)
        self._hold: AsyncScript = self.redis.register_script(_HOLD)
        self._sent_digest: AsyncScript = self.redis.register_script(_SENT_DIGEST)

    # The new-articles stream ----------------------------------------------------------------------
    async def ensure_group(self) -> None:
        await self.stream.ensure_group()

    async def pending(self) -> list[tuple[str, str]]:
        """(entry id, article id) read before and not filed (a matcher stopped)."""
        return await self.stream.pending()

    async def new(self, block_ms: int) -> list[tuple[str, str]]:
        return await self.stream.new(block_ms)

    # Deliveries the newsroom started (breaking news, posts: not on the stream) -------------------
    async def deliveries_since(self, upto: float, page: int = 100) -> list[tuple[float, str, str]]:
        """(created, kind, article id) of the deliveries created after the cursor and by
        `upto`, oldest first; the first call only sets the cursor (what came before is old)."""
        cursor = await awaited(self.redis.get(self.keys.alert_cursor()))
        if cursor is None:
            await awaited(self.redis.set(self.keys.alert_cursor(), upto))
            return []
        found = await self.redis.zrangebyscore(
            self.keys.deliveries(), f"({cursor}", upto, start=0, num=page, withscores=True
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id, _ in found:
                pipe.hmget(self.keys.delivery(delivery_id), ["kind", "article"])
            records = await pipe.execute()
        return [
            (float(created), kind or "", article or "")
            for (_, created), (kind, article) in zip(found, records, strict=True)
        ]

    async def matched(self, article_id: str) -> bool:
        """The article was matched already (stored, then sent as breaking news, say)."""
        return await self.redis.zscore(self.keys.alert_matched(), article_id) is not None

    # Filing an article's alerts -----------------------------------------------------------------
    async def file(
        self,
        article_id: str,
        ready: Sequence[Ready],
        held: Sequence[Held],
        *,
        now: float,
        entry_id: str | None = None,
        cursor: float | None = None,
    ) -> None:
        """The article's deliveries and held items, the article marked as matched, and its
        stream entry acknowledged (or the deliveries' cursor moved past it): all or nothing."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for item in ready:
                pipe.rpush(self.keys.alert_ready(), item.dump())
            for one in held:
                await self._hold(
                    keys=[self.keys.alert_pending(one.chat), self.keys.alert_due()],
                    args=[one.chat, one.due, f"{one.article_id}\t{one.reason}"],
                    client=pipe,
                )
            if article_id:
                pipe.zadd(self.keys.alert_matched(), {article_id: now})
                pipe.zremrangebyscore(self.keys.alert_matched(), "-inf", now - MATCHED_KEPT)
            if entry_id is not None:
                pipe.xack(self.keys.new_articles(), GROUP, entry_id)
            if cursor is not None:
                pipe.set(self.keys.alert_cursor(), cursor)
            await pipe.execute()

    # Ready deliveries ---------------------------------------------------------------------------
    async def next_ready(self) -> Ready | None:
        found = await awaited(self.redis.lindex(self.keys.alert_ready(), 0))
        return Ready.load(found) if found else None

    async def claims_kept(self, chats: Sequence[int]) -> None:
        """The outbox's record of what each chat was given (the articles and digests an alert
        claimed for it) lasts CLAIMS_KEPT after the last: a reader who left does not keep a
        set forever, and an article is matched only once within a week anyway."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat in chats:
                pipe.expire(self.keys.posted(str(chat)), CLAIMS_KEPT)
            await pipe.execute()

    async def done_ready(self) -> None:
        """The head of the ready list is in the outbox (only the matcher's lease holder takes
        from it)."""
        await awaited(self.redis.lpop(self.keys.alert_ready()))

    async def ready_count(self) -> int:
        return int(await awaited(self.redis.llen(self.keys.alert_ready())))

    # Digests ------------------------------------------------------------------------------------
    async def due(self, now: float, limit: int = 100) -> list[tuple[int, float]]:
        """Chats with held items due by `now`, and the time each is due."""
        found = await self.redis.zrangebyscore(
            self.keys.alert_due(), "-inf", now, start=0, num=limit, withscores=True
        )
        return [(int(chat), float(when)) for chat, when in found]

    async def held(self, chat: int, upto: float) -> list[Held]:
        """A chat's items due by `upto`, oldest first, one per article."""
        found = await self.redis.zrangebyscore(
            self.keys.alert_pending(chat), "-inf", upto, withscores=True
        )
        items: dict[str, Held] = {}
        for member, when in found:
            article_id, _, reason = member.partition("\t")
            items.setdefault(article_id, Held(chat, article_id, reason, float(when)))
        return list(items.values())

    async def digest_sent(self, chat: int, upto: float) -> None:
        await self._sent_digest(
            keys=[self.keys.alert_pending(chat), self.keys.alert_due()], args=[chat, upto]
        )

    async def held_count(self) -> int:
        return int(await self.redis.zcard(self.keys.alert_due()))
