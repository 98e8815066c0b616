"""The newsroom admins' commands end to end: the bot polling the fake Bot API server over HTTP,
its delivery workers, the real Redis; every answer read as the admin (or a reader, or a
subscriber) sees it. Admins are the users of admin_ids; anyone else gets what an unknown
command gets."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from bot.news.parse import parse_file
from bot.news.persian import to_ascii_digits
from bot.news.styles import Style
from handlers import texts, views
from handlers.callbacks import Action, Callback
from storage.deliveries import Delivery, Status
from storage.subscribers import ChatKind
from tests.conftest import ARTICLES, FIXTURES
from tests.support.bot_harness import Harness, running_bot
from tests.support.fake_telegram import FakeTelegram, Sent, User
from tests.test_delivery import ADMIN, FAST, FAST_SETTINGS, breaking_sent, finished, subscribe

READER = User(1001, "مریم")
CHANNEL, CHANNEL_ID = "@khabar_news", -1001234
PAGE = FIXTURES / "articles" / "hamshahri-265240.txt"
BREAKING = "زلزله ۵ ریشتری در تهران\nمرکز لرزه‌نگاری خبر داد."
OFFER_START = texts.PREVIEW_ARTICLE.split("«", 1)[0]
"""«👆 خبر »: how the question after a stored article's card starts."""
QUIET = 0.5
"""Seconds to wait before asserting that nothing (more) was sent."""
LIMITS = dataclasses.replace(FAST, private_burst=30, private_rate=30)
"""FAST, but an admin (or reader) may get a few answers a second: subscribers get one message
each here, the per-chat pacing of a conversation is not what these tests are about."""


def admin_bot(
    telegram: FakeTelegram | None = None, **settings: Any
) -> AbstractAsyncContextManager[Harness]:
    """The bot with ADMIN as its admin and fast broadcasts (FAST_SETTINGS, then `settings`)."""
    return running_bot(telegram or FakeTelegram(LIMITS), **{**FAST_SETTINGS, **settings})


async def over(h: Harness, delivery_id: str, timeout: float = 10.0) -> Delivery:
    """The delivery once it is over (every chat done), before its report is shown."""
    deadline = time.monotonic() + timeout
    while True:
        delivery = await h.services.outbox.get(delivery_id)
        if delivery is not None and delivery.over:
            return delivery
        if time.monotonic() > deadline:
            raise TimeoutError(f"delivery {delivery_id} is not over: {delivery}")
        await asyncio.sleep(0.02)


def with_channel(telegram: FakeTelegram) -> dict[str, Any]:
    telegram.add_channel(CHANNEL, CHANNEL_ID)
    return {"channel_ids": [CHANNEL]}


async def replies_until(
    h: Harness, chat: int, before: int, last: Callable[[Sent], bool], timeout: float = 5.0
) -> list[Sent]:
    """The bot's messages in the chat after the first `before`, once one of them is `last`."""
    await h.telegram.wait_until(
        lambda: any(last(sent) for sent in h.telegram.messages[chat][before:]), timeout
    )
    return h.telegram.messages[chat][before:]


async def offered(h: Harness, before: int) -> tuple[list[Sent], Sent]:
    """After an article fed in by ADMIN: the card shown, and the «publish or send?» question."""
    *card, question = await replies_until(
        h, ADMIN.id, before, lambda sent: sent.text.startswith(OFFER_START)
    )
    return card, question


async def answer(h: Harness, query_id: str) -> dict[str, Any]:
    await h.telegram.wait_until(lambda: query_id in h.telegram.callback_answers)
    return h.telegram.callback_answers[query_id]


def delivered(h: Harness, chats: range | list[int]) -> dict[int, int]:
    """How many messages each of the chats has now."""
    return {chat: len(h.telegram.chat(chat)) for chat in chats}


def subscribers_sent(h: Harness, chats: range) -> int:
    """Successful sends to the chats so far (from the fake server's log)."""
    return sum(1 for _, chat in h.telegram.send_log if chat in chats)


def persian_number(text: str) -> int:
    return int(to_ascii_digits(text).replace("٬", ""))


