"""The fake Bot API's inline mode: answerInlineQuery checks photo results as Telegram does (a
photo_url with its thumbnail_url, or a photo_file_id it knows; the caption within 1,024 UTF-16
units once parsed, valid HTML); a result the user chooses goes into the chat as their message
via the bot, a photo result as a photo (its URL fetched then, a JPEG or nothing). Over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox.inline import ChoiceFailed
from tests.support.fake_telegram import FakeTelegram, serve
from tests.support.pictures import serving_pictures
from tests.test_fake_telegram import call

READER = 7
GROUP = -1007


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    fake.add_private_chats([READER])
    fake.add_group(GROUP)
    runner, url = await serve(fake)
    yield fake, url
    await runner.cleanup()


def photo(**fields: Any) -> dict[str, Any]:
    return {"type": "photo", "id": "p1", "caption": "<b>عنوان</b> و لید", "parse_mode": "HTML"} | {
        k: v for k, v in fields.items() if v is not None
    }


async def answer(
    fake: FakeTelegram, url: str, result: dict[str, Any]
) -> tuple[str, int, dict[str, Any]]:
    query_id = await fake.inline(READER, "خبر")
    status, body = await call(url, "answerInlineQuery", inline_query_id=query_id, results=[result])
    return query_id, status, body


@pytest.mark.parametrize(
    ("fields", "description"),
    [
        ({}, 'Can\'t find field "photo_file_id"'),
        ({"photo_url": "https://img.example.ir/a.jpg"}, "PHOTO_THUMB_URL_EMPTY"),
        ({"photo_url": "ftp://img.example.ir/a.jpg", "thumbnail_url": "x"}, "WEBDOCUMENT_URL"),
        ({"photo_file_id": "AgACAgQAAxkBAAIunknown"}, "wrong file identifier"),
        (
            {
                "photo_url": "https://img.example.ir/a.jpg",
                "thumbnail_url": "https://img.example.ir/a.jpg",
                "caption": "<b>عنوان",
            },
            "can't parse entities",
        ),
        (
            {
                "photo_url": "https://img.example.ir/a.jpg",
                "thumbnail_url": "https://img.example.ir/a.jpg",
                # 1,000 characters and 13 emoji: 1,026 UTF-16 units once the tags are gone
                "caption": "<b>" + "خ" * 1000 + "</b>" + "📰" * 13,
            },
            "message caption is too long",
        ),
    ],
    ids=["no-photo", "no-thumbnail", "not-http", "unknown-file-id", "bad-html", "long-caption"],
)
async def test_photo_results_are_checked_as_telegram_checks_them(
    telegram: tuple[FakeTelegram, str], fields: dict[str, Any], description: str
) -> None:
    fake, url = telegram
    _, status, body = await answer(fake, url, photo(**fields))
    assert status == 400 and description in body["description"], body


async def test_a_caption_of_1024_units_after_parsing_is_taken(
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = telegram
    caption = '<b>عنوان</b> <a href="https://example.ir/1">' + "خ" * 1018 + "</a>"
    result = photo(
        photo_url="https://img.example.ir/a.jpg",
        thumbnail_url="https://img.example.ir/a.jpg",
        caption=caption,
    )
    _, status, body = await answer(fake, url, result)
    assert status == 200, body


async def test_a_chosen_photo_result_is_a_photo_message_with_its_caption_and_buttons(
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = telegram
    buttons = {"inline_keyboard": [[{"text": "ادامه", "url": "https://example.ir/1"}]]}
    async with serving_pictures() as pictures:
        picture = f"{pictures.url}/ok.jpg"
        result = photo(photo_url=picture, thumbnail_url=picture, reply_markup=buttons)
        query_id, status, body = await answer(fake, url, result)
        assert status == 200, body
        assert pictures.hits["/ok.jpg"] == 0, "fetched when chosen, not when answered"
        sent = await fake.choose(READER, READER, query_id, "p1")
        assert pictures.hits["/ok.jpg"] == 1
    assert sent.photo in fake.files and sent.text == "عنوان و لید"
    assert sent.reply_markup == buttons and fake.chosen[READER] == [sent]
    _, updates = await call(url, "getUpdates")
    inline, chosen = updates["result"]  # the query, then the message in the bot's chat
    assert "inline_query" in inline
    message = chosen["message"]
    assert message["via_bot"]["id"] == (await call(url, "getMe"))[1]["result"]["id"]
    assert message["photo"][0]["file_id"] == sent.photo and message["caption"] == "عنوان و لید"
    assert message["caption_entities"] == [{"type": "bold", "offset": 0, "length": 5, "url": None}]
    assert message["reply_markup"] == buttons

    # The same picture again, by the file_id Telegram gave it (InlineQueryResultCachedPhoto).
    cached = photo(photo_file_id=sent.photo, caption="<i>دوباره</i>")
    query_id, status, body = await answer(fake, url, cached)
    assert status == 200, body
    again = await fake.choose(READER, GROUP, query_id, "p1")
    assert again.photo == sent.photo and again.text == "دوباره"
    assert fake.chat(GROUP) == [], "a message of the user's, not the bot's"


@pytest.mark.parametrize(
    ("path", "description"),
    [
        ("/missing.jpg", "failed to get HTTP URL content"),
        ("/page.jpg", "wrong type of the web page content"),
    ],
)
async def test_a_photo_telegram_cannot_get_sends_nothing(
    telegram: tuple[FakeTelegram, str], path: str, description: str
) -> None:
    fake, url = telegram
    async with serving_pictures() as pictures:
        picture = pictures.url + path
        query_id, status, _ = await answer(
            fake, url, photo(photo_url=picture, thumbnail_url=picture)
        )
        assert status == 200
        with pytest.raises(ChoiceFailed, match=description):
            await fake.choose(READER, GROUP, query_id, "p1")
    assert fake.chosen[GROUP] == []


async def test_a_chosen_article_result_is_a_text_message(
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = telegram
    content = {"message_text": "<b>زلزله</b> در کرمان", "parse_mode": "HTML"}
    result = {"type": "article", "id": "a1", "title": "زلزله", "input_message_content": content}
    query_id, status, _ = await answer(fake, url, result)
    assert status == 200
    sent = await fake.choose(READER, GROUP, query_id, "a1")
    assert (
        sent.photo is None
        and sent.text == "زلزله در کرمان"
        and sent.html == content["message_text"]
    )
    with pytest.raises(ChoiceFailed):
        await fake.choose(READER, GROUP, query_id, "a2")
