"""Search at scale: ingest N synthetic Persian articles into Redis, then measure.

    .venv/bin/python benchmarks/search.py [--articles N ...] [--queries Q] [--redis URL]
                                          [--no-fts5]

The corpus is drawn from khabar's Persian lexicon (bot/data: word frequencies from wordfreq),
words picked by their real frequency, so common words are common and rare ones rare; article
lengths follow a log-normal law around 2,300 characters (news pages run from ~600 to ~9,000),
with a title, a lead, key points, a quote and paragraphs, like a parsed page.

Prints, for each N: ingest articles/s (the same batched writer `khabar ingest` uses, after
parsing), Redis memory per article (all of khabar's keys, the articles alone, the search index
alone, and the index as a multiple of the article), and search latency p50/p99 for 1-, 2- and
3-word queries and for a word being typed (the index alone, and with the articles fetched as
`khabar search` does). Each N runs under a prefix of its own, deleted afterwards.

The same articles also go into SQLite FTS5 (benchmarks/fts5.py: bm25, the OR of the query's
words, the last one a prefix while typing), and the same queries are timed there: each line
ends with FTS5's p50/p99 and khabar's p99 as a multiple of FTS5's.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.fts5 import Fts5  # noqa: E402
from bot.ingest import BATCH, Writer  # noqa: E402
from bot.news.analysis import _stop_words, query_terms  # noqa: E402
from bot.news.article import Article, KeyPoint, Quote  # noqa: E402
from bot.news.lexicon import lexicon  # noqa: E402
from storage.articles import ArticleStore  # noqa: E402
from storage.keys import Keys  # noqa: E402
from storage.redis import connect  # noqa: E402

VOCABULARY = 60_000
MEDIAN_CHARACTERS = 2_300


class Corpus:
    """Synthetic articles from the lexicon's most frequent Persian words."""

    def __init__(self, seed: int = 1404) -> None:
        self.rng = np.random.default_rng(seed)
        persian = [
            (word, zipf)
            for word, zipf in lexicon().zipf.items()
            if word.isalpha() and not word.isascii() and len(word) > 1
        ]
        persian.sort(key=lambda item: -item[1])
        persian = persian[:VOCABULARY]
        self.words = np.array([word for word, _ in persian], dtype=object)
        weights = np.array([10**zipf for _, zipf in persian])
        self.weights = weights / weights.sum()
        self.cumulative = np.cumsum(self.weights)
        self.today = date(2026, 11, 1)

    def _draw(self, count: int) -> list[str]:
        """Words by their frequency (rng.choice with p= would rebuild the table every call)."""
        places = np.searchsorted(self.cumulative, self.rng.random(count) * self.cumulative[-1])
        return list(self.words[places])

    def _sentence(self, words: int) -> str:
        return " ".join(self._draw(words)) + "."

    def _sentences(self, count: int) -> list[str]:
        return [self._sentence(int(self.rng.integers(8, 26))) for _ in range(count)]

    def article(self, number: int) -> Article:
        characters = float(np.clip(self.rng.lognormal(np.log(MEDIAN_CHARACTERS), 0.5), 600, 9000))
        sentences = max(2, round(characters / 95))  # ~95 characters a sentence
        body = self._sentences(sentences)
        paragraphs = [" ".join(body[i : i + 3]) for i in range(0, len(body), 3)]
        age = int(self.rng.integers(0, 80))
        return Article.trusted(
            {
                "id": f"b{number}",
                "title": self._sentence(int(self.rng.integers(6, 13))).rstrip("."),
                "lead": self._sentence(int(self.rng.integers(15, 31))),
                "key_points": [
                    KeyPoint.trusted({"label": None, "text": s}) for s in self._sentences(2)
                ],
                "quotes": [
                    Quote.trusted(
                        {
                            "speaker": " ".join(self.rng.choice(self.words, 2)),
                            "role": None,
                            "text": self._sentence(20),
                            "heading": None,
                        }
                    )
                ],
                "paragraphs": paragraphs,
                "published": datetime.combine(
                    self.today - timedelta(days=age), datetime.min.time(), UTC
                )
                + timedelta(minutes=int(self.rng.integers(0, 1440))),
                "tags": list(self.rng.choice(self.words[:5000], 3)),
            }
        )

    def queries(self, words: int, count: int) -> list[str]:
        """Queries of `words` words, drawn like the text is (common words common), stop words
        left out since they are not searched."""
        stop = _stop_words()
        found: list[str] = []
        while len(found) < count:
            picked = [w for w in self._draw(3 * words) if w not in stop][:words]
            if len(picked) == words:
                found.append(" ".join(picked))
        return found


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


