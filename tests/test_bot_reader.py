"""The reader bot end to end: python-telegram-bot's Application polling the fake Bot API server
over HTTP, the real Redis behind it; every reply read as the reader sees it. The harness fails
any test in which the bot sent something Telegram would refuse."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from redis.asyncio import Redis

from bot.news.article import Article
from bot.news.parse import parse_file
from handlers import texts
from tests.conftest import ARTICLES
from tests.support.bot_harness import Harness
from tests.support.fake_telegram import User

READER = User(1001, "مریم")


async def fill(h: Harness, extra: int = 0) -> None:
    articles = [parse_file(path) for path in ARTICLES]
    articles += [
        Article(
            id=f"m{n}",
            title=f"گزارش شماره {n} از بازار میوه",
            lead="قیمت میوه ثابت ماند.",
            published=date(2025, 9, 1 + n % 28),
        )
        for n in range(extra)
    ]
    await h.store.save_many(articles)


async def test_start_welcomes_and_lists_the_commands(harness: Harness) -> None:
    [reply] = await harness.send(READER, "/start")
    assert reply.text.startswith("سلام! 👋 من «خبر» هستم.")
    for command, description in texts.COMMANDS:
        assert f"/{command} — {description}" in reply.text
    assert "@khabar_test_bot" in reply.text
    assert [c["command"] for c in harness.telegram.commands] == [c for c, _ in texts.COMMANDS]


async def test_start_with_a_deep_link_opens_the_card(harness: Harness) -> None:
    await fill(harness)
    code = await harness.store.links.code("265240")
    [card] = await harness.send(READER, f"/start {code}")
    assert card.text.startswith("گسترش همکاری کلان‌شهرهای ایران و چین")
    assert [b["text"] for b in card.buttons] == [texts.READ_MORE, texts.SHARE, texts.FULL_TEXT]
    assert card.buttons[1]["switch_inline_query"] == code
    [missing] = await harness.send(READER, "/start nothere")
    assert missing.text == texts.NOT_FOUND


async def test_help(harness: Harness) -> None:
    [reply] = await harness.send(READER, "/help")
    assert reply.text.startswith("راهنمای «خبر» 📖")
    assert "/latest ۲۰" in reply.text


async def test_latest_lists_the_newest_and_pages_in_place(harness: Harness) -> None:
    await fill(harness, extra=22)
    [page] = await harness.send(READER, "/latest")
    lines = page.text.splitlines()
    assert lines[0] == "📰 تازه‌ترین خبرها · صفحه ۱ از ۳"
    assert lines[2] == "۱. هوای تهران در وضعیت «ناسالم برای گروه‌های حساس»"
    assert lines[3].startswith("    📅 ") and "۱۴۰۴" in lines[3]
    assert [b["text"] for b in page.buttons][:5] == ["۱", "۲", "۳", "۴", "۵"]
    assert page.buttons[-1]["text"] == texts.OLDER
    await harness.press(READER, page, texts.OLDER)
    await harness.telegram.wait_until(lambda: page.edits == 1)
    assert page.text.splitlines()[0] == "📰 تازه‌ترین خبرها · صفحه ۲ از ۳"
    assert page.text.splitlines()[2].startswith("۱۱. ")
    assert {b["text"] for b in page.buttons} >= {texts.OLDER, texts.NEWER}
    await harness.press(READER, page, "۱۱")
    [card] = await harness.telegram.wait_for(READER.id, after=1)
    assert card.text.startswith("گزارش شماره")
    assert len(harness.telegram.chat(READER.id)) == 2, "paging edits, it does not send"


async def test_latest_with_a_size_and_on_an_empty_store(harness: Harness) -> None:
    [empty] = await harness.send(READER, "/latest")
    assert empty.text == texts.NO_ARTICLES
    await fill(harness, extra=5)
    [page] = await harness.send(READER, "/latest 3")
    assert page.text.splitlines()[0] == "📰 تازه‌ترین خبرها · صفحه ۱ از ۳"
    assert sum(1 for line in page.text.splitlines() if re.match("[۰-۹]+\\. ", line)) == 3


async def test_search_finds_ranks_and_says_when_nothing_is_found(harness: Harness) -> None:
    await fill(harness)
    [results] = await harness.send(READER, "/search آلودگي هوا")
    assert results.text.splitlines()[0] == "🔎 نتیجه‌های جست‌وجو برای «آلودگي هوا»"
    assert results.text.splitlines()[2] == "۱. هوای تهران در وضعیت «ناسالم برای گروه‌های حساس»"
    [none] = await harness.send(READER, "/search واژه‌ای‌که‌نیست")
    assert none.text == texts.NO_RESULTS.format(query="واژه‌ای‌که‌نیست")


async def test_search_alone_asks_and_takes_the_next_message(harness: Harness) -> None:
    await fill(harness)
    [ask] = await harness.send(READER, "/search")
    assert ask.text == texts.ASK_QUERY
    [results] = await harness.send(READER, "مترو")
    assert "🔎 نتیجه‌های جست‌وجو برای «مترو»" in results.text


async def test_search_results_page_with_buttons(harness: Harness) -> None:
    await fill(harness, extra=15)
    [results] = await harness.send(READER, "/search بازار میوه")
    assert results.text.splitlines()[0].endswith("صفحه ۱ از ۲")
    await harness.press(READER, results, texts.OLDER)
    await harness.telegram.wait_until(lambda: results.edits == 1)
    assert results.text.splitlines()[0].endswith("صفحه ۲ از ۲")


async def test_a_pasted_short_link_opens_the_card_and_an_unknown_one_is_not_found(
    harness: Harness,
) -> None:
    await fill(harness)
    [card] = await harness.send(READER, "این را ببین: newspaper.hamshahrionline.ir/7L98A")
    assert card.text.startswith("گسترش همکاری کلان‌شهرهای ایران و چین")
    code = await harness.store.links.code("265301")
    [by_code] = await harness.send(READER, f"/link {code}")
    assert by_code.text.startswith(parse_file(ARTICLES[1]).title)
    [own] = await harness.send(READER, f"https://khabar.example.ir/{code}")
    assert own.text == by_code.text
    [unknown] = await harness.send(READER, "/link Zz9Zz9")
    assert unknown.text == texts.NOT_FOUND
    [usage] = await harness.send(READER, "/link")
    assert usage.text.startswith("پیوند کوتاه یا کد خبر را بعد از دستور بفرستید")


async def test_an_inline_result_chosen_in_the_bots_own_chat_is_not_answered_again(
    harness: Harness,
) -> None:
    await fill(harness)
    code = await harness.store.links.code("265301")
    await harness.telegram.send_text(READER, f"https://khabar.example.ir/{code}", via_bot=True)
    [help_text] = await harness.send(READER, "/help")  # answered in turn: nothing came before
    assert help_text.text.startswith("راهنمای «خبر»")
    assert len(harness.telegram.chat(READER.id)) == 1


async def test_plain_text_in_a_private_chat_is_a_search(harness: Harness) -> None:
    await fill(harness)
    [results] = await harness.send(READER, "کلانشهر")
    assert results.text.splitlines()[2] == "۱. گسترش همکاری کلان‌شهرهای ایران و چین"


async def test_inline_search_latest_prefix_and_paging(harness: Harness) -> None:
    await fill(harness, extra=25)
    latest = await harness.inline(READER, "")
    results = latest["results"]
    assert isinstance(results, list) and len(results) == 20
    assert results[0]["title"] == "هوای تهران در وضعیت «ناسالم برای گروه‌های حساس»"
    assert latest["next_offset"] == "20"
    second = await harness.inline(READER, "", "20")
    assert isinstance(second["results"], list) and len(second["results"]) == 8
    assert second.get("next_offset", "") == ""
    typed = await harness.inline(READER, "آلودگ")
    typed_results = typed["results"]
    assert isinstance(typed_results, list)
    assert typed_results[0]["id"] == "265488"
    content = typed_results[0]["input_message_content"]
    assert content["message_text"].startswith("<b>هوای تهران")


async def test_subscribe_and_unsubscribe_in_a_private_chat(harness: Harness) -> None:
    [done] = await harness.send(READER, "/subscribe")
    assert done.text == texts.SUBSCRIBED_PRIVATE
    [again] = await harness.send(READER, "/subscribe")
    assert again.text == texts.ALREADY_SUBSCRIBED
    assert await harness.services.subscribers.count() == 1
    [gone] = await harness.send(READER, "/unsubscribe")
    assert gone.text == texts.UNSUBSCRIBED
    [not_there] = await harness.send(READER, "/unsubscribe")
    assert not_there.text == texts.NOT_SUBSCRIBED
    assert await harness.services.subscribers.count() == 0


async def test_in_groups_only_commands_and_only_admins_subscribe(harness: Harness) -> None:
    await fill(harness)
    group, admin, member = -5001, User(2001, "مدیر"), User(2002, "عضو")
    harness.telegram.admins[group].add(admin.id)
    await harness.send(
        member, "سلام به همه، مترو امروز شلوغ بود", 0, chat_id=group, chat_type="group"
    )
    [refused] = await harness.send(member, "/subscribe@khabar_test_bot", chat_id=group)
    assert refused.text == texts.ADMINS_ONLY
    [done] = await harness.send(admin, "/subscribe", chat_id=group)
    assert done.text == texts.SUBSCRIBED_GROUP
    [page] = await harness.send(member, "/latest@khabar_test_bot", chat_id=group)
    assert page.text.startswith("📰 تازه‌ترین خبرها")
    texts_in_group = [m.text for m in harness.telegram.chat(group)]
    assert len(texts_in_group) == 3, "the chatter got no answer"


async def test_the_flood_guard_warns_once_and_spares_others(harness: Harness) -> None:
    harness.services.sessions.flood_limit = 5
    flooder, other = User(3001), User(3002)
    for _ in range(5):
        await harness.send(flooder, "/help")
    [warning] = await harness.send(flooder, "/help")
    assert warning.text == texts.SLOW_DOWN
    for _ in range(3):
        await harness.send(flooder, "/help", 0)
    [answer] = await harness.send(other, "/help")
    assert answer.text.startswith("راهنمای «خبر»")
    await asyncio.sleep(0.3)  # the ignored updates were fetched before the other user's
    assert [m.text for m in harness.telegram.chat(flooder.id)].count(texts.SLOW_DOWN) == 1
    assert len(harness.telegram.chat(flooder.id)) == 6


async def test_a_failure_gets_a_persian_apology_not_silence(harness: Harness) -> None:
    working = harness.services.store.redis
    harness.services.store.redis = await unreachable_redis()
    try:
        [apology] = await harness.send(READER, "/latest")
    finally:
        await harness.services.store.redis.aclose()
        harness.services.store.redis = working
    assert apology.text == texts.APOLOGY


async def test_the_flood_guard_lets_readers_through_while_redis_is_away(harness: Harness) -> None:
    working = harness.services.sessions.redis
    harness.services.sessions.redis = await unreachable_redis()
    try:
        [answer] = await harness.send(READER, "/help")
    finally:
        await harness.services.sessions.redis.aclose()
        harness.services.sessions.redis = working
    assert answer.text.startswith("راهنمای «خبر»")


async def unreachable_redis() -> Redis:
    """A real client to a port where nothing listens: every command fails as in an outage."""
    client: Redis = Redis.from_url(
        "redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=0.2
    )
    return client
