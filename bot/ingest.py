"""Bulk ingest: files of articles into the store, fast, with a summary.

Files are read, parsed and analysed for the search index in worker processes (all of it CPU
work), articles are saved in batches (each batch a few pipelined round trips, see
storage/articles.py), and several batches are kept in flight so the workers go on while this
process writes. A file that fails is skipped whole (never half-stored) and named in the
summary.

What one article may hold is capped (`oversize`, MAX_*): far beyond any news item, small
enough that its card is built quickly. The HTTP API checks the same caps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.news.article import Article
from bot.news.parse import ParseError, load_articles
from storage.articles import ArticleStore, Saved, distinct_runs, index, published_timestamp
from storage.postings import analyze

ARTICLE_SUFFIXES = (".txt", ".json", ".jsonl")
_WARM_UP = Article.trusted({"id": "warm-up", "title": "کلان‌شهر"})
BATCH = 2_000
IN_FLIGHT = 3
POOL_THRESHOLD = 64
"""Fewer files than this are parsed in this process: starting workers would cost more."""

MAX_KEY_POINTS = 100
MAX_QUOTES = 100
MAX_PARAGRAPHS = 300
MAX_TAGS = 30
MAX_TEXT_CHARS = 100_000
"""All the text of one article (about 18,000 words): a long feature is a fifth of it."""
MAX_CHARS = {"title": 500, "lead": 5_000, "byline": 300}
MAX_ITEM_CHARS = {"paragraphs": 20_000, "key_points": 2_000, "quotes": 10_000, "tags": 100}
"""Characters of one paragraph, key point (label and text), quote (with its speaker, role and
heading) or tag."""


@dataclass(frozen=True)
class Oversize:
    """What makes an article too large to take in: the field (dotted, None for the whole
    article) and why, in a sentence."""

    field: str | None
    message: str


def oversize(article: Article) -> list[Oversize]:
    """Every size cap the article is over; empty when it is within all of them."""
    found: list[Oversize] = []
    counts = {
        "key_points": (len(article.key_points), MAX_KEY_POINTS, "key points"),
        "quotes": (len(article.quotes), MAX_QUOTES, "quotes"),
        "paragraphs": (len(article.paragraphs), MAX_PARAGRAPHS, "paragraphs"),
        "tags": (len(article.tags), MAX_TAGS, "tags"),
    }
    for name, (count, cap, what) in counts.items():
        if count > cap:
            found.append(Oversize(name, f"too many {what}: {count:,} (at most {cap:,})"))
    for name, cap in MAX_CHARS.items():
        if len(getattr(article, name) or "") > cap:
            found.append(Oversize(name, _too_long(len(getattr(article, name)), cap)))
    items = {
        "paragraphs": [len(text) for text in article.paragraphs],
        "key_points": [len(point.label or "") + len(point.text) for point in article.key_points],
        "quotes": [
            len(quote.speaker) + len(quote.role or "") + len(quote.text) + len(quote.heading or "")
            for quote in article.quotes
        ],
        "tags": [len(tag) for tag in article.tags],
    }
    for name, lengths in items.items():
        cap = MAX_ITEM_CHARS[name]
        found += [
            Oversize(f"{name}.{place}", _too_long(length, cap))
            for place, length in enumerate(lengths)
            if length > cap
        ]
    total = len(article.title) + sum(
        len(getattr(article, name) or "") for name in ("lead", "byline")
    )
    total += sum(sum(lengths) for lengths in items.values())
    if total > MAX_TEXT_CHARS:
        found.append(
            Oversize(
                None, f"too long: {total:,} characters of text in all (at most {MAX_TEXT_CHARS:,})"
            )
        )
    return found


def _too_long(length: int, cap: int) -> str:
    return f"too long: {length:,} characters (at most {cap:,})"


@dataclass
class Summary:
    files: int = 0
    articles: int = 0
    saved: Counter[Saved] = field(default_factory=Counter)
    skipped: list[ParseError] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    """Ids of articles older than the retention window: not stored."""


@dataclass(frozen=True)
class Progress:
    done_files: int
    total_files: int
    articles: int
    started: float
    now: float

    @property
    def rate(self) -> float:
        return self.articles / max(self.now - self.started, 1e-9)


def discover(paths: Iterable[Path]) -> Iterator[Path | ParseError]:
    """The article files named, and those inside named folders (sorted, hidden ones left
    out); a path that does not exist is a ParseError naming it."""
    for path in paths:
        if path.is_dir():
            found = (
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in ARTICLE_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            yield from sorted(found)
        elif path.is_file():
            yield path
        else:
            yield ParseError(str(path), "no such file or folder")


Loaded = list[Article] | ParseError
"""A file's articles, or why it has none."""


def _load(path: Path) -> Loaded:
    try:
        articles = load_articles(path)
    except ParseError as error:
        return error
    except ValueError as error:  # a number of thousands of digits, say: no article
        return ParseError(str(path), f"invalid JSON: {str(error).split(';')[0]}")
    for article in articles:
        if found := oversize(article):
            where = f"{found[0].field}: " if found[0].field else ""
            return ParseError(str(path), f"article {article.id}: {where}{found[0].message}")
    return articles


