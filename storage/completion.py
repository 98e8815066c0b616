"""Completion of the word a reader is typing (inline search): the index's most frequent terms
that start with it, from the vocabulary (a sorted set read with ZRANGEBYLEX)."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from bot.news.analysis import stem
from storage.keys import Keys
from storage.postings import POSTING

PREFIX_MIN = 2
"""A word being typed is completed from two characters on."""
PREFIX_SCAN = 64
PREFIX_EXPANSIONS = 8
PREFIXPOSTINGS = 40_000
"""Completions of the word being typed: the most frequent of the first PREFIX_SCAN terms, at
most PREFIX_EXPANSIONS, and no more than PREFIXPOSTINGS postings in all (beyond the first):
a two-letter prefix of common words would otherwise read megabytes at every keystroke."""


# The terms that complete a word being typed, most frequent first (the longest postings), with
# their postings' sizes, in one round trip: ARGV: postings key prefix, ZRANGEBYLEX bounds, how
# many to look at, how many to return.
_COMPLETE = """
local found = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, ARGV[4])
local sized = {}
for i, term in ipairs(found) do
    sized[i] = {redis.call('STRLEN', ARGV[1] .. term), term}
end
table.sort(sized, function(a, b) return a[1] > b[1] end)
local best = {}
for i = 1, math.min(#sized, tonumber(ARGV[5])) do
    best[2 * i - 1], best[2 * i] = sized[i][2], sized[i][1]
end
return best
"""


@dataclass
class Completion:
    redis: Redis
    keys: Keys
    _script: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._script = self.redis.register_script(_COMPLETE)

    async def __call__(self, prefix: str) -> list[str]:
        """The most frequent indexed terms that start with the word being typed, and its
        stem («زلزله‌ها» being typed is already «زلزله»)."""
        if len(prefix) < PREFIX_MIN:
            return []
        start = prefix.encode()
        found: list[str | int] = await self._script(
            keys=[self.keys.vocabulary()],
            args=[
                self.keys.postings(""),
                b"[" + start,
                b"[" + start + b"\xff",
                PREFIX_SCAN,
                PREFIX_EXPANSIONS,
            ],
        )
        chosen: list[str] = []
        postings = 0
        for term, size in zip(found[0::2], found[1::2], strict=True):
            postings += int(size) // POSTING.itemsize
            if chosen and postings > PREFIXPOSTINGS:
                break
            chosen.append(str(term))
        return list(dict.fromkeys([*chosen, stem(prefix)]))
