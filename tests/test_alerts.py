"""Alerts over real HTTP (the fake Bot API, strict: any 429 is a failure) and real Redis: a
reader's words, a group admin's, topics; articles from any source, once per chat with their
reason line; digests and quiet hours at an injected time; limits; a chat that blocked the bot."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.app.serve import card_maker
from bot.delivery.alerts import AlertSender, AlertWording
from bot.news.article import TEHRAN, Article
from handlers import alert_views as views
from handlers import texts
from storage.alert_terms import parse_alert
from storage.alerts import AlertStore
from tests.support.bot_harness import Harness, running_bot
from tests.support.fake_telegram import FakeTelegram, Sent, User
from tests.test_delivery import breaking_sent, finished
from tests.test_web import AUTH, serving

READER = User(5001)
OTHER = User(5002)
ADMIN = User(42, "سردبیر")


def news(
    article_id: str, title: str, lead: str = "گزارش خبرنگار ما از محل.", **fields: object
) -> Article:
    return Article.model_validate(
        {
            "id": article_id,
            "title": title,
            "lead": lead,
            "published": datetime.now(TEHRAN) - timedelta(minutes=5),
            **fields,
        }
    )


def store_of(h: Harness) -> AlertStore:
    return AlertStore(h.services.redis, h.store.keys)


async def matcher_ready(h: Harness) -> None:
    """The matcher reads from the end of the new-articles stream once it holds its lease."""
    keys = h.store.keys
    for _ in range(100):
        if await h.services.redis.exists(keys.new_articles()):
            groups = await h.services.redis.xinfo_groups(keys.new_articles())
            if any(group["name"] == "alerts" for group in groups):
                return
        await asyncio.sleep(0.05)
    raise TimeoutError("the alert matcher did not start")


async def follow(h: Harness, user: User, words: str, chat_id: int | None = None) -> Sent:
    [answer] = await h.send(user, f"/alert {words}", chat_id=chat_id)
    return answer


async def arrived(h: Harness, chat: int, count: int, timeout: float = 10) -> list[Sent]:
    """The chat's messages once it has `count`, and nothing more comes for a moment."""
    await h.telegram.wait_until(lambda: len(h.telegram.chat(chat)) >= count, timeout=timeout)
    await asyncio.sleep(0.7)
    return h.telegram.chat(chat)


AWAKE = {"alert_quiet_hours": "0-0"}
"""Quiet hours off: these tests run at any hour (the digest test sets its own clock)."""


def strict() -> FakeTelegram:
    return FakeTelegram(strict=True)


@pytest.mark.slow
async def test_an_alert_gets_each_matching_article_once_with_its_reason() -> None:
    telegram = strict()
    async with running_bot(telegram, **AWAKE, admin_ids=[ADMIN.id]) as h:
        await h.store.save(news("old", "زلزله در بم", published="2003-12-26"), announce=False)
        answer = await follow(h, READER, "زلزله")
        assert answer.text.startswith("🔔 هشدار «زلزله» ذخیره شد.")
        assert "زلزله در بم" in answer.text  # the last matching articles, as a preview
        await follow(h, OTHER, "سیل")
        await matcher_ready(h)
        # Spelling variants: a plural with a half-space, Arabic yeh and kaf.
        await h.store.save(news("n1", "زلزله‌ها در كرمان", "خسارت‌ها هنوز برآورد نشده."))
        await h.store.save(news("n2", "افتتاح خط هفت مترو"))
        await h.store.save(news("n1", "زلزله‌ها در كرمان", "خسارت‌ها هنوز برآورد نشده."))
        messages = await arrived(h, READER.id, 2)
        alert = messages[1]
        assert alert.text.startswith("🔔 به‌خاطر هشدار: زلزله\n")
        assert "زلزله‌ها در کرمان" in alert.text
        assert [b["text"] for b in alert.buttons] == [texts.READ_MORE, texts.SHARE]
        assert len(messages) == 2
        assert len(h.telegram.chat(OTHER.id)) == 1  # «سیل» matched nothing
    assert telegram.rate_limited == 0 and telegram.errors == []


@pytest.mark.slow
async def test_articles_from_the_api_and_an_admins_breaking_item_reach_the_alert_too() -> None:
    telegram = strict()
    async with running_bot(telegram, **AWAKE, admin_ids=[ADMIN.id]) as h:
        await follow(h, READER, "بنزین")
        await h.send(OTHER, "/subscribe")
        await matcher_ready(h)
        async with serving(h.services) as web:
            status, _ = await web.post(
                "/api/articles", {"id": "api-7", "title": "سهمیه بنزین تغییر نمی‌کند"}
            )
            assert status == 201
        await arrived(h, READER.id, 2)
        progress = await breaking_sent(h, "قیمت بنزین در جایگاه‌ها\nوزارت نفت خبر داد.")
        await finished(h, progress)
        messages = await arrived(h, READER.id, 3)
        assert len(messages) == 3
        assert all(m.text.startswith("🔔 به‌خاطر هشدار: بنزین\n") for m in messages[1:])
        assert "سهمیه بنزین تغییر نمی‌کند" in messages[1].text
        assert "قیمت بنزین در جایگاه‌ها" in messages[2].text
        assert len(h.telegram.chat(OTHER.id)) == 2  # a subscriber: the breaking card only
    assert telegram.rate_limited == 0