def line_number(report: str, pattern: str) -> int:
    """The Persian number the report's line matching `pattern` (with a group) shows."""
    found = re.search(pattern, report, re.M)
    assert found is not None, (pattern, report)
    return persian_number(found.group(1))


# 1. Only admins -----------------------------------------------------------------------------
@pytest.mark.slow
async def test_admin_commands_from_a_reader_get_the_unknown_command_answer() -> None:
    async with admin_bot() as h:
        chats = range(20_001, 20_006)
        await subscribe(h, chats)
        [unknown] = await h.send(READER, "/foo")
        assert unknown.text == texts.UNKNOWN_COMMAND
        for command in (
            f"/breaking {BREAKING}",
            "/breaking",
            "/stats",
            "/post 1",
            "/cancel 1",
            "/retract 1",
        ):
            answers = await h.send(READER, command)
            assert [sent.text for sent in answers] == [texts.UNKNOWN_COMMAND], command
        await asyncio.sleep(QUIET)
        assert [sent.text for sent in h.telegram.chat(READER.id)] == [texts.UNKNOWN_COMMAND] * 7
        assert delivered(h, chats) == dict.fromkeys(chats, 0)
        assert await h.services.outbox.get("1") is None
        assert await h.store.count() == 0
        assert h.telegram.errors == []


@pytest.mark.slow
async def test_an_admin_button_pressed_by_a_reader_is_refused_as_stale() -> None:
    async with admin_bot() as h:
        chats = range(20_101, 20_104)
        await subscribe(h, chats)
        [mine] = await h.send(READER, "/foo")
        forged = await answer(
            h, await h.telegram.press(READER, mine, Callback(Action.SEND_DRAFT, "x").data())
        )
        assert forged.get("text") == texts.STALE_BUTTON
        # The real «✅ ارسال» of an admin's draft, pressed by a reader, sends nothing either.
        *_, question = await h.send(ADMIN, f"/breaking {BREAKING}", replies=2)
        [go, _] = [button["callback_data"] for button in question.buttons]
        stolen = await answer(h, await h.telegram.press(READER, mine, go))
        assert stolen.get("text") == texts.STALE_BUTTON
        await asyncio.sleep(QUIET)
        assert delivered(h, chats) == dict.fromkeys(chats, 0)
        assert mine.text == texts.UNKNOWN_COMMAND and mine.edits == 0
        assert await h.services.outbox.get("1") is None
        # The draft is still the admin's to send.
        await h.press(ADMIN, question, texts.SEND)
        await over(h, "1")
        assert delivered(h, chats) == dict.fromkeys(chats, 1)
        assert h.telegram.errors == []


# 2. /breaking -------------------------------------------------------------------------------
async def test_breaking_alone_asks_for_the_text() -> None:
    async with admin_bot() as h:
        [ask] = await h.send(ADMIN, "/breaking")
        assert ask.text == texts.ASK_BREAKING
        assert h.telegram.errors == []


@pytest.mark.slow
async def test_breaking_previews_the_card_and_discarding_sends_nothing() -> None:
    async with admin_bot() as h:
        chats = range(20_201, 20_204)
        await subscribe(h, chats)
        card, question = await h.send(ADMIN, f"/breaking {BREAKING}", replies=2)
        assert card.text.startswith("🔴 فوری\nزلزله ۵ ریشتری در تهران")
        assert "مرکز لرزه‌نگاری خبر داد." in card.text
        assert question.text == texts.PREVIEW_BREAKING.format(
            subscribers=views.number(3), channels=views.number(0)
        )
        assert [button["text"] for button in question.buttons] == [texts.SEND, texts.DISCARD]
        [go, _] = [button["callback_data"] for button in question.buttons]
        await h.press(ADMIN, question, texts.DISCARD)
        await h.telegram.wait_until(lambda: question.edits == 1)
        assert question.text == texts.DRAFT_DISCARDED
        assert question.buttons == []
        # «✅ ارسال» of the discarded draft (an old copy of the message) finds nothing to send,
        # says so in a notice, and leaves the message as it is.
        query_id = await h.telegram.press(ADMIN, question, go)
        await answer(h, query_id)
        assert h.telegram.callback_answers[query_id].get("text") == texts.DRAFT_GONE
        assert (question.text, question.edits) == (texts.DRAFT_DISCARDED, 1)
        await asyncio.sleep(QUIET)
        assert delivered(h, chats) == dict.fromkeys(chats, 0)
        assert await h.services.outbox.get("1") is None
        assert h.telegram.errors == []


