"""Faults injected into real processes: `khabar run` processes over real HTTP, a Redis of the
test's own that is stopped and started again, a Bot API that fails, floods or stalls. Nothing
is lost, no process exits, a chat gets a card twice only when counted "possibly twice", and
the admin's report is right at the end. Each test prints its figures (time to resume)."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from tests.support.cluster import ADMIN, CHATS, FEWER, Cluster, OwnRedis, cluster, received

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


def sends_between(c: Cluster, start: float, end: float) -> int:
    return sum(1 for when, _ in c.telegram.send_log if start < when < end)


async def test_a_long_flood_wait_silences_every_process_and_the_admins_are_told_once() -> None:
    async with cluster(2, chats=FEWER, strict=True, broadcast_rate="25", admin_ids=str(ADMIN)) as c:
        delivery = await c.breaking(admin_chat=ADMIN)
        await c.telegram.wait_until(lambda: len(c.telegram.send_log) >= 10, timeout=20)
        flooded = time.monotonic()
        c.telegram.flood(30)
        finished = await c.done(delivery, timeout=90)
        refused = [when for when, _ in c.telegram.limited_log if when > flooded]
        # What was on its way when the 429 came, and the one notice tried at once.
        assert len(refused) <= 8, f"{len(refused)} requests during the pause"
        assert sends_between(c, flooded + 0.5, flooded + 29.9) == 0
        resumed = min(when for when, _ in c.telegram.send_log if when > flooded)
        assert resumed - flooded >= 29.9
        check_every_chat_once_or_counted(c, finished.counts["duplicates"])
        assert finished.counts["sent"] == len(FEWER)
        notices = [m for m in c.telegram.chat(ADMIN) if m.text.startswith("⏸")]
        assert len(notices) == 1, [m.text for m in c.telegram.chat(ADMIN)]
        text = notices[0].text
        assert re.search(r"برای (۲[۰-۹]|۳۰) ثانیه متوقف کرده است", text), text
        assert re.search(r"[۰-۹]+ پیام در صف است و چیزی از دست نمی‌رود", text), text
        assert all(p.returncode is None for p in c.processes)
        print(f"sending resumed {resumed - flooded - 30:.2f} s after the pause ended")


async def test_the_bot_api_failing_for_20_s_delays_chats_but_gives_none_up() -> None:
    async with cluster(
        2, chats=CHATS, strict=True, broadcast_rate="25", retry_max_seconds="2"
    ) as c:
        delivery = await c.breaking(admin_chat=ADMIN)
        await c.telegram.wait_until(lambda: len(c.telegram.send_log) >= 40, timeout=20)
        start = time.monotonic()
        c.telegram.fail_all(20)
        finished = await c.done(delivery, timeout=120)
        resumed = min(when for when, _ in c.telegram.send_log if when > start + 20)
        assert finished.counts["failed"] == 0
        assert finished.counts["sent"] == len(CHATS)
        check_every_chat_once_or_counted(c, finished.counts["duplicates"])
        assert all(p.returncode is None for p in c.processes)
        log = c.log_text()
        assert "Traceback" not in log, log[log.index("Traceback") - 600 :][:1500]
        assert len(log.splitlines()) < 200, f"{len(log.splitlines())} log lines"
        assert c.telegram.rate_limited == 0
        report = await report_of(c)
        assert "⚠️ ناموفق: ۰" in report
        print(
            f"{c.telegram.outage_answers} requests answered 502; sending resumed "
            f"{resumed - start - 20:.2f} s after the outage"
        )


async def test_a_stalled_bot_api_sends_a_card_twice_only_where_counted() -> None:
    async with cluster(2, chats=CHATS, strict=True, broadcast_rate="25") as c:
        delivery = await c.breaking(admin_chat=ADMIN)
        await c.telegram.wait_until(lambda: len(c.telegram.send_log) >= 40, timeout=20)
        start = time.monotonic()
        c.telegram.stall(20)
        finished = await c.done(delivery, timeout=120)
        held = sends_between(c, start, start + 20)
        check_every_chat_once_or_counted(c, finished.counts["duplicates"])
        assert finished.counts["sent"] == len(CHATS)
        assert c.telegram.rate_limited == 0, "what piled up did not go out at once"
        assert all(p.returncode is None for p in c.processes)
        twice = sum(1 for n in received(c).values() if n > 1)
        print(
            f"{held} sends carried out during the stall; {twice} chats got it twice, "
            f"{finished.counts['duplicates']} counted as possibly twice"
        )


READERS = range(30_001, 30_201)


async def test_200_readers_at_once_during_a_delivery_in_two_processes_draw_no_429() -> None:
    async with cluster(2, chats=CHATS, strict=True, broadcast_rate="25") as c:
        c.telegram.add_private_chats(READERS)
        delivery = await c.breaking()
        await c.telegram.wait_until(lambda: len(c.telegram.send_log) >= 20, timeout=20)
        asked: dict[int, float] = {}
        for reader in READERS:  # within 2 s
            asked[reader] = time.monotonic()
            await c.telegram.send_text(reader, "/subscribe")
            await asyncio.sleep(0.01)
        await c.telegram.wait_until(
            lambda: all(c.telegram.chat(reader) for reader in READERS), timeout=60
        )
        finished = await c.done(delivery, timeout=60)
        assert c.telegram.rate_limited == 0, c.telegram.limited_log[:5]
        assert max(len(c.telegram.chat(reader)) for reader in READERS) == 1
        assert set(received(c).values()) == {1}, "every subscriber's card exactly once"
        assert finished.counts["sent"] == len(CHATS)
        answered = {}
        for when, chat in c.telegram.send_log:
            if chat in asked and chat not in answered:
                answered[chat] = when - asked[chat]
        waits = sorted(answered.values())
        times = [when for when, chat in c.telegram.send_log if chat in c.chats]
        rate = (len(times) - 1) / (times[-1] - times[0])
        print(
            f"reply p50 {waits[len(waits) // 2]:.2f} s, p99 {waits[int(len(waits) * 0.99)]:.2f} s;"
            f" delivery {rate:.1f} msg/s with the replies first; "
            f"busiest second {c.telegram.max_rate(1.0):.0f} messages"
        )
