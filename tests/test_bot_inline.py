"""Inline mode with pictures: an article with a picture is a photo result that sends the photo
card (the picture, the photo style's caption, the card's buttons), by the picture's file_id
when Telegram gave khabar one; an article without one stays a text result. The bot polling
the fake Bot API over HTTP, the real Redis, a web server of pictures; the reader "chooses" a
result and the fake server posts it in a chat as Telegram's apps do."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any

from bot.delivery.media import Media
from bot.news.article import TEHRAN, Article, Image
from bot.news.styles import photo_payload
from handlers import texts
from tests.support.bot_harness import Harness, running_bot
from tests.support.fake_telegram import FakeTelegram, Sent, User
from tests.support.pictures import serving_pictures

READER = User(1003, "نیما")
GROUP = -1001234567


def article(article_id: str, image_url: str | None, title: str = "افتتاح خط هفت مترو") -> Article:
    return Article(
        id=article_id,
        title=title,
        lead="خط هفت مترو تهران امروز به ایستگاه میدان صنعت رسید.",
        paragraphs=["ایستگاه‌های تازه از فردا مسافر می‌پذیرند."],
        published=datetime.now(TEHRAN) - timedelta(hours=1),
        url=f"https://example.ir/news/{article_id}",
        image=Image(url=image_url, caption="ایستگاه میدان صنعت") if image_url else None,
    )


async def search(h: Harness, query: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """The reader types `@bot query`: the query's id and the bot's results by id."""
    query_id = await h.telegram.inline(READER, query)
    await h.telegram.wait_until(lambda: query_id in h.telegram.inline_answers)
    results = h.telegram.inline_answers[query_id]["results"]
    return query_id, {result["id"]: result for result in results}


def labels(sent: Sent) -> list[str]:
    return [button["text"] for button in sent.buttons]


async def test_an_article_with_a_picture_is_a_photo_result_that_sends_the_photo_card() -> None:
    async with serving_pictures() as pictures, running_bot(FakeTelegram()) as h:
        pictured = article("i1", f"{pictures.url}/ok.jpg")
        await h.store.save(pictured, announce=False)
        query_id, results = await search(h, "")
        result = results["i1"]
        assert result["type"] == "photo"
        assert result["photo_url"] == result["thumbnail_url"] == f"{pictures.url}/ok.jpg"
        assert result["caption"] == photo_payload(pictured)["caption"]
        assert result["parse_mode"] == "HTML" and "photo_file_id" not in result
        assert result["title"] == "افتتاح خط هفت مترو", "listed with its title"

        sent = await h.telegram.choose(READER, GROUP, query_id, "i1")
        assert sent.photo is not None and pictures.hits["/ok.jpg"] == 1
        assert h.telegram.files[sent.photo].content.startswith(b"\xff\xd8\xff")
        assert sent.text.startswith("افتتاح خط هفت مترو\n\nخط هفت مترو تهران امروز")
        assert sent.payload["via_bot"]["username"] == h.telegram.username
        assert sent.payload["caption_entities"][0] == {
            "type": "bold",
            "offset": 0,
            "length": 18,
            "url": None,
        }
        assert labels(sent) == [texts.READ_MORE, texts.SHARE]
        assert h.telegram.errors == []


async def test_an_article_without_a_picture_stays_a_text_result() -> None:
    async with running_bot(FakeTelegram()) as h:
        await h.store.save(article("i2", None), announce=False)
        query_id, results = await search(h, "مترو")
        result = results["i2"]
        assert result["type"] == "article" and "thumbnail_url" not in result
        assert result["input_message_content"]["message_text"].startswith("<b>افتتاح خط هفت")
        sent = await h.telegram.choose(READER, GROUP, query_id, "i2")
        assert sent.photo is None and sent.text.startswith("افتتاح خط هفت مترو")
        assert labels(sent) == [texts.READ_MORE, texts.SHARE]
        assert h.telegram.errors == []


async def test_a_picture_telegram_already_has_goes_by_its_file_id() -> None:
    async with (
        serving_pictures() as pictures,
        running_bot(FakeTelegram(), feed_allow_private=True) as h,
    ):
        url = f"{pictures.url}/ok.jpg"
        bot = h.application.bot

        async def post(method: str, params: dict[str, Any]) -> dict[str, Any]:
            answer = await bot.do_api_request(method, api_kwargs=params)
            assert isinstance(answer, dict)
            return answer

        h.telegram.add_group(GROUP)
        media = Media(h.services.redis, h.store.keys, allow_private=True)
        first = await media.send_photo(post, {"chat_id": GROUP, "photo": url}, None)
        file_id = first["photo"][-1]["file_id"]
        await h.store.save(article("i3", url), announce=False)

        query_id, results = await search(h, "")
        result = results["i3"]
        assert result["type"] == "photo" and result["photo_file_id"] == file_id
        assert "photo_url" not in result and "thumbnail_url" not in result
        sent = await h.telegram.choose(READER, GROUP, query_id, "i3")
        assert sent.photo == file_id
        assert pictures.hits["/ok.jpg"] == 1, "Telegram did not fetch the URL again"
        assert sent.text.startswith("افتتاح خط هفت مترو")
        assert h.telegram.errors == []


async def test_a_hostile_title_is_escaped_in_the_photo_caption() -> None:
    title = '<b>خبر</b> & <a href="https://evil.example">کلیک</a> <script>'
    async with serving_pictures() as pictures, running_bot(FakeTelegram()) as h:
        await h.store.save(article("i4", f"{pictures.url}/ok.jpg", title), announce=False)
        stored = await h.store.get("i4")
        assert stored is not None
        query_id, results = await search(h, "")
        caption = results["i4"]["caption"]
        assert caption.startswith(f"<b>{html.escape(stored.title, quote=False)}</b>")
        sent = await h.telegram.choose(READER, GROUP, query_id, "i4")
        assert sent.text.startswith(stored.title), "the reader sees the title as it was written"
        entities = sent.payload["caption_entities"]
        assert entities[0]["type"] == "bold"
        assert not any("evil.example" in (e.get("url") or "") for e in entities)
        assert h.telegram.errors == []


async def test_a_picture_whose_name_says_it_is_no_jpeg_stays_a_thumbnail() -> None:
    async with running_bot(FakeTelegram()) as h:
        await h.store.save(article("i5", "https://img.example.ir/chart.png"), announce=False)
        _, results = await search(h, "")
        result = results["i5"]
        assert result["type"] == "article"
        assert result["thumbnail_url"] == "https://img.example.ir/chart.png"