@pytest.mark.slow
async def test_pressing_send_twice_delivers_once() -> None:
    async with admin_bot() as h:
        chats = range(20_301, 20_311)
        await subscribe(h, chats)
        *_, question = await h.send(ADMIN, f"/breaking {BREAKING}", replies=2)
        [go, _] = [button["callback_data"] for button in question.buttons]
        await h.press(ADMIN, question, texts.SEND)
        await h.telegram.wait_until(lambda: question.edits >= 1)
        await answer(h, await h.telegram.press(ADMIN, question, go))
        delivery = await over(h, "1")
        await asyncio.sleep(QUIET)
        assert delivered(h, chats) == dict.fromkeys(chats, 1)
        assert h.telegram.duplicates() == {}
        assert (delivery.counts["sent"], delivery.total) == (10, 10)
        assert await h.services.outbox.get("2") is None, "one delivery, not two"
        assert h.telegram.errors == []


@pytest.mark.slow
async def test_a_second_press_of_send_leaves_the_delivery_report_in_place() -> None:
    async with admin_bot() as h:
        chats = range(20_401, 20_404)
        await subscribe(h, chats)
        *_, question = await h.send(ADMIN, f"/breaking {BREAKING}", replies=2)
        [go, _] = [button["callback_data"] for button in question.buttons]
        await h.press(ADMIN, question, texts.SEND)
        await finished(h, question)
        report = question.text
        edits = question.edits
        await answer(h, await h.telegram.press(ADMIN, question, go))
        await asyncio.sleep(QUIET)
        assert delivered(h, chats) == dict.fromkeys(chats, 1)
        assert question.text == report, "the report of the delivery is gone"
        assert question.edits == edits


# 3. /breaking in reply to a file ------------------------------------------------------------
async def test_breaking_in_reply_to_a_txt_file_previews_that_article() -> None:
    article = parse_file(PAGE)
    async with admin_bot() as h:
        await subscribe(h, range(20_501, 20_503))
        before = len(h.telegram.messages[ADMIN.id])
        page = await h.telegram.send_document(ADMIN, PAGE.name, PAGE.read_bytes())
        await offered(h, before)  # an admin's file is first stored and offered
        before = len(h.telegram.messages[ADMIN.id])
        await h.telegram.send_text(ADMIN, "/breaking", reply_to=page)
        *card, question = await replies_until(
            h, ADMIN.id, before, lambda sent: sent.text.startswith("👆 پیش‌نمایش خبر فوری.")
        )
        assert card and card[0].text.startswith(f"🔴 فوری\n{article.title}\n")
        assert question.text == texts.PREVIEW_BREAKING.format(
            subscribers=views.number(2), channels=views.number(0)
        )
        assert [button["text"] for button in question.buttons] == [texts.SEND, texts.DISCARD]
        await h.press(ADMIN, question, texts.SEND)
        await over(h, "1")
        for chat in range(20_501, 20_503):
            assert h.telegram.chat(chat)[0].text.startswith(f"🔴 فوری\n{article.title}\n")
        assert h.telegram.errors == []


async def test_breaking_in_reply_to_a_utf16_file_previews_it_like_the_file_alone() -> None:
    article = parse_file(PAGE)
    content = PAGE.read_text(encoding="utf-8").encode("utf-16")  # Notepad's «Unicode»
    async with admin_bot() as h:
        before = len(h.telegram.messages[ADMIN.id])
        page = await h.telegram.send_document(ADMIN, "khabar.txt", content)
        card, _ = await offered(h, before)
        assert card[0].text.startswith(article.title), "the file alone is read fine"
        before = len(h.telegram.messages[ADMIN.id])
        await h.telegram.send_text(ADMIN, "/breaking", reply_to=page)
        [first, *_] = await h.telegram.wait_for(ADMIN.id, after=before)
        assert first.text.startswith(f"🔴 فوری\n{article.title}\n"), first.text


