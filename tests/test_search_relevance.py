"""The relevance test set (benchmarks/relevance.py, tests/fixtures/relevance/topics.json):
khabar's search must rank the relevant articles first, and beat plain BM25 on the same set."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
