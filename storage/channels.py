"""The stream of new articles as its readers read it: every article stored for the first time
(storage/articles.py adds it) is read once by each group (the channel posters; the alert
matcher, storage/alert_queue.py), and acknowledged when it was handled."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from storage.keys import Keys
from storage.redis import ensure_group, read_group

GROUP = "channels"
CONSUMER = "poster"
"""One fixed consumer: whoever holds the poster's lease reads as it, so a successor picks up
what its predecessor left pending."""
PAGE = 100


@dataclass
class NewArticles:
    redis: Redis
    keys: Keys
    group: str = GROUP
    consumer: str = CONSUMER
    page: int = PAGE

    async def ensure_group(self) -> None:
        """A group starts at the end: what was stored before its reader first ran is
        archive, not news."""
        await ensure_group(self.redis, self.keys.new_articles(), self.group, start="$")

    async def pending(self) -> list[tuple[str, str]]:
        """(entry id, article id) read before and not acknowledged (a poster stopped)."""
        return await self._read("0", None)

    async def new(self, block_ms: int) -> list[tuple[str, str]]:
        """(entry id, article id) stored since the last read, waiting up to `block_ms`."""
        return await self._read(">", block_ms)

    async def ack(self, entry_id: str) -> None:
        await self.redis.xack(self.keys.new_articles(), self.group, entry_id)

    async def _read(self, after: str, block_ms: int | None) -> list[tuple[str, str]]:
        entries = await read_group(
            self.redis,
            self.keys.new_articles(),
            self.group,
            self.consumer,
            start="$",
            after=after,
            count=self.page,
            block_ms=block_ms,
        )
        return [(entry_id, values.get("id", "")) for entry_id, values in entries]