# 4. Articles fed in as files; publishing -----------------------------------------------------
@pytest.mark.slow
async def test_an_admins_txt_file_is_stored_offered_and_published_to_the_channel_once() -> None:
    article = parse_file(PAGE)
    telegram = FakeTelegram(LIMITS)
    async with admin_bot(telegram, **with_channel(telegram)) as h:
        before = len(telegram.messages[ADMIN.id])
        await telegram.send_document(ADMIN, PAGE.name, PAGE.read_bytes())
        card, question = await offered(h, before)
        stored = await h.store.get(article.id)
        assert stored is not None and stored.title == article.title
        assert stored.lead == article.lead and stored.paragraphs == article.paragraphs
        assert card[0].text.startswith(article.title)
        assert [sent.html for sent in card] == [p["text"] for p in await h.store.card(stored)]
        assert [button["text"] for button in card[-1].buttons] == [
            texts.READ_MORE,
            texts.SHARE,
            texts.FULL_TEXT,  # a private chat: the whole article, too
        ]
        code = await h.store.links.code(article.id)
        assert code is not None
        assert question.text == texts.PREVIEW_ARTICLE.format(title=article.title, code=code)
        assert [button["text"] for button in question.buttons] == [
            texts.PUBLISH,
            texts.SEND_BREAKING,
        ]
        before = len(telegram.messages[ADMIN.id])
        await h.press(ADMIN, question, texts.PUBLISH)
        posting, progress = await telegram.wait_for(ADMIN.id, 2, after=before)
        assert posting.text == texts.POSTING.format(title=article.title, channels="۱", id="۱")
        await finished(h, progress)
        assert progress.text.splitlines()[0] == "📢 انتشار در کانال‌ها، ارسال شماره ۱ تمام شد."
        in_channel = telegram.chat(CHANNEL_ID)
        # The channel's card (KHABAR_CHANNEL_CARD: photo, and text without a picture).
        [posted] = await h.store.styled_card(stored, Style.TEXT)
        assert [sent.html for sent in in_channel] == [posted["text"]]
        [again] = await h.send(ADMIN, f"/post {code}")
        assert again.text == texts.ALREADY_POSTED
        before = len(telegram.messages[ADMIN.id])
        await h.press(ADMIN, question, texts.PUBLISH)
        [twice] = await telegram.wait_for(ADMIN.id, after=before)
        assert twice.text == texts.ALREADY_POSTED
        await asyncio.sleep(QUIET)
        assert len(telegram.chat(CHANNEL_ID)) == len(card), "posted exactly once"
        assert CHANNEL_ID not in telegram.duplicates()
        assert telegram.errors == []


async def test_send_breaking_on_a_stored_article_previews_and_sends_it_as_breaking() -> None:
    article = parse_file(PAGE)
    async with admin_bot() as h:
        chats = range(20_601, 20_604)
        await subscribe(h, chats)
        before = len(h.telegram.messages[ADMIN.id])
        await h.telegram.send_document(ADMIN, PAGE.name, PAGE.read_bytes())
        card, offer = await offered(h, before)
        assert not card[0].text.startswith("🔴")
        before = len(h.telegram.messages[ADMIN.id])
        await h.press(ADMIN, offer, texts.SEND_BREAKING)
        *preview, question = await replies_until(
            h, ADMIN.id, before, lambda sent: sent.text.startswith("👆 پیش‌نمایش خبر فوری.")
        )
        assert preview[0].text.startswith(f"🔴 فوری\n{article.title}\n")
        await h.press(ADMIN, question, texts.SEND)
        await over(h, "1")
        for chat in chats:
            [got, *_] = h.telegram.chat(chat)
            assert got.text.startswith(f"🔴 فوری\n{article.title}\n"), "the breaking card"
        assert h.telegram.errors == []


