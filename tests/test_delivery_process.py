"""Delivery across processes, as deployed: several `khabar run` processes share one Redis and
one fake Bot API server (in this test's process, so everything it received can be checked);
one is killed with SIGKILL in the middle of a breaking delivery."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.support.cluster import CHATS, FEWER, cluster, received
from tests.support.fake_telegram import Limits

pytestmark = pytest.mark.slow  # processes or benchmarks: not in make test-fast


async def test_a_worker_killed_mid_delivery_is_taken_over_and_each_chat_gets_it_once() -> None:
    async with cluster(2, broadcast_rate="25", delivery_claim_seconds="3") as c:
        delivery = await c.breaking()
        await c.telegram.wait_until(lambda: len(c.telegram.send_log) >= 40, timeout=20)
        victim = c.processes[0]
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        killed_at = len(c.telegram.send_log)
        finished = await c.done(delivery, timeout=60)
        counts = received(c)
        assert min(counts.values()) == 1, "nobody skipped"
        twice = [chat for chat, n in counts.items() if n > 1]
        assert max(counts.values()) <= 2
        # A chat can get the card twice only when the worker died between Telegram's answer
        # and the record of it; each such chat was found "in flight" and counted.
        assert len(twice) <= finished.counts["duplicates"]
        assert finished.counts["sent"] == len(CHATS)
        assert killed_at < len(CHATS), "the kill came in the middle"
        print(
            f"killed after {killed_at} sends; {len(twice)} chats got it twice, "
            f"{finished.counts['duplicates']} counted as possibly twice"
        )
        assert c.telegram.rate_limited == 0


async def test_two_processes_together_never_exceed_the_rate() -> None:
    async with cluster(2, broadcast_rate="30") as c:
        delivery = await c.breaking()
        finished = await c.done(delivery, timeout=60)
        assert finished.counts["sent"] == len(CHATS)
        assert set(received(c).values()) == {1}
        assert c.telegram.rate_limited == 0, "Telegram's 30/s bot-wide limit was never hit"
        assert c.telegram.max_rate(1.0) <= 33  # 30/s with a burst of 3
        times = [when for when, _ in c.telegram.send_log]
        rate = (len(times) - 1) / (times[-1] - times[0])
        assert rate >= 27, f"{rate:.1f} messages/s: the two share one limit, and use it"


async def test_a_429_pauses_every_worker_for_retry_after_and_nothing_is_lost() -> None:
    # The server allows far less than the bot thinks (30/s): Telegram answers 429.
    tight = Limits(global_burst=10, global_rate=10)
    async with cluster(2, limits=tight, chats=FEWER, broadcast_rate="30") as c:
        delivery = await c.breaking()
        finished = await c.done(delivery, timeout=90)
        assert set(received(c).values()) == {1}, "each chat once, none lost"
        assert finished.counts["sent"] == len(FEWER)
        limited = c.telegram.limited_log
        assert limited, "the server did answer 429"
        assert finished.counts["rate_limited"] >= 1
        sends = [when for when, _ in c.telegram.send_log]
        # After the first 429 of a burst, no process sends until retry_after has passed
        # (requests already on their way when it came are let through the next 0.1 s).
        first_of_bursts = [
            when for n, (when, _) in enumerate(limited) if n == 0 or when - limited[n - 1][0] > 0.5
        ]
        for when in first_of_bursts:
            retry_after = next(r for t, r in limited if t == when)
            early = [s for s in sends if when + 0.1 < s < when + retry_after - 0.05]
            assert early == [], f"sent {len(early)} messages during a {retry_after} s pause"


async def test_a_process_stopped_with_sigterm_hands_its_chats_back_at_once() -> None:
    async with cluster(2, chats=FEWER, broadcast_rate="20") as c:  # claims after 60 s
        delivery = await c.breaking()
        await c.telegram.wait_until(lambda: len(c.telegram.send_log) >= 20, timeout=20)
        stopping = c.processes[0]
        stopping.send_signal(signal.SIGTERM)
        start = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(stopping.wait(), 10) == 0
        finished = await c.done(delivery, timeout=30)
        took = asyncio.get_running_loop().time() - start
        assert took < 20, f"{took:.0f} s: the other process did not wait for a claim"
        assert set(received(c).values()) == {1}
        assert finished.counts["duplicates"] == 0
