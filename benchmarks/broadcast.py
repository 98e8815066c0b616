"""Breaking news to N subscribers: delivered/s, 429s, lost and duplicated messages.

    .venv/bin/python benchmarks/broadcast.py [--free 1500] [--paid 10000] [--processes 1 3]
        [--blocked-every 50] [--redis URL]

For each scenario a fresh fake Bot API server runs as its own process (Telegram's limits as
a strict server counts them, sliding windows: 30 messages in any second bot-wide, 1,000 with
allow_paid_broadcast, 5 in any second per private chat) with N
private chats, every --blocked-every-th of them blocked; the chats subscribe; 1 or 3
`khabar run` processes start; one breaking delivery is created (as /breaking's «✅ ارسال»
does) and the script waits until it is done. Figures are the server's: messages it accepted,
over the time from the first to the last; 429 answers; chats that should have had the card
and did not (lost); extra copies (duplicated).

- free limits: KHABAR_BROADCAST_RATE=30, which khabar caps to the bot's budget of 29/s (30
  less a margin that keeps every window under the limit): target ≥ 95% of 30/s, no 429.
  A blocked chat costs its slot like any send (Telegram answers it), so with every 50th
  blocked the cards delivered are 2% fewer than the sends: each line gives both;
- paid broadcast: KHABAR_PAID_BROADCAST=true, KHABAR_BROADCAST_RATE=1000. A Python fake server
  and its clients on 2 cores do not reach 1,000/s, so the same run also measures the ceiling
  of this machine: a bare loop of concurrent Bot.send_message calls (no Redis, no limiter)
  against a fresh server; the target is ≥ 80% of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from benchmarks.bot import free_port, wait_until_up  # noqa: E402
from bot.delivery.start import enqueue_if_free  # noqa: E402
from bot.news.article import Article, Image  # noqa: E402
from bot.news.card import payloads  # noqa: E402
from bot.news.styles import Style  # noqa: E402
from bot.news.styles import payloads as styled  # noqa: E402
from storage.deliveries import Kind, Status  # noqa: E402
from storage.keys import Keys  # noqa: E402
from storage.outbox import ENQUEUE_PAGE, Outbox  # noqa: E402
from storage.ratelimit import BOT_BUDGET  # noqa: E402
from storage.redis import connect  # noqa: E402
from storage.subscribers import ChatKind, Subscribers  # noqa: E402
from tests.support.fake_telegram import TOKEN  # noqa: E402
from tests.support.pictures import serving_pictures  # noqa: E402
from tests.support.storage_fixtures import drop_prefix  # noqa: E402

FIRST_CHAT = 1_000_000
BARE_CONCURRENCY = 64
ARTICLE = Article(
    id="bench1",
    title="زلزله ۵٫۲ ریشتری حوالی تهران را لرزاند",
    lead="مرکز لرزه‌نگاری کشوری از وقوع زمین‌لرزه‌ای به بزرگی ۵٫۲ در ساعت ۱۰:۱۲ خبر داد.",
    breaking=True,
)


@dataclass
class Result:
    sent: int
    seconds: float
    rate_limited: int
    lost: int
    duplicated: int
    possibly_twice: int
    blocked: int = 0
    """Chats that answered 403: each took a slot, as any send does."""
    cpu_ms: float = 0.0
    """CPU of the khabar processes per message sent."""

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def sends(self) -> float:
        """Sends a second, the blocked chats' refused ones included."""
        return (self.sent + self.blocked) / self.seconds if self.seconds else 0.0


