"""The `khabar` command (DESIGN.md): parse, card; one JSON object per line where asked."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from bot.article import Article
from bot.card import render
from bot.parse import ParseError, load_articles, parse_file

log = logging.getLogger("khabar")

EXIT_OK = 0
EXIT_SOME_FAILED = 1


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
        prog="khabar", description="Persian news for Telegram: parse articles, render cards."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    parse = commands.add_parser("parse", help="raw article pages -> one JSON Article per line")
    parse.add_argument("files", nargs="+", metavar="FILE", type=Path)
    parse.set_defaults(command=_parse)

    card = commands.add_parser("card", help="the message card(s) of articles")
    card.add_argument("files", nargs="+", metavar="FILE", type=Path,
                      help="a raw .txt page, a .json Article (or list) or .jsonl")
    card.add_argument("--json", action="store_true",
                      help='one line per article: {"id": ..., "messages": [payload, ...]}')
    card.set_defaults(command=_card)
    return parser


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
        messages = render(article)
        if args.json:
            _print_json({"id": article.id, "messages": [m.payload() for m in messages]})
            continue
        for number, message in enumerate(messages, 1):
            rule = f"── {article.id} · {number}/{len(messages)} "
            print(rule.ljust(60, "─"))
            print(message.text)
        print()
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _articles(paths: list[Path]) -> Iterator[Article | None]:
    """The articles of every path; None (after reporting) for a path that has none."""
    for path in paths:
        if not path.is_file():
            _report(ParseError(str(path), "no such file"))
            yield None
            continue
        try:
            yield from load_articles(path)
        except ParseError as error:
            _report(error)
            yield None


def _report(error: ParseError) -> None:
    print(f"khabar: skipped {error}", file=sys.stderr)


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
