"""Rebuilding the search index from the stored articles (`khabar reindex`).

The index's format grows (each document's telling terms for feedback; the terms of a few
spaced compounds, which once depended on Python's hash seed), and an index built by an older
version ranks as that version did until it is rebuilt. A rebuild goes:

1. The lease (keys.reindexer): one rebuild at a time. It is renewed as the rebuild goes, so
   a run that died frees it within `LEASE_SECONDS` and running it again goes ahead.
2. The drop. Every postings string goes with its vocabulary entry, found by SCAN (so an
   older version's too, whatever its vocabulary says; SCAN reads every key of the Redis,
   about a second per million); then one script takes the rest at once: the postings of
   terms that saves added meanwhile (they are in the vocabulary), the vocabulary, ids,
   telling terms, dead bitmap, dirty counts, and the totals. After that step no document is
   live. The published-time table (search_docs) and the last number handed out stay: a
   number is never used twice, so what every running process has cached of the table
   (storage/search.py reads only what is new) stays true. The rebuilt documents take new
   numbers after the old ones.
3. The walk: the ids of `latest`, read after the drop, oldest first, in batches. A batch's
   articles are read, analysed and packed by `index()` in an analyser process as a bulk save
   is, given consecutive numbers (so numbers follow publication) and written in one
   transaction: postings (and the vocabulary), telling terms, ids, each article's `doc` and
   `length`, the totals. A batch is packed with the average length of the batches before it
   (DEFAULT_LENGTH for the first), as a fresh ingest in this order would be, counted here so
   that saves meanwhile do not change it: two rebuilds give the same index.

Articles stay as they are: JSON, fingerprint, short code, cards, `latest`, and the
new-articles stream (nothing is announced again).

While a rebuild runs the bot goes on. Searches see the old index thin out, then only what is
rebuilt so far (the oldest articles first, the newest last), never an error. Saves meanwhile
(feeds, the API, admins) leave each article indexed exactly once:
- a save after the drop indexes its article itself; the walk's write checks, in its script,
  that the article's document is not live and that its fingerprint is the one analysed, else
  it leaves the article to that save and marks its own number dead. So a save that lands
  between the walk's read and its write wins, and the walk's copy never goes live;
- a save before the drop's last step is dropped with the index, and the walk (which reads
  `latest` after it) indexes the article;
- a save or a removal of an article whose document the drop took: storage/articles.py retires
  an old document only while it is live, so the totals stay right.
Redis going away stops the rebuild with a RedisError and leaves the index partial; the next
run rebuilds it whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from bot.news.article import Article
from storage.articles import ArticleStore, Batch, index
from storage.keys import Keys
from storage.locks import Lease
from storage.postings import POSTING, analyze, analyze_fields, fields
from storage.search import DEFAULT_LENGTH

log = logging.getLogger("khabar.reindex")

_WARM_UP = Article.trusted({"id": "warm-up", "title": "کلان‌شهر"})
BATCH = 2_000
LEASE_SECONDS = 10.0
SCAN_COUNT = 5_000
"""Keys SCAN looks at a round trip: about 5 ms of Redis's time, what the bot may wait."""
DROP_CHUNK = 5_000  # postings strings dropped a script call

# Drops postings strings, each with its vocabulary entry in the same step: a save that makes
# the string again afterwards puts its term back in the vocabulary, where the drop's last step
# finds it. KEYS[1]: vocabulary; ARGV: the postings key prefix, the terms one a line.
_DROP_TERMS = """
local vocabulary, prefix, dropped = KEYS[1], ARGV[1], 0
for term in string.gmatch(ARGV[2], '[^\\n]+') do
    dropped = dropped + redis.call('UNLINK', prefix .. term)
    redis.call('ZREM', vocabulary, term)
end
return dropped
"""

# The drop's last step, at once (see the module's docstring). KEYS: vocabulary, search ids,
# search terms, search dead, search dirty, index stats; ARGV: the postings key prefix.
_DROP = """
local vocabulary, stats, prefix = KEYS[1], KEYS[6], ARGV[1]
local dropped = 0
for _, term in ipairs(redis.call('ZRANGE', vocabulary, 0, -1)) do
    dropped = dropped + redis.call('UNLINK', prefix .. term)
end
redis.call('DEL', vocabulary, KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', stats, 'documents', 0, 'length', 0)
return dropped
"""

