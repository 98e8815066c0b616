"""Search relevance: khabar's search against a plain BM25 on the same articles and queries.

    .venv/bin/python benchmarks/relevance.py [--verbose] [--redis URL]
    .venv/bin/python benchmarks/relevance.py --collection ../shared/eval/hamshahri [--limit N]

The test set is tests/fixtures/relevance/topics.json: 40 news topics (6 headlines and 12
sentences each, written and read by a Persian speaker), 25 filler sentences that belong to no
topic, and queries typed the way people type (Arabic ي/ك, missing or extra half-spaces,
Persian or Latin digits, plural forms), each with the topics a reader would call relevant.
Every topic makes 6 articles (one per headline; a lead and 4 to 7 body sentences of the topic
and a filler sentence or two, in a fixed pseudo-random order), 240 articles in all.

Prints precision@5 and mean average precision for khabar (the Redis index of storage/search.py)
and for plain BM25 (whitespace words, lower-cased, punctuation stripped; no letter folding, no
half-space handling, no stemming, no stop words, no fields).

With --collection, a real test collection instead (benchmarks/collection.py: Article JSON
lines, queries in two spellings, judgements): its articles go into a Redis store as `khabar
ingest` puts them, each query is searched as `khabar search --limit 100` does, and MAP, P@10
and nDCG@10 are printed for khabar and for a plain BM25 reference (Persian letters folded,
title counted twice), for each spelling, on the odd-numbered (dev) and even-numbered
(held-out) topics the collection has.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.collection import (  # noqa: E402
    DEPTH,
    SPELLINGS,
    Collection,
    Measures,
    load_collection,
    measure,
    reference_rankings,
)
from bot.news.article import Article  # noqa: E402
from storage.articles import ArticleStore  # noqa: E402
from storage.keys import Keys  # noqa: E402
from storage.redis import connect  # noqa: E402
from tests.support.storage_fixtures import drop_prefix  # noqa: E402

TOPICS = ROOT / "tests" / "fixtures" / "relevance" / "topics.json"
CUTOFF = 5
BATCH = 2_000
_PUNCTUATION = "«»،؛؟!?.,:;()[]\"'-–—…"


@dataclass(frozen=True)
class Query:
    text: str
    relevant: frozenset[str]
    """Ids of the relevant articles."""
    note: str


@dataclass(frozen=True)
class TestSet:
    articles: list[Article]
    queries: list[Query]


def load(path: Path = TOPICS) -> TestSet:
    data = json.loads(path.read_text(encoding="utf-8"))
    rng = random.Random(1404)
    fillers: list[str] = data["fillers"]
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    articles: list[Article] = []
    by_topic: dict[str, list[str]] = {}
    for topic in data["topics"]:
        sentences: list[str] = topic["sentences"]
        for number, title in enumerate(topic["titles"]):
            picked = rng.sample(sentences, rng.randint(5, 8))
            body = picked[1:] + rng.sample(fillers, rng.randint(1, 2))
            rng.shuffle(body)
            article_id = f"{topic['id']}-{number + 1}"
            articles.append(
                Article(
                    id=article_id,
                    title=title,
                    lead=picked[0],
                    paragraphs=[" ".join(body[i : i + 2]) for i in range(0, len(body), 2)],
                    published=start + timedelta(hours=rng.randint(0, 24 * 60)),
                )
            )
            by_topic.setdefault(topic["id"], []).append(article_id)
    queries = [
        Query(
            text=query["query"],
            relevant=frozenset(i for topic in query["relevant"] for i in by_topic[topic]),
            note=query.get("tests", ""),
        )
        for query in data["queries"]
    ]
    return TestSet(articles, queries)


def precision_at(ranked: Sequence[str], relevant: frozenset[str], k: int = CUTOFF) -> float:
    return sum(1 for article_id in ranked[:k] if article_id in relevant) / k


def average_precision(ranked: Sequence[str], relevant: frozenset[str]) -> float:
    found = 0
    total = 0.0
    for rank, article_id in enumerate(ranked, 1):
        if article_id in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


@dataclass(frozen=True)
class Scores:
    precision: float
    mean_average_precision: float
    per_query: list[tuple[Query, float, float, list[str]]]


def score(queries: Sequence[Query], rankings: Sequence[list[str]]) -> Scores:
    rows = [
        (
            query,
            precision_at(ranked, query.relevant),
            average_precision(ranked, query.relevant),
            ranked,
        )
        for query, ranked in zip(queries, rankings, strict=True)
    ]
    return Scores(
        precision=sum(p for _, p, _, _ in rows) / len(rows),
        mean_average_precision=sum(ap for _, _, ap, _ in rows) / len(rows),
        per_query=rows,
    )


async def khabar_rankings(test: TestSet, url: str = "memory://") -> list[list[str]]:
    """khabar's ranking of every query: the articles stored and searched through Redis."""
    redis = await connect(url)
    keys = Keys(f"khabar-relevance-{uuid.uuid4().hex[:8]}")
    store = ArticleStore(redis, keys, retention=timedelta(days=36500))
    try:
        await store.save_many(test.articles)
        rankings = []
        for query in test.queries:
            results = await store.search.search(query.text, 0, len(test.articles))
            rankings.append([hit.article_id for hit in results.hits])
        return rankings
    finally:
        await drop_prefix(redis, keys.prefix)
        await redis.aclose()


