from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.news.article import Article
from bot.news.parse import parse_file
from storage.articles import ArticleStore, Saved
from storage.keys import Keys
from storage.postings import impact, postings
from storage.redis import awaited
from tests.conftest import ARTICLES
from tests.support.storage_fixtures import snapshot

NOW = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)


def store_for(redis: Redis, keys: Keys) -> ArticleStore:
    return ArticleStore(redis, keys, retention=timedelta(days=90), clock=lambda: NOW)


def article(
    article_id: str, title: str, *paragraphs: str, day: int = 20, lead: str | None = None
) -> Article:
    return Article(
        id=article_id,
        title=title,
        lead=lead,
        paragraphs=list(paragraphs),
        published=date(2025, 10, day),
    )


async def ids(store: ArticleStore, query: str, **options: object) -> list[str]:
    results = await store.search.search(query, **options)  # type: ignore[arg-type]
    return [hit.article_id for hit in results.hits]


BAM = [
    article("all3", "بازسازی بم پس از زلزله", "بازسازی خانه‌های زلزله‌زدگان بم ادامه دارد."),
    article("rebuild", "بازسازی شهر بم", "ارگ بم و بافت تاریخی شهر بازسازی می‌شود.", day=25),
    article("quake", "زلزله در خوی", "زلزله‌ای به بزرگی ۵ ریشتر خوی را لرزاند.", day=26),
    article("bazaar", "بازسازی بازار تبریز", "بازار تاریخی تبریز مرمت شد.", day=27),
    article("other", "نمایشگاه کتاب تهران", "نمایشگاه کتاب با حضور ناشران برگزار شد."),
]