async def _redis_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def memory_of(redis: Redis, pattern: str) -> tuple[int, int]:
    """Bytes (MEMORY USAGE, allocation included) and keys matching a pattern."""
    total = keys = 0
    batch: list[str] = []
    async for key in redis.scan_iter(match=pattern, count=2000):
        batch.append(key)
        if len(batch) == 1000:
            total += await _usage(redis, batch)
            keys += len(batch)
            batch = []
    if batch:
        total += await _usage(redis, batch)
        keys += len(batch)
    return total, keys


async def _usage(redis: Redis, keys: list[str]) -> int:
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.memory_usage(key, samples=0)
        return sum(value or 0 for value in await pipe.execute())


async def run(n: int, queries: int, url: str, analysers: int, fts5: bool) -> dict[str, float]:
    """Prints the figures for N articles; returns each kind of query's p99 (ms, the index)."""
    p99s: dict[str, float] = {}
    corpus = Corpus()
    redis = await connect(url)
    keys = Keys(f"khabar-bench-{uuid.uuid4().hex[:8]}")
    store = ArticleStore(redis, keys, retention=timedelta(days=3650))
    try:
        print(f"\nN = {n:,} articles")
        generated = time.perf_counter()
        articles = [corpus.article(i) for i in range(n)]
        generated = time.perf_counter() - generated
        characters = statistics.mean(
            len(a.title)
            + len(a.lead or "")
            + sum(len(p) for p in a.paragraphs)
            + sum(len(k.text) for k in a.key_points)
            + sum(len(q.text) for q in a.quotes)
            for a in articles
        )
        print(
            f"  corpus: generated in {generated:.1f} s, {characters:,.0f} characters per "
            "article on average"
        )

        before = (await redis.info("memory"))["used_memory"]
        redis_cpu = await _redis_cpu(redis)
        own_cpu = resource.getrusage(resource.RUSAGE_SELF)
        workers_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        writer = Writer(store, analysers=analysers)
        start = time.perf_counter()
        for first in range(0, n, BATCH):
            await writer.submit(articles[first : first + BATCH])
        await writer.drain()
        seconds = time.perf_counter() - start
        after = (await redis.info("memory"))["used_memory"]
        redis_cpu = await _redis_cpu(redis) - redis_cpu
        own = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - _cpu(own_cpu)
        workers = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - _cpu(workers_cpu)
        print(
            f"  ingest: {n / seconds:,.0f} articles/s ({seconds:.1f} s, {analysers} analyser "
            f"processes); CPU per article: this process {own / n * 1e6:,.0f} µs, analysers "
            f"{workers / n * 1e6:,.0f} µs, Redis {redis_cpu / n * 1e6:,.0f} µs"
        )

        article_bytes, _ = await memory_of(redis, f"{keys.prefix}:article:*")
        index_bytes = 0
        vocabulary = 0
        for pattern in ("idx:*", "idx-*", "vocabulary"):
            size, count = await memory_of(redis, f"{keys.prefix}:{pattern}")
            index_bytes += size
            vocabulary += count if pattern == "idx:*" else 0
        print(
            f"  memory: {(after - before) / n:,.0f} B per article in all "
            f"(used_memory delta); articles {article_bytes / n:,.0f} B each; "
            f"search index {index_bytes / n:,.0f} B per article = "
            f"{index_bytes / article_bytes:.2f}× the articles; {vocabulary:,} terms"
        )

        sqlite = Fts5() if fts5 else None
        if sqlite is not None:
            seconds = sqlite.add(articles)
            print(f"  FTS5: {n / seconds:,.0f} articles/s into an in-memory table")
        del articles
        # The bot loads the lexicon when it starts (bot/app/build.py), before any reader's
        # search: so does this, and the first search of the process is reported on its own.
        started = time.perf_counter()
        query_terms("کلان‌شهرهای ایران")
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        await store.search.search(corpus.queries(1, 1)[0], 0, 10)
        print(
            f"  first search of the process: {(time.perf_counter() - started) * 1000:.1f} ms "
            f"(the table of {n:,} documents read), after the lexicon loaded in "
            f"{loaded * 1000:.0f} ms as the bot does at start"
        )
        for label, words, typing in (
            ("1 word", 1, False),
            ("2 words", 2, False),
            ("3 words", 3, False),
            ("typing", 2, True),
        ):
            asked = corpus.queries(words, queries)
            if typing:  # the last word cut short, as it is while being typed
                asked = [q[: -max(1, len(q.rsplit(" ", 1)[-1]) // 2)] for q in asked]
            # Each engine runs the queries in a block of its own: interleaved, each query would
            # find the caches full of the other engine's pages.
            index_times, full_times, fts5_times, totals = [], [], [], []
            for query in asked:
                start = time.perf_counter()
                results = await store.search.search(query, 0, 10, typing=typing)
                index_times.append((time.perf_counter() - start) * 1000)
                totals.append(results.total)
            for query in asked:
                start = time.perf_counter()
                await store.find(query, 0, 10, typing=typing)
                full_times.append((time.perf_counter() - start) * 1000)
            for query in asked:
                if sqlite is not None:
                    start = time.perf_counter()
                    sqlite.search(query, 10, typing=typing)
                    fts5_times.append((time.perf_counter() - start) * 1000)
            line = (
                f"  search {label:<8} p50 {percentile(index_times, 50):6.2f} ms  "
                f"p99 {percentile(index_times, 99):6.2f} ms  |  with articles p50 "
                f"{percentile(full_times, 50):6.2f} ms  p99 {percentile(full_times, 99):6.2f}"
                f" ms  |  median {statistics.median(totals):,.0f} matches"
            )
            if fts5_times:
                p99 = percentile(fts5_times, 99)
                line += (
                    f"  |  FTS5 p50 {percentile(fts5_times, 50):6.2f} ms  p99 {p99:6.2f} ms"
                    f"  (khabar p99 {percentile(index_times, 99) / p99:.3f}× FTS5's)"
                )
            print(line)
            p99s[label] = percentile(index_times, 99)
        if sqlite is not None:
            sqlite.close()
    finally:
        async for key in redis.scan_iter(match=f"{keys.prefix}:*", count=5000):
            await redis.unlink(key)
        await redis.aclose()
    return p99s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300, help="per kind of query")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--analysers",
        type=int,
        default=2,
        help="processes that analyse articles for the index while this one "
        "writes (0: all in this process)",
    )
    parser.add_argument(
        "--no-fts5", dest="fts5", action="store_false", help="leave SQLite FTS5 out"
    )
    args = parser.parse_args()
    p99s = {
        n: asyncio.run(run(n, args.queries, args.redis, args.analysers, args.fts5))
        for n in args.articles
    }
    sizes = sorted(p99s)
    for smaller, larger in itertools.pairwise(sizes):
        growth = ", ".join(
            f"{label} {p99s[larger][label] / p99s[smaller][label]:.2f}×" for label in p99s[larger]
        )
        print(
            f"\np99 at {larger:,} over p99 at {smaller:,} ({larger / smaller:g}× the articles): "
            + growth
        )


if __name__ == "__main__":
    main()
