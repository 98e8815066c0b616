"""Sending photo cards and rich messages the way Telegram wants them, never losing one.

A photo card (sendPhoto) goes:
1. by the file_id Telegram returned for an earlier send of the same picture (kept in Redis
   per picture, and in memory), so a broadcast to 50,000 chats hands Telegram the picture
   once; while the first send of a picture is on its way, the other sends of this process
   wait for its file_id instead of making Telegram fetch it again;
2. else by its URL (Telegram fetches it);
3. if Telegram cannot fetch or use it ("failed to get HTTP URL content", "wrong type of the
   web page content", ...), khabar downloads it itself (public addresses only, a size and a
   type cap) and uploads it;
4. if that fails too, the card's text fallback goes instead, and the reason is logged and
   counted (khabar_card_fallbacks_total).

A rich message (sendRichMessage) refused by the Bot API (an older, self-hosted server
answers 404 "method not found"; or a 400 about the rich content) is sent as its text
fallback instead; the refusal is logged once and remembered for `RICH_RETRY_AFTER` seconds
by every process (storage/refusals.py: a key with that TTL in Redis; while Redis is away,
each process by what it saw itself), in which rich messages go straight as text.

The fallback is the payload's ``fallback`` (a sendMessage payload); the Sender takes it out
before a payload goes to Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import InputFile
from telegram.error import BadRequest, EndPointNotFound, InvalidToken

from bot import metrics
from bot.feeds.fetch import FetchError, feed_session, fetch
from storage.keys import Keys
from storage.photos import Photos
from storage.refusals import RichRefusals

log = logging.getLogger("khabar.delivery")

KEPT_IN_MEMORY = 1_000
"""Pictures whose file_id a process keeps in memory (the rest are asked of Redis)."""
MAX_PICTURE_BYTES = 10 * 1024 * 1024
"""Telegram's limit for a photo upload."""
DOWNLOAD_TIMEOUT = 15.0
_PICTURE_ACCEPT = "image/jpeg, image/png, image/webp, image/gif;q=0.8"
_PICTURE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
_URL_REFUSALS = (
    "failed to get http url content",
    "wrong type of the web page content",
    "wrong file identifier",
    "image_process_failed",
    "photo_invalid_dimensions",
    "wrong remote file",
    "file is too big",
)

Post = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""A Bot API method and its parameters → Telegram's answer (the sent message)."""


def picture_refused(error: BadRequest) -> bool:
    """Telegram could not get or use the picture (as opposed to the chat or the caption)."""
    text = str(error).lower()
    return any(words in text for words in _URL_REFUSALS)


def rich_refused(error: Exception) -> bool:
    """The Bot API does not know rich messages, or refused this one's content."""
    if isinstance(error, EndPointNotFound | InvalidToken):
        return True
    return isinstance(error, BadRequest) and "rich" in str(error).lower()


def _largest_file_id(message: dict[str, Any]) -> str | None:
    sizes = message.get("photo") or []
    return str(sizes[-1]["file_id"]) if sizes else None


