"""`khabar run` as a process, the way it is deployed: it answers over HTTP and stops cleanly
on SIGTERM; a missing token is one clear line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from handlers import texts
from tests.support.fake_telegram import TOKEN, FakeTelegram, serve
from tests.support.storage_fixtures import TEST_REDIS_URL, drop_prefix

pytestmark = pytest.mark.slow  # processes or benchmarks: not in make test-fast


def environment(url: str, prefix: str) -> dict[str, str]:
    """`khabar run`'s environment: the fake server, the test Redis under its own prefix."""
    return {
        **os.environ,
        "KHABAR_BOT_API_URL": url,
        "KHABAR_BOT_TOKEN": TOKEN,
        "KHABAR_REDIS_URL": TEST_REDIS_URL,
        "KHABAR_REDIS_PREFIX": prefix,
        "KHABAR_HTTP_PORT": "0",
    }


async def clean_up(
    processes: list[asyncio.subprocess.Process], runner: web.AppRunner, prefix: str
) -> None:
    """Processes still running are killed; the fake server stops; the test's keys go."""
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()
    await runner.cleanup()
    redis = Redis.from_url(TEST_REDIS_URL)
    await drop_prefix(redis, prefix)
    await redis.aclose()


async def khabar_run(env: dict[str, str], output: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, stdout=output, stderr=output
    )


async def test_khabar_run_answers_and_stops_cleanly_on_sigterm() -> None:
    telegram = FakeTelegram()
    runner, url = await serve(telegram)
    prefix = f"khabar-test-run-{uuid.uuid4().hex[:8]}"
    process = await khabar_run(environment(url, prefix), asyncio.subprocess.PIPE)
    try:
        await telegram.wait_until(lambda: bool(telegram.commands), timeout=20)
        await telegram.send_text(77, "/latest")
        [reply] = await telegram.wait_for(77, after=0, timeout=10)
        assert reply.text == texts.NO_ARTICLES
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    finally:
        await clean_up([process], runner, prefix)
    assert process.returncode == 0
    assert TOKEN.encode() not in stderr and b"Application.stop() complete" in stderr


async def test_khabar_run_without_a_token_says_so() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KHABAR_")}
    env["KHABAR_REDIS_URL"] = "memory://"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=env,
        cwd="/tmp",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert stderr.decode().strip() == (
        "khabar: KHABAR_BOT_TOKEN: required to run the bot (get one from @BotFather)"
    )


