"""Photo and rich cards delivered: a picture handed to Telegram once per broadcast, uploaded
when Telegram cannot fetch it, the text card when nothing works; a rich message the Bot API
refuses goes as text; /retract deletes photo and rich messages too. The bot against the fake
Bot API over HTTP, the real Redis, a web server of pictures."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from bot.delivery.start import retract, start_breaking
from bot.news.article import TEHRAN, Article, Image, Quote
from handlers import texts
from handlers.common import card_with_buttons
from storage.photos import Photos
from tests.support.bot_harness import Harness, running_bot
from tests.support.fake_telegram import FakeTelegram
from tests.support.pictures import FEED_ITEMS, JPEG, serving_pictures
from tests.test_admin import BREAKING, admin_bot, over, replies_until
from tests.test_channels import CHANNEL, CHANNEL_ID, with_channels
from tests.test_delivery import ADMIN, FAST, FAST_SETTINGS, subscribe

SETTINGS = {**FAST_SETTINGS, "feed_allow_private": True}


def pictured(article_id: str, url: str) -> Article:
    return Article(
        id=article_id,
        title="افتتاح خط هفت مترو",
        lead="خط هفت مترو تهران امروز به ایستگاه میدان صنعت رسید.",
        quotes=[Quote(speaker="علیرضا زاکانی", role="شهردار تهران", text="کار ادامه دارد.")],
        paragraphs=["ایستگاه‌های تازه از فردا مسافر می‌پذیرند."],
        published=datetime.now(TEHRAN) - timedelta(hours=1),
        url=f"https://example.ir/news/{article_id}",
        image=Image(url=url, caption="ایستگاه میدان صنعت", credit="ایرنا"),
    )


async def broadcast(h: Harness, article: Article, style: str, chats: range) -> str:
    before = {chat: len(h.telegram.chat(chat)) for chat in chats}
    await h.store.save(article, announce=False)
    messages = await card_with_buttons(h.services, article, style)
    delivery = await start_breaking(h.services.outbox, h.services.settings, article, messages, None)
    assert delivery is not None
    await h.telegram.wait_until(
        lambda: all(len(h.telegram.chat(c)) > before[c] for c in chats), timeout=30
    )
    return delivery.id


@pytest.mark.slow
async def test_a_photo_broadcast_to_1000_chats_hands_telegram_the_picture_once() -> None:
    async with serving_pictures() as pictures, running_bot(FakeTelegram(FAST), **SETTINGS) as h:
        chats = range(70_001, 71_001)
        await subscribe(h, chats)
        await broadcast(h, pictured("p1", f"{pictures.url}/ok.jpg"), "photo", chats)
        sources = h.telegram.photo_sources
        assert sources["url"] + sources["upload"] <= 2, sources
        assert sources["file_id"] >= 998
        assert pictures.hits["/ok.jpg"] <= 2
        for chat in chats:
            [sent] = h.telegram.chat(chat)
            assert sent.photo is not None and sent.text.startswith("افتتاح خط هفت مترو")
        assert h.telegram.duplicates() == {} and h.telegram.rate_limited == 0


async def test_a_picture_telegram_cannot_fetch_is_uploaded_by_khabar() -> None:
    async with serving_pictures() as pictures, running_bot(FakeTelegram(FAST), **SETTINGS) as h:
        chats = range(71_001, 71_021)
        await subscribe(h, chats)
        await broadcast(h, pictured("p2", f"{pictures.url}/picky.jpg"), "photo", chats)
        assert h.telegram.photo_sources["upload"] == 1
        assert h.telegram.photo_sources["file_id"] == len(chats) - 1
        assert all(h.telegram.chat(c)[0].photo for c in chats)


@pytest.mark.parametrize("path", ["/missing.jpg", "/page.jpg"])
async def test_a_broken_picture_sends_the_text_card_never_nothing(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving_pictures() as pictures, running_bot(FakeTelegram(FAST), **SETTINGS) as h:
        chats = range(72_001, 72_006)
        await subscribe(h, chats)
        with caplog.at_level(logging.WARNING, "khabar.delivery"):
            await broadcast(h, pictured("p3", pictures.url + path), "photo", chats)
        for chat in chats:
            [sent] = h.telegram.chat(chat)
            assert sent.photo is None
            assert sent.text.startswith("🔴 فوری\nافتتاح خط هفت مترو") or sent.text.startswith(
                "افتتاح خط هفت مترو"
            )
            assert sent.buttons, "the text card keeps the card's buttons"
        assert "photo card sent as text" in caplog.text


async def test_a_rich_card_the_bot_api_does_not_know_goes_as_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram = FakeTelegram(FAST)
    del telegram._handlers["sendrichmessage"]  # an older self-hosted Bot API: 404
    async with serving_pictures() as pictures, running_bot(telegram, **SETTINGS) as h:
        chats = range(73_001, 73_011)
        await subscribe(h, chats)
        with caplog.at_level(logging.WARNING, "khabar.delivery"):
            await broadcast(h, pictured("r1", f"{pictures.url}/ok.jpg"), "rich", chats)
        for chat in chats:
            [sent] = h.telegram.chat(chat)
            assert "rich_message" not in sent.payload and "افتتاح خط هفت مترو" in sent.text
        assert caplog.text.count("refused a rich message") == 1, "logged once"
        tried = telegram.calls["sendrichmessage"]
        await broadcast(h, pictured("r2", f"{pictures.url}/ok.jpg"), "rich", chats)
        assert all(len(h.telegram.chat(c)) == 2 for c in chats)
        assert telegram.calls["sendrichmessage"] == tried, "remembered: straight as text"


async def test_retract_deletes_photo_and_rich_messages() -> None:
    async with serving_pictures() as pictures, running_bot(FakeTelegram(FAST), **SETTINGS) as h:
        chats = range(74_001, 74_006)
        await subscribe(h, chats)
        for article_id, style in (("d1", "photo"), ("d2", "rich")):
            delivery_id = await broadcast(
                h, pictured(article_id, f"{pictures.url}/ok.jpg"), style, chats
            )
            await h.telegram.wait_until(
                lambda: all(len(h.telegram.chat(c)) == 1 for c in chats), timeout=10
            )
            delivery = await h.services.outbox.get(delivery_id)
            assert delivery is not None
            await retract(h.services.outbox, delivery, None)
            await h.telegram.wait_until(lambda: all(not h.telegram.chat(c) for c in chats), 20)
        for chat in chats:
            photo, rich = h.telegram.deleted_in(chat)
            assert photo.photo is not None and "rich_message" in rich.payload


async def test_a_channel_gets_the_photo_card_of_a_new_article_with_a_picture() -> None:
    settings = {**SETTINGS, "channel_ids": [CHANNEL]}
    async with serving_pictures() as pictures, running_bot(with_channels(), **settings) as h:
        await h.store.save(pictured("c1", f"{pictures.url}/ok.jpg"))
        await h.telegram.wait_until(lambda: bool(h.telegram.chat(CHANNEL_ID)), timeout=15)
        [post] = h.telegram.chat(CHANNEL_ID)
        assert post.photo is not None
        assert post.text.startswith("افتتاح خط هفت مترو\n\nخط هفت مترو تهران")
        assert post.buttons


async def test_breaking_in_reply_to_an_admins_photo_sends_it_by_its_file_id() -> None:
    async with admin_bot() as h:
        chats = range(75_001, 75_011)
        await subscribe(h, chats)
        stored = h.telegram._store_file("photo.jpg", JPEG, "photos")
        photo = h.telegram._user_message(ADMIN, None, None, None)
        photo["photo"] = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": 1280,
                "height": 720,
                "file_size": len(JPEG),
            }
        ]
        photo["caption"] = BREAKING
        await h.telegram._push({"message": photo})
        before = len(h.telegram.messages[ADMIN.id])
        await h.telegram.send_text(ADMIN, "/breaking", reply_to=photo)
        *_, question = await replies_until(
            h, ADMIN.id, before, lambda sent: sent.text.startswith("👆 پیش‌نمایش خبر فوری.")
        )
        await h.press(ADMIN, question, texts.SEND)
        await over(h, "1")
        for chat in chats:
            [sent] = h.telegram.chat(chat)
            assert sent.photo == stored.file_id
            assert sent.text.startswith("🔴 فوری\nزلزله ۵ ریشتری در تهران")
        preview = [s for s in h.telegram.chat(ADMIN.id) if s.photo == stored.file_id]
        assert len(preview) == 1, "the admin saw the photo card before sending it"
        assert h.telegram.photo_sources == {"file_id": len(chats) + 1}, "never fetched nor uploaded"
        kept = await Photos(h.services.redis, h.store.keys).content(stored.file_unique_id)
        assert kept == JPEG, "served at /photos/<id>.jpg for rich messages"


async def test_a_feed_with_pictures_posts_photo_cards_to_the_channel_never_losing_one() -> None:
    async with serving_pictures() as pictures:
        settings = {
            **SETTINGS,
            "channel_ids": [CHANNEL],
            "feeds": [f"{pictures.url}/feed.rss"],
        }
        async with running_bot(with_channels(), **settings) as h:
            await h.telegram.wait_until(lambda: len(h.telegram.chat(CHANNEL_ID)) == 3, 20)
            posts = {sent.text.splitlines()[0]: sent for sent in h.telegram.chat(CHANNEL_ID)}
            assert posts.keys() == {f"{title} چراغانی شد" for title in FEED_ITEMS.values()}
            assert posts["پل طبیعت چراغانی شد"].photo is not None  # Telegram fetched it
            assert posts["بوستان آب و آتش چراغانی شد"].photo is not None  # khabar uploaded it
            assert posts["برج میلاد چراغانی شد"].photo is None  # no picture: the text card
            assert h.telegram.photo_sources == {"url": 1, "upload": 1}
