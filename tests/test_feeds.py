"""The feed poller over real HTTP and the real Redis: a local server on 127.0.0.1 plays the
news sites with the pages of tests/fixtures/feeds/ (every host name resolves to it), counts
the requests and answers conditional GETs as a web server does."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDictProxy
from redis.asyncio import Redis

from bot import metrics
from bot.config import Settings
from bot.feeds.poller import FeedPoller
from bot.feeds.rss import MAX_DELAY, poll_period, retry_delay
from bot.news.article import TEHRAN, Article, stable_id
from storage.articles import ArticleStore
from storage.feeds import SEEN_KEPT, FeedStore
from storage.keys import Keys
from storage.redis import connect, redact
from tests.support.storage_fixtures import TEST_REDIS_URL, drop_prefix

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"

HAMSHAHRI = "http://www.hamshahrionline.ir/rss/tp/6"
NEMOUNEH = "http://www.khabar-nemouneh.ir/feed/atom"
METRO = "http://www.hamshahrionline.ir/news/948101/ایستگاه-میدان-صنعت"
AIR = "http://www.hamshahrionline.ir/news/948102/آلودگی-هوای-تهران"
PARKS = "http://www.hamshahrionline.ir/news/948103/ساعت-کار-بوستان\u200cها"
TRAFFIC = "http://www.hamshahrionline.ir/news/948104/طرح-ترافیک-۱۴۰۵"
SNOW = "http://www.khabar-nemouneh.ir/1404/07/24/barf-alborz"
REPORT = "http://www.khabar-nemouneh.ir/files/gozaresh-hava-1403.pdf"
GONE = "http://www.khabar-nemouneh.ir/1404/07/24/hazf-shode"
LAST_MODIFIED = "Thu, 16 Oct 2025 11:45:00 GMT"
START = datetime(2025, 10, 16, 15, 0, tzinfo=TEHRAN).timestamp()


def path(url: str) -> str:
    """The path a URL asks the server for."""
    return "/" + url.split("/", 3)[3]


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html"
    status: int = 200
    etag: bool = False
    last_modified: str | None = None
    delay: float = 0.0
    stream: int = 0
    """Bytes sent in chunks, with no Content-Length: a body the poller must cut off itself."""
    location: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Site:
    """Every news site of the fixtures, on one local server. Paths not served answer 404."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, CIMultiDictProxy[str]]] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None
    """A client whose every host name is this server."""
    port: int = 0

    def file(self, url: str, name: str, content_type: str = "text/html", **options: Any) -> None:
        self.routes[path(url)] = Route((FIXTURES / name).read_bytes(), content_type, **options)

    def count(self, url: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == path(url))

    def headers(self, url: str) -> list[CIMultiDictProxy[str]]:
        return [headers for seen, headers in self.requests if seen == path(url)]

    def local(self, route: str) -> str:
        """A URL of this server by its address, for a poller's own client."""
        return f"http://127.0.0.1:{self.port}{route}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, request.headers))
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="یافت نشد")
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.location:
            raise web.HTTPMovedPermanently(route.location)
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == headers["ETag"]:
                return web.Response(status=304, headers=headers)
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
            if (
                "If-None-Match" not in request.headers
                and request.headers.get("If-Modified-Since") == route.last_modified
            ):
                return web.Response(status=304, headers=headers)
        if route.stream:
            response = web.StreamResponse(headers={"Content-Type": route.content_type})
            await response.prepare(request)
            for _ in range(0, route.stream, 16 * 1024):
                await response.write(b"<item>" + b"x" * (16 * 1024 - 6))
            return response
        return web.Response(
            body=route.body, status=route.status, headers=headers, content_type=route.content_type
        )


