"""Channel posting: every article stored from any source goes to each channel once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.delivery.start import post_to_channels
from bot.news.article import TEHRAN, Article
from bot.news.card import payloads
from handlers import texts
from storage.subscribers import ChatKind
from tests.support.bot_harness import Harness, running_bot
from tests.support.fake_telegram import FakeTelegram
from tests.test_delivery import ADMIN, FAST, FAST_SETTINGS, breaking_sent, finished

CHANNEL = "@khabar_news"
CHANNEL_ID = -1001234
OTHER = "@khabar_sport"
OTHER_ID = -1005678


def news(article_id: str, title: str, hours_ago: float = 1) -> Article:
    return Article(
        id=article_id,
        title=title,
        lead="گزارش خبرنگار ما از محل.",
        published=datetime.now(TEHRAN) - timedelta(hours=hours_ago),
    )


def with_channels() -> FakeTelegram:
    telegram = FakeTelegram(FAST)
    telegram.add_channel(CHANNEL, CHANNEL_ID)
    telegram.add_channel(OTHER, OTHER_ID)
    return telegram


async def posts(h: Harness, chat: int, count: int) -> list[str]:
    await h.telegram.wait_until(lambda: len(h.telegram.chat(chat)) >= count, timeout=15)
    await asyncio.sleep(0.5)  # and nothing more comes
    return [sent.text.splitlines()[0] for sent in h.telegram.chat(chat)]


@pytest.mark.slow
async def test_every_new_article_goes_to_each_channel_once() -> None:
    settings = {**FAST_SETTINGS, "channel_ids": [CHANNEL, OTHER]}
    async with running_bot(with_channels(), **settings) as h:
        first, second = news("n1", "افتتاح خط هفت مترو"), news("n2", "بارش برف در البرز")
        await h.store.save_many([first, second])
        await h.store.save(first)  # the same again: nothing new
        await h.store.save(second.model_copy(update={"lead": "راه چالوس بسته شد."}))  # updated
        for chat in (CHANNEL_ID, OTHER_ID):
            assert sorted(await posts(h, chat, 2)) == ["افتتاح خط هفت مترو", "بارش برف در البرز"]
        card = h.telegram.chat(CHANNEL_ID)[0]
        assert [b["text"] for b in card.buttons] == [texts.READ_MORE, texts.SHARE]
        assert h.telegram.duplicates() == {}


@pytest.mark.slow
async def test_archive_articles_are_not_posted() -> None:
    async with running_bot(with_channels(), **FAST_SETTINGS, channel_ids=[CHANNEL]) as h:
        await h.store.save_many(
            [news("old", "خبر سال گذشته", hours_ago=24 * 400), news("new", "خبر امروز")]
        )
        assert await posts(h, CHANNEL_ID, 1) == ["خبر امروز"]


@pytest.mark.slow
async def test_a_breaking_item_reaches_the_channel_once_with_the_subscribers() -> None:
    async with running_bot(with_channels(), **FAST_SETTINGS, channel_ids=[CHANNEL]) as h:
        h.telegram.add_private_chats([7001])
        await h.services.subscribers.subscribe(7001, ChatKind.PRIVATE)
        progress = await breaking_sent(h, "آتش‌سوزی در بازار تهران\nآتش‌نشانان در محل هستند.")
        await finished(h, progress)
        assert await posts(h, CHANNEL_ID, 1) == ["🔴 فوری"]
        assert len(h.telegram.chat(7001)) == 1
        code = h.telegram.chat(7001)[0].buttons[1]["switch_inline_query"]
        [reply] = await h.send(ADMIN, f"/post {code}")
        assert reply.text == texts.ALREADY_POSTED


@pytest.mark.slow
async def test_two_processes_posting_one_article_post_it_once() -> None:
    async with running_bot(with_channels(), **FAST_SETTINGS, channel_ids=[CHANNEL]) as h:
        article = news("race", "خبر همزمان")
        await h.store.save(article, announce=False)
        s = h.services
        made = await asyncio.gather(
            *(post_to_channels(s.outbox, s.settings, article, payloads(article)) for _ in range(4))
        )
        assert sum(1 for delivery in made if delivery is not None) == 1
        assert await posts(h, CHANNEL_ID, 1) == ["خبر همزمان"]
