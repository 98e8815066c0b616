from __future__ import annotations

import re

from redis.asyncio import Redis

from bot.article import Article
from bot.parse import parse_file
from storage.articles import ArticleStore
from storage.keys import Keys
from storage.shortlinks import ShortLinks, link_key
from tests.conftest import ARTICLES

PUBLIC = "https://khabar.example.ir"


async def stored(redis: Redis, keys: Keys, article: Article) -> ShortLinks:
    await ArticleStore(redis, keys).save(article)
    return ShortLinks(redis, keys, PUBLIC)


async def test_each_article_gets_one_unguessable_code(redis: Redis, keys: Keys) -> None:
    store = ArticleStore(redis, keys)
    links = ShortLinks(redis, keys, PUBLIC)
    codes = []
    for path in ARTICLES:
        article = parse_file(path)
        await store.save(article)
        code = await links.assign(article)
        assert re.fullmatch(r"[0-9A-Za-z]{6}", code)
        assert await links.assign(article) == code, "assigning again keeps the code"
        codes.append(code)
    assert len(set(codes)) == 3
    assert not any(code.isdigit() for code in codes)


async def test_saving_an_article_again_keeps_its_code(redis: Redis, keys: Keys) -> None:
    article = parse_file(ARTICLES[0])
    links = await stored(redis, keys, article)
    code = await links.assign(article)
    await ArticleStore(redis, keys).save(article.model_copy(update={"title": "تازه"}))
    assert await links.assign(article) == code


async def test_resolve_every_way_a_reader_may_paste_an_article(redis: Redis, keys: Keys) -> None:
    article = parse_file(ARTICLES[0]).model_copy(
        update={"url": "https://www.hamshahrionline.ir/news/265240/"}
    )
    links = await stored(redis, keys, article)
    code = await links.assign(article)
    for text in (
        code,
        f"{PUBLIC}/{code}",
        f"khabar.example.ir/{code}",
        "newspaper.hamshahrionline.ir/7L98A",
        "https://newspaper.hamshahrionline.ir/7L98A",
        "http://hamshahrionline.ir/news/265240",
        "265240",
    ):
        assert await links.resolve(text) == "265240", text
    for unknown in ("zzzzzz", "newspaper.hamshahrionline.ir/7l98a", "999", "", "سلام"):
        assert await links.resolve(unknown) is None, unknown


async def test_clicks_are_counted_per_code(redis: Redis, keys: Keys) -> None:
    article = parse_file(ARTICLES[1])
    links = await stored(redis, keys, article)
    code = await links.assign(article)
    assert await links.clicks(code) == 0
    await links.click(code)
    assert await links.click(code) == 2
    assert await links.clicks(code) == 2


async def test_forget_removes_code_and_aliases(redis: Redis, keys: Keys) -> None:
    article = parse_file(ARTICLES[2])
    links = await stored(redis, keys, article)
    code = await links.assign(article)
    await links.forget(article)
    assert await links.resolve(code) is None
    assert await links.resolve("newspaper.hamshahrionline.ir/3bXw1") is None


def test_link_keys_ignore_scheme_www_and_trailing_slash() -> None:
    assert link_key("https://WWW.Example.ir/News/1/") == "example.ir/News/1"
    assert link_key("example.ir/News/1#top") == "example.ir/News/1"
