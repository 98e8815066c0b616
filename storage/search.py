"""Full-text search: an inverted index in plain Redis, ranked by BM25F with pseudo-relevance
feedback (the scoring itself is pure numpy, in storage/ranking.py).

Every stored version of an article is a *document* with a number of its own (handed out by
`reserve`); a changed article gets a new number and its old one is marked dead, so an update
never has to find and take out the old version's entries one by one.

Keys (names in storage/keys.py):
- postings(term): a string of packed postings, 5 bytes each: the document number (uint32,
  little-endian) and the term's impact in that document (uint8), appended in number order.
  The impact is BM25's term-frequency part with the fields weighted (title above lead and
  key points above body) and the length normalized, quantized to 1..255; the query adds the
  term's idf at search time. 5 bytes a posting is what keeps the index smaller than the
  articles themselves (a Redis sorted set costs 30 to 110).
- search_docs: the published time (uint32 seconds) of every document number, 4 bytes each;
  written once, never changed, so each process caches it and reads only what is new.
- search_dead: a bitmap of document numbers no longer live (replaced or removed).
- search_ids: hash, document number → article id, for the live documents.
- search_terms: hash, document number → its most telling terms (storage/postings.py
  `_tellings`), for feedback; dropped with the document.
- index_stats: hash: next (last number handed out), documents, length (for the average
  document length).
- search_dirty: hash, term → dead postings it still holds; `compact` rewrites those strings.
- vocabulary: sorted set of every term, for completing the word being typed (ZRANGEBYLEX).

A search reads every query word's postings in one round trip (at most the last `read_limit`
of a word found nearly everywhere: the cost stops growing with the archive) and ranks them;
then, unless the reader is still typing, the top documents' telling terms reweigh the query
and add to it (RM3), a second round trip for the added terms, and a second ranking. Quoted
phrases are checked on the best articles' text (storage/phrases.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from bot.news.analysis import query_terms
from bot.news.persian import search_key
from storage.completion import Completion
from storage.keys import Keys
from storage.phrases import having, phrases
from storage.postings import POSTING, read_telling
from storage.ranking import (
    FEEDBACK_DOCUMENTS,
    RERANK_DEPTH,
    Scratch,
    Word,
    expand,
    rank,
    relevance_model,
    rerank,
)
from storage.redis import awaited, get_bytes

DEFAULT_LENGTH = 300.0
"""The average document length assumed before anything is indexed."""

MAX_QUERY_WORDS = 16
TYPING_READ_LIMIT = 10_000
"""The same while typing: each keystroke is a search."""
PHRASE_DEPTH = 1_000
"""A quoted phrase is looked for in this many of the best matches at most."""
READ_LIMIT = 20_000
"""Postings read per term at most, the newest (early termination in time order): beyond
this, a term is in so many articles that its idf is small and what it adds is mostly
recency; the rest of its postings count only for its idf."""
COMPACT_BATCH = 200
APPEND_CHUNK = 5_000
"""Terms per append script call: long enough to save round trips, short enough not to
hold Redis up for more than a few milliseconds."""

_PUBLISHED = np.dtype("<u4")
_PUBLISHED_SIZE = _PUBLISHED.itemsize


# Appends postings to many terms' strings in one call. ARGV: the postings key prefix, the terms
# joined by newlines, their postings concatenated, and the postings' lengths in bytes (comma
# separated). A term seen for the first time joins the vocabulary (KEYS[1]).
# The term keys are built here, not passed as KEYS: a batch has tens of thousands of them, and
# encoding each as an argument cost the client more than the rest of the save. khabar runs on
# one Redis (or a primary watched by Sentinel), where this is allowed; Redis Cluster would need
# hash-tagged keys.
_APPEND = """
local prefix, blob, at = ARGV[1], ARGV[3], 1
local sizes = string.gmatch(ARGV[4], '%d+')
for term in string.gmatch(ARGV[2], '[^\\n]+') do
    local size = tonumber(sizes())
    if redis.call('APPEND', prefix .. term, string.sub(blob, at, at + size - 1)) == size then
        redis.call('ZADD', KEYS[1], 0, term)
    end
    at = at + size
end
return 1
"""

# Adds to many terms' dead-posting counts in one call; ARGV: term, count, term, count...
_COUNT_DEAD = """
for i = 1, #ARGV, 2 do
    redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
