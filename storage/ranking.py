"""Ranking, pure numpy over postings (storage/postings.py): BM25F scores and the order of
results, and the expansion of a query by pseudo-relevance feedback (RM3).

No Redis here: storage/search.py reads the postings and hands them over.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from storage.postings import IMPACT_LEVELS, K1

_SCORE_SCALE = 10_000
"""Scores are ordered as integers (score, then recency, in one int64 key): 1/10,000 apart."""

# Pseudo-relevance feedback (RM3), chosen on the Hamshahri collection's dev topics
# (benchmarks/relevance.py --collection): each of these measured best within ±0.01 MAP.
FEEDBACK_DOCUMENTS = 10
"""The first pass's top documents that feedback learns from."""
FEEDBACK_TERMS = 10
"""Terms that join the query."""
FEEDBACK_WEIGHT = 0.4
"""λ: the relevance model's share of the query."""
DOCUMENT_POWER = 2.0
RERANK_DEPTH = 300
"""The first pass's best documents that feedback orders again."""
FEEDBACK_READ = 5_000
"""Postings read of an added term at most, the last indexed: what keeps feedback's cost
flat as the archive grows (at 5,000 articles it reads all of them)."""
OWN_BOOST = 32.0


@dataclass
class Word:
    """One scored unit of a query: a word (several terms when it is being typed, each document
    taking its best), or an expansion term, with its weight in the query."""

    terms: list[str]
    weight: float = 1.0
    original: bool = True
    """A word the reader typed, not one feedback added."""
    limit: int | None = None
    """Postings read at most (the last indexed), when fewer than for the reader's words."""
    found: list[npt.NDArray[np.void]] = field(default_factory=list)
    """Each term's postings as read (the newest, when a term has very many)."""
    stored: list[int] = field(default_factory=list)
    """Each term's postings in the index, dead ones included (for its idf when not all were
    read)."""

    _live: tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8]] | None = field(
        default=None, init=False, repr=False
    )

    def live(
        self, live: npt.NDArray[np.bool_], size: int
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8]]:
        """The live documents the word was read in, and its impacts there (kept for the
        second pass of a search: `live` and `size` do not change within one)."""
        if self._live is None:
            numbers, impacts = best_of(self.found, size)
            keep = live[numbers]
            self._live = numbers[keep], impacts[keep]
        return self._live

    def frequency(self, present: int) -> int:
        """The word's document frequency, from the `present` live documents read: scaled up
        by what was not read."""
        read = sum(len(entries) for entries in self.found)
        stored = sum(self.stored)
        if read == 0 or stored <= read:
            return present
        return round(present * stored / read)


