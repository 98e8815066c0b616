"""Faults injected into real processes: `khabar run` processes over real HTTP, a Redis of the
test's own that is stopped and started again, a Bot API that fails, floods or stalls. Nothing
is lost, no process exits, a chat gets a card twice only when counted "possibly twice", and
the admin's report is right at the end. Each test prints its figures (time to resume)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.cluster import ADMIN, CHATS, Cluster, OwnRedis, cluster, received

pytestmark = pytest.mark.slow  # processes: not in make test-fast


def check_every_chat_once_or_counted(c: Cluster, duplicates: int) -> None:
    counts = received(c)
    assert min(counts.values()) == 1, "nobody was left out"
    twice = [chat for chat, n in counts.items() if n > 1]
    assert len(twice) <= duplicates, f"{len(twice)} chats got it twice, {duplicates} counted"


async def report_of(c: Cluster, timeout: float = 20) -> str:
    """The admin's last progress message once it is the final report."""

    def final() -> bool:
        shown = c.telegram.chat(ADMIN)
        return bool(shown) and "تمام شد" in shown[-1].text

    await c.telegram.wait_until(final, timeout=timeout)
    return c.telegram.chat(ADMIN)[-1].text


async def test_redis_restarting_mid_delivery_stops_nothing_and_loses_nothing() -> None:
    own = OwnRedis()
    await own.start()
    try:
        async with cluster(
            2, chats=CHATS, strict=True, redis_url=own.url, broadcast_rate="25"
        ) as c:
            delivery = await c.breaking(admin_chat=ADMIN)
            await asyncio.sleep(4)
            before = len(c.telegram.send_log)
            await own.stop()
            await asyncio.sleep(10)
            await own.start()
            restarted = time.monotonic()
            await c.redis.ping()
            finished = await c.done(delivery, timeout=120)
            resumed = next((when for when, _ in c.telegram.send_log if when > restarted), restarted)
            assert all(p.returncode is None for p in c.processes), c.log_text()[-3000:]
            check_every_chat_once_or_counted(c, finished.counts["duplicates"])
            assert finished.counts["sent"] == len(CHATS)
            assert c.telegram.rate_limited == 0
            report = await report_of(c)
            assert f"✅ رسید: {persian(len(CHATS))} از {persian(len(CHATS))}" in report
            print(
                f"{before} sent before Redis went away; first send {resumed - restarted:.1f} s "
                f"after it came back; done {time.monotonic() - restarted:.1f} s after"
            )
    finally:
        await own.close()


def persian(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