return #ARGV / 2
"""

# Reads postings for a search: for each key, its length and its last ARGV[i] bytes (all of
# it when shorter), as one reply: a query of 20 terms is one command, not 40 (the client's
# cost per command is what a search spends most on after numpy).
_READ = """
local found = {}
for i, key in ipairs(KEYS) do
    local size = redis.call('STRLEN', key)
    local start = math.max(0, size - tonumber(ARGV[i]))
    found[2 * i - 1] = size
    found[2 * i] = size > 0 and redis.call('GETRANGE', key, start, -1) or ''
end
return found
"""

_RESERVE = """
local last = redis.call('HINCRBY', KEYS[1], 'next', ARGV[1])
local first = last - tonumber(ARGV[1]) + 1
redis.call('SETRANGE', KEYS[2], first * 4, ARGV[2])
return first
"""

# Rewrites a postings string without its dead entries, keeping whatever was appended after
# it was read (ARGV[1] = the length that was read, ARGV[2] = the kept postings of that part).
_COMPACT = """
local tail = ''
local length = redis.call('STRLEN', KEYS[1])
local read = tonumber(ARGV[1])
if length < read then return 0 end
if length > read then tail = redis.call('GETRANGE', KEYS[1], read, -1) end
local kept = ARGV[2] .. tail
if kept == '' then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[3])
else
    redis.call('SET', KEYS[1], kept)
end
if redis.call('HINCRBY', KEYS[3], ARGV[3], -tonumber(ARGV[4])) <= 0 then
    redis.call('HDEL', KEYS[3], ARGV[3])
end
return 1
"""


@dataclass(frozen=True)
class Hit:
    article_id: str
    score: float
    published: datetime
    matched: int
    """How many of the query's words the article has."""


@dataclass(frozen=True)
class Results:
    total: int
    hits: list[Hit]