# 5. Files that are not articles ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        (
            "scan.txt",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
            "binary data, not article text",
        ),
        (
            "notes.txt",
            b"Meeting notes\nBring the slides\nCall the printer back on Monday\n",
            "no Persian text: this is not a Persian news article",
        ),
        ("big.txt", "سلام\n".encode() * 150_000, "larger than 1 MB"),
    ],
    ids=["binary", "not-persian", "over-1-MB"],
)
@pytest.mark.slow
async def test_a_txt_file_that_is_not_an_article_is_refused_with_the_problem(
    name: str,
    content: bytes,
    problem: str,
) -> None:
    async with admin_bot() as h:
        before = len(h.telegram.messages[ADMIN.id])
        await h.telegram.send_document(ADMIN, name, content)
        [refused] = await h.telegram.wait_for(ADMIN.id, after=before)
        assert refused.text == texts.NOT_AN_ARTICLE.format(problem=problem)
        await asyncio.sleep(QUIET)
        assert len(h.telegram.chat(ADMIN.id)) == before + 1
        assert await h.store.count() == 0
        [still] = await h.send(ADMIN, "/breaking")  # the bot goes on answering
        assert still.text == texts.ASK_BREAKING
        assert h.telegram.errors == []


async def test_a_document_that_is_not_txt_is_refused_with_the_problem() -> None:
    async with admin_bot() as h:
        before = len(h.telegram.messages[ADMIN.id])
        await h.telegram.send_document(
            ADMIN, "photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", mime_type="image/jpeg"
        )
        [refused] = await h.telegram.wait_for(ADMIN.id, after=before, timeout=1)
        assert refused.text.startswith(texts.NOT_AN_ARTICLE.format(problem=""))


# 6. Pasted text --------------------------------------------------------------------------------
async def test_an_admins_pasted_article_is_stored_and_offered_like_a_file() -> None:
    article = parse_file(PAGE)
    async with admin_bot() as h:
        before = len(h.telegram.messages[ADMIN.id])
        await h.telegram.send_text(ADMIN, PAGE.read_text(encoding="utf-8"))
        card, question = await offered(h, before)
        stored = await h.store.get(article.id)
        assert stored is not None
        assert (stored.title, stored.lead, stored.paragraphs) == (
            article.title,
            article.lead,
            article.paragraphs,
        )
        assert card[0].text.startswith(article.title)
        code = await h.store.links.code(article.id)
        assert code is not None
        assert question.text == texts.PREVIEW_ARTICLE.format(title=article.title, code=code)
        assert [button["text"] for button in question.buttons] == [
            texts.PUBLISH,
            texts.SEND_BREAKING,
        ]
        assert h.telegram.errors == []


async def test_an_admins_short_text_is_a_search_like_a_readers() -> None:
    async with admin_bot() as h:
        await h.store.save_many([parse_file(path) for path in ARTICLES], announce=False)
        [found] = await h.send(ADMIN, "مترو")
        assert found.text.splitlines()[0] == texts.SEARCH_TITLE.format(query="مترو")
        [same] = await h.send(READER, "مترو")
        assert same.text == found.text
        [none] = await h.send(ADMIN, "زلزله")
        assert none.text == texts.NO_RESULTS.format(query="زلزله")
        assert await h.store.count() == len(ARTICLES), "nothing stored"
        assert h.telegram.errors == []


# 7. /stats -------------------------------------------------------------------------------------
@pytest.mark.slow
async def test_stats_shows_subscribers_by_kind_articles_and_running_deliveries() -> None:
    telegram = FakeTelegram(LIMITS)
    async with admin_bot(telegram, broadcast_rate=2, **with_channel(telegram)) as h:
        private = range(20_701, 20_706)
        await subscribe(h, private)
        telegram.add_group(-700, "group")
        await h.services.subscribers.subscribe(-700, ChatKind.GROUP)
        await h.store.save_many([parse_file(path) for path in ARTICLES], announce=False)
        [idle] = await h.send(ADMIN, "/stats")
        assert idle.text == texts.STATS.format(
            subscribers=views.number(6),
            private=views.number(5),
            groups=views.number(1),
            channels=views.number(1),
            articles=views.number(len(ARTICLES)),
            running=views.number(0),
            depth=views.number(0),
            error=texts.NO_ERROR,
        )
        await breaking_sent(h, BREAKING)  # 7 chats at 5 a second
        while (most := await h.services.outbox.depth()) >= 7:
            await asyncio.sleep(0.01)
        [busy] = await h.send(ADMIN, "/stats")
        least = await h.services.outbox.depth()
        lines = busy.text.splitlines()
        assert lines[2] == "👥 مشترکان: ۶ (خصوصی ۵، گروه ۱)"
        assert lines[3] == "📢 کانال‌ها: ۱"
        assert lines[4] == f"📰 خبرهای ذخیره‌شده: {views.number(len(ARTICLES) + 1)}"
        assert lines[5] == "🚚 ارسال‌های در جریان: ۱"
        assert most > 0, "not over yet"
        assert least <= line_number(busy.text, r"^📬 صف ارسال: (\S+) پیام$") <= most
        await over(h, "1")
        [done] = await h.send(ADMIN, "/stats")
        assert "🚚 ارسال‌های در جریان: ۰" in done.text.splitlines()
        assert "📬 صف ارسال: ۰ پیام" in done.text.splitlines()
        assert telegram.errors == []


