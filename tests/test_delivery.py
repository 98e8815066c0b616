"""Breaking news and channel posts end to end: the bot polling the fake Bot API server (which
enforces Telegram's rates and refuses blocked chats), delivery workers, the real Redis."""

from __future__ import annotations

import asyncio

import pytest

from bot.delivery.start import start_breaking
from bot.news.article import Article
from handlers import texts
from handlers.common import card_with_buttons
from storage.deliveries import Status
from storage.subscribers import ChatKind
from tests.support.bot_harness import Harness, running_bot
from tests.support.fake_telegram import FakeTelegram, Limits, Sent, User

ADMIN = User(42, "سردبیر")
FAST = Limits(
    global_burst=400,
    global_rate=400,
    private_burst=3,
    private_rate=1,
    group_burst=20,
    group_rate=20 / 60,
    paid_burst=400,
    paid_rate=400,
)
"""Telegram's per-chat limits; a bot-wide ceiling high enough for tests to be quick."""
FAST_SETTINGS = {"admin_ids": [ADMIN.id], "paid_broadcast": True, "broadcast_rate": 300}


async def subscribe(h: Harness, chats: range, blocked_every: int = 0) -> set[int]:
    """Private chats that subscribed (the fake server knows them); returns those blocked."""
    h.telegram.add_private_chats(chats)
    for chat in chats:
        await h.services.subscribers.subscribe(chat, ChatKind.PRIVATE)
    blocked = {c for n, c in enumerate(chats, 1) if blocked_every and n % blocked_every == 0}
    h.telegram.blocked |= blocked
    return blocked


async def breaking_sent(h: Harness, text: str) -> Sent:
    """The admin writes /breaking and presses «✅ ارسال»; the progress message."""
    replies = await h.send(ADMIN, f"/breaking {text}", replies=2)
    question = replies[-1]
    assert question.text.startswith("👆 پیش‌نمایش خبر فوری.")
    await h.press(ADMIN, question, texts.SEND)
    await h.telegram.wait_until(lambda: question.edits >= 1, timeout=10)
    return question


async def finished(h: Harness, progress: Sent, timeout: float = 15) -> None:
    try:
        await h.telegram.wait_until(
            lambda: "تمام شد" in progress.text or "متوقف شد" in progress.text, timeout=timeout
        )
    except TimeoutError:
        print(progress.text, h.telegram.stats(), await h.services.outbox.active())
        raise


@pytest.mark.slow
async def test_a_breaking_delivery_reaches_every_subscriber_exactly_once() -> None:
    telegram = FakeTelegram(FAST)
    async with running_bot(telegram, **FAST_SETTINGS) as h:
        chats = range(10_001, 10_501)
        blocked = await subscribe(h, chats, blocked_every=25)
        progress = await breaking_sent(h, "زلزله ۵ ریشتری در تهران\nمرکز لرزه‌نگاری خبر داد.")
        await finished(h, progress)
        for chat in chats:
            got = telegram.chat(chat)
            if chat in blocked:
                assert got == []
            else:
                assert len(got) == 1, chat
                assert got[0].text.startswith("🔴 فوری\nزلزله ۵ ریشتری در تهران")
        assert telegram.duplicates() == {}
        assert await h.services.subscribers.count() == 500 - len(blocked)
        lines = progress.text.splitlines()
        assert lines[0] == "🔴 ارسال خبر فوری شماره ۱ تمام شد."
        assert "✅ رسید: ۴۸۰ از ۵۰۰" in lines
        assert any(line.startswith("🚫") and line.endswith(": ۲۰") for line in lines)
        assert "برای حذف این خبر از همه گفت‌وگوها: /retract 1" in progress.text
        assert telegram.rate_limited == 0
        delivery = await h.services.outbox.get("1")
        assert delivery is not None and delivery.status is Status.DONE
        assert [e for e in telegram.errors if "blocked" not in e[1]] == []


@pytest.mark.slow
async def test_readers_are_answered_first_while_a_broadcast_uses_the_whole_rate() -> None:
    telegram = FakeTelegram(Limits())  # Telegram's own: 30 messages/s for the whole bot
    async with running_bot(telegram, admin_ids=[ADMIN.id], broadcast_rate=30) as h:
        await subscribe(h, range(30_001, 30_181))
        await breaking_sent(h, "قطعی برق در شمال تهران\nبرق تا ساعت ۱۸ وصل می‌شود.")
        await h.telegram.wait_until(lambda: len(telegram.send_log) > 40, timeout=10)
        waits = []
        for reader in range(8001, 8011):
            start = asyncio.get_running_loop().time()
            [reply] = await h.send(reader, "/help")
            waits.append(asyncio.get_running_loop().time() - start)
            assert reply.text.startswith("راهنمای «خبر»")
        assert max(waits) < 0.5, waits
        assert telegram.rate_limited == 0, "replies and broadcast together stayed within 30/s"


@pytest.mark.slow
async def test_network_errors_are_retried_until_the_chat_gets_its_card() -> None:
    telegram = FakeTelegram(FAST)
    async with running_bot(telegram, **FAST_SETTINGS, retry_max_seconds=0.3) as h:
        chats = range(40_001, 40_011)
        await subscribe(h, chats)
        telegram.failing[40_001] = 2  # two 502s, then it goes through
        telegram.failing[40_002] = 12  # an outage of this chat's requests: waited out
        progress = await breaking_sent(h, "سیل در گلستان\nجاده‌های استان بسته شد.")
        await finished(h, progress, timeout=30)
        assert all(len(telegram.chat(chat)) == 1 for chat in chats)
        assert telegram.failing[40_002] == 0, "every failure was met by a retry"
        assert "✅ رسید: ۱۰ از ۱۰" in progress.text
        assert "⚠️ ناموفق: ۰" in progress.text


@pytest.mark.slow
async def test_a_card_of_two_messages_reaches_each_chat_whole_and_in_order() -> None:
    telegram = FakeTelegram(FAST)
    async with running_bot(telegram, **FAST_SETTINGS) as h:
        chats = range(41_001, 41_021)
        await subscribe(h, chats)
        body = [f"بند {n}: " + "گزارش مفصل خبرنگار ما از جلسه شورای شهر. " * 40 for n in range(6)]
        article = Article(
            id="long1",
            title="جلسه طولانی شورای شهر تهران",
            lead="شورا تا نیمه‌شب نشست.",
            paragraphs=body,
            breaking=True,
        )
        await h.store.save(article, announce=False)
        messages = await card_with_buttons(h.services, article)
        assert len(messages) == 2
        delivery = await start_breaking(
            h.services.outbox, h.services.settings, article, messages, None
        )
        assert delivery is not None
        await telegram.wait_until(lambda: all(len(telegram.chat(c)) == 2 for c in chats), 20)
        for chat in chats:
            first, second = telegram.chat(chat)
            assert first.message_id < second.message_id
            assert first.text.startswith("🔴 فوری\nجلسه طولانی شورای شهر تهران")
            assert first.buttons == [] and second.buttons, "the buttons under the last"
        assert telegram.duplicates() == {}
