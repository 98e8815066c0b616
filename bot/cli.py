"""The `khabar` command (DESIGN.md): parse, card, ingest, search, reindex, run, sandbox; one
JSON object per line where asked."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

from redis.exceptions import RedisError

from bot.config import ConfigError, Settings, load_settings
from bot.ingest import ProgressBar, ingest
from bot.news.article import Article
from bot.news.card import render
from bot.news.parse import ParseError, load_articles, parse_file
from bot.news.readable import readable
from bot.news.styles import Style
from bot.news.styles import payloads as styled
from storage.articles import ArticleStore, Saved
from storage.keys import Keys
from storage.redis import StorageUnavailable, connect
from storage.reindex import BATCH, Progress, Rebuilt, ReindexBusy, Reindexer

log = logging.getLogger("khabar")

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2

T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="khabar: %(levelname)s: %(message)s")
    args = _parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except BrokenPipeError:  # `khabar parse ... | head`
        sys.stderr.close()
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="khabar",
        description="Persian news for Telegram: parse, render, store and search articles.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    parse = commands.add_parser("parse", help="raw article pages -> one JSON Article per line")
    parse.add_argument("files", nargs="+", metavar="FILE", type=Path)
    parse.set_defaults(command=_parse)

    card = commands.add_parser("card", help="the message card(s) of articles")
    card.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        type=Path,
        help="a raw .txt page, a .json Article (or list) or .jsonl",
    )
    card.add_argument(
        "--json",
        action="store_true",
        help='one line per article: {"id": ..., "messages": [payload, ...]}, each payload with '
        "its Bot API method",
    )
    card.add_argument(
        "--style",
        choices=[style.value for style in Style],
        help="a channel/broadcast card: text (compact), photo (sendPhoto), rich "
        "(sendRichMessage); without it, the card readers get in a chat",
    )
    card.set_defaults(command=_card)

    ingest = commands.add_parser("ingest", help="store articles (files or folders) in Redis")
    ingest.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        type=Path,
        help="raw .txt pages, .json / .jsonl Articles, or folders of them",
    )
    _progress_option(ingest)
    ingest.set_defaults(command=_ingest)

    search = commands.add_parser("search", help="search the stored articles")
    search.add_argument("query", nargs="+", metavar="QUERY")
    search.add_argument(
        "--json",
        action="store_true",
        help='one line per result: {"id", "title", "published", "score"}',
    )
    search.add_argument(
        "--limit", type=_positive, default=10, metavar="N", help="at most N results (default 10)"
    )
    search.set_defaults(command=_search)

    rebuild = commands.add_parser(
        "reindex",
        help="rebuild the search index from the stored articles",
        description="Rebuild the whole search index from the stored articles, oldest first: "
        "after an upgrade whose index format changed, or when search misses articles it "
        "should find. The articles, their short links and cards stay as they are and "
        "nothing is posted again. The bot may go on running: its searches see a partial "
        "index until the rebuild ends (the oldest articles come back first), and what it "
        "saves meanwhile is indexed once.",
    )
    rebuild.add_argument(
        "--batch",
        type=_positive,
        default=BATCH,
        metavar="N",
        help=f"articles analysed and written at a time (default {BATCH})",
    )
    _progress_option(rebuild)
    rebuild.set_defaults(command=_reindex)

    run = commands.add_parser("run", help="the bot: Telegram updates (long polling)")
    run.add_argument(
        "--or-sandbox",
        action="store_true",
        help="with no KHABAR_BOT_TOKEN, run the sandbox instead (what `make run` does)",
    )
    run.set_defaults(command=_run)

    sandbox = commands.add_parser(
        "sandbox", help="the bot against a local Bot API, with a web chat at /sandbox"
    )
    sandbox.set_defaults(command=_sandbox)
    return parser


def _run(args: argparse.Namespace) -> int:
    from bot.app.serve import run  # Telegram's library loads only for the bot itself

    configure_run_logging()
    try:
        settings = load_settings()
        if args.or_sandbox and settings.bot_token is None:
            return _sandbox(args, settings)
        run(settings)
    except (ConfigError, StorageUnavailable) as error:
        print(f"khabar: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _sandbox(args: argparse.Namespace, settings: Settings | None = None) -> int:
    """The bot against the sandbox's Bot API and web chat (bot/sandbox/run.py)."""
    from bot.sandbox.run import page_url, run_sandbox

    configure_run_logging()
    try:
        settings = settings or load_settings()
        if args.command is _run:
            print(
                f"no KHABAR_BOT_TOKEN: running the sandbox at {page_url(settings)}, "
                "nothing reaches Telegram",
                file=sys.stderr,
                flush=True,
            )

        def ready(url: str) -> None:
            print(f"khabar: the sandbox is at {url}; Ctrl-C stops it", file=sys.stderr, flush=True)

        asyncio.run(run_sandbox(settings, on_ready=ready))
    except (ConfigError, StorageUnavailable) as error:
        print(f"khabar: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def configure_run_logging(stream: TextIO | None = None) -> None:
    """The bot's log: INFO and up, each line stamped with the UTC time to the millisecond (a
    running bot's lines are read against each other and against other processes')."""
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_ProxyPages())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines carry the token
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # two lines every 3 seconds


