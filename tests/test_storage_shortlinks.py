from __future__ import annotations

import re

from redis.asyncio import Redis

from bot.news.article import Article
from bot.news.parse import parse_file
from storage.articles import ArticleStore
from storage.keys import Keys
from storage.shortlinks import ShortLinks, link_key
from tests.conftest import ARTICLES

PUBLIC = "https://khabar.example.ir"


async def stored(redis: Redis, keys: Keys, article: Article) -> tuple[ShortLinks, str]:
    """The links of a store holding the article, and the article's code."""
    store = ArticleStore(redis, keys, public_url=PUBLIC)
    await store.save(article)
    code = await store.links.code(article.id)
    assert code is not None
    return store.links, code


async def test_each_article_gets_one_unguessable_code(redis: Redis, keys: Keys) -> None:
    store = ArticleStore(redis, keys)
    await store.save_many([parse_file(path) for path in ARTICLES])
    codes = [await store.links.code(parse_file(path).id) for path in ARTICLES]
    assert all(code and re.fullmatch(r"[0-9A-Za-z]{6}", code) for code in codes)
    assert len(set(codes)) == 3
    assert not any(code and code.isdigit() for code in codes)


async def test_saving_an_article_again_keeps_its_code(redis: Redis, keys: Keys) -> None:
    article = parse_file(ARTICLES[0])
    links, code = await stored(redis, keys, article)
    await ArticleStore(redis, keys).save(article.model_copy(update={"title": "تازه"}))
    await ArticleStore(redis, keys).save(article)
    assert await links.code(article.id) == code
    assert await links.resolve(code) == article.id


async def test_codes_claimed_in_a_batch_never_collide(redis: Redis, keys: Keys) -> None:
    links = ShortLinks(redis, keys, PUBLIC)
    await redis.set(keys.short_code("taken1"), "someone-else")
    codes = await links.claim_many([f"a{n}" for n in range(300)])
    assert len(set(codes)) == 300 and "taken1" not in codes
    assert [await links.resolve(code) for code in codes[:3]] == ["a0", "a1", "a2"]


async def test_resolve_every_way_a_reader_may_paste_an_article(redis: Redis, keys: Keys) -> None:
    article = parse_file(ARTICLES[0]).model_copy(
        update={"url": "https://www.hamshahrionline.ir/news/265240/"}
    )
    links, code = await stored(redis, keys, article)
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
    links, code = await stored(redis, keys, article)
    assert await links.clicks(code) == 0
    await links.click(code)
    assert await links.click(code) == 2
    assert await links.clicks(code) == 2


async def test_deleting_an_article_removes_code_aliases_and_clicks(
    redis: Redis, keys: Keys
) -> None:
    article = parse_file(ARTICLES[2])
    links, code = await stored(redis, keys, article)
    await links.click(code)
    assert await ArticleStore(redis, keys).delete(article.id)
    assert await links.resolve(code) is None
    assert await links.resolve("newspaper.hamshahrionline.ir/3bXw1") is None
    assert await links.clicks(code) == 0


def test_link_keys_ignore_scheme_www_and_trailing_slash() -> None:
    assert link_key("https://WWW.Example.ir/News/1/") == "example.ir/News/1"
    assert link_key("example.ir/News/1#top") == "example.ir/News/1"


async def test_the_code_of_a_source_short_link_resolves_alone(redis: Redis, keys: Keys) -> None:
    links, _ = await stored(redis, keys, parse_file(ARTICLES[0]))
    assert await links.resolve("7L98A") == "265240"
    assert await links.resolve_code("7L98A") == "265240"
    assert await links.resolve("7l98a") is None  # codes are case-sensitive
    assert await links.resolve_code("265240") is None  # an article id is no short code


async def test_khabar_own_code_wins_over_a_source_code(redis: Redis, keys: Keys) -> None:
    store = ArticleStore(redis, keys, public_url=PUBLIC)
    first = Article(id="first", title="خبر نخست", lead="متن")
    await store.save(first)
    own = await store.links.code("first")
    assert own is not None
    clash = Article(id="clash", title="خبر دوم", lead="متن", short_link=f"other.ir/{own}")
    await store.save(clash)
    assert await store.links.resolve(own) == "first"
    assert await store.links.resolve_code(own) == "first"
    assert await store.links.resolve(f"other.ir/{own}") == "clash"


async def test_deleting_an_article_forgets_its_source_code(redis: Redis, keys: Keys) -> None:
    store = ArticleStore(redis, keys, public_url=PUBLIC)
    await store.save(parse_file(ARTICLES[0]))
    await store.delete("265240")
    assert await store.links.resolve("7L98A") is None