def _plain_words(text: str) -> list[str]:
    return [w for w in (word.strip(_PUNCTUATION).lower() for word in text.split()) if w]


def plain_bm25_rankings(test: TestSet, k1: float = 1.2, b: float = 0.75) -> list[list[str]]:
    """Textbook BM25 over the whole text of each article, words as typed."""
    documents = {
        article.id: Counter(
            _plain_words(" ".join([article.title, article.lead or "", *article.paragraphs]))
        )
        for article in test.articles
    }
    lengths = {article_id: sum(words.values()) for article_id, words in documents.items()}
    average = sum(lengths.values()) / len(lengths)
    frequency: Counter[str] = Counter()
    for words in documents.values():
        frequency.update(words.keys())
    total = len(documents)
    rankings = []
    for query in test.queries:
        scores: dict[str, float] = {}
        for word in set(_plain_words(query.text)):
            df = frequency[word]
            if not df:
                continue
            idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
            for article_id, words in documents.items():
                if tf := words[word]:
                    norm = k1 * (1 - b + b * lengths[article_id] / average)
                    scores[article_id] = scores.get(article_id, 0.0) + idf * tf * (k1 + 1) / (
                        tf + norm
                    )
        rankings.append(sorted(scores, key=lambda article_id: -scores[article_id]))
    return rankings


async def collection_rankings(collection: Collection, url: str) -> dict[str, list[list[str]]]:
    """khabar's top DEPTH for every topic, per spelling, through a Redis store."""
    redis = await connect(url)
    keys = Keys(f"khabar-collection-{uuid.uuid4().hex[:8]}")
    store = ArticleStore(redis, keys, retention=timedelta(days=365_000))
    try:
        for start in range(0, len(collection.articles), BATCH):
            await store.save_many(collection.articles[start : start + BATCH], announce=False)
        rankings: dict[str, list[list[str]]] = {}
        for spelling in SPELLINGS:
            rankings[spelling] = []
            for topic in collection.topics:
                results = await store.search.search(topic.texts[spelling], 0, DEPTH)
                rankings[spelling].append([hit.article_id for hit in results.hits])
        return rankings
    finally:
        await drop_prefix(redis, keys.prefix)
        await redis.aclose()


def collection_report(folder: Path, url: str, limit: int | None, verbose: bool) -> None:
    collection = load_collection(folder, limit=limit)
    khabar = asyncio.run(collection_rankings(collection, url))
    print(f"{len(collection.articles):,} articles, {len(collection.topics)} topics")
    for part, wanted in (("dev (odd)", True), ("held-out (even)", False)):
        chosen = [n for n, topic in enumerate(collection.topics) if topic.dev == wanted]
        if not chosen:
            print(f"{part}: no topics in this collection")
            continue
        topics = [collection.topics[n] for n in chosen]
        print(f"{part}: {len(topics)} topics")
        for spelling in SPELLINGS:
            queries = [topic.texts[spelling] for topic in topics]
            ours = measure(topics, [khabar[spelling][n] for n in chosen])
            plain = measure(topics, reference_rankings(collection.raw, queries))
            print(f"  {spelling:<6}  khabar      {ours.line()}")
            print(f"  {spelling:<6}  plain BM25  {plain.line()}")
            if verbose:
                _per_topic(ours, plain)


def _per_topic(ours: Measures, plain: Measures) -> None:
    for number, ap in ours.per_topic.items():
        print(f"      topic {number:>3}: AP {ap:.3f}  plain {plain.per_topic[number]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", help="memory:// for the topics, the local Redis otherwise")
    parser.add_argument("--verbose", action="store_true", help="a line per query")
    parser.add_argument("--collection", type=Path, help="a test collection folder")
    parser.add_argument("--limit", type=int, help="with --collection: only the first N articles")
    args = parser.parse_args()
    if args.collection:
        url = args.redis or "redis://127.0.0.1:6379/0"
        collection_report(args.collection, url, args.limit, args.verbose)
        return
    test = load()
    khabar = score(test.queries, asyncio.run(khabar_rankings(test, args.redis or "memory://")))
    plain = score(test.queries, plain_bm25_rankings(test))
    print(f"{len(test.articles)} articles, {len(test.queries)} queries")
    print(
        f"khabar:     precision@{CUTOFF} {khabar.precision:.3f}   "
        f"MAP {khabar.mean_average_precision:.3f}"
    )
    print(
        f"plain BM25: precision@{CUTOFF} {plain.precision:.3f}   "
        f"MAP {plain.mean_average_precision:.3f}"
    )
    if args.verbose:
        print(f"\n{'query':<34} khabar P@5  AP    | plain P@5  AP")
        for (query, p, ap, _), (_, pp, pap, _) in zip(
            khabar.per_query, plain.per_query, strict=True
        ):
            print(f"{query.text:<34} {p:9.2f} {ap:5.2f} | {pp:9.2f} {pap:5.2f}")


if __name__ == "__main__":
    main()