# Each article's JSON and fingerprint, and whether its document is live (a save after the drop
# indexed it). KEYS[1]: search ids; ARGV: the article key prefix, the ids separated by spaces.
_READ = """
local ids, prefix, found = KEYS[1], ARGV[1], {}
for id in string.gmatch(ARGV[2], '%S+') do
    local values = redis.call('HMGET', prefix .. id, 'json', 'fingerprint', 'doc')
    local live = values[3] and redis.call('HGET', ids, values[3]) == id
    found[#found + 1] = values[1]
    found[#found + 1] = values[2]
    found[#found + 1] = live and 1 or 0
end
return found
"""

# Makes a batch's documents live, each in one step with the check that no save came between
# the read and now (the article's document not live, its fingerprint the one analysed); an
# article that fails it keeps what that save wrote, and the number given to it here is dead.
# KEYS: search ids, search terms, search dead, index stats. ARGV: the article key prefix, the
# first number, then space-separated: ids, fingerprints, lengths; then the telling terms of
# each, one a line. Returns the places (from 0) of the articles left alone.
_INDEX = """
local ids, terms, dead, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, number = ARGV[1], tonumber(ARGV[2]) - 1
local fingerprints, lengths = string.gmatch(ARGV[4], '%S+'), string.gmatch(ARGV[5], '%S+')
local tellings = string.gmatch(ARGV[6], '[^\\n]+')
local documents, total, left, place = 0, 0, {}, -1
for id in string.gmatch(ARGV[3], '%S+') do
    number, place = number + 1, place + 1
    local fingerprint, length, telling = fingerprints(), lengths(), tellings()
    local article = prefix .. id
    local now = redis.call('HMGET', article, 'fingerprint', 'doc')
    local live = now[2] and redis.call('HGET', ids, now[2]) == id
    if now[1] == fingerprint and not live then
        redis.call('HSET', article, 'doc', number, 'length', length)
        redis.call('HSET', ids, number, id)
        redis.call('HSET', terms, number, telling)
        documents, total = documents + 1, total + tonumber(length)
    else
        redis.call('SETBIT', dead, number, 1)
        left[#left + 1] = place
    end
end
redis.call('HINCRBY', stats, 'documents', documents)
redis.call('HINCRBY', stats, 'length', total)
return left
"""


class ReindexBusy(RuntimeError):
    """Another rebuild holds the lease (or took it over from this one)."""


@dataclass(frozen=True)
class Progress:
    done: int
    """Articles walked so far (indexed or left to a save meanwhile)."""
    total: int
    started: float
    now: float

    @property
    def rate(self) -> float:
        return self.done / max(self.now - self.started, 1e-9)


@dataclass(frozen=True)
class Rebuilt:
    indexed: int
    left: int
    """Articles saved or removed while the rebuild ran: indexed by that save, or gone."""
    dropped: int
    """Postings strings (terms) of the old index dropped."""
    seconds: float

    @property
    def rate(self) -> float:
        return (self.indexed + self.left) / max(self.seconds, 1e-9)


@dataclass
class Chunk:
    """A part of the walk as read: the articles to index and what their write checks."""

    ids: list[str]
    dumps: list[str]
    batch: Batch
    left: int
    """Articles already gone or indexed by a save when read."""


def _analysed(batch: Batch) -> Batch:
    """`index()` of a batch read by the walk, from the articles' JSON (in an analyser process):
    only the postings, telling terms and lengths go back, not the text."""
    batch.fields = [fields(Article.trusted(json.loads(dump))) for dump in batch.dumps]
    indexed = index(batch)
    indexed.dumps, indexed.fields = [], []
    return indexed