# 8. /cancel and ⏹ ------------------------------------------------------------------------------
CANCEL_CHATS = range(21_001, 21_301)
STEADY = 50
"""A broadcast_rate: CANCEL_CHATS in six seconds, unless cancelled."""


async def started(h: Harness, chats: range, at_least: int = 5) -> Sent:
    """A breaking delivery to `chats` under way (at least `at_least` sent); its progress."""
    await subscribe(h, chats)
    progress = await breaking_sent(h, BREAKING)
    await h.telegram.wait_until(lambda: subscribers_sent(h, chats) >= at_least)
    return progress


@pytest.mark.slow
async def test_cancel_stops_a_running_delivery_and_reports_the_skipped_chats() -> None:
    async with admin_bot(broadcast_rate=STEADY) as h:
        progress = await started(h, CANCEL_CHATS)
        [cancelled] = await h.send(ADMIN, "/cancel ۱")
        assert cancelled.text == texts.CANCELLED.format(id="۱")
        await finished(h, progress, timeout=10)
        report = progress.text
        assert report.splitlines()[0] == "⏹ ارسال خبر فوری شماره ۱ متوقف شد."
        got = [chat for chat in CANCEL_CHATS if h.telegram.chat(chat)]
        assert len(got) < len(CANCEL_CHATS) // 2
        assert f"✅ رسید: {views.number(len(got))} از ۳۰۰" in report.splitlines()
        assert (
            texts.SKIPPED_LINE.format(skipped=views.number(len(CANCEL_CHATS) - len(got))) in report
        )
        await asyncio.sleep(QUIET)
        assert [chat for chat in CANCEL_CHATS if h.telegram.chat(chat)] == got, "nothing after"
        assert progress.text == report
        delivery = await h.services.outbox.get("1")
        assert delivery is not None and delivery.status is Status.DONE
        assert delivery.counts["skipped"] == len(CANCEL_CHATS) - len(got)
        [again] = await h.send(ADMIN, "/cancel 1")
        assert again.text == texts.NOT_RUNNING.format(id="۱")
        [unknown] = await h.send(ADMIN, "/cancel 99")
        assert unknown.text == texts.NO_DELIVERY.format(id="99")
        [ask] = await h.send(ADMIN, "/cancel")
        assert ask.text == texts.ASK_DELIVERY.format(command="cancel")
        assert h.telegram.duplicates() == {}
        assert h.telegram.errors == []


@pytest.mark.slow
async def test_the_stop_button_under_the_progress_cancels_the_delivery() -> None:
    async with admin_bot(broadcast_rate=STEADY) as h:
        progress = await started(h, CANCEL_CHATS)
        assert [button["text"] for button in progress.buttons] == [texts.STOP]
        before = len(h.telegram.messages[ADMIN.id])
        await h.press(ADMIN, progress, texts.STOP)
        [cancelled] = await h.telegram.wait_for(ADMIN.id, after=before)
        assert cancelled.text == texts.CANCELLED.format(id="۱")
        await finished(h, progress, timeout=10)
        assert progress.text.splitlines()[0] == "⏹ ارسال خبر فوری شماره ۱ متوقف شد."
        assert progress.buttons == []
        got = sum(1 for chat in CANCEL_CHATS if h.telegram.chat(chat))
        assert got < len(CANCEL_CHATS) // 2
        assert texts.SKIPPED_LINE.format(skipped=views.number(300 - got)) in progress.text
        assert h.telegram.errors == []


