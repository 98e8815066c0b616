"""The one message budget in Redis (storage/ratelimit.py): replies book slots in turn and come
first, workers take only free ones, no window holds more than Telegram allows, a pause holds
everyone and the longer one wins."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from redis.asyncio import Redis

from storage.keys import Keys
from storage.ratelimit import BOT_BUDGET, Ask, RateLimiter


def budget(redis: Redis, keys: Keys, rate: float = 25) -> RateLimiter:
    return RateLimiter.for_broadcast(redis, keys, rate, paid=False)


def most_in_a_window(stamps: list[float], window: float) -> int:
    most, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_replies_to_one_private_chat_are_booked_about_a_second_apart(
    redis: Redis, keys: Keys
) -> None:
    limiter = budget(redis, keys)
    waits = [await limiter.book("1001", horizon=20) for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0] or max(waits[:3]) < 0.1  # three at once
    assert 0.6 <= waits[3] <= 1.1
    assert all(0.9 <= b - a <= 1.1 for a, b in itertools.pairwise(waits[3:]))


async def test_replies_to_many_chats_share_the_bots_budget_in_turn(
    redis: Redis, keys: Keys
) -> None:
    limiter = budget(redis, keys)
    waits = [await limiter.book(str(2000 + n), horizon=20) for n in range(58)]
    assert waits == sorted(waits)
    assert 1.85 <= waits[-1] <= 2.1, "58 replies take two seconds at 29 a second"


async def test_a_reply_further_away_than_the_horizon_is_not_booked(
    redis: Redis, keys: Keys
) -> None:
    limiter = budget(redis, keys)
    for _ in range(5):
        await limiter.book("3001", horizon=20)
    refused = await limiter.book("3001", horizon=0.5)
    assert refused < -0.5
    assert 0 < await limiter.book("3001", horizon=20) < 3.5, "the refused one took no slot"


async def test_workers_leave_the_slots_replies_booked(redis: Redis, keys: Keys) -> None:
    limiter = budget(redis, keys)
    for n in range(29):  # a second of replies booked ahead
        await limiter.book(str(4000 + n), horizon=20)
    grant = await limiter.acquire([Ask("5001", keys.delivery("1"), "f", "v")])
    assert grant.chats == [None]
    assert 0.8 <= grant.wait <= 1.05


@pytest.mark.slow
async def test_no_second_holds_more_than_telegram_allows(redis: Redis, keys: Keys) -> None:
    limiter = budget(redis, keys, rate=1000)  # capped to the bot's budget
    assert limiter.broadcast.per_second == BOT_BUDGET
    granted: list[float] = []
    chats = (str(6000 + n) for n in itertools.count())
    end = time.monotonic() + 2.2
    while time.monotonic() < end:
        grant = await limiter.acquire([Ask(next(chats), keys.delivery("1"), "f", "v")])
        if grant.chats == [0.0]:
            granted.append(time.monotonic())
        else:
            await asyncio.sleep(grant.wait)
    assert len(granted) >= 60, f"{len(granted)} in 2.2 s"
    assert most_in_a_window(granted, 1.0) <= 30
    # The margin for requests that arrive closer together than they left: the 31st slot
    # after any first one is at least 30 intervals less BOT_EARLY_MS (1,030 ms) later. The
    # stamps are taken after each grant's answer, so a round trip of slack on either side.
    spans = [b - a for a, b in zip(granted, granted[30:], strict=False)]
    assert min(spans) >= 1.02, f"31 slots within {min(spans) * 1000:.0f} ms"


async def test_a_pause_holds_everyone_and_the_longer_one_wins(redis: Redis, keys: Keys) -> None:
    limiter = budget(redis, keys)
    assert await limiter.pause(30)
    assert not await limiter.pause(10), "a shorter pause changes nothing"
    assert 29 <= await limiter.paused_for() <= 30
    assert await limiter.pause(60)
    wait = await limiter.book("7001", horizon=3600)
    assert 59 <= wait <= 60, "a reply waits for the pause"
    grant = await limiter.acquire([Ask("7002", keys.delivery("1"), "f", "v")])
    assert grant.chats == [None] and grant.wait >= 59
    assert await limiter.claim_pause_report(60)
    assert not await limiter.claim_pause_report(60), "one process tells the admins"