@dataclass
class SearchIndex:
    redis: Redis
    keys: Keys
    read_limit: int = READ_LIMIT
    _published: npt.NDArray[np.uint32] = field(
        default_factory=lambda: np.zeros(0, dtype=_PUBLISHED), repr=False
    )
    _live_cache: npt.NDArray[np.bool_] = field(
        default_factory=lambda: np.zeros(0, dtype=bool), repr=False
    )
    _live_for: tuple[int, bytes] = (-1, b"")
    _scratch: Scratch = field(default_factory=Scratch, repr=False)
    _scripts: dict[str, AsyncScript] = field(init=False, repr=False)
    _read_sha: str = field(init=False, repr=False)
    _complete: Completion = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._scripts = {
            name: self.redis.register_script(source)
            for name, source in (
                ("reserve", _RESERVE),
                ("append", _APPEND),
                ("count dead", _COUNT_DEAD),
                ("compact", _COMPACT),
                ("read", _READ),
            )
        }
        self._read_sha = self._scripts["read"].sha
        self._complete = Completion(self.redis, self.keys)

    # Writing --------------------------------------------------------------------------------
    async def average_length(self) -> float:
        documents, length = await awaited(
            self.redis.hmget(self.keys.index_stats(), ["documents", "length"])
        )
        if not documents or int(documents) <= 0:
            return DEFAULT_LENGTH
        return max(1.0, int(length or 0) / int(documents))

    async def reserve(self, published: Sequence[float]) -> int:
        """Numbers for len(published) new documents, consecutive; the first is returned. Their
        published times are written with them, so the table never has a gap."""
        times = np.array([_published_seconds(value) for value in published], dtype=_PUBLISHED)
        script = self._scripts["reserve"]
        keys = [self.keys.index_stats(), self.keys.search_docs()]
        return int(await script(keys=keys, args=[len(times), times.tobytes()]))

    async def add(self, pipe: Pipeline, packed: dict[str, bytes]) -> None:
        """Queue the appends of a batch's postings (see `postings`) and its new vocabulary:
        one script call, not one command per term (a batch touches tens of thousands of
        terms, and a reply per command would cost more than the work)."""
        if not packed:
            return
        script = self._scripts["append"]
        items = list(packed.items())
        for start in range(0, len(items), APPEND_CHUNK):
            chunk = items[start : start + APPEND_CHUNK]
            args: list[str | bytes] = [
                self.keys.postings(""),
                "\n".join(term for term, _ in chunk),
                b"".join(entries for _, entries in chunk),
                ",".join(str(len(entries)) for _, entries in chunk),
            ]
            await script(keys=[self.keys.vocabulary()], args=args, client=pipe)

    def describe(self, pipe: Pipeline, first: int, telling: Sequence[str]) -> None:
        """Queue the feedback terms of documents numbered from `first` on (see
        storage/postings.py `_tellings`)."""
        if telling:
            mapping = {str(number): text for number, text in enumerate(telling, first)}
            pipe.hset(self.keys.search_terms(), mapping=mapping)

    async def forget(self, pipe: Pipeline, dead: Counter[str]) -> None:
        """Queue the bookkeeping for documents that died: `dead` counts, for each term, the
        dead postings it holds until `compact` rewrites it."""
        items = list(dead.items())
        script = self._scripts["count dead"]
        for start in range(0, len(items), APPEND_CHUNK):
            chunk = items[start : start + APPEND_CHUNK]
            args = [value for term, count in chunk for value in (term, count)]
            await script(keys=[self.keys.search_dirty()], args=args, client=pipe)

    async def compact(self) -> int:
        """Rewrite the postings that hold dead documents; returns how many terms were."""
        dirty: dict[str, str] = await awaited(self.redis.hgetall(self.keys.search_dirty()))
        if not dirty:
            return 0
        dead = _bits(await get_bytes(self.redis, self.keys.search_dead()))
        script = self._scripts["compact"]
        items = list(dirty.items())
        for start in range(0, len(items), COMPACT_BATCH):
            batch = items[start : start + COMPACT_BATCH]
            async with self.redis.pipeline(transaction=False) as pipe:
                for term, _ in batch:
                    pipe.execute_command("GET", self.keys.postings(term), NEVER_DECODE=True)
                raws: list[bytes | None] = await pipe.execute()
            async with self.redis.pipeline(transaction=False) as pipe:
                for (term, count), raw in zip(batch, raws, strict=True):
                    raw = raw or b""
                    entries = np.frombuffer(raw, dtype=POSTING)
                    kept = entries[~_is_dead(entries["doc"], dead)]
                    keys = [
                        self.keys.postings(term),
                        self.keys.vocabulary(),
                        self.keys.search_dirty(),
                    ]
                    await script(
                        keys=keys, args=[len(raw), kept.tobytes(), term, count], client=pipe
                    )
                await pipe.execute()
        return len(items)

    # Searching ------------------------------------------------------------------------------
    async def search(
        self, query: str, offset: int = 0, limit: int = 10, *, typing: bool = False
    ) -> Results:
        """Articles with at least one of the query's words, best first: by BM25F score with
        pseudo-relevance feedback, then the newest; quoted phrases must be found side by
        side. With `typing`, the last word may be unfinished and is completed from the
        index's vocabulary (inline search as the reader types; no feedback)."""
        words = [Word([term]) for term in query_terms(query)[:MAX_QUERY_WORDS]]
        typed = search_key(query).rsplit(" ", 1)[-1]
        if typing and query[-1:].strip() and typed:
            completions = await self._complete(typed)
            as_word = query_terms(typed)
            if words and as_word and words[-1].terms == as_word:
                words[-1] = Word(list(dict.fromkeys([*as_word, *completions])))
            elif completions:  # a stop word so far («در» on its way to «درمان»)
                words.append(Word(completions))
        if not words or limit <= 0:
            return Results(0, [])
        if typing:  # a page of results as the reader types: the recent ones are enough
            for word in words:
                word.limit = TYPING_READ_LIMIT
        replies = await self._read(words, first=True)
        new_published, dead_raw, (documents_raw, last), raws = replies
        self._extend_published(new_published or b"", int(last or 0))
        self._take_postings(words, raws)
        live = self._live(dead_raw or b"")
        documents = int(documents_raw or 0)
        quoted = phrases(query)
        wanted = PHRASE_DEPTH if quoted else offset + limit
        depth = wanted if typing else max(wanted, RERANK_DEPTH)
        ranking = rank(words, live, self._published, documents, depth, self._scratch)
        if not typing and ranking.total > 1:
            # Pseudo-relevance feedback (RM3): the top documents' telling terms reweigh the
            # query and add to it; not while typing, where the words are not all there yet.
            top = ranking.best[:FEEDBACK_DOCUMENTS]
            model = relevance_model(await self._telling(top), ranking.score_of(top).tolist())
            if added := expand(words, model):
                self._take_postings(added, (await self._read(added))[0])
                expanded = [*words, *added]
                ranking = rerank(expanded, ranking, live, self._published, documents, wanted)
        best, total = ranking.best, ranking.total
        if quoted:
            best, total = await having(self.redis, self.keys, best, total, quoted, offset + limit)
        page = best[offset : offset + limit]
        if not len(page):
            return Results(total, [])
        ids = await awaited(self.redis.hmget(self.keys.search_ids(), [str(n) for n in page]))
        scores, matched = ranking.score_of(page).tolist(), ranking.matched_of(page).tolist()
        hits = [
            Hit(
                article_id=article_id,
                score=round(score, 4),
                published=datetime.fromtimestamp(int(self._published[number]), UTC),
                matched=words,
            )
            for number, article_id, score, words in zip(
                page.tolist(), ids, scores, matched, strict=True
            )
            if article_id is not None
        ]
        return Results(total, hits)

    async def _read(self, words: Sequence[Word], *, first: bool = False) -> list[Any]:
        """The words' postings (see `_READ`), in one round trip; `first`: with what else the
        first one reads (new published times, the dead bitmap, the index's totals) before."""
        keys = [self.keys.postings(term) for word in words for term in word.terms]
        limits = [
            min(self.read_limit, word.limit or self.read_limit) * POSTING.itemsize
            for word in words
            for _ in word.terms
        ]
        for attempt in (1, 2):
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    if first:
                        start = len(self._published) * _PUBLISHED_SIZE
                        docs = self.keys.search_docs()
                        pipe.execute_command("GETRANGE", docs, start, -1, NEVER_DECODE=True)
                        pipe.execute_command("GET", self.keys.search_dead(), NEVER_DECODE=True)
                        pipe.hmget(self.keys.index_stats(), ["documents", "next"])
                    pipe.execute_command(
                        "EVALSHA", self._read_sha, len(keys), *keys, *limits, NEVER_DECODE=True
                    )
                    return list(await pipe.execute())
            except NoScriptError:  # a Redis restarted since: its script cache is empty
                if attempt == 2:
                    raise
                await self.redis.script_load(_READ)
        raise AssertionError("unreachable")

    @staticmethod
    def _take_postings(words: Sequence[Word], replies: list[Any]) -> None:
        answers = iter(replies)
        for word in words:
            word.found, word.stored = [], []
            for _ in word.terms:
                size, raw = next(answers), next(answers)
                word.found.append(np.frombuffer(raw or b"", dtype=POSTING))
                word.stored.append(int(size) // POSTING.itemsize)

    async def _telling(
        self, numbers: npt.NDArray[np.int64]
    ) -> list[tuple[dict[str, float], float]]:
        raws = await awaited(self.redis.hmget(self.keys.search_terms(), [str(n) for n in numbers]))
        return [read_telling(raw) if raw else ({}, 0.0) for raw in raws]

    def _extend_published(self, new: bytes, last: int) -> None:
        if last + 1 < len(self._published):  # the index was emptied under us (tests, resets)
            self._published = np.zeros(0, dtype=_PUBLISHED)
            return
        whole = len(new) - len(new) % _PUBLISHED_SIZE
        if whole:
            added = np.frombuffer(new[:whole], dtype=_PUBLISHED)
            self._published = np.concatenate([self._published, added])

    def _live(self, dead_raw: bytes) -> npt.NDArray[np.bool_]:
        """Which document numbers are live: published and not dead. Kept while neither the
        table nor the dead bitmap changes (most searches in a row)."""
        size = len(self._published)
        if self._live_for != (size, dead_raw):
            live = self._published != 0
            dead = _bits(dead_raw)
            overlap = min(size, len(dead))
            live[:overlap] &= ~dead[:overlap]
            self._live_cache, self._live_for = live, (size, dead_raw)
        return self._live_cache


def _published_seconds(value: float) -> int:
    """Seconds since the epoch as stored: at least 1, since 0 marks a number never used."""
    return max(1, min(int(value), 2**32 - 1))


def _bits(raw: bytes | None) -> npt.NDArray[np.bool_]:
    """A Redis bitmap (bit 0 = the first byte's high bit) as a boolean array."""
    return np.unpackbits(np.frombuffer(raw or b"", dtype=np.uint8)).astype(bool)


def _is_dead(numbers: npt.NDArray[np.uint32], dead: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    inside = numbers < len(dead)
    result = np.zeros(len(numbers), dtype=bool)
    result[inside] = dead[numbers[inside]]
    return result
