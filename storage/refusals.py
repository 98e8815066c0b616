"""What the Bot API refused lately, remembered for every process.

A rich message the Bot API refused (an older self-hosted server answers 404 "method not
found"; or a 400 about the rich content) sends rich messages as text for a while
(`RICH_RETRY_AFTER`). The refusal is a key with that TTL in Redis, so once any process saw
one, every process sends text until the key expires instead of each learning it from a
refusal of its own. A process also keeps what it learned (its own refusals and the key's)
in memory: that spares a round trip per message while a refusal holds, and it is what counts
while Redis is away (a process then goes by the refusals it saw itself: a message is never
lost, at worst tried as a rich message once more). One log line per process and refusal.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage.keys import Keys

log = logging.getLogger("khabar.delivery")

RICH_RETRY_AFTER = 600.0
"""Seconds rich messages go as text after the Bot API refused one."""


class RichRefusals:
    """One process's view of the refusals (see the module's doc); one per process."""

    def __init__(self, redis: Redis, keys: Keys, retry_after: float = RICH_RETRY_AFTER) -> None:
        self.redis, self.keys, self.retry_after = redis, keys, retry_after
        self._until = 0.0
        """Until when (time.monotonic()) this process knows rich messages go as text."""

    async def refused(self) -> bool:
        """Rich messages go as text now: a refusal this process saw or learned of, or one
        another process saw (the Redis key); with Redis away, only the former."""
        if time.monotonic() < self._until:
            return True
        key = self.keys.rich_refused()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.pttl(key)
                reason, left = await pipe.execute()
        except RedisError:
            return False
        if reason is None or left == -2:  # no refusal (or it expired between the two)
            return False
        seconds = self.retry_after if left < 0 else left / 1000
        self._learn(reason.decode() if isinstance(reason, bytes) else str(reason), seconds)
        return True

    async def remember(self, reason: str) -> None:
        """The Bot API refused a rich message (`reason`: its description): text for
        `retry_after` seconds in every process, in this one alone while Redis is away."""
        self._learn(reason, self.retry_after)
        try:
            await self.redis.set(
                self.keys.rich_refused(), reason, px=max(1, round(self.retry_after * 1000))
            )
        except RedisError as error:
            log.warning("Redis did not take the refusal (%s): this process alone knows it", error)

    def _learn(self, reason: str, seconds: float) -> None:
        now = time.monotonic()
        if now >= self._until:
            log.warning(
                "the Bot API refused a rich message (%s); rich messages go as text for %.0f s",
                reason,
                seconds,
            )
        self._until = now + seconds
