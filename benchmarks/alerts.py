"""Alert matching at newsroom scale: N alerts over N/2 chats in Redis, new articles matched.

    .venv/bin/python benchmarks/alerts.py [--alerts 10000 100000 1000000] [--articles 300]
                                          [--redis URL]

Alerts are what readers type: one word (60%), two (30%) or three (10%), each drawn at random
among the lexicon's 1,000th to 50,000th most common Persian words (what readers follow are
names, places and things in the news, not «است» or «امروز»; the commonest are refused, as
`/alert` refuses them); each is filed under its rarest term, as `/alert` files it. Articles
are the synthetic Persian news of benchmarks/search.py (about 2,300 characters, words at their
real frequencies), none of them stored.

Prints, for each N: the time to file the alerts and Redis memory per alert, the time the
matcher takes to load its copy of the index (once, when a process becomes the matcher); for
one new article, the analysis (its terms, once per article whatever N is) and the match (one
round trip for the index's changes, the alerts filed under the article's terms looked up in
the copy, each checked), p50 and p99 in ms; candidates
and matching chats per article; and articles matched per second end to end. Each N runs under
a prefix of its own, deleted afterwards. Then (`--deliver`, 300 chats) the bot itself, against
the strict fake Bot API: one article reaching every chat that follows a word of it, in
messages/s, with the 429s and duplicates counted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.search import Corpus  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery.alerts import AlertSender, AlertWording  # noqa: E402
from bot.news.analysis import commonness  # noqa: E402
from bot.news.article import Article  # noqa: E402
from storage.alert_index import AlertIndex  # noqa: E402
from storage.alert_terms import ArticleTerms, Unit, parse_alert  # noqa: E402
from storage.alerts import COMMON_ZIPF, AlertStore  # noqa: E402
from storage.articles import ArticleStore  # noqa: E402
from storage.keys import Keys  # noqa: E402
from storage.outbox import Outbox  # noqa: E402
from storage.ratelimit import BOT_BUDGET  # noqa: E402
from storage.redis import connect  # noqa: E402

LOAD_BATCH = 2_000
RANKS = (1_000, 50_000)
"""Alert words: the lexicon's 1,000th to 50,000th most common words, any of them as likely
(names, places, things in the news: «زلزله» is about the 5,000th, «بنزین» the 9,000th)."""
TARGET_P99_MS = 5.0


def alerts_of(corpus: Corpus, count: int) -> list[tuple[int, str, list[Unit], str]]:
    """(chat, words, units, rarest term) for `count` alerts over count/2 chats."""
    words = [w for w in corpus.words[RANKS[0] : RANKS[1]] if commonness(parse_key(w)) < COMMON_ZIPF]
    rng = np.random.default_rng(17)
    sizes = rng.choice([1, 2, 3], size=count, p=[0.6, 0.3, 0.1])
    chats = rng.integers(1, max(2, count // 2) + 1, size=count)
    picks = rng.integers(0, len(words), size=int(sizes.sum()))
    found = []
    at = 0
    for size, chat in zip(sizes, chats, strict=True):
        text = " ".join(words[p] for p in picks[at : at + size])
        at += size
        units = parse_alert(text).units
        if units:
            every = [term for unit in units for term in unit]
            found.append((int(chat), text, units, min(every, key=lambda t: (commonness(t), t))))
    return found


def parse_key(word: str) -> str:
    units = parse_alert(word).units
    return units[0][0] if units else word


async def route_times(redis: Redis, keys: Keys, corpus: Corpus, articles: int) -> list[float]:
    """ms per article of AlertSender.route, as the matcher runs it (quiet hours off)."""
    settings = Settings(redis_prefix=keys.prefix, alert_quiet_hours="0-0", alerts_per_hour=60)
    wording = AlertWording(lambda messages, reasons: messages, lambda items, daily: {}, "")

    async def card(article: Article, style: str | None = None) -> list[dict[str, Any]]:
        return []

    sender = AlertSender(ArticleStore(redis, keys), Outbox(redis, keys), settings, card, wording)
    await sender.index.load()
    times = []
    for number in range(articles):
        article = corpus.article(10_000 + number)
        started = time.perf_counter()
        await sender.route(article)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def memory_of(redis: Redis, prefix: str) -> int:
    """Bytes of Redis the prefix's keys take (MEMORY USAGE of each: the server's total moves
    with whatever else runs on it)."""
    total = 0
    found = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=5000)]
    for start in range(0, len(found), 1000):
        async with redis.pipeline(transaction=False) as pipe:
            for key in found[start : start + 1000]:
                pipe.memory_usage(key, samples=0)
            total += sum(n or 0 for n in await pipe.execute())
    return total


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(redis_url: str, count: int, articles: int, corpus: Corpus) -> None:
    redis = await connect(redis_url)
    keys = Keys(f"khabar-bench-alerts-{uuid.uuid4().hex[:8]}")
    store = AlertStore(redis, keys)
    try:
        items = alerts_of(corpus, count)
        started = time.perf_counter()
        for start in range(0, len(items), LOAD_BATCH):
            await store.add_many(items[start : start + LOAD_BATCH])
        loaded = time.perf_counter() - started
        memory = await memory_of(redis, keys.prefix)
        chats = int(await redis.scard(keys.alert_chats()))  # type: ignore[misc]
        stored = int(await redis.zcard(keys.alert_words()))
        index = AlertIndex(redis, keys)
        started = time.perf_counter()
        await index.load()
        copied = time.perf_counter() - started
        pings = []
        for _ in range(articles):
            t0 = time.perf_counter()
            await redis.ping()
            pings.append((time.perf_counter() - t0) * 1000)
        analysis, matching, cpu, candidates, matched = [], [], [], [], []
        total_started = time.perf_counter()
        for number in range(articles):
            article = corpus.article(number)
            t0 = time.perf_counter()
            terms = ArticleTerms.of(article)
            t1, c1 = time.perf_counter(), time.process_time()
            chosen = [chat for chat, _ in await index.matching(terms)]
            t2, c2 = time.perf_counter(), time.process_time()
            cpu.append((c2 - c1) * 1000)
            analysis.append((t1 - t0) * 1000)
            matching.append((t2 - t1) * 1000)
            candidates.append(sum(len(index.by_term.get(t, ())) for t in terms.present))
            matched.append(len(set(chosen)))
        per_second = articles / (time.perf_counter() - total_started)
        p99 = percentile(matching, 0.99)
        print(
            f"{len(items):>9,} alerts over {chats:>7,} chats ({stored:,} distinct word sets): "
            f"filed in {loaded:5.1f} s, {memory / len(items):5.0f} B of Redis per alert; "
            f"the matcher's copy loaded in {copied:4.1f} s"
        )
        print(
            f"    match    p50 {percentile(matching, 0.5):6.2f} ms  p99 {p99:6.2f} ms  "
            f"{'ok' if p99 <= TARGET_P99_MS else 'OVER'} (target {TARGET_P99_MS} ms); "
            f"CPU p50 {percentile(cpu, 0.5):5.2f} ms p99 {percentile(cpu, 0.99):5.2f} ms; "
            f"a bare PING to this Redis: p50 {percentile(pings, 0.5):4.2f} ms "
            f"p99 {percentile(pings, 0.99):4.2f} ms"
        )
        print(
            f"    analysis p50 {percentile(analysis, 0.5):6.2f} ms  "
            f"p99 {percentile(analysis, 0.99):6.2f} ms (the article's terms, whatever N)"
        )
        print(
            f"    per article: {statistics.mean(candidates):8.1f} candidates checked, "
            f"{statistics.mean(matched):7.1f} chats matched; "
            f"{per_second:6.0f} articles/s analysed and matched"
        )
        routing = await route_times(redis, keys, corpus, min(articles, 100))
        print(
            f"    route    p50 {percentile(routing, 0.5):6.2f} ms  "
            f"p99 {percentile(routing, 0.99):6.2f} ms (analysis, match, the reasons' words, "
            f"each chat's choice and hourly count: all the matcher does before filing)"
        )
    finally:
        found = [key async for key in redis.scan_iter(match=f"{keys.prefix}:*", count=5000)]
        for start in range(0, len(found), 1000):
            await redis.unlink(*found[start : start + 1000])
        await redis.aclose()


async def deliver(chats: int) -> None:
    """`chats` readers follow one word; one article with it is stored: how fast the alert
    reaches them all through the outbox and the shared budget, against the strict fake Bot
    API (Telegram's limits as windows; a 429 would be a failure)."""
    from tests.support.bot_harness import running_bot
    from tests.support.fake_telegram import FakeTelegram

    telegram = FakeTelegram(strict=True)
    readers = range(900_001, 900_001 + chats)
    telegram.add_private_chats(readers)
    async with running_bot(telegram, alert_quiet_hours="0-0", alerts_per_hour=60) as h:
        store = AlertStore(h.services.redis, h.store.keys)
        units = parse_alert("زلزله").units
        await store.add_many([(chat, "زلزله", units, "زلزله") for chat in readers])
        while not any(
            group["name"] == "alerts"
            for group in await h.services.redis.xinfo_groups(h.store.keys.new_articles())
        ):
            await asyncio.sleep(0.05)
        article = Article(id="alerted", title="زلزله در کرمان", lead="مرکز لرزه‌نگاری خبر داد.")
        started = time.perf_counter()
        await h.store.save(article)
        await telegram.wait_until(
            lambda: all(telegram.chat(chat) for chat in readers), timeout=chats / 10 + 30
        )
        took = time.perf_counter() - started
        sent = len(telegram.send_log)
    print(
        f"delivery: one article to {chats:,} chats by their alerts in {took:5.1f} s "
        f"({sent:,} messages, {sent / took:4.1f} messages/s; "
        f"the bot's budget is {BOT_BUDGET:g}/s), "
        f"{telegram.rate_limited} × 429, {len(telegram.duplicates())} chats with a duplicate"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--deliver", type=int, default=300, help="chats (0: skip)")
    options = parser.parse_args()
    corpus = Corpus()
    for count in options.alerts:
        await measure(options.redis, count, options.articles, corpus)
    if options.deliver:
        await deliver(options.deliver)


if __name__ == "__main__":
    asyncio.run(main())