async def test_two_processes_poll_one_at_a_time_and_the_other_takes_over() -> None:
    telegram = FakeTelegram()
    runner, url = await serve(telegram)
    prefix = f"khabar-test-run-{uuid.uuid4().hex[:8]}"
    env = environment(url, prefix)
    processes = [await khabar_run(env, asyncio.subprocess.DEVNULL) for _ in range(2)]
    redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        await telegram.wait_until(lambda: telegram.calls["setmycommands"] == 2, timeout=30)
        for user in range(501, 511):
            await telegram.send_text(user, "/help")
        for user in range(501, 511):
            await telegram.wait_for(user, after=0, timeout=10)
        await asyncio.sleep(0.5)
        assert [len(telegram.chat(user)) for user in range(501, 511)] == [1] * 10
        assert telegram.conflicts == 0, "only one process polls"

        holder = await redis.get(f"{prefix}:lease:poller")
        assert holder is not None
        pid = int(holder.split(":")[1])
        [polling] = [p for p in processes if p.pid == pid]
        polling.kill()  # dies without releasing its lease
        await polling.wait()
        await telegram.send_text(600, "/help")
        [reply] = await telegram.wait_for(600, after=0, timeout=30)
        assert reply.text.startswith("راهنمای «خبر»")
        assert telegram.conflicts <= 1, "at most the dead poller's last request"
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        await runner.cleanup()
        await drop_prefix(redis, prefix)
        await redis.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_khabar_run_serves_http_and_takes_webhook_updates() -> None:
    telegram = FakeTelegram()
    runner, url = await serve(telegram)
    prefix = f"khabar-test-run-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **environment(url, prefix),
        "KHABAR_HTTP_PORT": str(port),
        "KHABAR_WEBHOOK_URL": f"http://127.0.0.1:{port}",
        "KHABAR_WEBHOOK_SECRET": "s3cret-webhook",
    }
    process = await khabar_run(env, asyncio.subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        await telegram.wait_until(lambda: bool(telegram.webhook.get("url")), timeout=20)
        assert telegram.webhook["url"] == f"{base}/telegram/webhook"
        assert telegram.webhook["secret_token"] == "s3cret-webhook"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/help",
                "chat": {"id": 91, "type": "private"},
                "from": {"id": 91, "is_bot": False, "first_name": "مریم"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        telegram.chat_types[91] = "private"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as health:
                assert health.status == 200
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "nope"}
            async with http.post(f"{base}/telegram/webhook", json=update, headers=wrong) as r:
                assert r.status == 403
            right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-webhook"}
            async with http.post(f"{base}/telegram/webhook", json=update, headers=right) as r:
                assert r.status == 200
        [reply] = await telegram.wait_for(91, after=0, timeout=10)
        assert reply.text.startswith("راهنمای «خبر»")
        assert telegram.calls["getupdates"] == 0, "no polling in webhook mode"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        await clean_up([process], runner, prefix)


async def test_two_processes_poll_a_feed_and_the_channel_gets_each_item_once() -> None:
    feeds = Path(__file__).parent / "fixtures" / "feeds"
    requests: list[str] = []
    port = free_port()
    site = f"http://127.0.0.1:{port}"

    async def newspaper(request: web.Request) -> web.Response:
        requests.append(request.path)
        if request.path == "/rss":
            rss = (feeds / "hamshahri.rss").read_text(encoding="utf-8")
            return web.Response(
                text=rss.replace("http://www.hamshahrionline.ir", site),
                content_type="application/rss+xml",
                headers={"ETag": '"v1"'} if "If-None-Match" not in request.headers else None,
                status=200 if "If-None-Match" not in request.headers else 304,
            )
        page = feeds / f"hamshahri-{request.path.split('/')[-2]}.html"
        if not page.exists():  # the feed links a page the site lost: the item itself is used
            return web.Response(status=404, text="not found")
        return web.Response(text=page.read_text(encoding="utf-8"), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", newspaper)
    newspaper_site = web.AppRunner(app)
    await newspaper_site.setup()
    await web.TCPSite(newspaper_site, "127.0.0.1", port).start()
    telegram = FakeTelegram()
    telegram.add_channel("@khabar_news", -100777)
    runner, url = await serve(telegram)
    prefix = f"khabar-test-run-{uuid.uuid4().hex[:8]}"
    env = {
        **environment(url, prefix),
        "KHABAR_FEEDS": f"{site}/rss",
        "KHABAR_CHANNEL_IDS": "@khabar_news",
        "KHABAR_FEED_INTERVAL": "10",
        "KHABAR_CHANNEL_MAX_AGE_HOURS": "1000000",
        "KHABAR_FEED_ALLOW_PRIVATE": "true",
    }
    processes = [await khabar_run(env, asyncio.subprocess.DEVNULL) for _ in range(2)]
    redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        await telegram.wait_until(lambda: len(telegram.chat(-100777)) >= 3, timeout=90)
        # The poller stops; the other process takes the feed over and polls it again.
        holder = await redis.get(f"{prefix}:lease:feeds")
        assert holder is not None
        [polling] = [p for p in processes if p.pid == int(holder.split(":")[1])]
        polling.terminate()
        await telegram.wait_until(lambda: requests.count("/rss") >= 2, timeout=30)
        await asyncio.sleep(2)  # whatever the second poll would post has had time to
        titles = [sent.text.splitlines()[0] for sent in telegram.chat(-100777)]
        assert len(titles) == len(set(titles)) == 3, titles
        assert "ساعت کار بوستان‌های تهران در پاییز تغییر کرد" in titles, "from the item"
        assert telegram.duplicates() == {}
        assert sum(1 for path in requests if path.startswith("/news/")) == 3, "pages once"
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in processes:
            await process.wait()
        await runner.cleanup()
        await newspaper_site.cleanup()
        await drop_prefix(redis, prefix)
        await redis.aclose()
