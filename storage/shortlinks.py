"""Short links: khabar's own codes, the source's short links and article URLs → an article.

Each article gets a code of its own: 6 random base62 characters (7 after repeated
collisions), so codes say nothing about each other and cannot be walked in sequence. The
code is claimed with SET NX, so two processes can never hand out the same one.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript

from bot.news.article import ID_PATTERN, Article
from storage.keys import Keys
from storage.redis import awaited

ALPHABET = string.digits + string.ascii_letters
CODE_LENGTH = 6
_CODE = re.compile(r"^[0-9A-Za-z]{5,7}$")
SOURCE_CODE = r"[0-9A-Za-z]{3,20}"
"""The code of a source's short link, the last part of its path («7L98A»)."""
_SOURCE_CODE = re.compile(f"^{SOURCE_CODE}$")
_ID = re.compile(ID_PATTERN)
_ATTEMPTS_PER_LENGTH = 5


# Claims many codes at once (SET NX each: a code is never given twice, even by two processes
# at the same moment); returns the places (1-based) of the codes that were already taken.
_CLAIM = """
local taken = {}
for i, key in ipairs(KEYS) do
    if not redis.call('SET', key, ARGV[i], 'NX') then taken[#taken + 1] = i end
end
return taken
"""


def new_code(length: int = CODE_LENGTH) -> str:
    """Random base62, unbiased: random bytes beyond the last whole multiple of 62 are dropped."""
    usable = 256 - 256 % len(ALPHABET)
    code = ""
    while len(code) < length:
        code += "".join(
            ALPHABET[b % len(ALPHABET)] for b in secrets.token_bytes(2 * length) if b < usable
        )
    return code[:length]


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
    _claim_all: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._claim_all = self.redis.register_script(_CLAIM)

    async def code(self, article_id: str) -> str | None:
        """The article's own code (given when the article was first stored)."""
        return (await self.codes([article_id]))[0]

    async def codes(self, article_ids: Sequence[str]) -> list[str | None]:
        """The codes of several articles, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                pipe.hget(self.keys.article(article_id), "code")
            found: list[str | None] = await pipe.execute()
        return found

    async def claim_many(self, article_ids: Sequence[str]) -> list[str]:
        """A new code for each article, claimed in one round trip; the rare collision is
        retried alone."""
        if not article_ids:
            return []
        codes = [new_code() for _ in article_ids]
        taken = await self._claim_all(
            keys=[self.keys.short_code(code) for code in codes], args=list(article_ids)
        )
        for place in taken:
            codes[place - 1] = await self._claim(article_ids[place - 1])
        return codes

    async def _claim(self, article_id: str) -> str:
        for length in (CODE_LENGTH, CODE_LENGTH + 1):
            for _ in range(_ATTEMPTS_PER_LENGTH):
                code = new_code(length)
                if await self.redis.set(self.keys.short_code(code), article_id, nx=True):
                    return code
        raise RuntimeError("no free short code after repeated collisions")  # pragma: no cover

    def aliases(self, article: Article) -> dict[str, str]:
        """Alias keys (the source's short link, its code alone, the article URL) → the
        article id. Of two sources printing the same code, the article saved last has it."""
        links = (article.short_link, article.url)
        found = {self.keys.alias(link_key(link)): article.id for link in links if link}
        if article.short_link:
            code = link_key(article.short_link).rpartition("/")[2]
            if _SOURCE_CODE.match(code):
                found[self.keys.source_code(code)] = article.id
        return found

    def queue_forget(self, pipe: Pipeline, article: Article, code: str | None) -> None:
        """Queue the removal of the article's code, aliases and clicks (it leaves the store)."""
        doomed = list(self.aliases(article))
        if code:
            doomed.append(self.keys.short_code(code))
            pipe.hdel(self.keys.clicks(), code)
        if doomed:
            pipe.delete(*doomed)

    def url(self, code: str) -> str:
        return f"{self.public_url.rstrip('/')}/{code}"

    async def resolve(self, text: str) -> str | None:
        """The article id behind a code, a khabar short URL, the source's short link, an article
        URL, an article id or the code of the source's short link alone (in that order: khabar's
        own codes win); None when khabar knows none of them."""
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
        if _SOURCE_CODE.match(text) and (
            found := await self.redis.get(self.keys.source_code(text))
        ):
            return str(found)
        return None

    async def resolve_code(self, code: str) -> str | None:
        """The article id behind a bare short code (a link's path): khabar's own code, else the
        code of a source's short link; never an article id or URL."""
        if not _SOURCE_CODE.match(code):
            return None
        own, source = await self.redis.mget(
            [self.keys.short_code(code), self.keys.source_code(code)]
        )
        found = own or source
        return str(found) if found else None

    async def click(self, code: str) -> int:
        return int(await awaited(self.redis.hincrby(self.keys.clicks(), code, 1)))

    async def clicks(self, code: str) -> int:
        return int(await awaited(self.redis.hget(self.keys.clicks(), code)) or 0)
