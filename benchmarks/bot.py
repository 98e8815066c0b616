"""Reply latency of the running bot: simulated readers send /latest and /search commands.

    .venv/bin/python benchmarks/bot.py [--commands 1000] [--users 50] [--redis URL]

Starts the fake Bot API server (`python -m tests.support.fake_telegram --no-limits`: Telegram's
rates are not what is measured here) and `khabar run` as separate processes, stores 500
synthetic articles, then each of the users sends its share of the commands (half /latest, half
/search with words from the articles), paced so that all together send --rate commands a
second: Telegram lets a bot send 30 messages a second, and the bot paces itself to that, so a
faster load only measures the queue. Prints replies/s and p50/p99 of the time from a reader's
message to the bot's reply.

    .venv/bin/python benchmarks/bot.py --burst 200 [--subscribers 300 --processes 2]

The burst run: readers and a broadcast at once, against the strict fake server (Telegram's
limits as sliding windows): `--processes` `khabar run` processes deliver a breaking item to
`--subscribers` chats while every reader sends /subscribe within 2 s. Prints the 429s (0 is
the only right answer), reply p50/p99, and the delivery's messages a second.
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
from bot.delivery.start import enqueue_if_free  # noqa: E402
from bot.news.card import payloads  # noqa: E402
from storage.articles import ArticleStore  # noqa: E402
from storage.deliveries import Kind, Status  # noqa: E402
from storage.keys import Keys  # noqa: E402
from storage.outbox import Outbox  # noqa: E402
from storage.redis import connect  # noqa: E402
from storage.subscribers import ChatKind, Subscribers  # noqa: E402
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


def start_bots(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(15)


async def burst(
    readers: int, subscribers: int, processes: int, broadcast_rate: float, redis_url: str
) -> None:
    """Readers and a broadcast at once, against a strict Bot API (sliding windows): every
    reader sends /subscribe within 2 s while a breaking delivery runs in `processes`
    processes. Prints the 429s (must be 0), reply p50/p99 and delivered/s."""
    prefix = f"khabar-bench-burst-{uuid.uuid4().hex[:8]}"
    redis = await connect(redis_url)
    keys = Keys(prefix)
    port = free_port()
    env = {
        **os.environ,
        "KHABAR_BOT_API_URL": f"http://127.0.0.1:{port}/bot",
        "KHABAR_BOT_TOKEN": TOKEN,
        "KHABAR_REDIS_URL": redis_url,
        "KHABAR_REDIS_PREFIX": prefix,
        "KHABAR_HTTP_PORT": "0",
        "KHABAR_BROADCAST_RATE": str(broadcast_rate),
    }
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_telegram", "--port", str(port), "--strict"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    bots: list[subprocess.Popen[bytes]] = []
    control = f"http://127.0.0.1:{port}/control"
    first_subscriber, first_reader = 100_000, 500_000
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_up(session, f"{control}/chats/0")
            for first, count in ((first_subscriber, subscribers), (first_reader, readers)):
                body = {"first": first, "count": count}
                async with session.post(f"{control}/subscribers", json=body):
                    pass
            people = Subscribers(redis, keys)
            for chat in range(first_subscriber, first_subscriber + subscribers):
                await people.subscribe(chat, ChatKind.PRIVATE)
            bots = start_bots(processes, env)
            await reader(session, control, 1, ["/help"], [])  # up and polling
            await asyncio.sleep(2)  # every process's workers reading
            outbox = Outbox(redis, keys)
            article = Corpus().article(0)
            delivery = await outbox.create(
                Kind.BREAKING, payloads(article), title=article.title, subscribers=True
            )
            assert delivery is not None
            await enqueue_if_free(outbox, delivery.id)
            latencies: list[float] = []
            await asyncio.sleep(1)
            await asyncio.gather(
                *(
                    reader(
                        session,
                        control,
                        first_reader + n,
                        ["/subscribe"],
                        latencies,
                        2 * n / readers,
                    )
                    for n in range(readers)
                )
            )
            while (found := await outbox.get(delivery.id)) and found.status is not Status.DONE:
                await asyncio.sleep(0.2)
            assert found is not None and found.finished is not None
            async with session.get(f"{control}/stats") as answer:
                stats = await answer.json()
        sent = found.counts["sent"]
        rate = sent / (found.finished - found.created)
        print(
            f"{readers} readers sent /subscribe within 2 s while a breaking delivery to "
            f"{subscribers} subscribers ran in {processes} processes (strict Bot API)"
        )
        print(
            f"429s: {stats['rate_limited']}; replies: {len(latencies)} of {readers}, p50 "
            f"{percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms; "
            f"delivered {sent} at {rate:.1f}/s (configured {broadcast_rate:g}, the replies "
            f"first); busiest second {stats['max_rate']:.0f} messages"
        )
    finally:
        stop(bots)
        fake.terminate()
        fake.wait(10)
        await drop_prefix(redis, prefix)
        await redis.aclose()


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
    bots = start_bots(1, env)
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
        stop(bots)  # first, while the server it says goodbye to is still there
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
    parser.add_argument(
        "--burst",
        type=int,
        default=0,
        metavar="READERS",
        help="instead: READERS readers at once while a broadcast runs (strict Bot API)",
    )
    parser.add_argument("--subscribers", type=int, default=300)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--broadcast-rate", type=float, default=25.0)
    args = parser.parse_args()
    if args.burst:
        asyncio.run(
            burst(args.burst, args.subscribers, args.processes, args.broadcast_rate, args.redis)
        )
    else:
        asyncio.run(run(args.commands, args.users, args.rate, args.redis))


if __name__ == "__main__":
    main()
