"""A source's short-link code (the part after its domain) opens the article, in the bot and on
the web; khabar's own codes win when the two collide. Real HTTP, real Redis."""

from __future__ import annotations

from bot.news.article import Article
from bot.news.parse import parse_file
from handlers import texts
from tests.conftest import ARTICLES
from tests.support.bot_harness import Harness
from tests.test_bot_reader import READER, fill
from tests.test_web import article, serving


async def test_link_with_the_code_of_the_source_short_link_opens_the_card(
    harness: Harness,
) -> None:
    await fill(harness)  # hamshahri-265240 prints «newspaper.hamshahrionline.ir/7L98A»
    title = parse_file(ARTICLES[0]).title
    [card] = await harness.send(READER, "/link 7L98A")
    assert card.text.startswith(title)
    [pasted] = await harness.send(READER, "7L98A")
    assert pasted.text.startswith(title)
    [wrong_case] = await harness.send(READER, "/link 7l98a")
    assert wrong_case.text == texts.NOT_FOUND


async def test_link_takes_a_source_code_of_any_length(harness: Harness) -> None:
    await harness.store.save(Article(id="q-1", title="خبر کوتاه", short_link="x.ir/Qw3"))
    [card] = await harness.send(READER, "/link Qw3")
    assert card.text.startswith("خبر کوتاه")


async def test_a_source_code_opens_the_article_on_the_web() -> None:
    async with serving() as web:
        url = "https://www.hamshahrionline.ir/news/265240"
        item = article("265240", short_link="newspaper.hamshahrionline.ir/7L98A", url=url)
        status, answer = await web.post("/api/articles", item)
        assert status == 201, answer
        own = answer["articles"][0]["code"]
        async with web.http.get(f"{web.url}/7L98A", allow_redirects=False) as opened:
            assert opened.status == 302
            assert opened.headers["Location"] == url
        assert await web.services.store.links.clicks(own) == 1  # counted for the article

        status, answer = await web.post("/api/articles", article("no-url", short_link="x.ir/Qw3"))
        async with web.http.get(f"{web.url}/Qw3", allow_redirects=False) as opened:
            # No address of its own: the bot's deep link, with khabar's code.
            code = answer["articles"][0]["code"]
            assert opened.headers["Location"].endswith(f"?start={code}")