@dataclass
class Reindexer:
    """One rebuild of the search index (see the module's docstring)."""

    store: ArticleStore
    batch: int = BATCH
    analysers: int | None = None
    """Analyser processes; 0 analyses in this process. By default one, none for an archive
    of one batch (starting it would cost more)."""
    lease_seconds: float = LEASE_SECONDS
    on_progress: Callable[[Progress], None] | None = None
    _documents: int = field(default=0, init=False)
    _length: int = field(default=0, init=False)
    _scripts: dict[str, AsyncScript] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.redis: Redis = self.store.redis
        self.keys: Keys = self.store.keys
        self._scripts = {
            name: self.redis.register_script(source)
            for name, source in (
                ("drop terms", _DROP_TERMS),
                ("drop", _DROP),
                ("read", _READ),
                ("index", _INDEX),
            )
        }

    async def run(self) -> Rebuilt:
        loop = asyncio.get_running_loop()
        started = loop.time()
        lease = Lease(self.redis, self.keys.reindexer(), self.lease_seconds)
        await self._acquire(lease)
        lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep(lease, lost))
        pool: ProcessPoolExecutor | None = None
        try:
            if self.analysers is None:
                self.analysers = 1 if await self.store.count() > self.batch else 0
            if self.analysers:
                pool = ProcessPoolExecutor(self.analysers)
                for _ in range(self.analysers):  # load the lexicon there during the drop
                    pool.submit(analyze, _WARM_UP)
            dropped = await self.drop()
            members = await self.redis.zrange(self.keys.latest(), 0, -1, withscores=True)
            indexed, left = await self._walk(members, lost, started, pool)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            with contextlib.suppress(RedisError):
                await lease.release()
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        return Rebuilt(indexed, left, dropped, loop.time() - started)

    async def drop(self) -> int:
        """Step 2 of the module's docstring; returns how many postings strings went."""
        prefix = self.keys.postings("")
        dropped = 0
        terms: list[str] = []
        literal = re.sub(r"([\\*?\[\]])", r"\\\1", prefix)  # as a SCAN pattern
        async for key in self.redis.scan_iter(match=literal + "*", count=SCAN_COUNT):
            terms.append(key[len(prefix) :])
            if len(terms) == DROP_CHUNK:
                dropped += await self._drop_terms(prefix, terms)
                terms = []
        dropped += await self._drop_terms(prefix, terms)
        keys = [
            self.keys.vocabulary(),
            self.keys.search_ids(),
            self.keys.search_terms(),
            self.keys.search_dead(),
            self.keys.search_dirty(),
            self.keys.index_stats(),
        ]
        return dropped + int(await self._scripts["drop"](keys=keys, args=[prefix]))

    async def _drop_terms(self, prefix: str, terms: list[str]) -> int:
        if not terms:
            return 0
        script = self._scripts["drop terms"]
        return int(await script(keys=[self.keys.vocabulary()], args=[prefix, "\n".join(terms)]))

    async def read(self, members: Sequence[tuple[str, float]]) -> Chunk:
        """A part of the walk: the articles still stored and not indexed by a save since the
        drop."""
        ids = [article_id for article_id, _ in members]
        reply = await self._scripts["read"](
            keys=[self.keys.search_ids()], args=[self.keys.article(""), " ".join(ids)]
        )
        kept = [
            (article_id, published, dump, digest)
            for (article_id, published), dump, digest, live in zip(
                members, reply[0::3], reply[1::3], reply[2::3], strict=True
            )
            if dump is not None and not live
        ]
        published = [published for _, published, _, _ in kept]
        dumps = [dump for _, _, dump, _ in kept]
        batch = Batch(
            outcomes=[],
            dumps=dumps,
            digests=[digest for _, _, _, digest in kept],
            published=published,
            codes=[],
            first=0,  # numbered when written: see `commit`
            average_length=DEFAULT_LENGTH,  # set when it is analysed
            replaced=[],
            fields=[],
        )
        return Chunk([article_id for article_id, *_ in kept], dumps, batch, len(ids) - len(kept))

    async def commit(self, chunk: Chunk, analysed: Batch) -> int:
        """Write an analysed batch (see `_INDEX`); returns how many articles it left alone.

        Its numbers are reserved here, not when it is read: postings are appended in number
        order as long as no save reserves and writes between this reservation and this write
        (milliseconds; a batch's analysis takes a second)."""
        if not chunk.ids:
            return chunk.left
        first = await self.store.search.reserve(chunk.batch.published)
        args: list[str | int] = [
            self.keys.article(""),
            first,
            " ".join(chunk.ids),
            " ".join(chunk.batch.digests),
            " ".join(map(str, analysed.lengths)),
            "\n".join(analysed.telling),
        ]
        keys = [
            self.keys.search_ids(),
            self.keys.search_terms(),
            self.keys.search_dead(),
            self.keys.index_stats(),
        ]
        async with self.redis.pipeline(transaction=True) as pipe:
            await self.store.search.add(pipe, _renumbered(analysed.packed, first))
            await self._scripts["index"](keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
        left = [int(place) for place in replies[-1]]
        if left:  # their postings are dead: counted for compaction
            dead: Counter[str] = Counter()
            for place in left:
                text = fields(Article.trusted(json.loads(chunk.dumps[place])))
                dead.update(analyze_fields(text).weights.keys())
            async with self.redis.pipeline(transaction=False) as pipe:
                await self.store.search.forget(pipe, dead)
                await pipe.execute()
        return chunk.left + len(left)

    async def _walk(
        self,
        members: list[tuple[str, float]],
        lost: asyncio.Event,
        started: float,
        pool: ProcessPoolExecutor | None,
    ) -> tuple[int, int]:
        """Step 3: every part read, analysed and written; a part is read while the one before
        is analysed, and written while the next one is. Returns how many articles were indexed
        and how many left alone."""
        loop = asyncio.get_running_loop()
        step = self.batch
        parts = [members[start : start + step] for start in range(0, len(members), step)]
        done = left = 0

        def report() -> None:
            if self.on_progress:
                self.on_progress(Progress(done, len(members), started, loop.time()))

        async def settle(write: tuple[asyncio.Task[int], int] | None) -> None:
            nonlocal done, left
            if write is not None:
                left += await write[0]
                done += write[1]
                report()

        report()
        reading = asyncio.create_task(self.read(parts[0])) if parts else None
        writing: tuple[asyncio.Task[int], int] | None = None
        try:
            for number, part in enumerate(parts, 1):
                if lost.is_set():
                    raise ReindexBusy("the reindex lock was lost to another reindex")
                chunk = await reading  # type: ignore[misc]
                reading = None
                if number < len(parts):
                    reading = asyncio.create_task(self.read(parts[number]))
                analysed = await self.analyse(chunk, pool)
                await settle(writing)
                writing = (asyncio.create_task(self.commit(chunk, analysed)), len(part))
            await settle(writing)
            writing = None
        finally:  # on an error: what is under way stops, and its own error is not reported
            for task in (reading, writing[0] if writing else None):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
        return done - left, left

    async def analyse(self, chunk: Chunk, pool: ProcessPoolExecutor | None = None) -> Batch:
        """The chunk's postings, telling terms and lengths, packed with the average length of
        the chunks before it."""
        if not chunk.ids:
            return chunk.batch
        chunk.batch.average_length = self._average()
        if pool is None:
            analysed = _analysed(chunk.batch)
        else:
            loop = asyncio.get_running_loop()
            analysed = await loop.run_in_executor(pool, _analysed, chunk.batch)
        self._documents += len(analysed.lengths)
        self._length += sum(analysed.lengths)
        return analysed

    def _average(self) -> float:
        """The average document length a batch is packed with: that of the batches before."""
        if not self._documents:
            return DEFAULT_LENGTH
        return max(1.0, self._length / self._documents)

    async def _acquire(self, lease: Lease) -> None:
        """The lease; when another holds it, wait for at most one lease period (a run that
        died frees it by then), then ReindexBusy."""
        if await lease.acquire():
            return
        wait = self.lease_seconds + 1
        log.warning("another reindex holds the lock; waiting up to %.0f s for it to end", wait)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not await lease.acquire():
            if loop.time() >= deadline:
                holder = await self.redis.get(lease.key)
                raise ReindexBusy(f"another reindex is running ({holder or 'just ended'})")
            await asyncio.sleep(min(0.25, self.lease_seconds / 10))

    async def _keep(self, lease: Lease, lost: asyncio.Event) -> None:
        """Renew the lease while the rebuild runs; `lost` when another took it. A Redis error
        here is the walk's too, and stops it there."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            with contextlib.suppress(RedisError):
                if not await lease.renew():
                    lost.set()
                    return


def _renumbered(packed: dict[str, bytes], first: int) -> dict[str, bytes]:
    """Postings of documents numbered from 0, numbered from `first` instead."""
    entries = np.frombuffer(b"".join(packed.values()), dtype=POSTING).copy()
    entries["doc"] += first
    renumbered = entries.tobytes()
    ends = np.cumsum([len(value) for value in packed.values()]).tolist()
    starts = [0, *ends[:-1]]
    return {term: renumbered[a:b] for term, a, b in zip(packed, starts, ends, strict=True)}