@dataclass
class Media:
    """What one process knows about pictures and rich messages (see the module's doc)."""

    redis: Redis
    keys: Keys
    allow_private: bool = False
    """Download pictures from private addresses too (tests; KHABAR_FEED_ALLOW_PRIVATE)."""
    refusals: RichRefusals | None = None
    """The process's rich-message refusals (one per process); else a memory of its own."""
    _file_ids: dict[str, str] = field(default_factory=dict, init=False)
    _first_sends: dict[str, asyncio.Lock] = field(default_factory=dict, init=False)
    _refusals: RichRefusals = field(init=False)

    def __post_init__(self) -> None:
        self._refusals = self.refusals or RichRefusals(self.redis, self.keys)

    # Photos ---------------------------------------------------------------------------------
    async def send_photo(
        self, post: Post, fields: dict[str, Any], fallback: dict[str, Any] | None
    ) -> dict[str, Any]:
        url = str(fields["photo"])
        if not url.startswith(("http://", "https://")):  # a file_id already
            return await post("sendPhoto", fields)
        if (known := await self._file_id(url)) is not None:
            return await self._by_file_id(post, fields, url, known, fallback)
        lock = self._first_sends.setdefault(url, asyncio.Lock())
        try:
            async with lock:  # one fetch (or upload) per picture and process
                if (known := await self._file_id(url)) is not None:
                    return await self._by_file_id(post, fields, url, known, fallback)
                return await self._first_send(post, fields, url, fallback)
        finally:
            if not lock.locked() and self._first_sends.get(url) is lock:
                del self._first_sends[url]  # the file_id is known now (or the send failed)

    async def _by_file_id(
        self,
        post: Post,
        fields: dict[str, Any],
        url: str,
        file_id: str,
        fallback: dict[str, Any] | None,
    ) -> dict[str, Any]:
        try:
            return await post("sendPhoto", {**fields, "photo": file_id})
        except BadRequest as error:
            if not picture_refused(error):
                raise
            await self._forget(url)  # a file_id Telegram no longer knows: start again
            return await self._first_send(post, fields, url, fallback)

    async def _first_send(
        self, post: Post, fields: dict[str, Any], url: str, fallback: dict[str, Any] | None
    ) -> dict[str, Any]:
        try:
            message = await post("sendPhoto", fields)
        except BadRequest as error:
            if not picture_refused(error):
                raise
            log.info("Telegram could not use the picture %s (%s); uploading it", url, error)
            message = await self._upload(post, fields, url, fallback)
        if (file_id := _largest_file_id(message)) is not None:
            await self._remember(url, file_id)
        return message

    async def _upload(
        self, post: Post, fields: dict[str, Any], url: str, fallback: dict[str, Any] | None
    ) -> dict[str, Any]:
        try:
            content = await self._download(url)
            return await post("sendPhoto", {**fields, "photo": InputFile(content, "photo.jpg")})
        except (FetchError, BadRequest) as error:
            if isinstance(error, BadRequest) and not picture_refused(error):
                raise
            return await self.fall_back(post, fallback, "photo", f"picture {url}: {error}")

    async def _download(self, url: str) -> bytes:
        async with feed_session(self.allow_private) as session:
            response = await fetch(
                session,
                url,
                accept=_PICTURE_ACCEPT,
                timeout=DOWNLOAD_TIMEOUT,
                max_bytes=MAX_PICTURE_BYTES,
            )
        if response.content_type not in _PICTURE_TYPES:
            raise FetchError(f"not a picture ({response.content_type or 'no type'})")
        return response.body

    async def _file_id(self, url: str) -> str | None:
        if url in self._file_ids:
            return self._file_ids[url]
        try:
            known = await Photos(self.redis, self.keys).file_id(url)
        except RedisError:
            return None
        if known is not None:
            self._keep(url, known)
        return known

    def _keep(self, url: str, file_id: str) -> None:
        """In memory too, the last KEPT_IN_MEMORY pictures (the oldest leave first)."""
        self._file_ids.pop(url, None)
        self._file_ids[url] = file_id
        while len(self._file_ids) > KEPT_IN_MEMORY:
            del self._file_ids[next(iter(self._file_ids))]

    async def _remember(self, url: str, file_id: str) -> None:
        self._keep(url, file_id)
        try:
            await Photos(self.redis, self.keys).remember(url, file_id)
        except RedisError:
            log.warning("could not keep the file_id of %s in Redis", url)

    async def _forget(self, url: str) -> None:
        self._file_ids.pop(url, None)
        with contextlib.suppress(RedisError):
            await Photos(self.redis, self.keys).forget(url)

    # Rich messages --------------------------------------------------------------------------
    async def send_rich(
        self, post: Post, fields: dict[str, Any], fallback: dict[str, Any] | None
    ) -> dict[str, Any]:
        if fallback is not None and await self._refusals.refused():
            return await post("sendMessage", fallback)
        try:
            return await post("sendRichMessage", fields)
        except (BadRequest, EndPointNotFound, InvalidToken) as error:
            if not rich_refused(error) or fallback is None:
                raise
            await self._refusals.remember(str(error))
            metrics.CARD_FALLBACKS.labels("rich").inc()
            return await post("sendMessage", fallback)

    async def fall_back(
        self, post: Post, fallback: dict[str, Any] | None, kind: str, reason: str
    ) -> dict[str, Any]:
        """The card's text instead; without one, the refusal stands."""
        log.warning("%s card sent as text: %s", kind, reason)
        metrics.CARD_FALLBACKS.labels(kind).inc()
        if fallback is None:
            raise BadRequest(reason)
        return await post("sendMessage", fallback)
