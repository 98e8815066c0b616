"""The HTTP server (bot/web.py) over real HTTP on 127.0.0.1, on the real Redis (a key prefix
of its own per test, removed after); breaking news through a running bot and its delivery
workers against the fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from telegram import Bot
from yarl import URL

from bot.app.build import services_for
from bot.config import ConfigError, Settings, load_settings
from bot.delivery.channels import CardMaker
from bot.news.article import Article
from bot.news.parse import parse_file
from bot.services import Services
from bot.web.context import WebContext
from bot.web.links import not_found_page, redirect_target
from bot.web.server import start_web
from bot.web.webhook import set_webhook
from handlers import texts, views
from handlers.common import card_with_buttons
from storage.subscribers import ChatKind
from tests.conftest import FIXTURES
from tests.support.bot_harness import running_bot
from tests.support.fake_telegram import TOKEN, FakeTelegram, serve
from tests.support.storage_fixtures import TEST_REDIS_URL, drop_prefix
from tests.test_bot_reader import unreachable_redis

PUBLIC = "https://khabar.example.ir"
INGEST = "ingest-token-for-tests"
BOT = "khabar_test_bot"
CAP = 64 * 1024
AUTH = {"Authorization": f"Bearer {INGEST}"}
PAGE = FIXTURES / "articles" / "hamshahri-265240.txt"
SETTINGS: dict[str, Any] = {
    "redis_url": TEST_REDIS_URL,
    "http_host": "127.0.0.1",
    "http_port": 0,
    "public_url": PUBLIC,
    "ingest_token": SecretStr(INGEST),
    "retention_days": 3650,
    "http_max_body": CAP,
}


def article(article_id: str = "api-1", **fields: Any) -> dict[str, Any]:
    return {
        "id": article_id,
        "title": "افتتاح خط تازه مترو در تهران",
        "lead": "خط ۱۰ مترو امروز به بهره‌برداری رسید.",
        "published": "2025-10-20",
        **fields,
    }


@dataclass
class Web:
    url: str
    http: aiohttp.ClientSession
    ctx: WebContext
    updates: list[dict[str, Any]] = field(default_factory=list)
    alive: bool = True

    @property
    def services(self) -> Services:
        return self.ctx.services

    async def post(
        self,
        path: str,
        data: Any = None,
        *,
        body: bytes | str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """POST JSON (`data`) or a raw `body`, with the ingest token unless `headers` says
        otherwise; the status and the decoded JSON answer (None for an empty one)."""
        payload = json.dumps(data, ensure_ascii=False).encode() if body is None else body
        async with self.http.post(
            self.url + path,
            data=payload,
            headers={"Content-Type": content_type, **(AUTH if headers is None else headers)},
        ) as answer:
            text = await answer.text()
            return answer.status, json.loads(text) if text else None

    async def get_json(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.http.get(
            self.url + path, headers=AUTH if headers is None else headers
        ) as answer:
            return answer.status, await answer.json()


@contextlib.asynccontextmanager
async def serving(
    services: Services | None = None,
    *,
    webhook: bool = False,
    card: CardMaker | None = None,
    on_update: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    **overrides: Any,
) -> AsyncIterator[Web]:
    """The server on a free port: on `services` (a running bot's), or on services of its own
    under a fresh prefix, removed after; `overrides` are settings. With `webhook`, updates
    are collected in `Web.updates` (after `on_update`, which may raise)."""
    own = services is None
    if services is None:
        prefix = f"khabar-test-web-{uuid.uuid4().hex[:10]}"
        services = await services_for(Settings(**{**SETTINGS, "redis_prefix": prefix, **overrides}))
        settings = services.settings
    else:
        settings = services.settings.model_copy(update={**SETTINGS, **overrides})
    found = services

    async def default_card(article: Article, style: str | None = None) -> list[dict[str, Any]]:
        return await card_with_buttons(found, article, style)

    box: list[Web] = []

    async def updates(update: dict[str, Any]) -> None:
        if on_update is not None:
            await on_update(update)
        box[0].updates.append(update)

    ctx = WebContext(
        settings,
        services,
        card or default_card,
        BOT,
        updates if webhook else None,
        lambda: box[0].alive,
        views.web_page_texts(),
    )
    runner = await start_web(ctx)
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            box.append(Web(f"http://127.0.0.1:{port}", http, ctx))
            yield box[0]
    finally:
        await runner.cleanup()
        if own:
            redis = services.redis
            await drop_prefix(redis, settings.redis_prefix)
            await redis.aclose()


@pytest.fixture
async def web() -> AsyncIterator[Web]:
    async with serving() as running:
        yield running


async def stored_code(w: Web, data: dict[str, Any]) -> str:
    status, answer = await w.post("/api/articles", data)
    assert status == 201, answer
    code: str = answer["articles"][0]["code"]
    return code


# Short links ----------------------------------------------------------------------------------
async def test_a_short_link_redirects_to_the_article_url_and_counts_the_click(web: Web) -> None:
    code = await stored_code(web, article(url="https://www.hamshahrionline.ir/news/1"))
    async with web.http.get(f"{web.url}/{code}", allow_redirects=False) as answer:
        assert answer.status == 302
        assert answer.headers["Location"] == "https://www.hamshahrionline.ir/news/1"
        assert answer.headers["Cache-Control"] == "no-store"
    async with web.http.head(f"{web.url}/{code}", allow_redirects=False) as answer:
        assert answer.status == 302  # a link checker's HEAD is not a reader's click
    assert await web.services.store.links.clicks(code) == 1


async def test_a_short_link_without_url_opens_the_article_in_the_bot(web: Web) -> None:
    code = await stored_code(web, article())
    async with web.http.get(f"{web.url}/{code}", allow_redirects=False) as answer:
        assert answer.status == 302
        assert answer.headers["Location"] == f"https://t.me/{BOT}?start={code}"
    assert await web.services.store.links.clicks(code) == 1


async def test_an_unknown_code_is_a_small_persian_404_page(web: Web) -> None:
    await stored_code(web, article("265240"))
    # An article id shaped like a code is not a short link here (only codes are).
    for path in ("/zzzzzz", "/265240", "/nothing-here", "/"):
        async with web.http.get(web.url + path, allow_redirects=False) as answer:
            page = await answer.text()
            assert answer.status == 404, path
            assert answer.content_type == "text/html"
            assert "Location" not in answer.headers
        assert '<html lang="fa" dir="rtl">' in page
        assert texts.WEB_NOT_FOUND_TITLE in page and texts.WEB_NOT_FOUND in page
        assert f'href="https://t.me/{BOT}"' in page


async def test_the_404_page_escapes_what_it_shows(web: Web) -> None:
    odd = dataclasses.replace(web.ctx, bot_username='x"><script>alert(1)</script>')
    page = not_found_page(odd).text or ""
    assert "<script>" not in page and '"><' not in page


async def test_no_path_redirects_anywhere_but_a_stored_url(web: Web) -> None:
    stored = "https://www.hamshahrionline.ir/news/2"
    code = await stored_code(web, article(url=stored))
    tricky = [
        "//evil.com",
        "/%2F%2Fevil.com",
        "/%2Fevil.com",
        "/%5C%5Cevil.com",
        "///evil.com",
        "/evil.com",
        "/https://evil.com",
        "/@evil.com",
        f"/{code}/..%2F%2Fevil.com",
        f"//{code}",
        f"/{code}%2F%2Fevil.com",
        f"/{code}/https://evil.com",
        f"/{code}?next=https://evil.com",
        f"/{code}?url=//evil.com",
    ]
    for path in tricky:
        async with web.http.get(URL(web.url + path, encoded=True), allow_redirects=False) as answer:
            location = answer.headers.get("Location")
            assert location in (None, stored), (path, answer.status, location)
            assert answer.status in (302, 404), (path, answer.status)


def test_only_http_urls_are_redirected_to() -> None:
    odd = Article.model_construct(id="x", title="x", url="javascript:alert(1)")
    assert redirect_target(odd, "Ab12Cd", BOT) == f"https://t.me/{BOT}?start=Ab12Cd"
    fine = Article.model_construct(id="x", title="x", url="http://example.ir/a?b=1")
    assert redirect_target(fine, "Ab12Cd", BOT) == "http://example.ir/a?b=1"


# The ingest API -------------------------------------------------------------------------------
async def test_an_article_is_stored_with_its_absolute_short_url(web: Web) -> None:
    status, answer = await web.post("/api/articles", article())
    assert status == 201
    [stored] = answer["articles"]
    assert stored["id"] == "api-1" and stored["status"] == "stored"
    assert stored["short_url"] == f"{PUBLIC}/{stored['code']}"
    assert await web.services.store.get("api-1") is not None

    status, again = await web.post("/api/articles", article())
    assert status == 201
    assert again["articles"] == [{**stored, "status": "unchanged"}]
    status, changed = await web.post("/api/articles", article(title="عنوان تازه"))
    assert changed["articles"][0]["status"] == "updated"
    assert changed["articles"][0]["code"] == stored["code"]


async def test_a_list_and_a_raw_page_are_stored_and_announced(web: Web) -> None:
    status, answer = await web.post("/api/articles", [article("a-1"), article("a-2")])
    assert status == 201
    assert [item["status"] for item in answer["articles"]] == ["stored", "stored"]
    status, raw = await web.post(
        "/api/articles", body=PAGE.read_bytes(), content_type="text/plain; charset=utf-8"
    )
    assert status == 201
    [page] = raw["articles"]
    assert page["id"] == "265240" and page["status"] == "stored"
    assert page["short_url"].startswith(PUBLIC + "/")
    stored = await web.services.store.get("265240")
    assert stored == parse_file(PAGE)

    keys = web.services.store.keys
    announced = await web.services.redis.xrange(keys.new_articles())
    assert [entry["id"] for _, entry in announced] == ["a-1", "a-2", "265240"]


async def test_articles_older_than_the_retention_window_are_not_stored(web: Web) -> None:
    status, answer = await web.post(
        "/api/articles", [article("old", published="2000-01-01"), article("new")]
    )
    assert status == 201
    old, new = answer["articles"]
    assert old == {"id": "old", "code": None, "short_url": None, "status": "expired"}
    assert new["status"] == "stored"
    assert await web.services.store.get("old") is None


async def test_without_a_retention_window_an_article_of_any_age_is_stored() -> None:
    async with serving(retention_days=0) as web:
        status, answer = await web.post("/api/articles", article("old", published="1990-01-01"))
        assert status == 201
        assert answer["articles"][0]["status"] == "stored"
        assert await web.services.store.get("old") is not None


async def test_the_api_wants_the_token(web: Web) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {INGEST}"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer تهران"},
    ):
        status, answer = await web.post("/api/articles", article(), headers=headers)
        assert status == 401, headers
        assert "error" in answer
        status, _ = await web.get_json("/api/deliveries/1", headers=headers)
        assert status == 401
    async with web.http.post(web.url + "/api/breaking", json={"text": "x"}) as refused:
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert await web.services.store.count() == 0


async def test_the_api_is_off_without_a_token() -> None:
    async with serving(ingest_token=None) as web:
        for path in ("/api/articles", "/api/breaking"):
            status, answer = await web.post(path, article())
            assert status == 404
            assert "KHABAR_INGEST_TOKEN" in answer["error"]
        status, _ = await web.get_json("/api/deliveries/1")
        assert status == 404


async def test_a_bad_item_is_a_422_and_nothing_is_stored(web: Web) -> None:
    bad = [article("ok-1"), {"id": "no title"}, article("ok-2", url="ftp://x")]
    status, answer = await web.post("/api/articles", bad)
    assert status == 422
    assert answer["error"] == "nothing was stored: 2 of 3 articles not valid"
    places = {(error["index"], error["field"]) for error in answer["errors"]}
    assert {(1, "id"), (1, "title"), (2, "url")} <= places
    assert all(error["message"] for error in answer["errors"])
    assert await web.services.store.count() == 0

    status, answer = await web.post("/api/articles", body="hello world", content_type="text/plain")
    assert status == 422
    assert answer["errors"][0]["message"] in answer["error"]
    status, answer = await web.post("/api/articles", [])
    assert status == 422
    assert await web.services.store.count() == 0


async def test_bad_json_is_a_400(web: Web) -> None:
    for body in ('{"id": "x", ', "", b"\xff", "[" * 50_000):
        status, answer = await web.post("/api/articles", body=body)
        assert status == 400, body[:10]
        assert answer["error"].startswith("invalid JSON")


async def test_a_body_over_the_cap_is_a_413(web: Web) -> None:
    big = article(paragraphs=["متن " * 20_000])
    status, answer = await web.post("/api/articles", big)
    assert status == 413
    assert str(CAP) in answer["error"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: cut off while read
        for _ in range(20):
            yield b" " * 8192

    async with web.http.post(
        web.url + "/api/articles",
        data=chunks(),
        headers={**AUTH, "Content-Type": "application/json"},
    ) as answer:
        assert answer.status == 413
        assert "limit" in (await answer.json())["error"]
    assert await web.services.store.count() == 0


async def test_other_content_types_are_a_415(web: Web) -> None:
    for kind in ("application/xml", "application/x-www-form-urlencoded", "image/png"):
        status, answer = await web.post("/api/articles", body=b"<a/>", content_type=kind)
        assert status == 415, kind
        assert "application/json" in answer["error"]


# Breaking news --------------------------------------------------------------------------------
async def test_breaking_news_is_delivered_and_its_progress_can_be_followed() -> None:
    async with (
        running_bot(broadcast_rate=300, paid_broadcast=True) as bot,
        serving(bot.services) as web,
    ):
        chats = range(20_001, 20_006)
        bot.telegram.add_private_chats(chats)
        for chat in chats:
            await bot.services.subscribers.subscribe(chat, ChatKind.PRIVATE)
        text = "زلزله ۵ ریشتری در تهران\nمرکز لرزه‌نگاری خبر داد."
        status, answer = await web.post("/api/breaking", {"text": text})
        assert status == 202, answer
        assert answer["total"] == 5
        assert answer["progress"] == f"/api/deliveries/{answer['delivery']}"
        assert answer["article"]["short_url"].startswith(PUBLIC + "/")

        progress: dict[str, Any] = {}
        for _ in range(200):
            status, progress = await web.get_json(answer["progress"])
            assert status == 200
            if progress["status"] == "done":
                break
            await asyncio.sleep(0.05)
        assert progress["status"] == "done" and progress["kind"] == "breaking"
        assert progress["total"] == 5 and progress["counts"]["sent"] == 5
        assert set(progress["counts"]) == {
            "sent",
            "blocked",
            "failed",
            "skipped",
            "duplicates",
            "rate_limited",
        }
        assert progress["created"] and progress["finished"]
        for chat in chats:
            [got] = bot.telegram.chat(chat)
            assert got.text.startswith("🔴 فوری\nزلزله ۵ ریشتری در تهران")

        assert bot.telegram.errors == []


async def test_a_retried_breaking_request_is_sent_once() -> None:
    async with (
        running_bot(broadcast_rate=300, paid_broadcast=True) as bot,
        serving(bot.services) as web,
    ):
        bot.telegram.add_private_chats([20_101])
        await bot.services.subscribers.subscribe(20_101, ChatKind.PRIVATE)
        item = article("b-retry", title="آتش‌سوزی در بازار تهران")
        status, first = await web.post("/api/breaking", item)
        assert status == 202, first
        status, again = await web.post("/api/breaking", item)
        assert status == 409 and again["delivery"] == first["delivery"], again
        await bot.telegram.wait_until(lambda: len(bot.telegram.chat(20_101)) == 1)
        await asyncio.sleep(0.3)
        assert len(bot.telegram.chat(20_101)) == 1


async def test_a_breaking_item_stored_by_a_request_that_failed_is_sent_on_retry() -> None:
    async with (
        running_bot(broadcast_rate=300, paid_broadcast=True) as bot,
        serving(bot.services) as web,
    ):
        bot.telegram.add_private_chats([20_201])
        await bot.services.subscribers.subscribe(20_201, ChatKind.PRIVATE)
        item = article("b-lost", title="قطعی برق در شمال تهران")
        # The first request stored the item and failed before its delivery was made.
        await bot.services.store.save(
            Article.model_validate({**item, "breaking": True}), announce=False
        )
        status, answer = await web.post("/api/breaking", item)
        assert status == 202, answer
        await bot.telegram.wait_until(lambda: len(bot.telegram.chat(20_201)) == 1)


async def test_breaking_news_with_nobody_to_send_to_is_stored_but_not_sent(web: Web) -> None:
    status, answer = await web.post("/api/breaking", article("b-1"))
    assert status == 200
    assert answer["delivery"] is None and answer["total"] == 0
    stored = await web.services.store.get("b-1")
    assert stored is not None and stored.breaking and stored.published == date(2025, 10, 20)
    announced = await web.services.redis.xrange(web.services.store.keys.new_articles())
    assert announced == []  # a breaking item reaches the channels with its delivery


async def test_bad_breaking_items_are_refused(web: Web) -> None:
    for data, expected in (
        ({"text": ""}, 422),
        ({"text": 5}, 422),
        ({"title": ""}, 422),
        ([{"text": "x"}], 422),
        ({"text": "just english words"}, 422),
    ):
        status, answer = await web.post("/api/breaking", data)
        assert status == expected, data
        assert answer["errors"], data
    status, _ = await web.post("/api/breaking", body="{", content_type="application/json")
    assert status == 400
    assert await web.services.store.count() == 0


async def test_an_unknown_delivery_is_a_404(web: Web) -> None:
    for path in ("/api/deliveries/999", "/api/deliveries/abc", "/api/nothing"):
        status, answer = await web.get_json(path)
        assert status == 404, path
        assert "error" in answer


async def test_an_unexpected_failure_is_logged_and_a_500(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(article: Article, style: str | None = None) -> list[dict[str, Any]]:
        raise RuntimeError("the card maker broke")

    async with serving(card=broken) as web:
        with caplog.at_level(logging.INFO):
            status, answer = await web.post("/api/breaking", {"text": "خبر فوری\nمتن خبر"})
    assert status == 500
    assert answer == {"error": "internal error (logged)"}
    [failure] = [r for r in caplog.records if r.exc_info]
    assert "POST /api/breaking" in failure.getMessage()
    assert INGEST not in caplog.text


# Operations -----------------------------------------------------------------------------------
async def test_health_says_what_is_wrong(web: Web) -> None:
    fine = {"redis": "ok", "workers": "ok", "telegram": "ok"}
    status, health = await web.get_json("/healthz", headers={})
    assert (status, health) == (200, fine)
    web.alive = False
    status, health = await web.get_json("/healthz", headers={})
    assert (status, health) == (503, {**fine, "workers": "not running"})

    web.alive = True
    working = web.services.redis
    web.ctx.services = dataclasses.replace(web.services, redis=await unreachable_redis())
    try:
        status, health = await web.get_json("/healthz", headers={})
    finally:
        await web.services.redis.aclose()
        web.ctx.services = dataclasses.replace(web.services, redis=working)
    assert (status, health) == (503, {**fine, "redis": "unreachable"})


async def test_health_shows_a_pause_telegram_asked_for(web: Web) -> None:
    await web.services.limiter.pause(1800)
    status, health = await web.get_json("/healthz", headers={})
    assert status == 200, "the process is well; sending waits"
    assert health["telegram"] == "paused"
    assert 1795 <= health["paused_for"] <= 1800


async def test_metrics_are_prometheus_text_with_the_outbox_depth(web: Web) -> None:
    await web.services.outbox.ensure_group()
    await web.services.redis.xadd(web.services.store.keys.outbox(), {"d": "1", "c": "1"})
    async with web.http.get(web.url + "/metrics") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(await answer.text())}
    assert {"khabar_outbox_depth", "khabar_search_seconds", "khabar_updates"} <= set(families)
    [depth] = families["khabar_outbox_depth"].samples
    assert depth.value == 1


async def test_metrics_show_an_unknown_depth_when_redis_is_down(web: Web) -> None:
    outbox = web.services.outbox
    working = outbox.redis
    outbox.redis = await unreachable_redis()
    try:
        async with web.http.get(web.url + "/metrics") as answer:
            assert answer.status == 200
            families = {f.name: f for f in text_string_to_metric_families(await answer.text())}
    finally:
        await outbox.redis.aclose()
        outbox.redis = working
    assert math.isnan(families["khabar_outbox_depth"].samples[0].value)


async def test_the_access_log_has_no_query_strings_or_tokens(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="khabar"):
        async with web.http.get(web.url + "/zzzzzz?token=s3cret-query", headers=AUTH):
            pass
        await web.post("/api/articles", article())
        await web.post("/api/articles", article(), headers={"Authorization": "Bearer guess"})
    lines = [r.getMessage() for r in caplog.records if r.name == "khabar.web.access"]
    assert any(line.startswith("GET /zzzzzz 404") for line in lines)
    assert any(line.startswith("POST /api/articles 201") for line in lines)
    for secret in ("s3cret-query", INGEST, "guess"):
        assert secret not in caplog.text


async def test_a_port_in_use_is_one_line_naming_the_setting(web: Web) -> None:
    taken = int(URL(web.url).port or 0)
    ctx = dataclasses.replace(
        web.ctx, settings=web.ctx.settings.model_copy(update={"http_port": taken})
    )
    with pytest.raises(ConfigError, match=rf"^KHABAR_HTTP_PORT: cannot listen on .*:{taken}: "):
        await start_web(ctx)


# Telegram's webhook ---------------------------------------------------------------------------
UPDATE = {
    "update_id": 7,
    "message": {"message_id": 1, "date": 0, "text": "/start", "chat": {"id": 5, "type": "private"}},
}


async def test_a_webhook_update_with_the_right_secret_is_handed_on() -> None:
    async with serving(
        webhook=True, webhook_url="https://bot.example.ir", webhook_secret=SecretStr("hook-secret")
    ) as web:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            status, _ = await web.post("/telegram/webhook", UPDATE, headers=headers)
            assert status == 403
        assert web.updates == []
        good = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}
        async with web.http.post(
            web.url + "/telegram/webhook", json=UPDATE, headers=good
        ) as answer:
            assert answer.status == 200
        assert web.updates == [UPDATE]


def test_webhook_mode_requires_a_secret() -> None:
    # Without one, anyone who finds the webhook could post updates as an admin.
    with pytest.raises(ConfigError, match=r"^KHABAR_WEBHOOK_SECRET: required when"):
        load_settings(webhook_url="https://bot.example.ir/khabar", _env_file=None)


async def test_without_webhook_mode_there_is_no_webhook_route(web: Web) -> None:
    status, _ = await web.post("/telegram/webhook", UPDATE, headers={})
    assert status == 404


async def test_set_webhook_gives_telegram_the_endpoint_and_the_secret() -> None:
    telegram = FakeTelegram()
    runner, api = await serve(telegram)
    try:
        async with Bot(TOKEN, base_url=api) as bot:
            for url in ("https://bot.example.ir", "https://bot.example.ir/telegram/webhook/"):
                settings = Settings(webhook_url=url, webhook_secret=SecretStr("hook-secret"))
                await set_webhook(bot, settings)
                assert telegram.webhook["url"] == "https://bot.example.ir/telegram/webhook"
                assert telegram.webhook["secret_token"] == "hook-secret"
                assert telegram.webhook["drop_pending_updates"] in (False, "false")
                assert {"message", "callback_query", "inline_query", "my_chat_member"} <= set(
                    telegram.webhook["allowed_updates"]
                )
    finally:
        await runner.cleanup()
