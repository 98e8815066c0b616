"""What the search index stores of an article: its terms weighted by field (BM25F), and
postings packed 5 bytes each (document number uint32 LE, impact uint8).

Pure CPU work with no Redis: bulk ingest runs it in other processes (storage/articles.py
prepares, this module analyses and packs, storage/search.py appends and ranks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.news.analysis import commonness, terms
from bot.news.article import Article

K1 = 1.6
"""Chosen on the Hamshahri dev topics (1.2 measured 0.01–0.02 MAP less with feedback)."""
B = 0.75
# BM25F field weights, in counts so that weighting is list repetition: a word in the body
# counts 2, in the tags, lead or key points 3, in the title 6 (k1 is scaled to match, so a
# body occurrence is one term frequency).
TITLE_WEIGHT = 6
SUMMARY_WEIGHT = 3
BODY_WEIGHT = 2
IMPACT_LEVELS = 255
TELLING = 60
"""Terms a document keeps for pseudo-relevance feedback (see `_tellings`)."""
RAREST = 8.0
"""Above the Zipf frequency of any word: a term's rarity is RAREST less its commonness."""
UNKNOWN = 3.0
"""The commonness taken for a term the lexicon does not know (names, numbers, new words)."""

POSTING = np.dtype([("doc", "<u4"), ("impact", "u1")])


@dataclass(frozen=True)
class Document:
    """What an article puts in the index: weighted term frequencies and its length."""

    weights: Counter[str]
    """Term → occurrences weighted by field (see TITLE_WEIGHT)."""
    length: int


Fields = tuple[str, str, str]
"""An article's text as the index weighs it: title; tags, lead and key points; body."""


def fields(article: Article) -> Fields:
    summary = [*article.tags, article.lead or "", *(point.text for point in article.key_points)]
    quotes = [
        part
        for quote in article.quotes
        for part in (quote.heading or "", quote.speaker, quote.role or "", quote.text)
    ]
    return article.title, "\n".join(summary), "\n".join([*quotes, *article.paragraphs])


def analyze(article: Article) -> Document:
    """The article's terms, each weighted by the fields it is found in (BM25F)."""
    return analyze_fields(fields(article))


def analyze_fields(text: Fields) -> Document:
    # An Article's text is in display form: `normalized` skips what that form already had.
    title, lead, body = (terms(part, normalized=True) for part in text)
    weights = Counter(body * BODY_WEIGHT + lead * SUMMARY_WEIGHT + title * TITLE_WEIGHT)
    return Document(weights, len(title) + len(lead) + len(body))


def impact(weight: Any, length: Any, average_length: float) -> Any:
    """BM25's term-frequency part, tf·(k1+1)/(tf + k1·(1 − b + b·dl/avgdl)), over k1+1 and
    quantized to 1..255; `weight` is the field-weighted count (tf = weight / BODY_WEIGHT).
    Numbers or numpy arrays of them (element by element)."""
    norm = K1 * BODY_WEIGHT * (1 - B + B * np.asarray(length) / average_length)
    return np.maximum(1, (weight * IMPACT_LEVELS / (weight + norm) + 0.5).astype(np.int64))


def postings(numbered: Sequence[tuple[int, Document]], average_length: float) -> dict[str, bytes]:
    """The packed postings of a batch of documents, per term, in document-number order."""
    return indexed(numbered, average_length)[0]


def indexed(
    numbered: Sequence[tuple[int, Document]], average_length: float
) -> tuple[dict[str, bytes], list[str]]:
    """What a batch of documents puts in the index: the packed postings per term (in
    document-number order), and each document's telling terms (see `_tellings`; in the
    order given).

    Vectorized over the whole batch: this runs for every posting of a batch (hundreds of
    thousands), so the only per-posting Python work is C-level (map, dict.fromkeys) or the
    formatting of the telling terms; the rest works on arrays."""
    given = sorted(range(len(numbered)), key=lambda place: numbered[place][0])
    documents = [numbered[place][1] for place in given]  # in number order from here on
    every_term: list[str] = []
    every_weight: list[int] = []
    for document in documents:
        every_term.extend(document.weights.keys())
        every_weight.extend(document.weights.values())
    distinct = list(dict.fromkeys(every_term))
    number_of = {term: index for index, term in enumerate(distinct)}
    # Ids that fit 16 bits make the stable sorts below radix sorts: several times faster.
    id_type = np.uint16 if len(distinct) <= 1 << 16 else np.int64
    term_ids = np.fromiter(map(number_of.__getitem__, every_term), id_type, len(every_term))
    weights = np.array(every_weight, dtype=np.float64)
    counts = np.array([len(document.weights) for document in documents], dtype=np.int64)

    tellings = [""] * len(numbered)
    for place, text in zip(
        given, _tellings(documents, distinct, term_ids, weights, counts), strict=True
    ):
        tellings[place] = text
    if not every_term:
        return {}, tellings
    lengths = np.array([document.length for document in documents])
    impacts = impact(weights, np.repeat(lengths, counts), average_length)
    order = np.argsort(term_ids, kind="stable")  # stable: numbers stay ascending in a term
    entries = np.empty(len(order), dtype=POSTING)
    entries["doc"] = np.repeat(np.array([numbered[place][0] for place in given]), counts)[order]
    entries["impact"] = impacts[order]
    ends = np.cumsum(np.bincount(term_ids, minlength=len(distinct))) * POSTING.itemsize
    packed = entries.tobytes()
    starts = [0, *ends[:-1].tolist()]
    found = {
        term: packed[start:end]
        for term, start, end in zip(distinct, starts, ends.tolist(), strict=True)
    }
    return found, tellings


def _tellings(
    documents: Sequence[Document],
    distinct: list[str],
    term_ids: npt.NDArray[Any],
    weights: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
) -> list[str]:
    """Each document's share of pseudo-relevance feedback, as kept in Redis: its total weight,
    then its TELLING terms with the most weight × rarity (a term common in Persian at large,
    «میشود», tells little of what the article is about), each with its weight, all separated
    by spaces. Rarity comes from the lexicon, not the index: known when an article is
    analysed, in another process, without Redis. From the batch's flat arrays: one sort for
    the whole batch, not one per document."""
    rarity = np.fromiter(map(_rarity.__getitem__, distinct), np.float64, len(distinct))
    keys = weights * rarity[term_ids]
    owner = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((-keys, owner))  # by document, then most telling; stable for ties
    first_of = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    kept = order[(np.arange(len(order)) - first_of[owner[order]]) < TELLING]
    names = [distinct[i] for i in term_ids[kept].tolist()]
    counts_kept = weights[kept].astype(np.int64).tolist()
    pairs = [f"{name} {weight}" for name, weight in zip(names, counts_kept, strict=True)]
    found: list[str] = []
    at = 0
    for document, size in zip(documents, np.minimum(counts, TELLING).tolist(), strict=True):
        total = sum(document.weights.values())
        found.append(" ".join([str(total), *pairs[at : at + size]]))
        at += size
    return found


class _Rarity(dict[str, float]):
    """Term → RAREST less its commonness, looked up once per term (this runs for every
    distinct term of every article indexed)."""

    LIMIT = 500_000

    def __missing__(self, term: str) -> float:
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[term] = RAREST - (commonness(term) or UNKNOWN)
        return value


_rarity = _Rarity()


def read_telling(text: str) -> tuple[dict[str, float], float]:
    """`_tellings`' terms and weights, and the document's total weight."""
    parts = text.split(" ")
    return dict(zip(parts[1::2], map(float, parts[2::2]), strict=True)), float(parts[0])