@pytest.mark.slow
async def test_no_chat_gets_the_card_once_the_cancel_is_noticed() -> None:
    async with admin_bot(broadcast_rate=20) as h:
        chats = range(21_501, 21_901)  # 20 s at 20 a second
        await started(h, chats, at_least=2)
        [cancelled] = await h.send(ADMIN, "/cancel 1")
        assert cancelled.text == texts.CANCELLED.format(id="۱")
        await asyncio.sleep(1.3)  # the workers look at the deliveries' statuses every second
        noticed = subscribers_sent(h, chats)
        await asyncio.sleep(1.0)
        assert subscribers_sent(h, chats) == noticed, "sent after the cancel was noticed"


@pytest.mark.slow
async def test_the_report_of_a_cancelled_delivery_gives_the_rate_of_messages_sent() -> None:
    async with admin_bot(broadcast_rate=STEADY) as h:
        progress = await started(h, CANCEL_CHATS)
        await h.send(ADMIN, "/cancel 1")
        await finished(h, progress, timeout=10)
        delivery = await h.services.outbox.get("1")
        assert delivery is not None and delivery.finished is not None
        elapsed = max(1.0, delivery.finished - delivery.created)
        sent = sum(1 for chat in CANCEL_CHATS if h.telegram.chat(chat))
        shown = line_number(progress.text, r"میانگین (\S+) پیام در ثانیه")
        assert shown <= sent / elapsed + 1, (shown, sent, elapsed)


# 9. /retract -----------------------------------------------------------------------------------
@pytest.mark.slow
async def test_retract_deletes_every_message_the_delivery_sent() -> None:
    async with admin_bot() as h:
        chats = range(22_001, 22_021)
        await subscribe(h, chats)
        await breaking_sent(h, BREAKING)
        await over(h, "1")
        sent = {chat: list(h.telegram.chat(chat)) for chat in chats}
        assert all(len(messages) == 1 for messages in sent.values())
        retracting, retraction = await h.send(ADMIN, "/retract 1", replies=2)
        assert retracting.text == texts.RETRACTING.format(id="۱", retraction="۲")
        await finished(h, retraction)
        for chat in chats:
            assert h.telegram.chat(chat) == []
            assert h.telegram.deleted_in(chat) == sent[chat]
        lines = retraction.text.splitlines()
        assert lines[0] == "🗑 حذف پیام‌های ارسال شماره ۱ تمام شد."
        assert lines[1] == "«زلزله ۵ ریشتری در تهران»"
        assert "🗑 حذف شد: ۲۰ از ۲۰" in lines
        assert "⚠️ ناموفق: ۰" in lines
        assert "/retract" not in retraction.text, "no «retract this» under a retraction"
        [nothing] = await h.send(ADMIN, "/retract 2")
        assert nothing.text == texts.NOTHING_TO_RETRACT.format(id="۲")
        [unknown] = await h.send(ADMIN, "/retract 7")
        assert unknown.text == texts.NO_DELIVERY.format(id="7")
        assert h.telegram.deleted == 20
        assert h.telegram.errors == []


async def test_retracting_a_delivery_twice_says_there_is_nothing_left() -> None:
    async with admin_bot() as h:
        chats = range(22_101, 22_106)
        await subscribe(h, chats)
        await breaking_sent(h, BREAKING)
        await over(h, "1")
        await h.send(ADMIN, "/retract 1", replies=2)
        await over(h, "2")
        assert h.telegram.deleted == 5
        [again, *_] = await h.send(ADMIN, "/retract 1")
        assert again.text == texts.NOTHING_TO_RETRACT.format(id="۱")


# 10. Progress ----------------------------------------------------------------------------------
PROGRESS_LINES = re.compile(
    r"🔴 ارسال خبر فوری شماره ۱\n«زلزله ۵ ریشتری در تهران»\n\n"
    r"(?P<bar>[▓░]{12}) (?P<percent>[۰-۹]+)٪\n"
    r"✅ رسید: (?P<sent>[۰-۹]+) از ۶۰\n"
    r"🚫 ربات را مسدود کرده‌اند یا دیگر نیستند: ۰\n"
    r"⚠️ ناموفق: ۰\n"
    r"⏱ سرعت: (?P<rate>[۰-۹]+|…) پیام در ثانیه · زمان باقی‌مانده: (?P<left>.+)"
)