class FakeServer:
    """The fake Bot API server as a process of its own."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.fake_telegram",
                "--port",
                str(self.port),
                "--strict",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )

    async def __aenter__(self) -> FakeServer:
        self.session = aiohttp.ClientSession()
        await wait_until_up(self.session, f"{self.url}/control/stats")
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.session.close()
        self.process.terminate()
        self.process.wait(10)

    async def chats(self, first: int, count: int, blocked_every: int) -> int:
        body = {"first": first, "count": count, "blocked_every": blocked_every}
        async with self.session.post(f"{self.url}/control/subscribers", json=body) as reply:
            return int((await reply.json())["blocked"])

    async def stats(self) -> dict[str, Any]:
        async with self.session.get(f"{self.url}/control/stats") as reply:
            found: dict[str, Any] = await reply.json()
            return found


def card(picture: str | None) -> list[dict[str, Any]]:
    """The readers' card, or (with a picture's URL) the photo card with its text fallback."""
    if picture is None:
        return payloads(ARTICLE)
    article = ARTICLE.model_copy(update={"image": Image(url=picture)})
    [photo] = styled(article, Style.PHOTO)
    [text] = styled(article, Style.TEXT)
    return [{**photo, "fallback": {k: v for k, v in text.items() if k != "method"}}]


async def broadcast(
    redis_url: str,
    subscribers: int,
    processes: int,
    paid: bool,
    blocked_every: int,
    timeout: float,
    picture: str | None = None,
    rate: float = 30.0,
) -> Result:
    prefix = f"khabar-bench-broadcast-{uuid.uuid4().hex[:8]}"
    redis = await connect(redis_url)
    keys = Keys(prefix)
    outbox = Outbox(redis, keys)
    bots: list[subprocess.Popen[bytes]] = []
    async with FakeServer() as server:
        blocked = await server.chats(FIRST_CHAT, subscribers, blocked_every)
        chats = Subscribers(redis, keys)
        for start in range(0, subscribers, 500):
            await asyncio.gather(
                *(
                    chats.subscribe(FIRST_CHAT + n, ChatKind.PRIVATE)
                    for n in range(start, min(subscribers, start + 500))
                )
            )
        env = {
            **os.environ,
            "KHABAR_BOT_API_URL": f"{server.url}/bot",
            "KHABAR_BOT_TOKEN": TOKEN,
            "KHABAR_REDIS_URL": redis_url,
            "KHABAR_REDIS_PREFIX": prefix,
            "KHABAR_HTTP_PORT": "0",
            "KHABAR_FEED_ALLOW_PRIVATE": "true",  # a photo card's picture is served locally
            "KHABAR_BROADCAST_RATE": "1000" if paid else f"{rate:g}",
            "KHABAR_PAID_BROADCAST": "true" if paid else "false",
        }
        try:
            bots = [
                subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "run"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(processes)
            ]
            await workers_up(redis, keys, processes)
            cpu_before = sum(cpu_seconds(bot.pid) for bot in bots)
            delivery = await outbox.create(
                Kind.BREAKING,
                card(picture),
                title=ARTICLE.title,
                subscribers=True,
                article_id=ARTICLE.id,
            )
            assert delivery is not None
            await enqueue_if_free(outbox, delivery.id)
            deadline = time.monotonic() + timeout
            while (found := await outbox.get(delivery.id)) and found.status is not Status.DONE:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not done in {timeout:.0f} s: {found.counts}")
                await asyncio.sleep(0.2)
            assert found is not None
            cpu = sum(cpu_seconds(bot.pid) for bot in bots) - cpu_before
            stats = await server.stats()
        finally:
            for bot in bots:
                bot.send_signal(signal.SIGTERM)
            for bot in bots:
                bot.wait(20)
            await drop_prefix(redis, prefix)
            await redis.aclose()
    return Result(
        sent=stats["sent"],
        seconds=stats["span"],
        rate_limited=stats["rate_limited"],
        lost=subscribers - blocked - stats["reached"],
        duplicated=stats["duplicates"],
        possibly_twice=found.counts["duplicates"],
        blocked=blocked,
        cpu_ms=1000 * cpu / max(1, stats["sent"]),
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def workers_up(redis: Any, keys: Keys, processes: int) -> None:
    """Every process's delivery workers are reading the outbox."""
    for _ in range(300):
        try:
            groups = await redis.xinfo_consumers(keys.outbox(), "workers")
            if len({c["name"].rsplit(":", 1)[0] for c in groups}) >= processes:
                return
        except Exception:  # the stream and its group appear when the first process starts
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the delivery workers did not start")


async def enqueue(redis_url: str, subscribers: int) -> tuple[float, float]:
    """Seconds to snapshot `subscribers` chats into a delivery and to put them all in the
    outbox (no worker runs: the entries stay)."""
    prefix = f"khabar-bench-enqueue-{uuid.uuid4().hex[:8]}"
    redis = await connect(redis_url)
    keys = Keys(prefix)
    chats = Subscribers(redis, keys)
    try:
        for start in range(0, subscribers, 1000):
            await asyncio.gather(
                *(
                    chats.subscribe(FIRST_CHAT + n, ChatKind.PRIVATE)
                    for n in range(start, min(subscribers, start + 1000))
                )
            )
        outbox = Outbox(redis, keys)
        await outbox.ensure_group()
        began = time.perf_counter()
        delivery = await outbox.create(
            Kind.BREAKING, payloads(ARTICLE), title=ARTICLE.title, subscribers=True
        )
        assert delivery is not None
        snapshot = time.perf_counter() - began
        began = time.perf_counter()
        await enqueue_if_free(outbox, delivery.id)
        filled = time.perf_counter() - began
        assert await outbox.depth() == subscribers
    finally:
        await drop_prefix(redis, prefix)
        await redis.aclose()
    return snapshot, filled


