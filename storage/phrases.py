"""Quoted phrases in a query: «"راه آهن"» finds only articles with those words side by side.

The index keeps no positions (they would double its size), so a phrase is checked on the
text of the articles that rank best, a batch at a time, until a page is full
(storage/search.py). Terms are compared as the index compares them (bot/news/analysis.py
`term_sequence`: stems, stop words left out, a spaced compound one term), within a field or
paragraph, never across two.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from redis.asyncio import Redis

from bot.news.analysis import term_sequence
from bot.news.article import Article
from storage.keys import Keys
from storage.postings import fields
from storage.redis import awaited

BATCH = 50
"""Articles checked a round trip."""

_QUOTED = re.compile(r'["“”«»]([^"“”«»]+)["“”«»]')


def phrases(query: str) -> list[list[str]]:
    """The quoted parts of a query as term sequences, those of two terms or more (a single
    term, «"راه‌آهن"», is found by the index alone)."""
    found = [term_sequence(part) for part in _QUOTED.findall(query)]
    return [sequence for sequence in found if len(sequence) > 1]


def contains(article: Article, wanted: Sequence[Sequence[str]]) -> bool:
    """Whether the article has every phrase, each within one field or paragraph."""
    pieces = [line for text in fields(article) for line in text.split("\n") if line]
    sequences = [term_sequence(piece, normalized=True) for piece in pieces]
    return all(any(_within(sequence, phrase) for sequence in sequences) for phrase in wanted)


def _within(sequence: Sequence[str], phrase: Sequence[str]) -> bool:
    size = len(phrase)
    first = phrase[0]
    return any(
        sequence[start] == first and list(sequence[start : start + size]) == list(phrase)
        for start in range(len(sequence) - size + 1)
    )


async def having(
    redis: Redis,
    keys: Keys,
    best: npt.NDArray[np.int64],
    total: int,
    quoted: list[list[str]],
    wanted: int,
) -> tuple[npt.NDArray[np.int64], int]:
    """The documents of `best` (in order) whose articles have the quoted phrases, checked a
    batch at a time until `wanted` are found, and an estimate of how many of the `total`
    matches have them (exact when all were checked)."""
    kept: list[int] = []
    checked = 0
    while checked < len(best) and len(kept) < wanted:
        batch = best[checked : checked + BATCH].tolist()
        checked += len(batch)
        ids = await awaited(redis.hmget(keys.search_ids(), [str(n) for n in batch]))
        async with redis.pipeline(transaction=False) as pipe:
            for article_id in ids:
                pipe.hget(keys.article(article_id or ""), "json")
            raws: list[str | None] = await pipe.execute()
        kept += [
            number
            for number, raw in zip(batch, raws, strict=True)
            if raw and contains(Article.trusted(json.loads(raw)), quoted)
        ]
    found = np.array(kept, dtype=np.int64)
    if checked >= total:
        return found, len(kept)
    return found, max(len(kept), round(len(kept) / max(checked, 1) * total))
