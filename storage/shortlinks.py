"""Short links: khabar's own codes, the source's short links and article URLs → an article.

Each article gets a code of its own: 6 random base62 characters (7 after repeated
collisions), so codes say nothing about each other and cannot be walked in sequence. The
code is claimed with SET NX, so two processes can never hand out the same one.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.article import ID_PATTERN, Article
from storage.keys import Keys
from storage.redis import awaited

ALPHABET = string.digits + string.ascii_letters
CODE_LENGTH = 6
_CODE = re.compile(r"^[0-9A-Za-z]{5,7}$")
_ID = re.compile(ID_PATTERN)
_ATTEMPTS_PER_LENGTH = 5


def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def link_key(link: str) -> str:
    """The form a link is indexed in: no scheme, no «www.», no trailing slash or fragment; the
    host lower-cased, the path as it is (short codes are case-sensitive)."""
    link = re.sub(r"^[a-z][a-z0-9+.-]*://", "", link.strip(), flags=re.I).split("#")[0]
    host, _, path = link.partition("/")
    host = host.lower().removeprefix("www.")
    return f"{host}/{path}".rstrip("/") if path else host


@dataclass
class ShortLinks:
    redis: Redis
    keys: Keys
    public_url: str

    async def assign(self, article: Article) -> str:
        """The article's own code, made once; its aliases (the source's short link, its URL)
        are indexed too."""
        article_key = self.keys.article(article.id)
        code: str | None = await awaited(self.redis.hget(article_key, "code"))
        if code is None:
            code = await self._claim(article.id)
            await awaited(self.redis.hset(article_key, "code", code))
        aliases = [link for link in (article.short_link, article.url) if link]
        if aliases:
            await self.redis.mset({self.keys.alias(link_key(a)): article.id for a in aliases})
        return code

    async def _claim(self, article_id: str) -> str:
        for length in (CODE_LENGTH, CODE_LENGTH + 1):
            for _ in range(_ATTEMPTS_PER_LENGTH):
                code = new_code(length)
                if await self.redis.set(self.keys.short_code(code), article_id, nx=True):
                    return code
        raise RuntimeError("no free short code after repeated collisions")  # pragma: no cover

    def url(self, code: str) -> str:
        return f"{self.public_url.rstrip('/')}/{code}"

    async def resolve(self, text: str) -> str | None:
        """The article id behind a code, a khabar short URL, the source's short link, an article
        URL or an article id; None when khabar knows none of them."""
        text = text.strip()
        own = link_key(self.public_url)
        key = link_key(text)
        if key.startswith(own + "/"):
            text = key[len(own) + 1 :]
        if _CODE.match(text) and (found := await self.redis.get(self.keys.short_code(text))):
            return str(found)
        if "/" in key and (found := await self.redis.get(self.keys.alias(key))):
            return str(found)
        if _ID.match(text) and await self.redis.exists(self.keys.article(text)):
            return text
        return None

    async def click(self, code: str) -> int:
        return int(await awaited(self.redis.hincrby(self.keys.clicks(), code, 1)))

    async def clicks(self, code: str) -> int:
        return int(await awaited(self.redis.hget(self.keys.clicks(), code)) or 0)

    async def forget(self, article: Article) -> None:
        """Remove the article's code and aliases (when the article leaves the store)."""
        code = await awaited(self.redis.hget(self.keys.article(article.id), "code"))
        doomed = [self.keys.alias(link_key(a)) for a in (article.short_link, article.url) if a]
        if code:
            doomed.append(self.keys.short_code(code))
            await awaited(self.redis.hdel(self.keys.clicks(), code))
        if doomed:
            await self.redis.delete(*doomed)
