"""Alerts in Redis: adding, limits, refusals, the index by rarest term, matching an article
with the search analyser's folding, topics, held items and chats that are gone."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.config import Settings
from bot.delivery.alerts import AlertSender, AlertWording
from bot.news.article import Article, KeyPoint
from handlers import alert_views as views
from handlers import texts
from storage.alert_index import AlertIndex
from storage.alert_queue import AlertQueue, Held, Ready
from storage.alert_routing import Routing
from storage.alert_terms import ArticleTerms, parse_alert
from storage.alerts import MAX_ALERTS, Added, AlertingSubscribers, AlertStore, Prefs, Refusal
from storage.articles import ArticleStore
from storage.deliveries import Kind
from storage.keys import Keys
from storage.outbox import Outbox
from storage.subscribers import ChatKind


def quake() -> Article:
    return Article(
        id="q1",
        title="زلزله‌ها در کرمان",
        lead="قيمت بنزين در استان تغییری نکرد.",
        key_points=[KeyPoint(label="مرکز", text="راه آهن سراسری آسیب ندید")],
        paragraphs=["امدادگران در محل هستند."],
        tags=["حوادث", "اقتصادي"],
    )


async def matched(store: AlertStore, topics: list[str]) -> dict[int, list[str]]:
    """The chats the quake article is for, as a matcher that just took over finds them."""
    return await store.match(ArticleTerms.of(quake()), topics, AlertIndex(store.redis, store.keys))


async def added(store: AlertStore, chat: int, text: str) -> Added:
    parsed = parse_alert(text)
    assert await store.refusal(parsed) is None, text
    result, _ = await store.add(chat, text, parsed.units)
    return result


async def test_spelling_variants_match_as_search_folds_them(redis: Redis, keys: Keys) -> None:
    store = AlertStore(redis, keys)
    for chat, text in enumerate(["زلزله", "زلزله‌ها", "زلزله ها کرمان", "قیمت بنزین"], 1):
        assert await added(store, chat, text) is Added.ADDED
    await added(store, 9, "سیل")
    found = await matched(store, [])
    assert sorted(found) == [1, 2, 3, 4]
    facts = await Routing(redis, keys).facts(found, 20)
    assert facts[3].words == ["زلزله ها کرمان"]
    assert facts[3].prefs == Prefs()


async def test_a_quoted_phrase_must_be_side_by_side(redis: Redis, keys: Keys) -> None:
    store = AlertStore(redis, keys)
    await added(store, 1, '"قیمت بنزین"')
    await added(store, 2, "«بنزین قیمت»")
    await added(store, 3, "«راه آهن»")
    found = await matched(store, [])
    assert sorted(found) == [1, 3]


async def test_every_word_of_an_alert_is_needed(redis: Redis, keys: Keys) -> None:
    store = AlertStore(redis, keys)
    await added(store, 1, "زلزله تبریز")
    assert await matched(store, []) == {}


async def test_limits_and_refusals(redis: Redis, keys: Keys) -> None:
    store = AlertStore(redis, keys)
    assert await store.refusal(parse_alert("")) is Refusal.EMPTY
    assert await store.refusal(parse_alert("یک دو سه چهار پنج شش")) is Refusal.TOO_MANY_WORDS
    assert await store.refusal(parse_alert("و در به")) is Refusal.ONLY_STOP_WORDS
    assert await store.refusal(parse_alert("ایران")) is Refusal.TOO_COMMON
    assert await store.refusal(parse_alert("ایران خودرو")) is None
    words = ["زلزله", "سیل", "بنزین", "مترو", "فوتبال", "کنکور", "گندم", "یارانه", "برف", "طلا"]
    for word in words[:MAX_ALERTS]:
        assert await added(store, 5, word) is Added.ADDED
    assert await added(store, 5, "زلزله") is Added.EXISTS
    assert (await store.add(5, "تورم", parse_alert("تورم").units))[0] is Added.FULL
    removed = await store.remove(5, (await store.alerts(5))[0].id)
    assert removed is not None
    assert await added(store, 5, "تورم") is Added.ADDED


async def test_an_alert_is_filed_under_its_rarest_word(redis: Redis, keys: Keys) -> None:
    store = AlertStore(redis, keys)
    await added(store, 1, "قیمت بنزین")
    [alert] = await store.alerts(1)
    assert alert.key == "بنزین"  # «قیمت» is the more common in Persian
    assert await redis.scard(keys.alert_index("بنزین")) == 1  # type: ignore[misc]
    assert await redis.exists(keys.alert_index("قیمت")) == 0


async def test_topics_match_tags_and_are_toggled(redis: Redis, keys: Keys) -> None:
    store = AlertStore(redis, keys)
    assert await store.toggle_topic(7, "اقتصادی") is True
    assert await store.toggle_topic(8, "ورزشی") is True
    found = await matched(store, ["اقتصادی", "ورزشی"])
    assert found == {7: ["#اقتصادی"]}
    stats = await store.stats(["اقتصادی", "ورزشی"])
    assert (stats.chats, stats.topics) == (2, {"اقتصادی": 1, "ورزشی": 1})
    assert await store.toggle_topic(7, "اقتصادی") is False
    assert await matched(store, ["اقتصادی"]) == {}


async def test_top_words_count_the_chats_following_them(redis: Redis, keys: Keys) -> None:
    store = AlertStore(redis, keys)
    for chat in (1, 2, 3):
        await added(store, chat, "زلزله")
    await added(store, 1, "سیل")
    assert await store.top_words() == [("زلزله", 3), ("سیل", 1)]


async def test_a_chat_gone_loses_its_alerts_and_a_migrated_one_keeps_them(
    redis: Redis, keys: Keys
) -> None:
    subscribers = AlertingSubscribers(redis, keys)
    store = subscribers.alerts
    await subscribers.subscribe(-100, ChatKind.GROUP)
    await added(store, -100, "زلزله")
    await store.toggle_topic(-100, "حوادث")
    await added(store, 42, "زلزله")
    await store.set_prefs(42, mode="digest", hour=8)
    await subscribers.migrate(-100, -1001)
    await subscribers.unsubscribe(42)
    found = await matched(store, ["حوادث"])
    assert set(found) == {-1001}
    assert (await store.prefs(42)).digest is False
    assert await store.top_words() == [("زلزله", 1)]


async def test_held_items_come_out_once_by_their_time(redis: Redis, keys: Keys) -> None:
    queue = AlertQueue(redis, keys)
    await queue.ensure_group()
    entry = await redis.xadd(keys.new_articles(), {"id": "q1"})
    held = [Held(1, "a", "زلزله", 100.0), Held(1, "b", "سیل", 200.0)]
    await queue.file("q1", [], held, now=10.0, entry_id=entry)
    assert await queue.due(50) == []
    assert await queue.due(150) == [(1, 100.0)]
    assert [h.article_id for h in await queue.held(1, 100.0)] == ["a"]
    await queue.digest_sent(1, 100.0)
    assert await queue.due(150) == []
    assert await queue.due(250) == [(1, 200.0)]
    assert await queue.pending() == []  # the article's entry was acknowledged with them
    assert await queue.matched("q1")


async def test_the_matchers_copy_follows_alerts_added_and_removed_anywhere(
    redis: Redis, keys: Keys
) -> None:
    store = AlertStore(redis, keys)
    index = AlertIndex(redis, keys)
    await added(store, 1, "زلزله")
    article = ArticleTerms.of(quake())
    assert await index.matching(article) == [(1, (await store.alerts(1))[0].id)]
    await added(store, 2, "«راه آهن»")  # by another process, say
    assert sorted(chat for chat, _ in await index.matching(article)) == [1, 2]
    await store.remove(1, (await store.alerts(1))[0].id)
    assert [chat for chat, _ in await index.matching(article)] == [2]
    # Changes trimmed past what the copy applied: it loads the index again.
    await redis.xtrim(keys.alert_changes(), maxlen=0)
    await added(store, 3, "کرمان")
    assert sorted(chat for chat, _ in await index.matching(article)) == [2, 3]


async def test_alerts_wait_while_a_breaking_item_is_delivered(redis: Redis, keys: Keys) -> None:
    store = ArticleStore(redis, keys)
    outbox = Outbox(redis, keys)
    await store.save(quake(), announce=False)

    async def card(article: Article, style: str | None = None) -> list[dict[str, Any]]:
        return [{"text": article.title, "parse_mode": None}]

    wording = AlertWording(views.with_reason, views.alert_digest, texts.DIGEST_DELIVERY)
    sender = AlertSender(store, outbox, Settings(), card, wording)
    ready = Ready("q1", "زلزله", [1, 2])
    await sender.queue.file("q1", [ready], [], now=10.0)
    breaking = await outbox.create(Kind.BREAKING, [{"text": "فوری"}], title="فوری", chats=["9"])
    assert breaking is not None
    assert await sender.release() == 0  # being put in the outbox
    await outbox.enqueue(breaking.id)
    assert await sender.release() == 0  # running
    assert await sender.queue.ready_count() == 1
    await outbox.cancel(breaking.id)
    assert await sender.release() == 1
    [alert] = [d for d in await outbox.active() if d.kind is Kind.ALERT]
    assert alert.messages[0]["text"] == "🔔 به‌خاطر هشدار: زلزله\n\nزلزله‌ها در کرمان"
    assert alert.total == 2
    assert 0 < await redis.ttl(keys.posted("1")) <= 30 * 24 * 3600  # claims do not stay forever
    # Made again (a matcher that died before taking it off the list): nobody gets it twice.
    await sender.queue.file("", [ready], [], now=11.0)
    assert await sender.release() == 0
    assert await sender.queue.ready_count() == 0
