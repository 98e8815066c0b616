"""Reply latency of the running bot: simulated readers send /latest and /search commands.

    .venv/bin/python benchmarks/bot.py [--commands 1000] [--users 50] [--redis URL]

Starts the fake Bot API server (`python -m tests.support.fake_telegram --no-limits`: Telegram's
rates are not what is measured here) and `khabar run` as separate processes, stores 500
synthetic articles, then each of the users sends its share of the commands (half /latest, half
/search with words from the articles), paced so that all together send --rate commands a
second: Telegram lets a bot send 30 messages a second, and the bot paces itself to that, so a
faster load only measures the queue. Prints replies/s and p50/p99 of the time from a reader's
message to the bot's reply.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.search import Corpus, percentile  # noqa: E402
from storage.articles import ArticleStore  # noqa: E402
from storage.keys import Keys  # noqa: E402
from storage.redis import connect  # noqa: E402
from tests.support.fake_telegram import TOKEN  # noqa: E402
from tests.support.storage_fixtures import drop_prefix  # noqa: E402

ARTICLES = 500


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_until_up(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(100):
        try:
            async with session.get(url):
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing answers at {url}")


async def reader(
    session: aiohttp.ClientSession,
    control: str,
    user: int,
    commands: list[str],
    latencies: list[float],
    first: float = 0.0,
    every: float = 0.0,
) -> None:
    """The user sends its commands at `first`, `first + every`, ... seconds from now (or as
    soon as the reply to the one before came, if later)."""
    begin = time.perf_counter()
    for sent, command in enumerate(commands):
        await asyncio.sleep(max(0.0, begin + first + sent * every - time.perf_counter()))
        start = time.perf_counter()
        await session.post(f"{control}/message", json={"user_id": user, "text": command})
        async with session.get(
            f"{control}/chats/{user}", params={"after": sent, "count": 1, "timeout": 30}
        ) as reply:
            if reply.status != 200:
                raise RuntimeError(f"user {user}: no reply to {command!r}")
        latencies.append((time.perf_counter() - start) * 1000)


async def run(commands: int, users: int, rate: float, redis_url: str) -> None:
    prefix = f"khabar-bench-bot-{uuid.uuid4().hex[:8]}"
    redis = await connect(redis_url)
    store = ArticleStore(redis, Keys(prefix), retention=timedelta(days=3650))
    corpus = Corpus()
    await store.save_many([corpus.article(n) for n in range(ARTICLES)])
    words = [query for query in corpus.queries(1, 50)]
    port = free_port()
    env = {
        **os.environ,
        "KHABAR_BOT_API_URL": f"http://127.0.0.1:{port}/bot",
        "KHABAR_BOT_TOKEN": TOKEN,
        "KHABAR_REDIS_URL": redis_url,
        "KHABAR_REDIS_PREFIX": prefix,
        "KHABAR_RETENTION_DAYS": "3650",
        "KHABAR_HTTP_PORT": "0",
    }
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_telegram", "--port", str(port), "--no-limits"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    control = f"http://127.0.0.1:{port}/control"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_up(session, f"{control}/chats/0")
            await reader(session, control, 1, ["/help"], [])  # the bot is up and polling
            share = commands // users
            plans = [
                [
                    ("/latest" if (u + n) % 2 else f"/search {words[(u + n) % len(words)]}")
                    for n in range(share)
                ]
                for u in range(users)
            ]
            latencies: list[float] = []
            start = time.perf_counter()
            every = users / rate if rate else 0.0
            await asyncio.gather(
                *(
                    reader(
                        session,
                        control,
                        10_000 + u,
                        plan,
                        latencies,
                        u / rate if rate else 0.0,
                        every,
                    )
                    for u, plan in enumerate(plans)
                )
            )
            seconds = time.perf_counter() - start
        pace = f"{rate:g} commands/s in all" if rate else "each as soon as answered"
        print(
            f"{len(latencies)} commands from {users} readers (half /latest, half /search) "
            f"over {ARTICLES} articles, {pace}"
        )
        print(
            f"replies: {len(latencies) / seconds:,.0f}/s; reply time p50 "
            f"{percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
            f"max {max(latencies):.1f} ms"
        )
    finally:
        bot.terminate()  # first, while the server it says goodbye to is still there
        bot.wait(10)
        fake.terminate()
        fake.wait(10)
        await drop_prefix(redis, prefix)
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--rate",
        type=float,
        default=25.0,
        help="commands per second from all readers together (0: each reader "
        "sends as soon as answered; the bot then runs at Telegram's 30 "
        "messages/s and replies queue)",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    asyncio.run(run(args.commands, args.users, args.rate, args.redis))


if __name__ == "__main__":
    main()
