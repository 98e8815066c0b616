"""A test collection in TREC form, its measures, and a plain BM25 reference to hold khabar to.

The collection is a folder (read in place, never copied into the project):
- corpus.jsonl.gz (or corpus.jsonl): one Article per line, as `khabar ingest` takes them;
- queries.tsv: id, the query as the collection stores it, the query as a reader types it;
- qrels.tsv: id, the id of an article judged relevant to it.

Measures as trec_eval computes them with binary judgements: average precision over the top
`DEPTH` (a relevant article not retrieved counts as a miss), precision at 10, nDCG at 10.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.news.article import Article

DEPTH = 100
SPELLINGS = ("stored", "typed")
"""The two forms of each query: as the collection stores it, as typed on a Persian keyboard."""


@dataclass(frozen=True)
class Topic:
    number: int
    texts: dict[str, str]
    """Spelling (see SPELLINGS) → the query."""
    relevant: frozenset[str]

    @property
    def dev(self) -> bool:
        """Odd-numbered topics are for tuning; even-numbered ones are held out."""
        return self.number % 2 == 1


@dataclass(frozen=True)
class Collection:
    articles: list[Article]
    topics: list[Topic]
    raw: list[Raw]
    """The articles' text as the collection has it, before khabar normalizes it (for the
    reference, which must not profit from khabar's Persian clean-up)."""


@dataclass(frozen=True)
class Raw:
    id: str
    title: str
    body: str


def _lines(path: Path) -> Iterator[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield line


def _open_corpus(folder: Path) -> TextIO:
    corpus = folder / "corpus.jsonl.gz"
    if corpus.exists():
        return gzip.open(corpus, "rt", encoding="utf-8")
    return (folder / "corpus.jsonl").open(encoding="utf-8")


def load_collection(folder: Path, *, limit: int | None = None) -> Collection:
    """The collection in `folder`; `limit`: only the first articles (for smoke runs)."""
    articles: list[Article] = []
    raw: list[Raw] = []
    with _open_corpus(folder) as lines:
        for line in lines:
            if limit is not None and len(articles) >= limit:
                break
            if line.strip():
                record = json.loads(line)
                articles.append(Article.model_validate(record))
                body = [record.get("lead") or "", *record.get("paragraphs", [])]
                raw.append(Raw(str(record["id"]), record.get("title", ""), "\n".join(body)))
    relevant: defaultdict[int, set[str]] = defaultdict(set)
    for line in _lines(folder / "qrels.tsv"):
        number, article_id = line.split("\t")[:2]
        relevant[int(number)].add(article_id.strip())
    topics = []
    for line in _lines(folder / "queries.tsv"):
        number, *texts = line.split("\t")
        topics.append(
            Topic(
                int(number),
                dict(zip(SPELLINGS, (text.strip() for text in texts), strict=True)),
                frozenset(relevant[int(number)]),
            )
        )
    return Collection(articles, topics, raw)


def average_precision(ranked: Sequence[str], relevant: frozenset[str]) -> float:
    found = 0
    total = 0.0
    for rank, article_id in enumerate(ranked[:DEPTH], 1):
        if article_id in relevant:
            found += 1
            total += found / rank
    return total / len(relevant) if relevant else 0.0


def precision_at(ranked: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    return sum(1 for article_id in ranked[:k] if article_id in relevant) / k


def ndcg_at(ranked: Sequence[str], relevant: frozenset[str], k: int = 10) -> float:
    gain = sum(1 / math.log2(rank + 1) for rank, a in enumerate(ranked[:k], 1) if a in relevant)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return gain / ideal if ideal else 0.0


@dataclass(frozen=True)
class Measures:
    map: float
    p10: float
    ndcg10: float
    per_topic: dict[int, float]
    """Topic number → average precision."""

    def line(self) -> str:
        return f"MAP {self.map:.3f}  P@10 {self.p10:.3f}  nDCG@10 {self.ndcg10:.3f}"


def measure(topics: Sequence[Topic], rankings: Sequence[Sequence[str]]) -> Measures:
    pairs = list(zip(topics, rankings, strict=True))
    aps = {topic.number: average_precision(ranked, topic.relevant) for topic, ranked in pairs}
    return Measures(
        map=statistics.fmean(aps.values()),
        p10=statistics.fmean(precision_at(r, t.relevant) for t, r in pairs),
        ndcg10=statistics.fmean(ndcg_at(r, t.relevant) for t, r in pairs),
        per_topic=aps,
    )


# The reference: textbook BM25 (k1 1.2, b 0.75) over words with Persian letters folded, the
# title counted twice; no stemming, no stop words. What a careful afternoon's work gives.
_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "ؤ": "و"})
_WORD = re.compile(r"\w+")


def _reference_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _WORD.findall(text.casefold())  # ZWNJ and NBSP are not \w: they part words


def reference_rankings(
    articles: Sequence[Raw], queries: Sequence[str], k1: float = 1.2, b: float = 0.75
) -> list[list[str]]:
    postings: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    lengths: list[int] = []
    for number, article in enumerate(articles):
        text = " ".join([article.title, article.title, article.body])
        words = Counter(_reference_words(text))
        lengths.append(sum(words.values()))
        for word, tf in words.items():
            postings[word].append((number, tf))
    average = statistics.fmean(lengths) if lengths else 1.0
    rankings = []
    for query in queries:
        scores: defaultdict[int, float] = defaultdict(float)
        for word in set(_reference_words(query)):
            found = postings.get(word, [])
            idf = math.log(1 + (len(articles) - len(found) + 0.5) / (len(found) + 0.5))
            for number, tf in found:
                norm = k1 * (1 - b + b * lengths[number] / average)
                scores[number] += idf * tf * (k1 + 1) / (tf + norm)
        ranked = sorted(scores, key=lambda n: (-scores[n], n))[:DEPTH]
        rankings.append([articles[n].id for n in ranked])
    return rankings
