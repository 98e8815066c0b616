"""Redis for storage tests: the real server (KHABAR_TEST_REDIS_URL, a key prefix of its own per
test, removed after) and the embedded memory:// store; each test runs on both."""

from __future__ import annotations

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
    async for key in redis.scan_iter(match=f"{keys.prefix}:*", count=1000):
        await redis.delete(key)
