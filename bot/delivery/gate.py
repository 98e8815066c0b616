"""Pacing and batching inside one process: the `Gate` asks the shared limiter (Redis) for
send slots for every waiting chat in one script call; a `Batcher` writes what many
coroutines hand it with one call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from storage.ratelimit import Ask, RateLimiter
from storage.redis import Outage

log = logging.getLogger("khabar.delivery")

T = TypeVar("T")


class Stopping(Exception):
    """The process is stopping: what was not sent goes back to the outbox."""


class Batcher(Generic[T]):
    """Collects items from many coroutines and writes them with one call; `add` returns when
    the item's batch is written. While one batch is being written the next one fills up, so
    the batches grow with the load and there is no timer to tune."""

    def __init__(self, write: Callable[[list[T]], Awaitable[Any]]) -> None:
        self._write = write
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._writing = False
        self._task: asyncio.Task[None] | None = None

    async def add(self, item: T) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._writing:
            self._writing = True
            self._task = asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self._write([item for item, _ in batch])
                except Exception as error:  # each waiter sees the failure of its own write
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._writing = False


class Gate:
    """Send slots for one process: chats wait here in order, and one script call asks the
    shared limiter for all of them at once."""

    MAX_ASK = 500

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self._waiting: list[tuple[Ask, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._no_first = False
        self._asking: list[tuple[Ask, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._outage = Outage(log, "the rate limiter")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def take(self, chat: str, note: tuple[str, str, str]) -> None:
        """Wait for a slot to send one message to `chat` (`note`, the in-flight mark, is
        written with it); Stopping when the gate closes."""
        ask = Ask(chat, *note)
        if self._closed or (self._no_first and ask.note_value == "0"):
            raise Stopping
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((ask, future))
        self._wake.set()
        await future

    def refuse_first_messages(self) -> None:
        """A stopping process starts no new chat; cards already begun go on."""
        self._no_first = True
        for ask, future in self._waiting:
            if ask.note_value == "0" and not future.done():
                future.set_exception(Stopping())

    async def close(self) -> None:
        self._closed = True
        for _, future in (*self._waiting, *self._asking):
            if not future.done():
                future.set_exception(Stopping())
        self._waiting = []
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _later(self, ask: Ask, future: asyncio.Future[None]) -> None:
        if self._closed or (self._no_first and ask.note_value == "0"):
            if not future.done():
                future.set_exception(Stopping())
            return
        self._waiting.append((ask, future))
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                self._waiting = [(c, f) for c, f in self._waiting if not f.done()]
                asked = self._asking = self._waiting[: self.MAX_ASK]
                del self._waiting[: self.MAX_ASK]  # chats arriving meanwhile queue behind
                if not asked:
                    break
                try:
                    grant = await self.limiter.acquire([ask for ask, _ in asked])
                    self._outage.answered()
                except Exception as error:
                    self._outage.failed(error)
                    self._waiting[:0] = asked
                    await asyncio.sleep(1.0)
                    continue
                unasked = []
                for (ask, future), verdict in zip(asked, grant.chats, strict=True):
                    if future.done():
                        continue
                    if verdict is None:
                        unasked.append((ask, future))
                    elif verdict == 0.0:
                        future.set_result(None)
                    else:  # this chat's own limit: it waits, the others go on
                        loop.call_later(verdict, self._later, ask, future)
                self._waiting[:0] = unasked
                if grant.wait > 0:
                    await asyncio.sleep(grant.wait)