@pytest.mark.slow
async def test_two_alerts_matching_one_article_send_one_message() -> None:
    telegram = strict()
    async with running_bot(telegram, **AWAKE) as h:
        await follow(h, READER, "زلزله")
        await follow(h, READER, "«کرمان»")
        await matcher_ready(h)
        await h.store.save(news("k1", "زلزله در کرمان"))
        messages = await arrived(h, READER.id, 3)
        assert len(messages) == 3
        assert messages[2].text.splitlines()[0] == "🔔 به‌خاطر هشدار: «کرمان»، زلزله"


@pytest.mark.slow
async def test_limits_and_refusals_are_told_in_persian() -> None:
    async with running_bot(strict(), **AWAKE) as h:
        [ask] = await h.send(READER, "/alert")
        assert ask.text == texts.ASK_ALERT
        [common] = await h.send(READER, "/alert ایران")
        assert common.text.startswith("«ایران» تقریباً در همهٔ خبرها می‌آید")
        [stop] = await h.send(READER, "/alert و در")
        assert stop.text.startswith("«و در» فقط کلمه‌های پرکاربردی")
        [long] = await h.send(READER, "/alert قیمت بنزین در تهران و شیراز امروز")
        assert long.text == texts.ALERT_TOO_MANY_WORDS.format(limit="۵")
        # Ten alerts is the most (filled without the bot: the flood guard counts commands).
        words = ["زلزله", "سیل", "مترو", "فوتبال", "کنکور", "گندم", "یارانه", "برف", "طلا", "تورم"]
        for word in words:
            await store_of(h).add(OTHER.id, word, parse_alert(word).units)
        [again] = await h.send(OTHER, "/alert زلزله")
        assert again.text == texts.ALERT_EXISTS.format(words="زلزله")
        [full] = await h.send(OTHER, "/alert بورس")
        assert full.text.startswith("حداکثر ۱۰ هشدار")


@pytest.mark.slow
async def test_alerts_are_listed_removed_and_paused_with_buttons() -> None:
    async with running_bot(strict(), **AWAKE) as h:
        await follow(h, READER, "زلزله")
        await follow(h, READER, "سیل")
        [listing] = await h.send(READER, "/alerts")
        assert "۱. زلزله" in listing.text and "۲. سیل" in listing.text
        await h.press(READER, listing, "❌ سیل")
        await h.telegram.wait_until(lambda: "سیل" not in listing.text)
        await h.press(READER, listing, texts.BUTTON_PAUSE)
        await h.telegram.wait_until(lambda: texts.ALERTS_PAUSED in listing.text)
        await h.press(READER, listing, texts.BUTTON_DIGEST)
        await h.telegram.wait_until(lambda: "خلاصهٔ روزانه، ساعت ۲۰" in listing.text)
        await h.press(READER, listing, "ساعت ۷")
        await h.telegram.wait_until(lambda: "خلاصهٔ روزانه، ساعت ۷ " in listing.text)
        prefs = await store_of(h).prefs(READER.id)
        assert (prefs.paused, prefs.digest, prefs.hour) == (True, True, 7)
        await matcher_ready(h)
        await h.store.save(news("z1", "زلزله در خوی"))
        await asyncio.sleep(1.5)
        assert len(h.telegram.chat(READER.id)) == 3  # paused: nothing came


@pytest.mark.slow
async def test_a_topic_followed_with_a_button_brings_its_articles() -> None:
    async with running_bot(strict(), **AWAKE, topics=["سیاسی", "ورزشی"]) as h:
        [topics] = await h.send(READER, "/topics")
        await h.press(READER, topics, "ورزشی")
        await h.telegram.wait_until(lambda: "✅ ورزشی" in [b["text"] for b in topics.buttons])
        await matcher_ready(h)
        await h.store.save(news("s1", "پیروزی تیم ملی والیبال", tags=["ورزشي"]))
        await h.store.save(news("s2", "جلسه مجلس", tags=["سیاسی"]))
        messages = await arrived(h, READER.id, 2)
        assert len(messages) == 2
        assert messages[1].text.startswith("🔔 به‌خاطر موضوع: ورزشی\n")


@pytest.mark.slow
async def test_a_group_admin_sets_the_groups_alert() -> None:
    telegram = strict()
    group = -100500
    telegram.add_group(group)
    telegram.admins[group].add(READER.id)
    async with running_bot(telegram, **AWAKE) as h:
        [refused] = await h.send(OTHER, "/alert زلزله", chat_id=group)
        assert refused.text == texts.ALERT_ADMINS_ONLY
        [saved] = await h.send(READER, "/alert زلزله", chat_id=group)
        assert saved.text.startswith("🔔 هشدار «زلزله» ذخیره شد.")
        await matcher_ready(h)
        await h.store.save(news("g1", "زلزله در تبریز"))
        messages = await arrived(h, group, 3)
        assert messages[2].text.startswith("🔔 به‌خاطر هشدار: زلزله")
    assert telegram.rate_limited == 0


