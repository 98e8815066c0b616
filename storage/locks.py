"""Leases in Redis: one holder at a time, kept by renewing, lost when the holder stops
renewing (it died), so another process takes over within one lease."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

# Renew or release only while we hold it: the check and the change are one step, so a lease
# that expired and went to another process is never extended or deleted by the old holder.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _holder() -> str:
    """Who holds a lease: host and pid (for operators), and a random part (unique)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class Lease:
    redis: Redis
    key: str
    seconds: float = 10.0
    holder: str = field(default_factory=_holder)
    _renew: AsyncScript = field(init=False, repr=False)
    _release: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)

    async def acquire(self) -> bool:
        return bool(await self.redis.set(self.key, self.holder, nx=True,
                                         px=int(self.seconds * 1000)))

    async def renew(self) -> bool:
        milliseconds = int(self.seconds * 1000)
        return bool(await self._renew(keys=[self.key], args=[self.holder, milliseconds]))

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.holder])
