"""Leases in Redis: one holder at a time, kept by renewing, lost when the holder stops
renewing (it died), so another process takes over within one lease.

`Lease.lead(role, stop)` is the one loop of every part that only one process may run at a
time (polling Telegram, polling feeds, posting to channels): it acquires the lease when it
is free, runs the role while holding it, renews it meanwhile, and stands by again when the
lease is lost. Redis errors never end it: they are waited out with backoff, and a lease
that Redis lost (a restart without its data) is acquired again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from storage.redis import backoff

log = logging.getLogger("khabar.leases")

# Renew or release only while we hold it: the check and the change are one step, so a lease
# that expired and went to another process is never extended or deleted by the old holder.
_RENEW = """
local lease, holder, ttl_ms = KEYS[1], ARGV[1], ARGV[2]
if redis.call('GET', lease) == holder then
    return redis.call('PEXPIRE', lease, ttl_ms)
end
return 0
"""
_RELEASE = """
local lease, holder = KEYS[1], ARGV[1]
if redis.call('GET', lease) == holder then return redis.call('DEL', lease) end
return 0
"""

SAFETY = 0.8
"""Share of a lease after which a holder that could not renew it (Redis unreachable) takes
it for lost: by then another process may have it."""

Role = Callable[[asyncio.Event], Awaitable[None]]
"""What a leader does while it holds its lease; the event is set when it must stop (the
lease was lost or the process stops)."""


def holder_name() -> str:
    """host:pid:random: who holds a lease or reads a stream, for operators (host and pid)
    and unique (a restarted container has the same host name and pid 1)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Lease:
    redis: Redis
    key: str
    seconds: float = 10.0
    holder: str = field(default_factory=holder_name)
    grace: float = 5.0
    """Seconds a role gets to finish when it must stop, before it is cancelled."""
    _renew: AsyncScript = field(init=False, repr=False)
    _release: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)

    async def acquire(self) -> bool:
        return bool(
            await self.redis.set(self.key, self.holder, nx=True, px=int(self.seconds * 1000))
        )

    async def renew(self) -> bool:
        milliseconds = int(self.seconds * 1000)
        return bool(await self._renew(keys=[self.key], args=[self.holder, milliseconds]))

    async def hold(self) -> bool:
        """Renew the lease if this process has it, else take it if it is free."""
        return await self.renew() or await self.acquire()

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.holder])

    async def lead(self, role: Role, stop: asyncio.Event) -> None:
        """Run `role` whenever this process holds the lease, until `stop` is set; then
        release it. Never raises (see the module's docstring)."""
        failures = 0
        while not stop.is_set():
            try:
                holding = await self.acquire()
                failures = 0
            except RedisError as error:
                failures += 1
                log.warning("lease %s: Redis unavailable (%s); trying again", self.key, error)
                await wait_for(stop, backoff(failures))
                continue
            if holding:
                await self._hold_while(role, stop)
            else:
                await wait_for(stop, self.seconds / 3)
        with contextlib.suppress(RedisError):
            await self.release()

    async def _hold_while(self, role: Role, stop: asyncio.Event) -> None:
        """The role runs while the lease is renewed; returns when it is lost or on stop."""
        lost = asyncio.Event()
        task = asyncio.create_task(self._perform(role, lost))
        renewed = time.monotonic()
        try:
            while not stop.is_set():
                await wait_for(stop, self.seconds / 3)
                if stop.is_set():
                    break
                try:
                    if await self.hold():
                        renewed = time.monotonic()
                        continue
                    log.warning("lease %s: taken by another process; standing by", self.key)
                    break
                except RedisError as error:
                    if time.monotonic() - renewed < self.seconds * SAFETY:
                        log.warning("lease %s: could not renew (%s); trying again", self.key, error)
                        continue
                    log.warning(
                        "lease %s: not renewed for %.0f s; standing by",
                        self.key,
                        time.monotonic() - renewed,
                    )
                    break
        finally:
            lost.set()
            done, _ = await asyncio.wait([task], timeout=self.grace)
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    @staticmethod
    async def _perform(role: Role, lost: asyncio.Event) -> None:
        """The role until `lost`; a role that fails is started again after a pause."""
        failures = 0
        while not lost.is_set():
            try:
                await role(lost)
                return
            except RedisError as error:
                failures += 1
                log.warning("a leader's work stopped (Redis: %s); starting again", error)
                await wait_for(lost, backoff(failures))
            except Exception:
                failures += 1
                log.exception("a leader's work failed; starting it again")
                await wait_for(lost, backoff(failures))


async def wait_for(event: asyncio.Event, seconds: float) -> None:
    """Sleep for `seconds`, or less when `event` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