@pytest.mark.slow
async def test_progress_is_edited_every_few_seconds_then_replaced_by_the_report() -> None:
    # The period is a setting (3 s by default); 1 s here keeps the test short.
    async with admin_bot(broadcast_rate=10, progress_seconds=1.0) as h:
        chats = range(23_001, 23_061)
        await subscribe(h, chats)
        progress = await breaking_sent(h, BREAKING)
        start, edits = time.monotonic(), progress.edits
        shown: list[tuple[float, str]] = [(start, progress.text)]  # as the press left it
        in_two = None
        while "تمام شد" not in progress.text and time.monotonic() - start < 15:
            if progress.edits != edits:
                edits = progress.edits
                shown.append((time.monotonic(), progress.text))
            if in_two is None and time.monotonic() - start >= 2.0:
                in_two = len(shown) - 1
            await asyncio.sleep(0.02)
        assert "تمام شد" in progress.text, progress.text  # the report, not kept in `shown`
        assert in_two is not None and 1 <= in_two <= 3, [when - start for when, _ in shown]
        assert len(shown) >= 4, "a delivery of 6 s shows its progress a few times"
        gaps = [b - a for (a, _), (b, _) in itertools.pairwise(shown[1:])]
        assert all(gap >= 0.8 for gap in gaps), gaps
        counts = []
        for _, text in shown:
            match = PROGRESS_LINES.fullmatch(text)
            assert match is not None, text
            sent = persian_number(match["sent"])
            assert match["bar"] == views.bar(sent, 60)
            assert persian_number(match["percent"]) == 100 * sent // 60
            if match["rate"] == "…":
                assert match["left"] == texts.UNKNOWN_TIME
            else:
                assert re.fullmatch(r"[۰-۹]+ ثانیه", match["left"]), match["left"]
            counts.append(sent)
        assert counts == sorted(counts) and counts[-1] > counts[0] >= 0
        assert counts[-1] < 60
        rates = [
            persian_number(m["rate"])
            for _, text in shown[1:]
            if (m := PROGRESS_LINES.fullmatch(text)) and m["rate"] != "…"
        ]
        assert rates and all(8 <= rate <= 12 for rate in rates), rates  # broadcast_rate 10
        lines = progress.text.splitlines()
        assert lines[0] == "🔴 ارسال خبر فوری شماره ۱ تمام شد."
        assert lines[1] == "«زلزله ۵ ریشتری در تهران»"
        assert "✅ رسید: ۶۰ از ۶۰" in lines
        assert re.search(
            r"^⏱ مدت: [۰-۹]+ ثانیه · میانگین [۰-۹]+ پیام در ثانیه$", progress.text, re.M
        )
        assert "برای حذف این خبر از همه گفت‌وگوها: /retract 1" in progress.text
        assert progress.buttons == []
        assert h.telegram.errors == []


# 11. Groups that became supergroups ----------------------------------------------------------
async def test_a_migrated_group_gets_the_breaking_news_under_its_new_id() -> None:
    async with admin_bot() as h:
        h.telegram.add_group(-500, "group")
        await h.services.subscribers.subscribe(-500, ChatKind.GROUP)
        h.telegram.migrate(-500, -1009999)
        await breaking_sent(h, BREAKING)
        delivery = await over(h, "1")
        [got] = h.telegram.chat(-1009999)
        assert got.text.startswith("🔴 فوری\nزلزله ۵ ریشتری در تهران")
        assert h.telegram.chat(-500) == []
        moved = await h.services.subscribers.get(-1009999)
        assert moved is not None and moved.kind is ChatKind.GROUP
        assert await h.services.subscribers.get(-500) is None
        assert await h.services.subscribers.count() == 1
        assert (delivery.counts["sent"], delivery.total) == (1, 1)
        upgraded = ("sendMessage", "Bad Request: group chat was upgraded to a supergroup chat")
        assert upgraded in h.telegram.errors, "it was sent to the old id first"
        assert {description for _, description in h.telegram.errors} <= {
            "Bad Request: group chat was upgraded to a supergroup chat"
        }
