"""What the feed poller (bot/feeds.py) keeps in Redis, so that whichever process holds its
lease carries on where another left off: per feed, the validators of a conditional GET, when
to poll next, its errors in a row; and the items it has already shown.

A feed's state and its seen items are written together, in one transaction, only once a
poll's articles are stored: a poll cut short (a crash, a lost lease) is done again whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage.keys import Keys

SEEN_KEPT = 2_000
"""Item digests kept per feed. A feed shows far fewer items at a time; those it still shows
are refreshed on every poll, so only items gone from it are ever trimmed."""
STATE_TTL = 30 * 24 * 3600
"""Seconds: the state of a feed nobody polled for this long (taken out of KHABAR_FEEDS)
expires on its own."""


def feed_id(url: str) -> str:
    """A fixed-length name for a feed in keys: URLs are long and may hold anything."""
    return hashlib.blake2b(url.encode(), digest_size=10).hexdigest()


def item_digest(item_key: str) -> str:
    """A guid or link as a set member of bounded size."""
    return hashlib.blake2b(item_key.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class FeedState:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    next_poll: float = 0.0
    """Epoch seconds; 0 for a feed never polled."""
    period: float | None = None
    """Seconds between polls learnt at the last full poll (the feed's <ttl> may lengthen it)."""
    failures: int = 0
    """Failed polls in a row."""
    last_error: str | None = None
    last_result: str | None = None
    """"ok", "not_modified" or "error"."""

    @classmethod
    def from_hash(cls, url: str, values: dict[str, str]) -> FeedState:
        def number(name: str) -> float | None:
            try:
                return float(values[name])
            except (KeyError, ValueError):
                return None

        return cls(
            url=url,
            etag=values.get("etag") or None,
            last_modified=values.get("last_modified") or None,
            next_poll=number("next_poll") or 0.0,
            period=number("period"),
            failures=int(number("failures") or 0),
            last_error=values.get("last_error") or None,
            last_result=values.get("last_result") or None,
        )


@dataclass
class FeedStore:
    redis: Redis
    keys: Keys

    async def states(self, urls: Sequence[str]) -> list[FeedState]:
        """The state of each feed, in order; a feed never polled has the defaults."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for url in urls:
                pipe.hgetall(self.keys.feed(feed_id(url)))
            found: list[dict[str, str]] = await pipe.execute()
        return [FeedState.from_hash(url, values) for url, values in zip(urls, found, strict=True)]

    async def get(self, url: str) -> FeedState:
        return (await self.states([url]))[0]

    async def unseen(self, url: str, item_keys: Sequence[str]) -> list[bool]:
        """For each item key, whether the feed has not shown it before."""
        if not item_keys:
            return []
        scores = await self.redis.zmscore(
            self.keys.feed_seen(feed_id(url)), [item_digest(key) for key in item_keys]
        )
        return [score is None for score in scores]

    async def polled(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        next_poll: float,
        period: float,
        seen: Sequence[str],
        now: float,
    ) -> None:
        """A full poll went through: its validators (a missing one is dropped, or a stale one
        would be sent again), the next poll, and every item the feed shows now, seen."""
        state, seen_key = self.keys.feed(feed_id(url)), self.keys.feed_seen(feed_id(url))
        async with self.redis.pipeline(transaction=True) as pipe:
            self._write(
                pipe,
                state,
                url,
                now,
                "ok",
                {
                    "etag": etag,
                    "last_modified": last_modified,
                    "next_poll": next_poll,
                    "period": period,
                    "failures": 0,
                    "last_error": None,
                },
            )
            if seen:
                pipe.zadd(seen_key, {item_digest(key): now for key in seen})
                pipe.zremrangebyrank(seen_key, 0, -SEEN_KEPT - 1)
                pipe.expire(seen_key, STATE_TTL)
            await pipe.execute()

    async def not_modified(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        next_poll: float,
        now: float,
    ) -> None:
        """A 304: only the next poll changes (and the validators, when the server sent new
        ones)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            values: dict[str, Any] = {"next_poll": next_poll, "failures": 0, "last_error": None}
            values |= {k: v for k, v in (("etag", etag), ("last_modified", last_modified)) if v}
            self._write(pipe, self.keys.feed(feed_id(url)), url, now, "not_modified", values)
            pipe.expire(self.keys.feed_seen(feed_id(url)), STATE_TTL)
            await pipe.execute()

    async def failed(
        self, url: str, *, failures: int, next_poll: float, error: str, now: float
    ) -> None:
        """A failed poll: the validators stay, so the next try is conditional too."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._write(
                pipe,
                self.keys.feed(feed_id(url)),
                url,
                now,
                "error",
                {
                    "failures": failures,
                    "next_poll": next_poll,
                    "last_error": error[:500],
                },
            )
            await pipe.execute()

    @staticmethod
    def _write(
        pipe: Pipeline, key: str, url: str, now: float, result: str, values: dict[str, Any]
    ) -> None:
        """HSET what has a value, HDEL what is None, and keep the hash alive."""
        present = {name: value for name, value in values.items() if value is not None}
        present |= {"url": url, "last_polled": now, "last_result": result}
        pipe.hset(key, mapping=present)
        if absent := [name for name, value in values.items() if value is None]:
            pipe.hdel(key, *absent)
        pipe.expire(key, STATE_TTL)
