"""The fake Bot API's photos and rich messages: sendPhoto by URL (fetched as Telegram does),
by upload and by file_id; sendRichMessage and editMessageText with rich_message checked by
the documented rules and limits; deleteMessage for both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.news.parse import parse_file
from bot.news.styles import Style, payloads
from tests.conftest import ARTICLES
from tests.support.fake_telegram import TOKEN, FakeTelegram, serve

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)


@pytest.fixture
async def pictures() -> AsyncIterator[str]:
    """A web server with a picture, a page that is not one, and nothing at /missing.jpg."""

    async def picture(_: web.Request) -> web.Response:
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<html/>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/ok.jpg", picture)
    app.router.add_get("/page.jpg", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    fake.add_private_chats([7])
    runner, url = await serve(fake)
    yield fake, url
    await runner.cleanup()


async def call(url: str, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}{TOKEN}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


async def upload(url: str, content: bytes) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("chat_id", "7")
    form.add_field("photo", content, filename="a.jpg", content_type="image/jpeg")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}{TOKEN}/sendPhoto", data=form) as response,
    ):
        return response.status, await response.json()


async def test_a_photo_by_url_is_fetched_and_its_file_id_sends_it_again(
    telegram: tuple[FakeTelegram, str], pictures: str
) -> None:
    fake, url = telegram
    status, body = await call(url, "sendPhoto", chat_id=7, photo=f"{pictures}/ok.jpg")
    assert status == 200
    file_id = body["result"]["photo"][-1]["file_id"]
    status, body = await call(
        url, "sendPhoto", chat_id=7, photo=file_id, caption="<b>خبر</b>", parse_mode="HTML"
    )
    assert status == 200, body
    assert fake.photo_sources == {"url": 1, "file_id": 1}
    assert fake.chat(7)[-1].text == "خبر"


@pytest.mark.parametrize(
    ("path", "description"),
    [
        ("/missing.jpg", "Bad Request: failed to get HTTP URL content"),
        ("/page.jpg", "Bad Request: wrong type of the web page content"),
    ],
)
async def test_a_photo_url_telegram_cannot_use_is_refused_with_its_words(
    telegram: tuple[FakeTelegram, str], pictures: str, path: str, description: str
) -> None:
    _, url = telegram
    status, body = await call(url, "sendPhoto", chat_id=7, photo=pictures + path)
    assert (status, body["description"]) == (400, description)


async def test_uploads_and_file_ids(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    status, body = await upload(url, JPEG)
    assert status == 200 and fake.photo_sources["upload"] == 1
    status, body = await upload(url, b"not a picture")
    assert (status, body["description"]) == (400, "Bad Request: IMAGE_PROCESS_FAILED")
    status, body = await call(url, "sendPhoto", chat_id=7, photo="AgACAgIAAxkBAAI")
    assert body["description"] == "Bad Request: wrong file identifier/HTTP URL specified"


async def test_a_rich_card_is_sent_edited_and_deleted(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    [card] = payloads(parse_file(ARTICLES[0]), Style.RICH)
    status, body = await call(url, "sendRichMessage", chat_id=7, rich_message=card["rich_message"])
    assert status == 200, body
    message_id = body["result"]["message_id"]
    sent = fake.chat(7)[-1]
    assert sent.text.startswith("گسترش همکاری کلان\u200cشهرهای ایران و چین")
    edited = {"html": "<h1>اصلاح</h1><p>متن</p>", "is_rtl": True}
    status, body = await call(
        url, "editMessageText", chat_id=7, message_id=message_id, rich_message=edited
    )
    assert status == 200, body
    assert sent.text == "اصلاح\nمتن"
    status, _ = await call(url, "deleteMessage", chat_id=7, message_id=message_id)
    assert status == 200 and sent.deleted and fake.deleted_in(7) == [sent]


@pytest.mark.parametrize(
    ("rich", "words"),
    [
        ({"html": "<p>a</p>", "markdown": "a"}, "exactly one of"),
        ({"html": "<p>a</p>", "is_rtl": "yes"}, "Boolean"),
        ({"html": "<div>a</div>"}, 'unsupported start tag "div"'),
        ({"html": "<p><h2>a</h2></p>"}, 'block tag "h2" inside "p"'),
        ({"html": '<p>a <img src="https://e.ir/a.jpg"/></p>'}, 'block tag "img" inside "p"'),
        ({"html": "<li>a</li>"}, 'tag "li" is not allowed'),
        ({"html": "<p>a<cite>b</cite></p>"}, 'tag "cite" is not allowed'),
        ({"html": "<p>a &copy; b</p>"}, 'unsupported HTML entity "&copy;"'),
        ({"html": "<p>a & b</p>"}, 'unescaped "&"'),
        ({"html": "<p>a"}, "can't find end tag"),
        ({"html": '<img src="ftp://e.ir/a.jpg"/>'}, "wrong media URL"),
        ({"html": "<p>" + "ا" * 32_769 + "</p>"}, "RICH_MESSAGE_TOO_LONG"),
        ({"html": "<ul>" + "<li>a</li>" * 300 + "</ul>"}, "RICH_MESSAGE_TOO_MANY_BLOCKS"),
        ({"html": "<blockquote>" * 17 + "a" + "</blockquote>" * 17}, "nesting deeper"),
    ],
)
async def test_rich_messages_break_no_documented_rule(
    telegram: tuple[FakeTelegram, str], rich: dict[str, Any], words: str
) -> None:
    _, url = telegram
    status, body = await call(url, "sendRichMessage", chat_id=7, rich_message=rich)
    assert status == 400
    assert (words in body["description"] and "rich" in body["description"].lower()) or (
        words in body["description"]
    )


async def test_a_photo_message_is_deleted(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    _, body = await upload(url, JPEG)
    status, _ = await call(url, "deleteMessage", chat_id=7, message_id=body["result"]["message_id"])
    assert status == 200 and fake.deleted_in(7)[-1].photo is not None