class Loopback(AbstractResolver):
    """Resolves every host name to the test server: the fixtures keep their real-looking URLs
    and nothing leaves 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self.port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def news_sites(site: Site) -> None:
    site.file(
        HAMSHAHRI, "hamshahri.rss", "application/rss+xml", etag=True, last_modified=LAST_MODIFIED
    )
    site.file(NEMOUNEH, "nemouneh.atom", "application/atom+xml", last_modified=LAST_MODIFIED)
    site.file(METRO, "hamshahri-948101.html")
    site.file(AIR, "hamshahri-948102.html")
    site.routes[path(PARKS)] = Route(b"<h1>Internal Server Error</h1>", status=500)
    site.file(TRAFFIC, "hamshahri-948104.html")
    site.file(SNOW, "nemouneh-snow.html")
    site.routes[path(REPORT)] = Route(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf")


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    site = Site()
    news_sites(site)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", site.handle)
    runner = web.AppRunner(app, handler_cancellation=True)  # a slow answer stops with its client
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    site.port = runner.addresses[0][1]
    site.session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=Loopback(site.port))
    )
    yield site
    await site.session.close()
    await runner.cleanup()


async def fresh_store() -> ArticleStore:
    return ArticleStore(
        await connect(TEST_REDIS_URL),
        Keys(f"khabar-test-feeds-{uuid.uuid4().hex[:10]}"),
        retention=timedelta(days=36500),
    )


@pytest.fixture
async def store() -> AsyncIterator[ArticleStore]:
    """The real Redis only: these tests are about HTTP, and a second process's poller needs
    a Redis that two clients share."""
    store = await fresh_store()
    yield store
    await drop_prefix(store.redis, store.keys.prefix)
    await store.redis.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def poller(
    store: ArticleStore, site: Site, *feeds: str, clock: Clock | None = None, **settings: Any
) -> FeedPoller:
    values = {
        "feeds": list(feeds),
        "feed_interval": 300,
        "feed_timeout": 1.0,
        "feed_max_bytes": 64 * 1024,
        **settings,
    }
    return FeedPoller(store, Settings(**values), session=site.session, clock=clock or Clock())


async def announced(store: ArticleStore) -> list[str]:
    return [values["id"] for _, values in await store.redis.xrange(store.keys.new_articles())]


async def article(store: ArticleStore, article_id: str) -> Article:
    found = await store.get(article_id)
    assert found is not None, f"no article {article_id}"
    return found


def polls(result: str) -> float:
    value = metrics.REGISTRY.get_sample_value("khabar_feed_polls_total", {"result": result})
    return value or 0.0


# ---------------------------------------------------------------------------------------------


async def test_new_items_become_articles_once_and_are_announced(
    store: ArticleStore, site: Site
) -> None:
    clock = Clock()
    feeds = poller(store, site, HAMSHAHRI, NEMOUNEH, clock=clock)
    first = await feeds.poll_once()
    assert first == {
        "feeds": 2,
        "ok": 2,
        "not_modified": 0,
        "errors": 0,
        "items": 6,
        "stored": 5,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
    }
    # Nastooh links carry the article's code: the id, with or without the page.
    ids = ["948101", "948102", "948103", stable_id(SNOW), stable_id(REPORT)]
    assert sorted(await announced(store)) == sorted(ids)
    assert await store.count() == 5

    site.file(
        HAMSHAHRI,
        "hamshahri-updated.rss",
        "application/rss+xml",
        etag=True,
        last_modified="Thu, 16 Oct 2025 12:10:00 GMT",
    )
    clock.now += 3600
    second = await feeds.poll_once()
    assert (second["ok"], second["not_modified"], second["items"], second["stored"]) == (1, 1, 1, 1)
    assert (await announced(store))[5:] == ["948104"]
    for page in (METRO, AIR, PARKS, SNOW, REPORT, GONE):
        assert site.count(page) == 1, page


async def test_another_process_polling_the_same_redis_stores_only_what_is_new(
    store: ArticleStore, site: Site
) -> None:
    await poller(store, site, HAMSHAHRI).poll_once()
    site.file(HAMSHAHRI, "hamshahri-updated.rss", "application/rss+xml", etag=True)
    other = await fresh_store()
    try:
        clock = Clock()
        clock.now += 3600
        again = ArticleStore(other.redis, store.keys)  # its own connection, the same Redis
        counts = await poller(again, site, HAMSHAHRI, clock=clock).poll_once()
    finally:
        await other.redis.aclose()
    assert (counts["items"], counts["stored"]) == (1, 1)
    assert (await announced(store))[3:] == ["948104"]
    assert [site.count(page) for page in (METRO, AIR, PARKS, TRAFFIC)] == [1, 1, 1, 1]


async def test_unchanged_feeds_are_asked_conditionally_and_not_parsed_again(
    store: ArticleStore, site: Site
) -> None:
    clock = Clock()
    feeds = poller(store, site, HAMSHAHRI, NEMOUNEH, clock=clock)
    await feeds.poll_once()
    clock.now += 3600
    assert (await feeds.poll_once())["not_modified"] == 2
    rss, atom = site.headers(HAMSHAHRI)[-1], site.headers(NEMOUNEH)[-1]
    assert rss["If-None-Match"].startswith('"') and rss["If-Modified-Since"] == LAST_MODIFIED
    assert "If-None-Match" not in atom and atom["If-Modified-Since"] == LAST_MODIFIED
    assert len(site.requests) == 2 + 6 + 2  # the feeds, their pages once, the feeds again
    assert len(await announced(store)) == 5


async def test_feeds_are_polled_on_their_interval_or_their_longer_ttl(
    store: ArticleStore, site: Site
) -> None:
    clock = Clock()
    feeds = poller(store, site, HAMSHAHRI, NEMOUNEH, clock=clock)
    await feeds.poll_once()
    rss, atom = await feeds.state.states([HAMSHAHRI, NEMOUNEH])
    assert rss.next_poll == pytest.approx(START + 30 * 60)  # <ttl>30</ttl>
    assert atom.next_poll == pytest.approx(START + 300)
    clock.now += 301
    assert (await feeds.poll_once())["feeds"] == 1
    assert site.count(HAMSHAHRI) == 1 and site.count(NEMOUNEH) == 2
    assert poll_period(300, "100000") == MAX_DELAY and poll_period(300, "soon") == 300


async def test_a_nastooh_page_gives_title_lead_paragraphs_tags_key_points_and_quotes(
    store: ArticleStore, site: Site
) -> None:
    await poller(store, site, HAMSHAHRI).poll_once()
    metro = await article(store, "948101")
    assert metro.source == "hamshahri" and metro.url == METRO
    assert metro.title == "ایستگاه میدان صنعت خط ۷ مترو افتتاح شد"
    assert metro.lead is not None and metro.lead.startswith("ایستگاه میدان صنعت در خط ۷")
    assert [p[:30] for p in metro.paragraphs] == [
        "با افتتاح ایستگاه میدان صنعت، ",
        "ساخت این ایستگاه از سال ۱۳۹۶ آ",
        "پیش‌بینی می‌شود روزانه بیش از ",
    ]
    assert [(k.label, k.text) for k in metro.key_points] == [
        ("زمان بهره‌برداری", "از شنبه ۲۶ مهر، هر روز از ساعت ۶ تا ۲۲"),
        # A name the page glued stays as printed: no unknown word is cut into two words.
        ("ورودی‌ها", "خیابان پاکنژاد، بلوار دادمان، خیابان فخار مقدم و بوستان پردیسان"),
    ]
    [quote] = metro.quotes
    assert (quote.speaker, quote.role, quote.heading) == (
        "رضا کرمانی",
        "مدیرعامل شرکت بهره‌برداری متروی تهران",
        "کاهش فاصله حرکت قطارها",
    )
    assert quote.text.startswith("با افتتاح این ایستگاه و ورود ۱۰ قطار تازه")
    assert metro.tags == ["مترو", "خط ۷ مترو", "شهرداری تهران"]
    assert metro.short_link == "hamshahrionline.ir/x7Lk2"
    assert not any("اخبار مرتبط" in p or "حقوق" in p for p in metro.paragraphs)

    air = await article(store, "948102")  # no «کد خبر» on this page: the link's code
    assert [k.label for k in air.key_points] == ["شاخص کیفیت هوا", "مدارس"]
    assert [(q.speaker, q.role) for q in air.quotes] == [
        ("مریم احمدی", "سخنگوی کمیته اضطرار آلودگی هوا")
    ]
    assert air.paragraphs[1:] == [
        "طرح زوج و فرد نیز از ساعت ۶ صبح فردا در محدوده طرح ترافیک اجرا می‌شود.",
        "کامیون‌ها و وانت‌های فرسوده حق ورود به شهر را ندارند.",
    ]  # a <br> ends a line
    assert air.tags == ["آلودگی هوا", "مدارس"]


async def test_other_pages_are_read_by_trafilatura(store: ArticleStore, site: Site) -> None:
    await poller(store, site, NEMOUNEH).poll_once()
    snow = await article(store, stable_id(SNOW))
    assert snow.source == "khabar-nemouneh" and snow.url == SNOW
    assert snow.title == "نخستین برف پاییزی ارتفاعات البرز را سفید کرد"
    assert snow.lead is not None and "کارشناسان هواشناسی می‌گویند" in snow.lead
    assert [p[:20] for p in snow.paragraphs] == ["پلیس راه استان البرز", "به گفته مدیران مدیری"]
    assert [(q.speaker, q.role) for q in snow.quotes] == [
        ("علی نیک‌پور", "کارشناس اداره کل هواشناسی استان تهران")
    ]
    assert snow.tags == ["برف", "جاده چالوس", "هواشناسی"]
    text = " ".join([snow.lead, *snow.paragraphs])
    assert "دیدگاه" not in text and "پربازدید" not in text and "حقوق" not in text


async def test_without_a_usable_page_the_feed_item_makes_the_article(
    store: ArticleStore, site: Site
) -> None:
    await poller(store, site, HAMSHAHRI, NEMOUNEH).poll_once()
    parks = await article(store, "948103")  # the page answers 500
    assert parks.title == "ساعت کار بوستان‌های تهران در پاییز تغییر کرد"
    assert parks.lead == "بوستان‌های شهر تهران از ابتدای آبان تا ساعت ۲۲ باز هستند."
    assert parks.paragraphs == ["سازمان بوستان‌ها و فضای سبز شهر تهران این تغییر را اعلام کرد."]
    assert parks.tags == ["فضای سبز"] and parks.url == PARKS and parks.source == "hamshahri"
    report = await article(store, stable_id(REPORT))  # a PDF, not a page
    assert report.title == "گزارش سالانه کیفیت هوای تهران منتشر شد"
    assert report.lead == (
        "شرکت کنترل کیفیت هوای تهران گزارش سالانه ۱۴۰۳ را منتشر کرد: ۲۵۶ روز هوای قابل قبول."
    )
    assert report.tags == ["محیط زیست", "آلودگی هوا"]


async def test_an_item_that_makes_no_article_is_skipped_and_not_tried_again(
    store: ArticleStore, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    feeds = poller(store, site, NEMOUNEH, clock=clock)
    with caplog.at_level(logging.WARNING, logger="khabar.feeds"):
        assert (await feeds.poll_once())["skipped"] == 1
    assert any(
        "post-5119" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records
    )
    site.file(NEMOUNEH, "nemouneh.atom", "application/atom+xml")  # no validators: parsed again
    clock.now += 3600
    assert (await feeds.poll_once())["items"] == 0
    assert site.count(GONE) == 1


async def test_feed_dates_become_tehran_time(store: ArticleStore, site: Site) -> None:
    await poller(store, site, HAMSHAHRI, NEMOUNEH).poll_once()
    expected = {
        "948101": datetime(2025, 10, 16, 12, 0, tzinfo=TEHRAN),  # pubDate 08:30 GMT
        stable_id(SNOW): datetime(2025, 10, 16, 13, 20, tzinfo=TEHRAN),  # published +03:30
        stable_id(REPORT): datetime(2025, 10, 16, 13, 15, tzinfo=TEHRAN),  # updated, Z
    }
    for article_id, when in expected.items():
        published = (await article(store, article_id)).published
        assert isinstance(published, datetime) and published == when
        assert published.utcoffset() == timedelta(hours=3, minutes=30)


@pytest.mark.slow
async def test_broken_feeds_do_not_stop_the_others(
    store: ArticleStore, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    broken = {
        "http://www.akhbar-broken.ir/missing.xml": "HTTP 404",
        "http://www.akhbar-broken.ir/home.xml": "not an RSS or Atom feed",
        "http://www.akhbar-broken.ir/huge.xml": "larger than 65536 bytes",
        "http://www.akhbar-broken.ir/slow.xml": "no complete answer within 1 s",
        "http://www.akhbar-broken.ir/loop.xml": "more than 5 redirects",
    }
    site.file("http://www.akhbar-broken.ir/home.xml", "not-a-feed.html")
    site.routes["/huge.xml"] = Route(content_type="application/rss+xml", stream=1024 * 1024)
    site.file("http://www.akhbar-broken.ir/slow.xml", "hamshahri.rss", delay=5.0)
    site.routes["/loop.xml"] = Route(location="/loop.xml")
    errors, oks = polls("error"), polls("ok")
    started = asyncio.get_running_loop().time()
    with caplog.at_level(logging.WARNING, logger="khabar.feeds"):
        counts = await poller(store, site, *broken, HAMSHAHRI).poll_once()
    assert asyncio.get_running_loop().time() - started < 3
    assert (counts["errors"], counts["ok"], counts["stored"]) == (5, 1, 3)
    assert (polls("error") - errors, polls("ok") - oks) == (5, 1)
    messages = [r.getMessage() for r in caplog.records]
    for url, reason in broken.items():
        assert any(url in m and reason in m for m in messages), (url, messages)


async def test_redirects_are_followed_up_to_five(store: ArticleStore, site: Site) -> None:
    for hop in range(1, 6):  # /moved/5 → /moved/4 → … → /moved/1 → the feed
        site.routes[f"/moved/{hop}"] = Route(
            location=f"/moved/{hop - 1}" if hop > 1 else path(HAMSHAHRI)
        )
    five, six = "http://www.hamshahrionline.ir/moved/5", "http://www.hamshahrionline.ir/moved/6"
    site.routes["/moved/6"] = Route(location="/moved/5")
    counts = await poller(store, site, five, six).poll_once()
    assert (counts["ok"], counts["errors"], counts["stored"]) == (1, 1, 3)
    assert (await FeedStore(store.redis, store.keys).get(six)).last_error == (
        "more than 5 redirects"
    )


async def test_errors_back_off_exponentially_and_a_recovered_feed_goes_back_to_its_interval(
    store: ArticleStore, site: Site
) -> None:
    clock = Clock()
    feeds = FeedPoller(
        store,
        Settings(
            feeds=[site.local("/rss")], feed_interval=300, feed_timeout=1.0, feed_allow_private=True
        ),
        clock=clock,
    )  # its own client
    delays = []
    for _ in range(3):
        assert (await feeds.poll_once())["errors"] == 1
        state = await feeds.state.get(site.local("/rss"))
        delays.append(state.next_poll - clock.now)
        assert (await feeds.poll_once())["feeds"] == 0  # not before its time
        clock.now = state.next_poll
    assert delays == [600, 1200, 2400] and state.failures == 3
    assert state.last_error == "HTTP 404"
    assert retry_delay(300, 10) == MAX_DELAY == 6 * 3600
    site.file(site.local("/rss"), "hamshahri.rss", "application/rss+xml")
    assert (await feeds.poll_once())["ok"] == 1
    state = await feeds.state.get(site.local("/rss"))
    assert state.failures == 0 and state.last_error is None
    assert state.next_poll == pytest.approx(clock.now + 1800)


async def test_feeds_at_private_addresses_are_not_fetched(store: ArticleStore, site: Site) -> None:
    site.file(site.local("/rss"), "hamshahri.rss", "application/rss+xml")
    local = [
        site.local("/rss"),
        f"http://localhost:{site.port}/rss",
        f"http://[::1]:{site.port}/rss",
    ]
    feeds = FeedPoller(store, Settings(feeds=local, feed_timeout=1.0), clock=Clock())
    assert (await feeds.poll_once())["errors"] == 3
    assert site.requests == [], "nothing was asked of a local address"
    state = await feeds.state.get(f"http://localhost:{site.port}/rss")
    assert state.last_error is not None and "Cannot connect to host localhost" in state.last_error
    later = Clock()
    later.now = state.next_poll  # past the failed poll's backoff
    allowed = FeedPoller(
        store, Settings(feeds=local[:1], feed_timeout=1.0, feed_allow_private=True), clock=later
    )
    assert (await allowed.poll_once())["ok"] == 1


async def test_a_busy_server_is_asked_again_no_sooner_than_it_says(
    store: ArticleStore, site: Site
) -> None:
    site.routes["/busy.xml"] = Route(status=503, headers={"Retry-After": "7200"})
    clock = Clock()
    feeds = poller(store, site, "http://www.akhbar-busy.ir/busy.xml", clock=clock)
    assert (await feeds.poll_once())["errors"] == 1
    state = await feeds.state.get("http://www.akhbar-busy.ir/busy.xml")
    assert state.next_poll == pytest.approx(clock.now + 7200)  # not the backoff's 600 s


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_two_pollers_one_lease_only_the_holder_polls_and_another_takes_over(
    store: ArticleStore, site: Site
) -> None:
    other = await fresh_store()
    settings = Settings(feeds=[HAMSHAHRI], feed_interval=300, feed_timeout=1.0)
    first = FeedPoller(store, settings, session=site.session, lease_seconds=1.5)
    second = FeedPoller(
        ArticleStore(other.redis, store.keys), settings, session=site.session, lease_seconds=1.5
    )
    try:
        first.start()

        async def three_announced() -> bool:
            return len(await announced(store)) == 3

        await wait_for(three_announced)
        second.start()
        await asyncio.sleep(1.5)  # the second stands by
        assert site.count(HAMSHAHRI) == 1
        await first.stop()

        async def taken_over() -> bool:
            return site.count(HAMSHAHRI) == 2

        await wait_for(taken_over)  # its start-up poll, conditional on what the first learnt
        assert "If-None-Match" in site.headers(HAMSHAHRI)[-1]
        await second.stop()
        assert await store.redis.exists(store.keys.feed_poller()) == 0
        assert len(await announced(store)) == 3
    finally:
        await first.stop()
        await second.stop()
        await other.redis.aclose()


async def test_feed_state_keeps_the_seen_items_bounded_and_drops_stale_validators(
    redis: Redis, keys: Keys
) -> None:
    state = FeedStore(redis, keys)
    many = [f"guid-{n}" for n in range(SEEN_KEPT + 10)]
    await state.polled(
        HAMSHAHRI,
        etag='"a"',
        last_modified=LAST_MODIFIED,
        next_poll=START,
        period=300,
        seen=many[:10],
        now=START,
    )
    await state.polled(
        HAMSHAHRI,
        etag=None,
        last_modified=LAST_MODIFIED,
        next_poll=START,
        period=300,
        seen=many[10:],
        now=START + 1,
    )
    assert await state.unseen(HAMSHAHRI, ["guid-0", "guid-10", many[-1], "new"]) == [
        True,
        False,
        False,
        True,
    ]
    assert await state.unseen(NEMOUNEH, ["guid-10"]) == [True]
    found = await state.get(HAMSHAHRI)
    assert found.etag is None and found.last_modified == LAST_MODIFIED


def test_logged_urls_leave_out_secrets() -> None:
    assert redact("https://editor:hunter2@www.irna.ir/rss?api_key=abc123&lang=fa&token=x") == (
        "https://editor:***@www.irna.ir/rss?api_key=***&lang=fa&token=***"
    )
    assert redact(HAMSHAHRI) == HAMSHAHRI