async def bare_loop(messages: int) -> Result:
    """The ceiling: concurrent Bot.send_message calls, nothing else, to a fresh server."""
    async with FakeServer() as server:
        await server.chats(FIRST_CHAT, messages, 0)
        bot = Bot(
            TOKEN,
            base_url=f"{server.url}/bot",
            request=HTTPXRequest(connection_pool_size=BARE_CONCURRENCY),
        )
        [payload] = payloads(ARTICLE)
        semaphore = asyncio.Semaphore(BARE_CONCURRENCY)

        async def send(chat: int) -> None:
            async with semaphore:
                await bot.send_message(
                    chat, payload["text"], parse_mode="HTML", allow_paid_broadcast=True
                )

        async with bot:
            await asyncio.gather(*(send(FIRST_CHAT + n) for n in range(messages)))
        stats = await server.stats()
    return Result(
        sent=stats["sent"],
        seconds=stats["span"],
        rate_limited=stats["rate_limited"],
        lost=messages - stats["reached"],
        duplicated=stats["duplicates"],
        possibly_twice=0,
    )


def line(label: str, result: Result) -> str:
    return (
        f"{label}: {result.sent:,} messages in {result.seconds:.1f} s = "
        f"{result.rate:,.1f} msg/s"
        + (
            f" ({result.sends:,.1f} sends/s with the {result.blocked} blocked)"
            if result.blocked
            else ""
        )
        + f"; 429s {result.rate_limited}; lost {result.lost}; "
        f"duplicated {result.duplicated} (counted as possibly twice: "
        f"{result.possibly_twice})"
        + (f"; khabar CPU {result.cpu_ms:.2f} ms/message" if result.cpu_ms else "")
    )


def share_of_telegram(result: Result) -> str:
    """The cards delivered as a share of Telegram's 30/s, and the sends when chats blocked."""
    sends = f" ({100 * result.sends / 30:.1f}% in sends)" if result.blocked else ""
    return f"; {100 * result.rate / 30:.1f}% of 30/s{sends}"


async def run(args: argparse.Namespace) -> None:
    if args.enqueue:
        snapshot, filled = await enqueue(args.redis, args.enqueue)
        print(
            f"enqueue {args.enqueue:,} subscribers: snapshot {1000 * snapshot:.0f} ms, "
            f"into the outbox {filled:.2f} s ({args.enqueue / filled:,.0f} chats/s, "
            f"{-(-args.enqueue // ENQUEUE_PAGE)} pages of {ENQUEUE_PAGE:,})"
        )
    print(
        f"one breaking card to N private chats, every {args.blocked_every}th blocked; "
        "figures from the fake server"
    )
    for processes in args.processes:
        if args.free:
            result = await broadcast(
                args.redis,
                args.free,
                processes,
                False,
                args.blocked_every,
                args.timeout,
                rate=args.rate,
            )
            label = f"free limits, KHABAR_BROADCAST_RATE={args.rate:g}, {args.free:,} chats"
            print(
                line(f"{label}, {processes} process(es)", result)
                + share_of_telegram(result)
                + f", {100 * result.sends / min(args.rate, BOT_BUDGET):.1f}% of the rate used"
            )
        if args.free and args.photo:
            async with serving_pictures() as pictures:
                result = await broadcast(
                    args.redis,
                    args.free,
                    processes,
                    False,
                    args.blocked_every,
                    args.timeout,
                    f"{pictures.url}/ok.jpg",
                )
                fetched = pictures.hits["/ok.jpg"]
            print(
                line(
                    f"photo card, free limits, {args.free:,} chats, {processes} process(es)", result
                )
                + share_of_telegram(result)
                + f"; the picture fetched {fetched} time(s)"
            )
    if args.paid:
        bare = await bare_loop(args.bare or args.paid)
        print(line(f"bare send loop ({BARE_CONCURRENCY} concurrent, no Redis)", bare))
        for processes in args.processes:
            result = await broadcast(
                args.redis, args.paid, processes, True, args.blocked_every, args.timeout
            )
            ratio = result.rate / bare.rate if bare.rate else 0.0
            print(
                line(f"paid broadcast, {args.paid:,} chats, {processes} process(es)", result)
                + f"; {100 * ratio:.1f}% of the bare loop"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--enqueue",
        type=int,
        default=100_000,
        help="subscribers to put in the outbox, timed (0: skip)",
    )
    parser.add_argument("--free", type=int, default=1500, help="chats, free limits (0: skip)")
    parser.add_argument(
        "--rate",
        type=float,
        default=30.0,
        help="KHABAR_BROADCAST_RATE of the free-limits run (khabar caps it at its 29/s budget)",
    )
    parser.add_argument("--paid", type=int, default=10000, help="chats, paid (0: skip)")
    parser.add_argument(
        "--bare", type=int, default=0, help="messages of the bare loop (default: as many as --paid)"
    )
    parser.add_argument(
        "--photo", action="store_true", help="also a photo card (a picture by URL) at free limits"
    )
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--blocked-every", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
