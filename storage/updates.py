"""Updates Telegram posted to the webhook, taken once across every process.

Telegram sends an update again when it thinks the first post was lost (a slow answer, a
connection reset), and behind a load balancer the second post may reach another process.
Taking an update claims its update_id with SET NX (atomic: of two processes taking it at the
same moment, one wins); the claim expires after SEEN_TTL, long after Telegram stops trying
(it keeps an update for 24 hours).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from storage.keys import Keys

SEEN_TTL = 26 * 3600


@dataclass(frozen=True)
class SeenUpdates:
    redis: Redis
    keys: Keys
    ttl: int = SEEN_TTL

    async def take(self, update_id: int) -> bool:
        """True the first time an update_id is taken, False when it was already."""
        return bool(await self.redis.set(self.keys.update_seen(update_id), 1, nx=True, ex=self.ttl))

    async def give_back(self, update_id: int) -> None:
        """The update could not be handed on: the next post of it is taken again."""
        await self.redis.delete(self.keys.update_seen(update_id))