async def test_articles_with_more_query_words_usually_come_first(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    await store.save_many(BAM)
    found = await ids(store, "زلزله بم بازسازی")
    assert found[0] == "all3"
    assert found[1] == "rebuild", "two of three words in the title beat one"
    assert set(found[2:]) == {"quake", "bazaar"}
    assert "other" not in found
    results = await store.search.search("زلزله بم بازسازی")
    assert [hit.matched for hit in results.hits] == [3, 2, 1, 1]


async def test_every_word_once_in_passing_does_not_beat_an_article_about_the_query(
    redis: Redis, keys: Keys
) -> None:
    store = store_for(redis, keys)
    passing = (
        "گزارش هفتگی شورای شهر درباره بودجه، ترافیک، فضای سبز، آموزش و حمل و نقل عمومی. "
        "در بخشی از آن به بازسازی پل‌ها، سالگرد زلزله و سفر هیئتی به بم هم اشاره شد."
    )
    await store.save_many(
        [
            article("about", "بازسازی ارگ بم", "بازسازی ارگ بم ادامه دارد و ارگ بم بازسازی شد."),
            article("passing", "گزارش هفتگی شورای شهر", passing, day=28),
            *(article(f"f{n}", f"خبر شماره {n}", "نمایشگاه کتاب برگزار شد.") for n in range(20)),
        ]
    )
    results = await store.search.search("زلزله بم بازسازی")
    assert [(hit.article_id, hit.matched) for hit in results.hits][:2] == [
        ("about", 2),
        ("passing", 3),
    ]


@pytest.mark.parametrize("quote", ['"{}"', "«{}»", "“{}”"])
async def test_a_quoted_phrase_requires_its_words_side_by_side(
    redis: Redis, keys: Keys, quote: str
) -> None:
    store = store_for(redis, keys)
    await store.save_many(
        [
            article("phrase", "نرخ بیکاری جوانان", "نرخ بیکاری در پاییز کاهش یافت."),
            article("apart", "بیکاری در روستاها", "نرخ ارز هم بالا رفت.", day=27),
            article("other", "نمایشگاه کتاب", "ناشران حاضر شدند."),
        ]
    )
    assert set(await ids(store, "نرخ بیکاری")) == {"phrase", "apart"}
    results = await store.search.search(quote.format("نرخ بیکاری"))
    assert [hit.article_id for hit in results.hits] == ["phrase"] and results.total == 1
    assert await ids(store, quote.format("نرخ بیکاری") + " جوانان") == ["phrase"]
    assert await ids(store, quote.format("بیکاری نرخ")) == []


async def test_a_quoted_compound_matches_its_spellings(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    await store.save_many(
        [
            article("glued", "قطار راه‌آهن تهران", "خط تازه افتتاح شد."),
            article("spaced", "ایستگاه راه آهن", "مسافران رسیدند.", day=22),
            article("apart", "راه تازه", "آهن گران شد.", day=23),
        ]
    )
    assert set(await ids(store, '"راه آهن"')) == {"glued", "spaced"}


async def test_feedback_prefers_the_article_that_reads_like_the_best_matches(
    redis: Redis, keys: Keys
) -> None:
    store = store_for(redis, keys)
    whales = "نهنگ‌ها در ساحل خلیج فارس گرفتار شدند و کارشناسان محیط زیست دریایی آمدند."
    await store.save_many(
        [
            article("w1", "مرگ نهنگ‌ها در ساحل", whales, day=10),
            article("w2", "نهنگ‌های گرفتار در ساحل خلیج فارس", whales, day=11),
            article(
                "like",
                "گزارش محیط زیست دریایی",
                "ساحل خلیج فارس و جانوران دریایی در خطرند؛ یک نهنگ هم دیده شد. " * 2,
                day=12,
            ),
            article(
                "unlike",
                "گزارش بازار سرمایه",
                "شاخص بورس بالا رفت و سهام شرکت نهنگ در بازار معامله شد. " * 2,
                day=28,
            ),
        ]
    )
    found = await ids(store, "نهنگ")
    assert found.index("like") < found.index("unlike")
    assert set(found) == {"w1", "w2", "like", "unlike"}, "feedback adds no article without the word"


async def test_a_word_in_very_many_articles_is_read_from_the_last_indexed(
    redis: Redis, keys: Keys
) -> None:
    store = store_for(redis, keys)
    store.search.read_limit = 4
    await store.save(article("rare", "برف و کولاک در گردنه حیران", "جاده بسته شد.", day=1))
    await store.save_many(
        [article(f"d{day}", "بارش برف", "جاده بسته شد.", day=day) for day in range(1, 11)]
    )
    assert await ids(store, "برف") == ["d10", "d9", "d8", "d7"]
    assert (await ids(store, "برف حیران"))[0] == "rare", "a rarer word is read whole"


@pytest.mark.parametrize(
    "query",
    [
        "كلانشهر تهران",  # Arabic kaf, glued
        "کلان شهر",  # spaced
        "کلان‌شهرها",  # plural, half-space
        "آلودگي هوا",  # Arabic yeh
        "ذرات PM2.5",
        "۱۴۰۴",
        "1404",
    ],
)
async def test_queries_typed_the_way_people_type_find_the_article(
    redis: Redis, keys: Keys, query: str
) -> None:
    store = store_for(redis, keys)
    await store.save_many(
        [
            article("smog", "آلودگی هوای کلان‌شهر تهران", "غلظت ذرات PM2.5 در سال ۱۴۰۴ بالا رفت."),
            article("other", "نمایشگاه کتاب", "ناشران در نمایشگاه حاضر شدند."),
        ]
    )
    assert await ids(store, query) == ["smog"]


async def test_title_matches_weigh_more_than_body_matches(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    body = "خبر دیگری از شهر که در میانه آن از مترو هم یاد شده است و بس."
    await store.save_many(
        [
            article("in-body", "افتتاح پارک تازه در شمال شهر", body, day=28),
            article("in-title", "افتتاح ایستگاه مترو", "ایستگاه تازه‌ای در شمال شهر باز شد.", day=1),
        ]
    )
    assert await ids(store, "مترو") == ["in-title", "in-body"]


async def test_recency_breaks_ties(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    same = ("بارش برف در گردنه حیران", "جاده بسته شد.")
    await store.save_many([article(f"d{day}", *same, day=day) for day in (3, 19, 11)])
    assert await ids(store, "برف") == ["d19", "d11", "d3"]


async def test_results_come_in_pages_with_a_total(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    await store.save_many(
        [article(f"p{day}", f"قیمت سکه در روز {day}", "بازار طلا", day=day) for day in range(1, 26)]
    )
    first = await store.search.search("سکه", 0, 10)
    third = await store.search.search("سکه", 20, 10)
    assert first.total == third.total == 25
    assert len(first.hits) == 10 and len(third.hits) == 5
    everything = [h.article_id for h in (await store.search.search("سکه", 0, 100)).hits]
    assert everything[:10] == [h.article_id for h in first.hits]
    assert everything[20:] == [h.article_id for h in third.hits]
    assert everything[0] == "p25"  # equal scores: newest first
    assert (await store.search.search("سکه", 30, 10)).hits == []


async def test_a_word_being_typed_is_completed(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    await store.save_many(BAM)
    assert set(await ids(store, "زلز", typing=True)) == {"all3", "quake"}
    assert (await ids(store, "بازسازی بم زلز", typing=True))[0] == "all3"
    assert await ids(store, "زلز") == [], "without typing, words are whole"
    assert await ids(store, "نمایش", typing=True) == ["other"]


async def test_a_stop_word_being_typed_is_a_word_of_its_own(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    await store.save_many(
        [
            article("quake", "زلزله در کرمان", "خسارت زلزله ارزیابی شد."),
            article("cure", "درمان رایگان", "درمان بیماران ادامه دارد."),
            article("both", "درمان زخمی‌های زلزله", "زخمی‌های زلزله درمان شدند."),
        ]
    )
    results = await store.search.search("زلزله در", typing=True)
    assert results.hits[0].article_id == "both"
    assert results.hits[0].matched == 2
    assert {h.article_id for h in results.hits} == {"quake", "cure", "both"}


async def test_nothing_matches_nothing(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    assert (await store.search.search("زلزله")).total == 0
    await store.save_many(BAM)
    for query in ("", "   ", "و از به", "!!!", "واژه‌ای‌که‌نیست"):
        assert (await store.search.search(query)).hits == [], query


async def test_an_update_removes_stale_index_entries(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    first = article("a1", "افتتاح خط ده مترو", "ایستگاه‌های تازه باز شد.")
    await store.save(first)
    assert await ids(store, "مترو") == ["a1"]
    changed = first.model_copy(update={"title": "تعطیلی مدارس به دلیل آلودگی"})
    assert await store.save(changed) is Saved.UPDATED
    assert await ids(store, "مترو") == []
    assert await ids(store, "آلودگی") == ["a1"]
    assert await ids(store, "ایستگاه") == ["a1"], "once, though both versions had the word"
    dead_postings = await redis.strlen(keys.postings("ایستگاه"))
    assert await store.search.compact() > 0
    assert await redis.strlen(keys.postings("ایستگاه")) < dead_postings
    assert not await redis.exists(keys.postings("مترو"))
    assert await redis.zscore(keys.vocabulary(), "مترو") is None
    assert not await redis.exists(keys.search_dirty())
    assert await ids(store, "ایستگاه") == ["a1"]
    assert await awaited(redis.hlen(keys.search_terms())) == 1, (
        "the old version's feedback terms go"
    )


async def test_saving_again_leaves_the_index_as_it_was(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    originals = [parse_file(path) for path in ARTICLES]
    await store.save_many(originals)
    before = await snapshot(redis, keys.prefix)
    assert await store.save_many([parse_file(path) for path in ARTICLES]) == [Saved.UNCHANGED] * 3
    assert await snapshot(redis, keys.prefix) == before


async def test_concurrent_saves_of_one_article_leave_one_live_version(
    redis: Redis, keys: Keys
) -> None:
    stores = [store_for(redis, keys) for _ in range(4)]
    versions = [article("same", f"گزارش شماره {n} از سیل", "سیل در شمال.") for n in range(4)]
    await asyncio.gather(*(s.save(v) for s, v in zip(stores, versions, strict=True)))
    results = await stores[0].search.search("سیل")
    assert results.total == 1 and [hit.article_id for hit in results.hits] == ["same"]
    assert await stores[0].count() == 1


async def test_one_article_twice_in_a_batch_is_saved_in_order(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    old = article("twice", "نخست", "متن")
    new = old.model_copy(update={"title": "دوم"})
    assert await store.save_many([old, old, new]) == [Saved.STORED, Saved.UNCHANGED, Saved.UPDATED]
    assert await ids(store, "نخست") == [] and await ids(store, "دوم") == ["twice"]


async def test_retention_removes_an_article_from_every_index(redis: Redis, keys: Keys) -> None:
    store = store_for(redis, keys)
    old = Article(
        id="old",
        title="سیلاب در سیستان",
        lead="روستاهای سیستان زیر آب رفت.",
        published=date(2025, 6, 1),
        short_link="newspaper.example.ir/Old1",
        url="https://example.ir/news/old",
    )
    fresh = article("fresh", "سیلاب در گلستان", "روستاهای گلستان آسیب دید.", day=30)
    await store.save_many([old, fresh])
    code = await store.links.code("old")
    assert code and await store.links.resolve(code) == "old"
    assert await store.purge() == 1
    assert await store.get("old") is None
    assert [a.id for a in await store.latest()] == ["fresh"]
    assert await ids(store, "سیلاب") == ["fresh"]
    assert await ids(store, "سیستان") == []
    for text in (code, "newspaper.example.ir/Old1", "https://example.ir/news/old", "old"):
        assert await store.links.resolve(text) is None, text
    assert await redis.zscore(keys.vocabulary(), "سیستان") is None
    assert not await redis.exists(keys.postings("سیستان"))
    assert await redis.strlen(keys.postings("سیلاب")) == 5, "one live posting left"
    assert await awaited(redis.hget(keys.index_stats(), "documents")) == "1"
    assert await awaited(redis.hlen(keys.search_terms())) == 1


def test_impacts_saturate_and_favour_short_documents() -> None:
    assert impact(1, 100, 100) < impact(3, 100, 100) < impact(30, 100, 100) <= 255
    assert impact(2, 50, 100) > impact(2, 400, 100)
    assert impact(0.001, 10_000, 10) == 1
    packed = postings([], 100.0)
    assert packed == {}
