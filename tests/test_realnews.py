"""khabar on real news: the evaluation set of tests/fixtures/realnews/ (56 Hamshahri articles
as scraped pages, read by hand; benchmarks/realnews.py prints the same figures)."""

from __future__ import annotations

import pytest

from benchmarks.realnews import Counts, evaluate, load


@pytest.fixture(scope="module")
def results() -> dict[str, Counts]:
    return evaluate(load())


def test_half_spaces_are_restored_with_precision_first(results: dict[str, Counts]) -> None:
    counts = results["all"]
    assert counts.precision >= 0.99, [n for n in counts.notes if "wrong" in n]
    assert counts.recall >= 0.95, [n for n in counts.notes if "missed" in n]


def test_quotes_are_quotes(results: dict[str, Counts]) -> None:
    counts = results["all"]
    assert counts.quote_precision >= 0.95, [n for n in counts.notes if "not a quote" in n]


def test_every_article_has_its_lead_and_byline_and_no_glued_punctuation(
    results: dict[str, Counts],
) -> None:
    counts = results["all"]
    assert counts.articles >= 40
    assert counts.leads_right == counts.articles
    assert counts.bylines_right == counts.articles
    assert counts.glued == 0, [n for n in counts.notes if "glued" in n]


def test_normalizing_real_pages_twice_changes_nothing() -> None:
    from bot.news.persian import normalize

    for page, _ in load():
        once = normalize(page)
        assert normalize(once) == once
