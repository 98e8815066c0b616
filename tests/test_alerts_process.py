"""Alerts across processes, as deployed: two `khabar run` processes on one Redis and one fake
Bot API (strict: a 429 is a failure); each article is matched by one of them and each alert
message reaches its chat once, even when the matcher is killed and the other takes over."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timedelta

import pytest

from bot.news.article import TEHRAN, Article
from storage.alert_terms import parse_alert
from storage.alerts import AlertStore
from storage.articles import ArticleStore
from tests.support.cluster import Cluster, cluster

pytestmark = pytest.mark.slow  # processes: not in make test-fast

CHATS = range(7_001, 7_031)


def quake(number: int) -> Article:
    return Article(
        id=f"quake-{number}",
        title=f"زلزله شدید در استان شماره {number}",
        lead="مرکز لرزه‌نگاری خبر داد.",
        published=datetime.now(TEHRAN) - timedelta(minutes=1),
    )


async def matcher_reading(c: Cluster) -> None:
    for _ in range(200):
        if await c.redis.exists(c.keys.new_articles()):
            groups = await c.redis.xinfo_groups(c.keys.new_articles())
            if any(group["name"] == "alerts" for group in groups):
                return
        await asyncio.sleep(0.1)
    raise TimeoutError("no alert matcher")


async def alerts_arrived(c: Cluster, each: int) -> dict[int, int]:
    try:
        await c.telegram.wait_until(
            lambda: all(len(c.telegram.chat(chat)) >= each for chat in CHATS), timeout=40
        )
    except TimeoutError:
        print({chat: len(c.telegram.chat(chat)) for chat in CHATS}, c.log_text()[-3000:])
        raise
    await asyncio.sleep(1.5)  # and nothing more comes
    return {chat: len(c.telegram.chat(chat)) for chat in CHATS}


async def test_two_processes_send_each_alert_message_once() -> None:
    async with cluster(2, chats=CHATS, strict=True, alert_quiet_hours="0-0") as c:
        alerts = AlertStore(c.redis, c.keys)
        for chat in CHATS:
            await alerts.add(chat, "زلزله", parse_alert("زلزله").units)
        await matcher_reading(c)
        store = ArticleStore(c.redis, c.keys)
        await store.save_many([quake(1), quake(2)])
        assert set((await alerts_arrived(c, 2)).values()) == {2}
        # The matcher's process dies; the other takes its lease and matches what comes next.
        holder = await c.redis.get(c.keys.alert_matcher())
        assert holder is not None
        pids = {str(process.pid): process for process in c.processes}
        victim = pids[holder.split(":")[1]]
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        await store.save(quake(3))
        assert set((await alerts_arrived(c, 3)).values()) == {3}
        assert c.telegram.duplicates() == {}
        assert c.telegram.rate_limited == 0
        first = c.telegram.chat(CHATS[0])
        assert all(sent.text.startswith("🔔 به‌خاطر هشدار: زلزله\n") for sent in first)
