"""Pictures khabar keeps itself: the file_id Telegram gave a picture (so a broadcast hands
Telegram each picture once), and the bytes of an admin's photo (served at
``/photos/<name>.jpg`` so Telegram, and rich messages, can fetch it by URL)."""

from __future__ import annotations

import base64
import hashlib

from redis.asyncio import Redis

from storage.keys import Keys

FILE_ID_TTL = 30 * 24 * 3600
"""Seconds a picture's file_id is kept (Telegram's file_ids do not expire; pictures do)."""
PHOTO_TTL = 30 * 24 * 3600
"""Seconds an admin's photo is served."""
MAX_PHOTO_BYTES = 10 * 1024 * 1024


def url_digest(url: str) -> str:
    return hashlib.blake2b(url.encode(), digest_size=12).hexdigest()


class Photos:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def file_id(self, url: str) -> str | None:
        found = await self.redis.get(self.keys.photo_file_id(url_digest(url)))
        return found.decode() if isinstance(found, bytes) else found

    async def file_ids(self, urls: list[str]) -> dict[str, str]:
        """The file_ids known of these pictures, in one round trip (url → file_id)."""
        if not urls:
            return {}
        found = await self.redis.mget([self.keys.photo_file_id(url_digest(url)) for url in urls])
        return {
            url: known.decode() if isinstance(known, bytes) else str(known)
            for url, known in zip(urls, found, strict=True)
            if known is not None
        }

    async def remember(self, url: str, file_id: str) -> None:
        await self.redis.set(self.keys.photo_file_id(url_digest(url)), file_id, ex=FILE_ID_TTL)

    async def forget(self, url: str) -> None:
        await self.redis.delete(self.keys.photo_file_id(url_digest(url)))

    async def keep(self, name: str, content: bytes, url: str, file_id: str) -> None:
        """An admin's photo: its bytes served under `name`, and its file_id for `url`."""
        if len(content) > MAX_PHOTO_BYTES:
            raise ValueError(f"a photo larger than {MAX_PHOTO_BYTES} bytes")
        async with self.redis.pipeline(transaction=True) as pipe:
            # Base64: the connection decodes answers as text.
            pipe.set(self.keys.photo_bytes(name), base64.b64encode(content), ex=PHOTO_TTL)
            pipe.set(self.keys.photo_file_id(url_digest(url)), file_id, ex=FILE_ID_TTL)
            await pipe.execute()

    async def content(self, name: str) -> bytes | None:
        found = await self.redis.get(self.keys.photo_bytes(name))
        return None if found is None else base64.b64decode(found)
