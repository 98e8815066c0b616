"""The replies' side of the one message budget, against a strict Bot API (sliding windows:
30 messages in any second for the bot, 5 in any second to a private chat, 20 in any minute
to a group): a reader who floods gets a few answers and one notice, never a 429; replies to
many readers at once wait their turn; a 429 is waited out exactly."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.news.article import Article, Quote
from handlers import texts
from tests.support.bot_harness import running_bot
from tests.support.fake_telegram import FakeTelegram, User

FLOODER = User(5001, "سینا")


@pytest.mark.slow
async def test_thirty_commands_in_a_burst_get_a_few_answers_one_notice_and_no_429() -> None:
    telegram = FakeTelegram(strict=True)
    async with running_bot(telegram) as h:
        for _ in range(30):
            await telegram.send_text(FLOODER, "/help")
        await asyncio.sleep(9)  # 8 answers at about one a second
        shown = [m.text for m in telegram.chat(FLOODER.id)]
        assert telegram.rate_limited == 0
        assert shown.count(texts.SLOW_DOWN) == 1
        assert 3 <= len(shown) <= 9, len(shown)
        assert h.telegram.errors == []


@pytest.mark.slow
async def test_readers_of_one_group_are_answered_within_its_twenty_a_minute() -> None:
    telegram = FakeTelegram(strict=True)
    group = -4242
    telegram.add_group(group)
    async with running_bot(telegram) as h:
        readers = [User(6000 + n, f"خواننده {n}") for n in range(6)]
        start = time.monotonic()
        for reader in readers:
            await telegram.send_text(reader, "/help", chat_id=group, chat_type="supergroup")
        await telegram.wait_for(group, count=6, timeout=30)
        assert telegram.rate_limited == 0
        took = time.monotonic() - start
        assert took >= 3.5, "past the first three, one every 3.75 s"
        assert h.telegram.errors == []


async def test_a_429_to_a_reply_pauses_it_for_exactly_retry_after_then_it_goes() -> None:
    telegram = FakeTelegram(strict=True)
    async with running_bot(telegram) as h:
        telegram.flood(2)
        start = time.monotonic()
        await telegram.send_text(FLOODER, "/help")
        [answer] = await telegram.wait_for(FLOODER.id, timeout=10)
        assert answer.text.startswith("راهنمای «خبر»")
        assert time.monotonic() - start >= 1.9
        assert await h.services.limiter.paused_for() > 0 or time.monotonic() - start >= 2


@pytest.mark.slow
async def test_an_article_of_3000_quotes_does_not_hold_up_another_reader() -> None:
    telegram = FakeTelegram(strict=True)
    async with running_bot(telegram) as h:
        huge = Article(
            id="q3000",
            title="سه هزار نقل قول",
            lead="گزارشی با نقل قول‌های فراوان.",
            quotes=[
                Quote(speaker=f"سخنگوی {n}", text=f"جمله شماره {n} از گفت‌وگوی طولانی امروز.")
                for n in range(3000)
            ],
        )
        await h.services.store.save(huge, announce=False)
        code = await h.services.store.links.code(huge.id)
        other = User(5101, "نرگس")
        start = time.monotonic()
        await telegram.send_text(FLOODER, f"/link {code}")
        await asyncio.sleep(0.05)
        answered = time.monotonic()
        await telegram.send_text(other, "/help")
        await telegram.wait_for(other.id, timeout=10)
        assert time.monotonic() - answered < 1.0
        [card, *_] = await telegram.wait_for(FLOODER.id, timeout=20, after=0)
        assert "سه هزار نقل قول" in card.text
        assert time.monotonic() - start < 10
        assert h.telegram.errors == []