class _ProxyPages(logging.Filter):
    """python-telegram-bot logs every answer that is not JSON (a proxy's 502 page, say) as an
    ERROR with a traceback; during an outage that is one per request. One WARNING line every
    QUIET seconds says the same, with how many were left out."""

    QUIET = 10.0

    def __init__(self) -> None:
        super().__init__()
        self._last = -self.QUIET
        self._left_out = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.name.startswith("telegram.request") and "invalid JSON" in str(record.msg)):
            return True
        now = time.monotonic()
        if now - self._last < self.QUIET:
            self._left_out += 1
            return False
        record.msg = "the Bot API answered with a page that is not JSON (%d more left out)"
        record.args = (self._left_out,)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        self._last, self._left_out = now, 0
        return True


def _progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw a progress bar (default: when stderr is a terminal)",
    )


def _progress_bar(args: argparse.Namespace) -> ProgressBar | None:
    show = sys.stderr.isatty() if args.progress is None else args.progress
    return ProgressBar(sys.stderr) if show else None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parse(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            article = parse_file(path)
        except ParseError as error:
            _report(error)
            failed = True
            continue
        _print_json(article.model_dump(mode="json"))
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _card(args: argparse.Namespace) -> int:
    failed = False
    for article in _articles(args.files):
        if article is None:
            failed = True
            continue
        if args.style:
            payloads = styled(article, Style(args.style))
        else:
            payloads = [{"method": "sendMessage", **m.payload()} for m in render(article)]
        if args.json:
            _print_json({"id": article.id, "messages": payloads})
            continue
        for number, payload in enumerate(payloads, 1):
            rule = f"── {article.id} · {number}/{len(payloads)} · {payload['method']} "
            print(rule.ljust(60, "─"))
            print(readable(payload))
        print()
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _ingest(args: argparse.Namespace) -> int:
    bar = _progress_bar(args)

    def skipped(error: ParseError) -> None:
        if bar:
            bar.note(f"khabar: skipped {error}")
        else:
            _report(error)

    summary = _with_store(
        lambda store: ingest(
            store, args.paths, on_progress=bar.draw if bar else None, on_skip=skipped
        )
    )
    if bar:
        bar.close()
    saved = summary.saved
    parts = [
        f"{summary.files} files, {summary.articles} articles: {saved[Saved.STORED]} stored, "
        f"{saved[Saved.UPDATED]} updated, {saved[Saved.UNCHANGED]} unchanged"
    ]
    if summary.expired:
        parts.append(
            f"{len(summary.expired)} older than the retention window "
            "(KHABAR_RETENTION_DAYS), not stored"
        )
    if summary.skipped:
        parts.append(f"{len(summary.skipped)} files skipped")
    print("khabar: " + "; ".join(parts), file=sys.stderr)
    return EXIT_SOME_FAILED if summary.skipped else EXIT_OK


def _search(args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    found = _with_store(lambda store: store.find(query, 0, args.limit))
    for number, (article, hit) in enumerate(found, 1):
        published = article.published.isoformat() if article.published else None
        if args.json:
            _print_json(
                {
                    "id": article.id,
                    "title": article.title,
                    "published": published,
                    "score": hit.score,
                }
            )
        else:
            print(f"{number:>3}. {article.title}  [{article.id}, {published or '-'}, {hit.score}]")
    return EXIT_OK


def _reindex(args: argparse.Namespace) -> int:
    bar = _progress_bar(args)

    def draw(progress: Progress) -> None:
        if bar:
            text = f"{progress.done}/{progress.total} articles, {progress.rate:,.0f} articles/s"
            bar.show(progress.done, progress.total, progress.now, text)

    try:
        rebuilt: Rebuilt = _with_store(
            lambda store: Reindexer(store, args.batch, on_progress=draw).run()
        )
    except ReindexBusy as error:
        print(f"khabar: {error}", file=sys.stderr)
        return EXIT_SOME_FAILED
    except RedisError as error:
        if bar:
            bar.close()
        print(
            f"khabar: Redis failed during the reindex ({error}); searches see a partial "
            "index until `khabar reindex` runs again to the end",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if bar:
        bar.close()
    meanwhile = f"; {rebuilt.left} saved or removed meanwhile" if rebuilt.left else ""
    print(
        f"khabar: reindexed {rebuilt.indexed} articles in {rebuilt.seconds:.1f} s, "
        f"{rebuilt.rate:,.0f} articles/s ({rebuilt.dropped} terms of the old index "
        f"dropped{meanwhile})",
        file=sys.stderr,
    )
    return EXIT_OK


def _with_store(work: Callable[[ArticleStore], Awaitable[T]]) -> T:
    """Run `work` on the store of the configured Redis; operator errors end the command."""

    async def run() -> T:
        settings = load_settings()
        redis = await connect(settings.redis_url)
        try:
            store = ArticleStore(
                redis,
                Keys(settings.redis_prefix),
                retention=settings.retention,
                public_url=settings.public_url,
            )
            return await work(store)
        finally:
            await redis.aclose()

    try:
        return asyncio.run(run())
    except (ConfigError, StorageUnavailable) as error:
        print(f"khabar: {error}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _articles(paths: list[Path]) -> Iterator[Article | None]:
    """The articles of every path; None (after reporting) for a path that has none."""
    for path in paths:
        if not path.is_file():
            _report(ParseError(str(path), "no such file"))
            yield None
            continue
        try:
            articles = load_articles(path)
        except ParseError as error:
            _report(error)
            yield None
            continue
        except ValueError as error:  # json: a number of thousands of digits
            _report(ParseError(str(path), f"invalid JSON: {str(error).split(';')[0]}"))
            yield None
            continue
        yield from articles


def _report(error: ParseError) -> None:
    print(f"khabar: skipped {error}", file=sys.stderr)


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