@dataclass(frozen=True)
class Ranking:
    best: npt.NDArray[np.int64]
    """The best document numbers, in order."""
    total: int
    """How many documents match at all."""
    candidates: npt.NDArray[np.int64]
    """Every matching document number, ascending."""
    scores: npt.NDArray[np.float64]
    """Each candidate's score."""
    matched: npt.NDArray[np.uint8]
    """How many of the reader's words each candidate has."""

    def score_of(self, numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """The scores of some candidates (numbers among `candidates`)."""
        return self.scores[np.searchsorted(self.candidates, numbers)]

    def matched_of(self, numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        return self.matched[np.searchsorted(self.candidates, numbers)]


class Scratch:
    """Per-document buffers a ranking adds into, kept from one search to the next: a fresh
    array of N scores for every search (and its copy) was the part of a search that grew with
    the archive. A ranking puts every entry it touched back to zero before it returns."""

    def __init__(self) -> None:
        self.scores = np.zeros(0, dtype=np.float64)
        self.matched = np.zeros(0, dtype=np.uint8)

    def ready(self, size: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]:
        if len(self.scores) < size:
            grown = max(size, 2 * len(self.scores))
            self.scores = np.zeros(grown, dtype=np.float64)
            self.matched = np.zeros(grown, dtype=np.uint8)
        return self.scores, self.matched


def idf(frequency: int, documents: int) -> float:
    return math.log(1 + (max(documents, frequency) - frequency + 0.5) / (frequency + 0.5))


def rank(
    words: Sequence[Word],
    live: npt.NDArray[np.bool_],
    published: npt.NDArray[np.uint32],
    documents: int,
    wanted: int,
    scratch: Scratch | None = None,
) -> Ranking:
    """The best `wanted` live documents by the sum of their words' weighted BM25F scores, the
    newest first among equals. Only documents with one of the reader's words are results."""
    size = len(published)
    scores, matched = (scratch or Scratch()).ready(size)
    own: list[npt.NDArray[np.uint32]] = []  # the documents of each of the reader's words
    others: list[npt.NDArray[np.uint32]] = []  # of words feedback added
    done = False
    try:
        for word in words:
            present, impacts = word.live(live, size)
            if not len(present):
                continue
            frequency = word.frequency(len(present))
            scale = word.weight * idf(frequency, documents) * (K1 + 1) / IMPACT_LEVELS
            scores[present] += impacts * scale
            if word.original:
                matched[present] += 1
                own.append(present)
            else:
                others.append(present)
        # One word: its documents are the candidates, already in order.
        one = len(own) == 1
        candidates = own[0].astype(np.int64) if one else np.flatnonzero(matched[:size])
        found_scores, found_matched = scores[candidates], matched[candidates]
        done = True
    finally:
        # Back to zero for the next search: what the reader's words touched (the candidates)
        # and what the others did; all of it if something went wrong half way.
        if done:
            scores[candidates], matched[candidates] = 0.0, 0
            for present in others:
                scores[present] = 0.0
        else:
            scores[:], matched[:] = 0.0, 0
    quantized = np.minimum((found_scores * _SCORE_SCALE).astype(np.int64), (1 << 31) - 1)
    order_key = -((quantized << 32) | published[candidates].astype(np.int64))
    wanted = min(wanted, len(candidates))
    if wanted < len(candidates):
        top = np.argpartition(order_key, wanted - 1)[:wanted]
    else:
        top = np.arange(len(candidates))
    top = top[np.argsort(order_key[top], kind="stable")]
    return Ranking(candidates[top], len(candidates), candidates, found_scores, found_matched)


def rerank(
    words: Sequence[Word],
    first: Ranking,
    live: npt.NDArray[np.bool_],
    published: npt.NDArray[np.uint32],
    documents: int,
    wanted: int,
) -> Ranking:
    """The first pass's best RERANK_DEPTH documents ordered again by `words` (the query as
    feedback left it), the rest of its order after them: the second pass costs the same
    however many documents match."""
    pool = first.best[:RERANK_DEPTH]
    scores = np.zeros(len(pool), dtype=np.float64)
    for word in words:
        if word.original or len(word.found) != 1:
            present, impacts = word.live(live, len(published))
        else:  # the pool is all live: no need to sift an added term's postings first
            present, impacts = word.found[0]["doc"], word.found[0]["impact"]
        if not len(present):
            continue
        at = np.minimum(np.searchsorted(present, pool), len(present) - 1)
        found = present[at] == pool
        frequency = word.frequency(len(present))
        scale = word.weight * idf(frequency, documents) * (K1 + 1) / IMPACT_LEVELS
        scores[found] += impacts[at[found]] * scale
    quantized = np.minimum((scores * _SCORE_SCALE).astype(np.int64), (1 << 31) - 1)
    order = np.argsort(-((quantized << 32) | published[pool].astype(np.int64)), kind="stable")
    everything = first.scores.copy()
    everything[np.searchsorted(first.candidates, pool)] = scores
    best = np.concatenate([pool[order], first.best[RERANK_DEPTH:]])[:wanted]
    return Ranking(best, first.total, first.candidates, everything, first.matched)


def best_of(
    found: list[npt.NDArray[np.void]], size: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8]]:
    """The documents of a word (numbers below `size`) and their impacts; a word with several
    terms (being typed) takes each document's best."""
    if not found:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint8)
    if len(found) == 1:
        numbers, impacts = found[0]["doc"], found[0]["impact"]
        if len(numbers) > 1 and not (numbers[1:] > numbers[:-1]).all():
            # Two saves that reserved their numbers in one order and appended in the other
            # (a bot's save during a bulk ingest): ranking wants number order.
            order = np.argsort(numbers, kind="stable")
            numbers, impacts = numbers[order], impacts[order]
        if not len(numbers) or numbers[-1] < size:  # in number order: the last is the largest
            return numbers, impacts
        inside = numbers < size
        return numbers[inside], impacts[inside]
    best = np.zeros(size, dtype=np.uint8)
    for entries in found:
        numbers = entries["doc"]
        inside = numbers < size
        numbers, impacts = numbers[inside], entries["impact"][inside]
        best[numbers] = np.maximum(best[numbers], impacts)
    present = np.flatnonzero(best).astype(np.uint32)
    return present, best[present]


def relevance_model(
    vectors: Sequence[tuple[Mapping[str, float], float]], scores: Sequence[float]
) -> dict[str, float]:
    """RM1 from the first pass's top documents: p(t|R) = Σ p(t|d)·p(d|R), where p(t|d) is
    the term's share of the document's weight and p(d|R) goes with the document's score
    squared (the best documents speak loudest). `vectors`: each document's telling terms
    with their weights, and its total weight (storage/postings.py `_tellings`)."""
    weights = [max(score, 0.0) ** DOCUMENT_POWER for score in scores]
    total = sum(weights)
    model: dict[str, float] = {}
    if total <= 0:
        return model
    for (vector, length), weight in zip(vectors, weights, strict=True):
        if length <= 0:
            continue
        share = weight / total / length
        for term, count in vector.items():
            model[term] = model.get(term, 0.0) + count * share
    return model


def expand(words: Sequence[Word], model: Mapping[str, float]) -> list[Word]:
    """RM3: the query mixed with the relevance model. Each of the reader's words keeps
    (1 − λ)/n and gains what the model gives it (times OWN_BOOST: a word the top documents
    are about counts more than one they merely mention); the FEEDBACK_TERMS heaviest other
    terms join with λ·p(t|R), renormalized. Returns the terms that join."""
    if not words or not model:
        return []
    own = {term for word in words for term in word.terms}
    for word in words:
        gained = sum(model.get(term, 0.0) for term in word.terms)
        word.weight = (1 - FEEDBACK_WEIGHT) / len(words) + FEEDBACK_WEIGHT * OWN_BOOST * gained
    chosen = heapq.nlargest(
        FEEDBACK_TERMS,
        ((term, weight) for term, weight in model.items() if term not in own),
        key=itemgetter(1),
    )
    mass = sum(weight for _, weight in chosen)
    if mass <= 0:
        return []
    return [
        Word([term], FEEDBACK_WEIGHT * weight / mass, original=False, limit=FEEDBACK_READ)
        for term, weight in chosen
    ]
