"""Redis for storage tests: the real server (KHABAR_TEST_REDIS_URL, a key prefix of its own per
test, removed after) and the embedded memory:// store; each test runs on both."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from storage.keys import Keys
from storage.redis import connect

TEST_REDIS_URL = os.environ.get("KHABAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["redis", "memory"])
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    client = await connect(TEST_REDIS_URL if request.param == "redis" else "memory://")
    yield client
    await client.aclose()


@pytest.fixture
async def keys(redis: Redis) -> AsyncIterator[Keys]:
    keys = Keys(f"khabar-test-{uuid.uuid4().hex[:12]}")
    yield keys
    await drop_prefix(redis, keys.prefix)


async def snapshot(client: Redis, prefix: str) -> dict[str, object]:
    """Every key under the prefix with its value, compared by content: DUMP is not stable
    (a hash's field order changes as Redis rehashes it incrementally, even on reads)."""
    found: dict[str, object] = {}
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        kind = await client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        value: object
        if kind == "string":
            value = await client.execute_command(  # type: ignore[no-untyped-call]
                "GET", key, NEVER_DECODE=True
            )
        elif kind == "hash":
            value = sorted((await client.hgetall(key)).items())  # type: ignore[misc]
        elif kind == "zset":
            value = await client.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            value = sorted(await client.smembers(key))  # type: ignore[misc]
        elif kind == "list":
            value = await client.lrange(key, 0, -1)  # type: ignore[misc]
        else:
            value = await client.dump(key)
        found[key.decode() if isinstance(key, bytes) else key] = (kind, value)
    return found


def snapshot_now(prefix: str) -> dict[str, object]:
    """`snapshot` from synchronous code, on the test Redis."""

    async def take() -> dict[str, object]:
        client = Redis.from_url(TEST_REDIS_URL)
        try:
            return await snapshot(client, prefix)
        finally:
            await client.aclose()

    return asyncio.run(take())


async def drop_prefix(client: Redis, prefix: str) -> None:
    """Remove every key a test (or a benchmark) made under its prefix, a thousand a round
    trip: a search index has tens of thousands."""
    found = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
    for start in range(0, len(found), 1000):
        await client.unlink(*found[start : start + 1000])