def read(files: Sequence[Path], workers: int | None = None) -> Generator[Loaded]:
    """Each file's articles, or the reason it has none, in the order given; with many files,
    read and parsed in worker processes."""
    if len(files) < POOL_THRESHOLD or workers == 1:
        yield from map(_load, files)
        return
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        yield from pool.map(_load, files, chunksize=16)


async def ingest(
    store: ArticleStore,
    paths: Sequence[Path],
    *,
    workers: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_skip: Callable[[ParseError], None] | None = None,
) -> Summary:
    """Store every article of every file under `paths`; see the module's docstring."""
    loop = asyncio.get_running_loop()
    summary = Summary()
    files: list[Path] = []

    def skip(error: ParseError) -> None:
        summary.skipped.append(error)
        if on_skip:
            on_skip(error)

    for found in discover(paths):
        if isinstance(found, ParseError):
            skip(found)
        else:
            files.append(found)
    started = loop.time()
    cutoff = store.clock() - store.retention if store.retention else None
    writer = Writer(store, analysers=1 if len(files) >= POOL_THRESHOLD else 0)
    batch: list[Article] = []
    for done, pending in enumerate(_read_in_thread(files, workers), 1):
        loaded = await pending
        summary.files += 1
        if isinstance(loaded, ParseError):
            skip(loaded)
        else:
            summary.articles += len(loaded)
            for article in loaded:
                if _published_before(article, cutoff):
                    summary.expired.append(article.id)
                else:
                    batch.append(article)
        if len(batch) >= BATCH or done == len(files):
            await writer.submit(batch)
            batch = []
        if on_progress:
            on_progress(Progress(done, len(files), summary.articles, started, loop.time()))
    summary.saved = await writer.drain()
    await store.purge()  # retention, and compaction of what the updates left dead
    return summary


class Writer:
    """Saves batches of articles with IN_FLIGHT of them under way at once, committed in the
    order given. With `analysers` processes, the search analysis of a batch (the CPU-heavy
    part of a save) runs there while this process writes the batch before it; with 0, here."""

    def __init__(self, store: ArticleStore, *, analysers: int = 1) -> None:
        self.store = store
        self.saved: Counter[Saved] = Counter()
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._writes: list[asyncio.Task[None]] = []
        self._pool = ProcessPoolExecutor(analysers) if analysers else None
        for _ in range(analysers):  # load the lexicon there while the first batch is prepared
            self._pool.submit(analyze, _WARM_UP)  # type: ignore[union-attr]

    async def submit(self, batch: list[Article]) -> None:
        """Start saving a batch; returns once fewer than IN_FLIGHT batches are under way."""
        if not batch:
            return
        await self._slots.acquire()
        before = self._writes[-1] if self._writes else None
        self._writes.append(asyncio.create_task(self._write(batch, before)))
        await asyncio.sleep(0)  # let the write go out before the caller's next CPU work

    async def _write(self, batch: list[Article], before: asyncio.Task[None] | None) -> None:
        try:
            for run in distinct_runs(batch):
                prepared = await self.store.prepare(run)
                if self._pool is None:
                    indexed = index(prepared)
                else:
                    articles, prepared.articles = prepared.articles, None  # their text goes
                    loop = asyncio.get_running_loop()
                    indexed = await loop.run_in_executor(self._pool, index, prepared)
                    indexed.articles = articles
                if before is not None:
                    await asyncio.shield(before)  # commits keep the order batches came in
                    before = None
                await self.store.commit(indexed)
                self.saved.update(prepared.outcomes)
        finally:
            self._slots.release()

    async def drain(self) -> Counter[Saved]:
        """Wait for every write; what was saved, by outcome."""
        try:
            await asyncio.gather(*self._writes)
        finally:
            self._writes.clear()
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
        return self.saved


def _read_in_thread(files: Sequence[Path], workers: int | None) -> Iterator[asyncio.Future[Loaded]]:
    """`read`, each step run in a thread so the event loop keeps writing meanwhile."""
    loop = asyncio.get_running_loop()
    results = read(files, workers)
    try:
        for _ in files:
            yield loop.run_in_executor(None, next, results)
    finally:
        with contextlib.suppress(ValueError):  # still running in its thread: the process ends
            results.close()


def _published_before(article: Article, cutoff: datetime | None) -> bool:
    """Undated articles count as new; without a retention window (None) every one does."""
    if cutoff is None:
        return False
    return published_timestamp(article, datetime.now(UTC)) < cutoff.timestamp()


class ProgressBar:
    """One line on a terminal, redrawn at most ten times a second."""

    WIDTH = 30
    INTERVAL = 0.1

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._drawn_at = -1.0

    def draw(self, progress: Progress) -> None:
        self.show(
            progress.done_files,
            progress.total_files,
            progress.now,
            f"{progress.done_files}/{progress.total_files} files, "
            f"{progress.articles} articles, {progress.rate:,.0f} articles/s",
        )

    def show(self, done: int, total: int, now: float, text: str) -> None:
        """The bar at `done` of `total`, then `text`; `now` in seconds (any clock)."""
        if done != total and now - self._drawn_at < self.INTERVAL:
            return
        self._drawn_at = now
        filled = self.WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {text}")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own above the bar."""
        self.stream.write(f"\r\033[K{text}\n")
        self._drawn_at = -1.0

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
