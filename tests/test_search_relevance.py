"""The relevance test set (benchmarks/relevance.py, tests/fixtures/relevance/topics.json):
khabar's search must rank the relevant articles first, and beat plain BM25 on the same set."""

from __future__ import annotations

import gzip
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import collection
from benchmarks.relevance import (
    CUTOFF,
    average_precision,
    khabar_rankings,
    load,
    plain_bm25_rankings,
    precision_at,
    score,
)
from tests.support.storage_fixtures import TEST_REDIS_URL


def test_the_test_set_is_big_enough_and_typed_like_people_type() -> None:
    test = load()
    assert len(test.articles) >= 200 and len(test.queries) >= 30
    texts = [query.text for query in test.queries]
    assert sum(("ي" in t or "ك" in t) for t in texts) >= 5, "Arabic yeh and kaf"
    assert sum(any(c.isascii() and c.isdigit() for c in t) for t in texts) >= 3, "Latin digits"
    assert all(query.relevant for query in test.queries)


@pytest.mark.parametrize("url", [TEST_REDIS_URL, "memory://"], ids=["redis", "memory"])
async def test_khabar_ranks_relevant_articles_first_and_beats_plain_bm25(url: str) -> None:
    test = load()
    khabar = score(test.queries, await khabar_rankings(test, url))
    plain = score(test.queries, plain_bm25_rankings(test))
    assert khabar.precision >= 0.95 and khabar.mean_average_precision >= 0.95
    assert khabar.precision > plain.precision + 0.05
    assert khabar.mean_average_precision > plain.mean_average_precision + 0.05
    weakest = min(khabar.per_query, key=lambda row: row[2])
    assert weakest[2] >= 0.8, f"{weakest[0].text}: AP {weakest[2]:.2f}"


def test_the_measures_are_the_textbook_ones() -> None:
    relevant = frozenset({"a", "b"})
    assert precision_at(["a", "x", "b", "y", "z"], relevant, CUTOFF) == 0.4
    assert average_precision(["a", "x", "b"], relevant) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(["x", "a"], relevant) == pytest.approx(0.25)


@pytest.mark.slow
def test_the_relevance_script_prints_both_systems() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/relevance.py"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "khabar:" in result.stdout and "plain BM25:" in result.stdout
    assert "MAP" in result.stdout


def test_the_collection_measures_are_trec_evals() -> None:
    relevant = frozenset({"a", "b", "c"})
    ranked = ["a", "x", "b", *(f"n{i}" for i in range(200)), "c"]
    assert collection.average_precision(ranked, relevant) == pytest.approx((1 + 2 / 3) / 3)
    assert collection.precision_at(ranked, relevant) == pytest.approx(0.2)
    gain = 1 + 1 / math.log2(4)  # ranks 1 and 3; «c» comes after the top 100
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert collection.ndcg_at(ranked, relevant) == pytest.approx(gain / ideal)


def _tiny_collection(folder: Path) -> None:
    """A collection in the TREC form of benchmarks/collection.py, from the topics set: two
    topics' articles and two of its queries (odd and even numbers), typed two ways."""
    test = load()
    wanted = [query for query in test.queries if query.relevant][:2]
    articles = [a for a in test.articles if any(a.id in q.relevant for q in wanted)]
    articles += test.articles[:20]
    lines = {a.id: a.model_dump_json() for a in articles}
    with gzip.open(folder / "corpus.jsonl.gz", "wt", encoding="utf-8") as corpus:
        corpus.write("\n".join(lines.values()) + "\n")
    queries = ["# qid\tstored\ttyped"]
    qrels = ["# qid\tdocid"]
    for number, query in enumerate(wanted, 1):
        queries.append(f"{number}\t{query.text.replace('ی', 'ي')}\t{query.text}")
        qrels += [f"{number}\t{article_id}" for article_id in sorted(query.relevant)]
    (folder / "queries.tsv").write_text("\n".join(queries) + "\n", encoding="utf-8")
    (folder / "qrels.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")


def test_the_relevance_script_measures_a_collection(tmp_path: Path) -> None:
    _tiny_collection(tmp_path)
    found = collection.load_collection(tmp_path)
    assert [topic.dev for topic in found.topics] == [True, False]
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/relevance.py",
            "--collection",
            str(tmp_path),
            "--redis",
            TEST_REDIS_URL,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    out = result.stdout
    assert "dev (odd): 1 topics" in out and "held-out (even): 1 topics" in out
    for spelling in collection.SPELLINGS:
        assert f"{spelling:<6}  khabar      MAP" in out
        assert f"{spelling:<6}  plain BM25  MAP" in out
    assert "P@10" in out and "nDCG@10" in out
