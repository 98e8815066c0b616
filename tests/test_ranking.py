"""Ranking's scratch buffers (storage/ranking.py): kept from one search to the next, they must
never carry a score over, whatever the searches before were or how they ended."""

from __future__ import annotations

import numpy as np
import pytest

from storage.postings import POSTING
from storage.ranking import Ranking, Scratch, Word, rank

SIZE = 5_000


def word(numbers: list[int], original: bool = True, weight: float = 1.0) -> Word:
    entries = np.zeros(len(numbers), dtype=POSTING)
    entries["doc"] = sorted(numbers)
    entries["impact"] = [(n * 7) % 250 + 1 for n in sorted(numbers)]
    return Word([f"t{numbers[:3]}"], weight, original, found=[entries], stored=[len(numbers)])


def ranked(words: list[Word], scratch: Scratch | None) -> Ranking:
    live = np.ones(SIZE, dtype=bool)
    published = np.arange(1, SIZE + 1, dtype=np.uint32)
    return rank(words, live, published, SIZE, 50, scratch)


def same(a: Ranking, b: Ranking) -> bool:
    return (
        a.total == b.total
        and np.array_equal(a.best, b.best)
        and np.array_equal(a.candidates, b.candidates)
        and np.allclose(a.scores, b.scores)
        and np.array_equal(a.matched, b.matched)
    )


def queries(rng: np.random.Generator) -> list[list[Word]]:
    found = []
    for _ in range(30):
        words = [
            word(sorted(rng.choice(SIZE, int(rng.integers(1, 900)), replace=False).tolist()))
            for _ in range(int(rng.integers(1, 4)))
        ]
        if rng.random() < 0.3:  # a term feedback added
            words.append(word(rng.choice(SIZE, 200, replace=False).tolist(), False, 0.2))
        found.append(words)
    return found


def test_a_kept_scratch_ranks_every_search_as_a_fresh_one_would() -> None:
    scratch = Scratch()
    for words in queries(np.random.default_rng(7)):
        assert same(ranked(words, scratch), ranked(words, None))
    assert not scratch.scores.any() and not scratch.matched.any()


def test_a_search_that_fails_half_way_leaves_the_scratch_clean() -> None:
    scratch = Scratch()
    broken = word([1, 2, 3])
    broken.found = [np.zeros(1, dtype=[("doc", "<u4")])]  # no impacts: fails when read
    with pytest.raises(ValueError):
        ranked([word([1, 5, 9]), broken], scratch)
    assert not scratch.scores.any() and not scratch.matched.any()
    assert same(ranked([word([1, 5, 9])], scratch), ranked([word([1, 5, 9])], None))


def test_postings_appended_out_of_number_order_rank_as_in_order() -> None:
    """Two saves that reserved their numbers in one order and appended in the other."""
    ordered = word([3, 40, 41, 900, 2_000, 4_999])
    shuffled = word([3, 40, 41, 900, 2_000, 4_999])
    shuffled.found = [np.concatenate([shuffled.found[0][3:], shuffled.found[0][:3]])]
    scratch = Scratch()
    for words in ([shuffled], [shuffled, word([41, 7])]):
        fresh = [ordered] if len(words) == 1 else [ordered, word([41, 7])]
        for item in (*words, *fresh):
            item._live = None
        assert same(ranked(words, scratch), ranked(fresh, None))
    beyond = word([3, 40])
    beyond.found = [np.concatenate([word([SIZE + 5]).found[0], beyond.found[0]])]
    assert ranked([beyond], scratch).total == 2, "a number this process has no date for yet"
