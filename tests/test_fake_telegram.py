"""The fake Bot API server answers like Telegram: the bot's tests can trust its verdicts."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, RetryAfter

from tests.support.fake_telegram import TOKEN, FakeTelegram, Limits, serve


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


async def call_form(url: str, method: str, **params: str) -> tuple[int, dict[str, Any]]:
    """As python-telegram-bot sends: a form, every value a string."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}{TOKEN}/{method}", data=params) as response,
    ):
        return response.status, await response.json()


@contextlib.asynccontextmanager
async def running(fake: FakeTelegram) -> AsyncIterator[str]:
    runner, url = await serve(fake)
    try:
        yield url
    finally:
        await runner.cleanup()


async def test_valid_html_is_sent_and_kept_as_the_reader_sees_it(
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = telegram
    await fake.send_text(7, "/start")
    status, body = await call(
        url, "sendMessage", chat_id=7, parse_mode="HTML", text="<b>خبر</b> &amp; تحلیل"
    )
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


@pytest.mark.slow
async def test_rates_are_enforced_with_429_and_retry_after(
    telegram: tuple[FakeTelegram, str],
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
    telegram: tuple[FakeTelegram, str],
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
    status, body = await call(url, "editMessageText", chat_id=7, message_id=message_id, text="یک")
    assert status == 400 and "message is not modified" in body["description"]
    assert (await call(url, "editMessageText", chat_id=7, message_id=message_id, text="دو"))[
        0
    ] == 200
    assert fake.chat(7)[0].text == "دو" and fake.chat(7)[0].edits == 1
    query_id = await fake.inline(7, "زلزله")
    content = {"message_text": "<b>زلزله", "parse_mode": "HTML"}
    result = {"type": "article", "id": "a1", "title": "زلزله", "input_message_content": content}
    status, body = await call(url, "answerInlineQuery", inline_query_id=query_id, results=[result])
    assert status == 400 and "can't parse entities" in body["description"]
    content["message_text"] = "<b>زلزله</b>"
    assert (await call(url, "answerInlineQuery", inline_query_id=query_id, results=[result]))[
        0
    ] == 200
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


async def test_paid_broadcasts_have_their_own_bot_wide_rate() -> None:
    fake = FakeTelegram(
        Limits(
            global_burst=2,
            global_rate=0.01,
            private_burst=1,
            private_rate=0.01,
            paid_burst=4,
            paid_rate=0.01,
        )
    )
    fake.add_private_chats(range(1, 20))
    async with running(fake) as url:
        free = [(await call(url, "sendMessage", chat_id=n, text="خبر"))[0] for n in (1, 2, 3)]
        assert free == [200, 200, 429]
        paid = [
            (await call(url, "sendMessage", chat_id=4, text="خبر", allow_paid_broadcast=True))[0],
            (
                await call_form(
                    url, "sendMessage", chat_id="5", text="خبر", allow_paid_broadcast="true"
                )
            )[0],
            (
                await call_form(
                    url, "sendMessage", chat_id="6", text="خبر", allow_paid_broadcast="True"
                )
            )[0],
            # the chat's own rate still holds for paid broadcasts
            (
                await call_form(
                    url, "sendMessage", chat_id="6", text="دوباره", allow_paid_broadcast="1"
                )
            )[0],
            (
                await call_form(
                    url, "sendMessage", chat_id="7", text="خبر", allow_paid_broadcast="1"
                )
            )[0],
            (await call(url, "sendMessage", chat_id=8, text="خبر", allow_paid_broadcast=True))[0],
        ]
        assert paid == [200, 200, 200, 429, 429, 429]
        assert (await call(url, "sendMessage", chat_id=9, text="خبر", allow_paid_broadcast=False))[
            0
        ] == 429
        assert fake.paid_sent == 3 and len(fake.send_log) == 5 and fake.rate_limited == 5


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_python_telegram_bot_sends_paid_broadcasts_as_paid() -> None:
    fake = FakeTelegram(Limits(global_burst=1, global_rate=0.01))
    fake.add_private_chats([1, 2])
    async with running(fake) as url, Bot(TOKEN, base_url=url) as bot:
        await bot.send_message(1, "خبر", allow_paid_broadcast=True)
        await bot.send_message(2, "خبر", allow_paid_broadcast=True)
        await bot.send_message(1, "خبر دیگر")
        with pytest.raises(RetryAfter):
            await bot.send_message(2, "خبر دیگر")
    assert fake.paid_sent == 2


async def test_the_send_log_gives_the_highest_rate_and_the_duplicates() -> None:
    fake = FakeTelegram(Limits(private_burst=4, private_rate=0.01))
    fake.add_private_chats([7, 8])
    before = time.monotonic()
    async with running(fake) as url:
        for chat_id, text in [(7, "الف"), (7, "الف"), (7, "ب"), (8, "الف"), (7, "الف")]:
            assert (await call(url, "sendMessage", chat_id=chat_id, text=text))[0] == 200
        assert (await call(url, "sendMessage", chat_id=7, text="الف"))[0] == 429  # not logged
    assert [chat_id for _, chat_id in fake.send_log] == [7, 7, 7, 8, 7]
    assert all(before <= stamp <= time.monotonic() for stamp, _ in fake.send_log)
    assert fake.max_rate() == 5.0 and fake.max_rate(2.0) == 2.5
    assert fake.duplicates() == {7: 2}
    fake.send_log = [(0.0, 1), (0.5, 1), (0.9, 1), (1.0, 1), (1.2, 1), (3.0, 1)]
    assert fake.max_rate(1.0) == 4.0  # 0.5, 0.9, 1.0 and 1.2; 0.0 and 1.0 are a second apart
    assert fake.max_rate(2.0) == 2.5
    assert fake.max_rate(0.25) == 8.0
    fake.send_log = []
    assert fake.max_rate() == 0.0


async def test_channels_are_reached_by_username(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    fake.add_channel("@khabar_news", -1001234)
    status, body = await call(url, "sendMessage", chat_id="@khabar_news", text="خبر فوری")
    assert status == 200
    chat = body["result"]["chat"]
    assert (chat["id"], chat["type"], chat["username"]) == (-1001234, "channel", "khabar_news")
    assert body["result"]["sender_chat"]["id"] == -1001234 and "from" not in body["result"]
    assert (await call_form(url, "sendMessage", chat_id="@Khabar_News", text="دوم"))[0] == 200
    assert (await call(url, "sendMessage", chat_id=-1001234, text="سوم"))[0] == 200
    assert [m.text for m in fake.chat(-1001234)] == ["خبر فوری", "دوم", "سوم"]
    message_id = fake.chat(-1001234)[0].message_id
    assert (
        await call(
            url,
            "editMessageText",
            chat_id="@khabar_news",
            message_id=message_id,
            text="خبر فوری (اصلاح)",
        )
    )[0] == 200
    status, body = await call(url, "sendMessage", chat_id="@nobody_here", text="خبر")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    assert list(fake.messages) == [-1001234]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_a_migrated_group_answers_with_its_new_id(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    await fake.send_text(7, "/subscribe", chat_id=-500, chat_type="group")
    fake.admins[-500].add(7)
    fake.migrate(-500, -1005000)
    status, body = await call(url, "sendMessage", chat_id=-500, text="خبر")
    assert (status, body["description"]) == (
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
    )
    assert body["parameters"] == {"migrate_to_chat_id": -1005000}
    assert fake.errors[-1] == ("sendMessage", body["description"])
    status, body = await call(url, "sendMessage", chat_id=-1005000, text="خبر")
    assert status == 200 and body["result"]["chat"]["type"] == "supergroup"
    _, member = await call(url, "getChatMember", chat_id=-1005000, user_id=7)
    assert member["result"]["status"] == "administrator"
    async with Bot(TOKEN, base_url=url) as bot:
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(-500, "خبر")
        assert migrated.value.new_chat_id == -1005000
        with pytest.raises(RetryAfter):  # retry_after still comes
            for _ in range(30):
                await bot.send_message(-1005000, "خبر")


async def test_deleted_messages_are_counted_and_kept_apart(
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = telegram
    await fake.send_text(7, "سلام")
    ids = [
        (await call(url, "sendMessage", chat_id=7, text=t))[1]["result"]["message_id"]
        for t in ("یک", "دو")
    ]
    assert (await call(url, "deleteMessage", chat_id=7, message_id=ids[0]))[0] == 200
    status, body = await call(url, "deleteMessage", chat_id=7, message_id=ids[0])
    assert (status, body["description"]) == (400, "Bad Request: message to delete not found")
    assert fake.deleted == 1
    assert [m.text for m in fake.deleted_in(7)] == ["یک"]
    assert [m.text for m in fake.chat(7)] == ["دو"]
    assert fake.deleted_in(12345) == []


async def test_users_send_documents_that_the_bot_downloads(
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = telegram
    content = "نشانی,زمان\nhttps://example.ir/1,2024\n".encode()
    pushed = await fake.send_document(
        7, "feeds.csv", content, caption="/import", mime_type="text/csv"
    )
    _, updates = await call(url, "getUpdates")
    message = updates["result"][-1]["message"]
    assert message == pushed
    document = message["document"]
    assert (document["file_name"], document["mime_type"], document["file_size"]) == (
        "feeds.csv",
        "text/csv",
        len(content),
    )
    assert message["caption"] == "/import"
    assert message["caption_entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    status, body = await call(url, "getFile", file_id=document["file_id"])
    assert status == 200
    info = body["result"]
    assert info["file_id"] == document["file_id"] and info["file_size"] == len(content)
    assert info["file_unique_id"] == document["file_unique_id"]
    assert info["file_path"].endswith(".csv")
    base = url.removesuffix("/bot")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/file/bot{TOKEN}/{info['file_path']}") as response:
            assert response.status == 200 and await response.read() == content
        async with session.get(f"{base}/file/botWRONG/{info['file_path']}") as response:
            assert response.status == 404
        async with session.get(f"{base}/file/bot{TOKEN}/documents/nothing.csv") as response:
            assert response.status == 404
    status, body = await call(url, "getFile", file_id="no-such-file")
    assert (status, body["description"]) == (400, "Bad Request: invalid file_id")
    assert fake.downloads == 1


async def test_python_telegram_bot_downloads_a_document(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    pushed = await fake.send_document(
        7, "big.bin", b"\x00\xff" * 5000, mime_type="application/octet-stream"
    )
    base_file_url = url.removesuffix("/bot") + "/file/bot"
    async with Bot(TOKEN, base_url=url, base_file_url=base_file_url) as bot:
        file = await bot.get_file(pushed["document"]["file_id"])
        assert file.file_size == 10000
        assert bytes(await file.download_as_bytearray()) == b"\x00\xff" * 5000
        too_big = await fake.send_document(7, "huge.bin", bytes(20 * 1024 * 1024 + 1))
        with pytest.raises(BadRequest, match=r"(?i)file is too big"):
            await bot.get_file(too_big["document"]["file_id"])


async def test_users_reply_to_the_bot_and_to_their_own_messages(
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = telegram
    await fake.send_text(7, "/start")
    await call(url, "sendMessage", chat_id=7, text="فایل فهرست را بفرستید")
    [prompt] = fake.chat(7)
    document = await fake.send_document(7, "list.txt", b"a", reply_to=prompt)
    reply = await fake.send_text(7, "این فایل", reply_to=document)
    _, updates = await call(url, "getUpdates")
    first, second = (u["message"] for u in updates["result"][-2:])
    to_bot = first["reply_to_message"]
    assert to_bot["from"]["is_bot"] and to_bot["text"] == "فایل فهرست را بفرستید"
    assert to_bot["message_id"] == prompt.message_id
    to_document = second["reply_to_message"]
    assert to_document["document"] == document["document"]
    assert "reply_to_message" not in to_document  # not nested any further, as Telegram
    assert second == reply and "reply_to_message" not in await fake.send_text(7, "سلام")


async def test_chats_are_registered_in_bulk_without_updates(
    telegram: tuple[FakeTelegram, str],
) -> None:
    fake, url = telegram
    fake.add_private_chats(range(1000, 11000))
    fake.add_group(-42)
    fake.add_group(-43, "group")
    for chat_id in (1000, 10999, -42, -43):
        assert (await call(url, "sendMessage", chat_id=chat_id, text="خبر"))[0] == 200
    assert fake.chat_types[-42] == "supergroup" and fake.chat_types[-43] == "group"
    status, body = await call(url, "sendMessage", chat_id=11000, text="خبر")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    assert (await call(url, "getUpdates"))[1]["result"] == []


async def test_subscribers_and_stats_over_http() -> None:
    fake = FakeTelegram(Limits(global_burst=8, global_rate=0.01))
    async with running(fake) as url, aiohttp.ClientSession() as session:
        control = url.removesuffix("/bot") + "/control"
        async with session.post(
            f"{control}/subscribers", json={"first": 100, "count": 10, "blocked_every": 3}
        ) as answer:
            assert await answer.json() == {"registered": 10, "blocked": 3}
        assert fake.blocked == {102, 105, 108}
        statuses = [
            (await call(url, "sendMessage", chat_id=n, text="خبر"))[0] for n in range(100, 110)
        ]
        assert statuses.count(403) == 3 and statuses.count(200) == 7
        await call(url, "sendMessage", chat_id=100, text="خبر")  # a duplicate
        await call(url, "sendMessage", chat_id=101, text="خبر")  # 429: 8 a burst in all
        await call(url, "sendMessage", chat_id=103, text="ویژه", allow_paid_broadcast=True)
        message_id = fake.chat(100)[0].message_id
        await call(url, "deleteMessage", chat_id=100, message_id=message_id)
        async with session.get(f"{control}/stats") as answer:
            stats = await answer.json()
        span = stats.pop("span")
        assert stats == {
            "sent": 9,
            "rate_limited": 1,
            "errors": 3,
            "paid_sent": 1,
            "duplicates": 1,
            "max_rate": 9.0,
            "deleted": 1,
            "reached": 7,
        }
        assert 0 < span < 5
        async with session.post(
            f"{control}/subscribers", json={"first": 200, "count": 5}
        ) as answer:
            assert await answer.json() == {"registered": 5, "blocked": 0}
        assert fake.chat_types[204] == "private" and 204 not in fake.blocked


@pytest.mark.slow
async def test_sending_stays_cheap_with_many_chats_and_messages() -> None:
    """No work per request that grows with what the server holds."""
    fake = FakeTelegram(Limits(*(1e9,) * len(dataclasses.fields(Limits))))
    fake.add_private_chats(range(1, 10_001))
    async with running(fake) as url, aiohttp.ClientSession() as session:

        async def send(chat_id: int) -> int:
            async with session.post(
                f"{url}{TOKEN}/sendMessage", json={"chat_id": chat_id, "text": "خبر"}
            ) as response:
                return response.status

        async def rate(first: int) -> float:
            start = time.perf_counter()
            statuses = await asyncio.gather(*(send(n) for n in range(first, first + 500)))
            assert set(statuses) == {200}
            return 500 / (time.perf_counter() - start)

        early = await rate(1)
        for chunk in range(501, 9_501, 500):
            await asyncio.gather(*(send(n) for n in range(chunk, chunk + 500)))
        late = await rate(9_501)
    assert len(fake.send_log) == 10_000
    assert late > early / 3 and late > 200