@pytest.mark.slow
async def test_a_chat_that_blocked_the_bot_loses_its_alerts() -> None:
    telegram = strict()
    async with running_bot(telegram, **AWAKE) as h:
        await follow(h, READER, "زلزله")
        await matcher_ready(h)
        telegram.blocked.add(READER.id)
        await h.store.save(news("b1", "زلزله در قزوین"))
        for _ in range(100):
            if not await store_of(h).alerts(READER.id):
                break
            await asyncio.sleep(0.1)
        assert await store_of(h).alerts(READER.id) == []
        assert await store_of(h).top_words() == []


@pytest.mark.slow
async def test_more_than_the_hours_share_goes_to_the_digest() -> None:
    async with running_bot(strict(), **AWAKE, alerts_per_hour=1) as h:
        await follow(h, READER, "زلزله")
        await matcher_ready(h)
        await h.store.save_many([news("h1", "زلزله در یزد"), news("h2", "زلزله دوباره در یزد")])
        messages = await arrived(h, READER.id, 2)
        assert len(messages) == 2
        queue = AlertSender(
            h.store, h.services.outbox, h.services.settings, card_maker(h.services), wording()
        ).queue
        [held] = await queue.held(READER.id, float("inf"))
        assert held.article_id in {"h1", "h2"}


def wording() -> AlertWording:
    return AlertWording(views.with_reason, views.alert_digest, texts.DIGEST_DELIVERY)


@pytest.mark.slow
async def test_digests_come_at_their_hour_and_quiet_hours_hold_alerts_for_the_morning() -> None:
    telegram = strict()
    morning_reader, digest_reader = User(5011), User(5012)
    async with running_bot(telegram, alert_quiet_hours="23-7") as h:
        await follow(h, morning_reader, "زلزله")
        await follow(h, digest_reader, "زلزله")
        await store_of(h).set_prefs(digest_reader.id, mode="digest", hour=8)
        # Three days ahead, so the running bot's own clock never reaches these times.
        night = (datetime.now(TEHRAN) + timedelta(days=3)).replace(
            hour=23, minute=30, second=0, microsecond=0
        )
        clock = [night.timestamp()]
        sender = AlertSender(
            h.store,
            h.services.outbox,
            h.services.settings,
            card_maker(h.services),
            wording(),
            clock=lambda: clock[0],
        )
        article = news("d1", "زلزله در سمنان")
        await h.store.save(article, announce=False)
        ready, held = await sender.route(article)
        assert ready == [] and len(held) == 2
        await sender.queue.file("d1", ready, held, now=clock[0])
        seven = (night + timedelta(days=1)).replace(hour=7, minute=0)
        assert await sender.send_digests(seven.timestamp() - 60) == 0
        assert await sender.send_digests(seven.timestamp()) == 1
        [_, morning] = await arrived(h, morning_reader.id, 2)
        assert morning.text.startswith(texts.DIGEST_MORNING)
        assert "زلزله در سمنان" in morning.text
        await h.press(morning_reader, morning, "۱")
        [*_, card] = await arrived(h, morning_reader.id, 3)
        assert card.text.startswith("زلزله در سمنان")
        eight = seven + timedelta(hours=1)
        assert await sender.send_digests(eight.timestamp()) == 1
        assert await sender.send_digests(eight.timestamp()) == 0  # never twice
        [_, daily] = await arrived(h, digest_reader.id, 2)
        assert daily.text.startswith(texts.DIGEST_DAILY)
    assert telegram.rate_limited == 0 and telegram.errors == []


@pytest.mark.slow
async def test_admins_see_alerts_in_stats_and_the_api_lists_the_most_followed_words() -> None:
    async with running_bot(strict(), **AWAKE, admin_ids=[ADMIN.id], topics=["ورزشی"]) as h:
        for user in (READER, OTHER):
            await follow(h, user, "زلزله")
        await follow(h, READER, "سیل")
        [stats] = await h.send(ADMIN, "/stats")
        assert "🔔 هشدارها: ۳ در ۲ گفت‌وگو" in stats.text
        async with serving(h.services) as web:
            status, found = await web.get_json("/api/alerts/top")
            assert status == 200
            assert found["alerts"] == [{"words": "زلزله", "chats": 2}, {"words": "سیل", "chats": 1}]
            assert (found["chats"], found["total"]) == (2, 3)
            status, _ = await web.get_json("/api/alerts/top", headers={})
            assert status == 401
            status, _ = await web.get_json("/api/alerts/top?limit=0", headers=AUTH)
            assert status == 400
