"""The stream of new articles as the channel poster reads it: every article stored for the
first time (storage/articles.py adds it) is read once by the posters' group, and
acknowledged when it was posted or found not to need posting."""

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

    async def ensure_group(self) -> None:
        """The posters' group starts at the end: what was stored before khabar first ran with
        channels is archive, not news."""
        await ensure_group(self.redis, self.keys.new_articles(), GROUP, start="$")

    async def pending(self) -> list[tuple[str, str]]:
        """(entry id, article id) read before and not acknowledged (a poster stopped)."""
        return await self._read("0", None)

    async def new(self, block_ms: int) -> list[tuple[str, str]]:
        """(entry id, article id) stored since the last read, waiting up to `block_ms`."""
        return await self._read(">", block_ms)

    async def ack(self, entry_id: str) -> None:
        await self.redis.xack(self.keys.new_articles(), GROUP, entry_id)

    async def _read(self, after: str, block_ms: int | None) -> list[tuple[str, str]]:
        entries = await read_group(
            self.redis,
            self.keys.new_articles(),
            GROUP,
            CONSUMER,
            start="$",
            after=after,
            count=PAGE,
            block_ms=block_ms,
        )
        return [(entry_id, values.get("id", "")) for entry_id, values in entries]
