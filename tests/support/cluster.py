"""A cluster of `khabar run` processes for the process tests: one fake Bot API server in the
test's own process (so everything it received can be checked), subscribers in Redis, and N
processes started as deployed. `own_redis` gives the cluster a Redis server of its own (with
its append-only file) that a test may stop and start again, as a restart or a failover does.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from bot.delivery.start import enqueue_if_free
from bot.news.article import Article
from bot.news.card import payloads
from storage.deliveries import Delivery, Kind, Status
from storage.keys import Keys
from storage.outbox import Outbox
from storage.redis import connect
from storage.subscribers import ChatKind, Subscribers
from tests.support.fake_telegram import TOKEN, FakeTelegram, Limits, serve
from tests.support.storage_fixtures import TEST_REDIS_URL, drop_prefix
from tests.support.with_redis import answers, free_port


class OwnRedis:
    """A redis-server of the test's own, on a free port, appendonly; `stop` and `start` it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="khabar-redis-"))
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        server = shutil.which("redis-server")
        assert server is not None, "redis-server is needed for the fault tests"
        self.process = await asyncio.create_subprocess_exec(
            server,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.folder),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(100):
            if answers("127.0.0.1", self.port):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    async def stop(self) -> None:
        """As a restart does: the server goes away (its data kept in the append-only file)."""
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()

    async def close(self) -> None:
        await self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


ADMIN = 777
"""A private chat for admins' reports (not a subscriber)."""
CHATS = range(20_001, 20_151)
FEWER = range(20_001, 20_081)
ARTICLE = Article(
    id="b1", title="توفان شن در سیستان", lead="مدارس زابل فردا تعطیل است.", breaking=True
)


@dataclass
class Cluster:
    telegram: FakeTelegram
    redis: Redis
    keys: Keys
    outbox: Outbox
    processes: list[asyncio.subprocess.Process]
    chats: range
    env: dict[str, str] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)
    """Each process's stderr (its log), for a test to read."""

    def log_text(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logs)

    async def breaking(self, admin_chat: int | None = None) -> Delivery:
        """A breaking delivery to every subscriber, as «✅ ارسال» creates it; its progress
        shown to `admin_chat` when given."""
        delivery = await self.outbox.create(
            Kind.BREAKING,
            payloads(ARTICLE),
            title=ARTICLE.title,
            subscribers=True,
            article_id=ARTICLE.id,
            admin_chat=admin_chat,
        )
        assert delivery is not None
        await enqueue_if_free(self.outbox, delivery.id)
        return delivery

    async def done(self, delivery: Delivery, timeout: float = 60) -> Delivery:
        found = delivery
        for _ in range(int(timeout * 10)):
            found = await self.outbox.get(delivery.id) or found
            if found.status is Status.DONE:
                return found
            await asyncio.sleep(0.1)
        raise TimeoutError(f"delivery {delivery.id} not done: {found.counts}")


@asynccontextmanager
async def cluster(
    count: int,
    limits: Limits | None = None,
    chats: range = CHATS,
    *,
    strict: bool = False,
    redis_url: str = TEST_REDIS_URL,
    **settings: str,
) -> AsyncIterator[Cluster]:
    telegram = FakeTelegram(limits or Limits(), strict=strict)
    telegram.add_private_chats([*chats, ADMIN])
    runner, url = await serve(telegram)
    prefix = f"khabar-test-delivery-{uuid.uuid4().hex[:8]}"
    redis = await connect(redis_url)
    keys = Keys(prefix)
    subscribers = Subscribers(redis, keys)
    for chat in chats:
        await subscribers.subscribe(chat, ChatKind.PRIVATE)
    env = {
        **os.environ,
        "KHABAR_BOT_API_URL": url,
        "KHABAR_BOT_TOKEN": TOKEN,
        "KHABAR_REDIS_URL": redis_url,
        "KHABAR_REDIS_PREFIX": prefix,
        "KHABAR_HTTP_PORT": "0",
        **{f"KHABAR_{name.upper()}": value for name, value in settings.items()},
    }
    folder = Path(tempfile.mkdtemp(prefix="khabar-logs-"))
    logs = [folder / f"process-{number}.log" for number in range(count)]
    processes = []
    for log in logs:
        with log.open("wb") as stderr:
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "run",
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=stderr,
                )
            )
    try:
        await telegram.wait_until(lambda: telegram.calls["setmycommands"] == count, timeout=30)
        await workers_reading(redis, keys, count)
        yield Cluster(telegram, redis, keys, Outbox(redis, keys), processes, chats, env, logs)
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            await process.wait()
        await runner.cleanup()
        await drop_prefix(redis, prefix)
        await redis.aclose()
        shutil.rmtree(folder, ignore_errors=True)


async def workers_reading(redis: Redis, keys: Keys, processes: int) -> None:
    for _ in range(200):
        consumers = await redis.xinfo_consumers(keys.outbox(), "workers")
        if len({c["name"].rsplit(":", 1)[0] for c in consumers}) >= processes:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the delivery workers did not start")


def received(c: Cluster) -> dict[int, int]:
    return {chat: len(c.telegram.chat(chat)) for chat in c.chats}
