"""The fake Bot API server answers like Telegram: the bot's tests can trust its verdicts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fake_telegram import TOKEN, FakeTelegram, Limits, serve


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(Limits(private_burst=3, private_rate=1))
    runner, url = await serve(fake)
    yield fake, url
    await runner.cleanup()


async def call(url: str, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}{TOKEN}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


async def test_valid_html_is_sent_and_kept_as_the_reader_sees_it(
    telegram: tuple[FakeTelegram, str]
) -> None:
    fake, url = telegram
    await fake.send_text(7, "/start")
    status, body = await call(url, "sendMessage", chat_id=7, parse_mode="HTML",
                              text="<b>خبر</b> &amp; تحلیل")
    assert status == 200 and body["ok"] and body["result"]["message_id"] == 2
    assert [m.text for m in fake.chat(7)] == ["خبر & تحلیل"]


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("<b>باز", "Bad Request: can't parse entities"),
        ("<script>x</script>", "Bad Request: can't parse entities"),
        ("a < b", "Bad Request: can't parse entities"),
        ("خ" * 4097, "Bad Request: message is too long"),
        ("   ", "Bad Request: message text is empty"),
    ],
)
async def test_bad_messages_get_telegrams_400(
    telegram: tuple[FakeTelegram, str], text: str, description: str
) -> None:
    fake, url = telegram
    await fake.send_text(7, "سلام")
    status, body = await call(url, "sendMessage", chat_id=7, parse_mode="HTML", text=text)
    assert status == 400 and body["description"].startswith(description)
    assert fake.errors and fake.chat(7) == []


async def test_rates_are_enforced_with_429_and_retry_after(
    telegram: tuple[FakeTelegram, str]
) -> None:
    fake, url = telegram
    await fake.send_text(7, "سلام")
    answers = [await call(url, "sendMessage", chat_id=7, text=f"پیام {n}") for n in range(5)]
    assert [status for status, _ in answers] == [200, 200, 200, 429, 429]
    assert answers[3][1]["parameters"]["retry_after"] >= 1
    assert fake.rate_limited == 2
    await asyncio.sleep(1.05)
    assert (await call(url, "sendMessage", chat_id=7, text="دوباره"))[0] == 200


async def test_blocked_and_unknown_chats(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    await fake.send_text(8, "سلام")
    fake.blocked.add(8)
    status, body = await call(url, "sendMessage", chat_id=8, text="خبر")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    status, body = await call(url, "sendMessage", chat_id=999, text="خبر")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_updates_are_long_polled_and_confirmed_by_offset(
    telegram: tuple[FakeTelegram, str]
) -> None:
    fake, url = telegram
    poll = asyncio.create_task(call(url, "getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    await fake.send_text(7, "/latest")
    _, body = await asyncio.wait_for(poll, 2)
    [update] = body["result"]
    assert update["message"]["text"] == "/latest"
    assert update["message"]["entities"][0]["type"] == "bot_command"
    _, again = await call(url, "getUpdates", offset=update["update_id"] + 1, timeout=0)
    assert again["result"] == []


async def test_edits_and_inline_answers_are_checked(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    await fake.send_text(7, "سلام")
    _, sent = await call(url, "sendMessage", chat_id=7, text="یک")
    message_id = sent["result"]["message_id"]
    status, body = await call(url, "editMessageText", chat_id=7, message_id=message_id,
                              text="یک")
    assert status == 400 and "message is not modified" in body["description"]
    assert (await call(url, "editMessageText", chat_id=7, message_id=message_id,
                       text="دو"))[0] == 200
    assert fake.chat(7)[0].text == "دو" and fake.chat(7)[0].edits == 1
    query_id = await fake.inline(7, "زلزله")
    content = {"message_text": "<b>زلزله", "parse_mode": "HTML"}
    result = {"type": "article", "id": "a1", "title": "زلزله", "input_message_content": content}
    status, body = await call(url, "answerInlineQuery", inline_query_id=query_id,
                              results=[result])
    assert status == 400 and "can't parse entities" in body["description"]
    content["message_text"] = "<b>زلزله</b>"
    assert (await call(url, "answerInlineQuery", inline_query_id=query_id,
                       results=[result]))[0] == 200
    assert fake.inline_answers[query_id]["results"][0]["id"] == "a1"


async def test_the_control_api_works_over_http(telegram: tuple[FakeTelegram, str]) -> None:
    _, url = telegram
    base = url.removesuffix("/bot")
    async with aiohttp.ClientSession() as session:
        await session.post(f"{base}/control/message", json={"user_id": 9, "text": "/help"})
        _, updates = await call(url, "getUpdates")
        assert updates["result"][0]["message"]["text"] == "/help"
        await call(url, "sendMessage", chat_id=9, text="راهنما")
        async with session.get(f"{base}/control/chats/9") as response:
            assert [m["text"] for m in await response.json()] == ["راهنما"]
