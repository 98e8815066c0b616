"""The connection: one pool per process from KHABAR_REDIS_URL; `memory://` is an embedded
in-process store (fakeredis, with Lua) for trying khabar without a server."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

MEMORY_SCHEME = "memory://"

T = TypeVar("T")


async def awaited(value: Awaitable[T] | T) -> T:
    """redis-py types some commands (hashes, sets) as "sync or async"; with the asyncio client
    they are always awaitable. This tells the type checker so."""
    if inspect.isawaitable(value):
        return await value
    return value


class Outage:
    """What a loop that retries says while Redis is away: one warning when it goes, one line
    when it answers again, an error with its traceback only for what is not Redis's doing."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log = log
        self.what = what
        self.down = False

    def failed(self, error: BaseException) -> None:
        if not isinstance(error, RedisError):
            self.log.error("%s failed", self.what, exc_info=error)
        elif not self.down:
            self.down = True
            self.log.warning("%s: Redis unavailable (%s); waiting it out", self.what, error)

    def answered(self) -> None:
        if self.down:
            self.down = False
            self.log.info("%s: Redis answers again", self.what)


class StorageUnavailable(RuntimeError):
    """Redis cannot be reached; the message is for operators and never holds a password."""


_SECRET_PARAM = re.compile(r"((?:^|&)[^=&]*(?:token|key|secret|pass|auth|sig)[^=&]*=)[^&]*", re.I)


def redact(url: str) -> str:
    """The URL without its password or secret-looking query values (`?token=...`): safe for
    logs and error messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user = f"{parts.username}:***@" if parts.username else "***@"
        host = parts.hostname or ""
        netloc = f"{user}{host}" + (f":{parts.port}" if parts.port else "")
    query = _SECRET_PARAM.sub(r"\1***", parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def backoff(attempt: int, first: float = 0.5, most: float = 30.0) -> float:
    """Seconds to wait before retry number `attempt` (0, 1, 2 ...): doubling from `first`, at
    most `most`."""
    return float(min(most, first * 2 ** min(attempt, 20)))


async def connect(url: str) -> Redis:
    """A client with its own pool; StorageUnavailable when nothing answers there."""
    client: Redis
    if url.startswith(MEMORY_SCHEME):
        import fakeredis  # only the embedded store needs it

        client = fakeredis.FakeAsyncRedis(decode_responses=True)
    else:
        client = Redis.from_url(url, decode_responses=True, health_check_interval=30)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        await client.aclose()
        raise StorageUnavailable(f"Redis is unreachable at {redact(url)}: {error}") from None
    return client


async def ensure_group(client: Redis, stream: str, group: str, start: str) -> None:
    """The stream's consumer group, made (with the stream) unless it exists; `start` is where
    a new group begins reading: "0" for everything, "$" for what comes from now on."""
    try:
        await client.xgroup_create(stream, group, id=start, mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


async def read_group(
    client: Redis,
    stream: str,
    group: str,
    consumer: str,
    *,
    start: str,
    after: str,
    count: int,
    block_ms: int | None,
) -> list[tuple[str, dict[str, str]]]:
    """XREADGROUP of one stream: entries after `after` (">" for new ones, "0" for this
    consumer's pending ones). A stream or group that Redis lost (a restart without its data)
    is made again at `start`, and nothing is read this time."""
    try:
        reply = await client.xreadgroup(
            group, consumer, {stream: after}, count=count, block=block_ms
        )
    except ResponseError as error:
        if "NOGROUP" not in str(error):
            raise
        await ensure_group(client, stream, group, start)
        return []
    return [(entry_id, values or {}) for _, entries in reply or [] for entry_id, values in entries]


async def get_bytes(client: Redis, key: str) -> bytes | None:
    """A string value as bytes, even on a client that decodes replies (binary index data)."""
    value: bytes | None = await client.execute_command(  # type: ignore[no-untyped-call]
        "GET", key, NEVER_DECODE=True
    )
    return value
