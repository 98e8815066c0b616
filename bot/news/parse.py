"""Raw article pages (the text a newspaper site shows) → Article.

The page format, as scraped from Hamshahri's newspaper site::

    • پنج شنبه 24 مهر 1404                    Jalali date     } in any order,
      • الْخَمِيس 23 ربیع الثانی 1447           Hijri date      } anywhere; each
      • 2025 Oct 16                           Gregorian date  } one optional
    کد مطلب : 265240                           the source's id
    لینک کوتاه : newspaper.hamshahrionline.ir/7L98A
    +  -                                      page furniture
    title                                     (printed twice; a subtitle line joins it)
    گروه ورزشی: lead paragraph                 a byline (desk, agency) starts the lead
    \u00a0label: text\u00a0                          key points, boxed in no-break spaces
    body paragraphs
    sub-heading                               a short line that ends no sentence
    name، role: what they said                a quote («role: text», «X گفت: text»)
    این خبر را به اشتراک بگذارید               page furniture

How the lines after the title are read (lead, byline, quotes, sub-headings, pages printed in
narrow columns) is in bot.news.story and bot.news.quotes. Nothing here guesses silently: text
that is not an article raises ParseError naming the file and what is missing, and
disagreeing dates are logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from bot.news.article import MAX_TITLE_CHARS, Article, stable_id
from bot.news.layout import (
    strip_breaking,
)
from bot.news.pagemeta import Meta, published, take_metadata
from bot.news.persian import normalize, search_key
from bot.news.spelling import one_spelling
from bot.news.story import (
    Story,
    Unit,
    join_cut_lines,
    join_headings,
    squeezed,
    unwrap,
    with_subtitle,
)

log = logging.getLogger(__name__)


class ParseError(ValueError):
    """The input is not an article; the message names the input and what is wrong."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str]]:
        return ParseError, (self.name, self.problem)  # picklable, for parsing in other processes


# Lines the page prints around every article.
_FURNITURE = frozenset(
    squeezed(normalize(line))
    for line in (
        "این خبر را به اشتراک بگذارید",
        "اشتراک گذاری",
        "نسخه چاپی",
        "ارسال به دوستان",
        "چاپ خبر",
        "کپی شد",
        "بازگشت",
    )
)
_FURNITURE_MAX_CHARS = 40
# «عکس: جواد گلزار», «عکس از …», and the same glued («عکسجواد گلزار»): the picture's credit.
_PHOTO_CREDIT = re.compile(r"^عکس(?:\s*:\s*|\s+از\s+|(?=[^\s\u200c]))\S+(?:\s+\S+){0,2}$")
_PUNCTUATION_ONLY = re.compile(r"^[\W_]*$")

_TITLE_MAX_CHARS = 300
_SAME_TEXT_SLACK = 8  # characters: lines further apart in length are different lines
# UTF-8 lead bytes: U+0600-U+06FF (the Arabic script), and the other alphabets of two or
# three bytes (Greek, Cyrillic, Hebrew…; Latin-1 punctuation such as «» and NBSP left out).
_NOT_ARABIC_LEAD = bytes(b for b in range(256) if not 0xD8 <= b <= 0xDB)
_NOT_OTHER_LEAD = bytes(b for b in range(256) if not (0xC3 <= b < 0xD8 or 0xDC <= b < 0xE0))
_NOT_LATIN_LETTER = bytes(b for b in range(256) if not chr(b).isascii() or not chr(b).isalpha())
_MIN_PERSIAN_SHARE = 0.5
_SOURCES = {
    "hamshahrionline": "hamshahri",
    "hamshahri": "hamshahri",
    "irna": "irna",
    "khabaronline": "khabaronline",
}


def parse_text(text: str, *, name: str = "<text>", source: str | None = None) -> Article:
    """The Article in a raw page's text. Raises ParseError when it is not an article."""
    if "\x00" in text:
        raise ParseError(name, "binary data, not article text")
    meta = Meta()
    units: list[Unit] = []
    raws = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for raw, line in zip(raws, _normalize_lines(raws), strict=True):
        boxed = raw.startswith("\u00a0") or raw.startswith(" \u00a0")
        if not line or _is_furniture(line) or take_metadata(line, meta, name):
            continue
        units.append(Unit(line, boxed))
    if not units:
        raise ParseError(name, "empty: no title and no text" if not text.strip() else "no title")
    return _build(units, meta, name=name, source=source)


def _normalize_lines(raws: list[str]) -> list[str]:
    """Every line in display form. The page is normalized in one piece (one pass of each
    step instead of one per line), line for line the same as normalizing each line alone."""
    stripped = [raw.strip() for raw in raws]
    filled = [index for index, raw in enumerate(stripped) if raw]
    if not filled:
        return stripped
    first, last = filled[0], filled[-1] + 1
    lines = normalize("\n".join(stripped[first:last])).split("\n")
    if len(lines) != last - first:
        return [normalize(raw) for raw in raws]  # pragma: no cover (a safety net)
    return [""] * first + lines + [""] * (len(raws) - last)


def parse_breaking(text: str | bytes, now: datetime, *, name: str = "<breaking>") -> Article:
    """A breaking item as an editor types it: the first line is the title, the next the lead,
    the rest body paragraphs; or a whole raw page (bytes are decoded as files are). Marked
    breaking, published now."""
    if isinstance(text, bytes):
        text = _decode(text, name)
    lines = [normalize(line) for line in text.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise ParseError(name, "empty: no title and no text")
    article: Article | None = None
    if len(lines) > 2:
        with contextlib.suppress(ParseError):
            article = parse_text(text, name=name)
    if article is None:
        if not _mostly_persian(lines):
            raise ParseError(name, "not Persian text")
        article = Article.trusted(
            {
                "id": stable_id("breaking", now.isoformat(timespec="minutes"), *lines),
                "title": lines[0][:MAX_TITLE_CHARS],
                "lead": lines[1] if len(lines) > 1 else None,
                "paragraphs": lines[2:],
            }
        )
    return article.model_copy(update={"breaking": True, "published": article.published or now})


def parse_bytes(data: bytes, *, name: str = "<bytes>", source: str | None = None) -> Article:
    return parse_text(_decode(data, name), name=name, source=source)


def parse_file(path: str | Path, *, source: str | None = None) -> Article:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ParseError(str(path), f"cannot read: {error.strerror or error}") from None
    return parse_bytes(data, name=str(path), source=source)


def load_articles(path: str | Path) -> list[Article]:
    """The articles in one file: a raw .txt page, a .json Article or list, or .jsonl lines."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        return [parse_file(path)]
    try:
        text = _decode(path.read_bytes(), str(path))
    except OSError as error:
        raise ParseError(str(path), f"cannot read: {error.strerror or error}") from None
    if path.suffix.lower() == ".jsonl":
        items = [(f"line {n}", line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    elif path.suffix.lower() == ".json":
        items = [("", text)]
    else:
        raise ParseError(str(path), "not an article file (expected .txt, .json or .jsonl)")
    articles: list[Article] = []
    for where, chunk in items:
        articles.extend(_articles_from_json(chunk, f"{path}{', ' + where if where else ''}"))
    return articles


def _articles_from_json(text: str, name: str) -> list[Article]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ParseError(name, f"invalid JSON: {error.msg} at line {error.lineno}") from None
    records = data if isinstance(data, list) else [data]
    articles = []
    for number, record in enumerate(records, 1):
        try:
            articles.append(Article.model_validate(record))
        except ValidationError as error:
            where = f"{name}, item {number}" if isinstance(data, list) else name
            raise ParseError(where, describe_validation_error(error)) from None
    return articles


def describe_validation_error(error: ValidationError) -> str:
    """One line an operator can act on: which fields are wrong, and how."""
    problems = []
    for item in error.errors()[:5]:
        field = ".".join(str(part) for part in item["loc"]) or "article"
        problems.append(f"{field}: {item['msg']}")
    more = error.error_count() - len(problems)
    return "not a valid article: " + "; ".join(problems) + (f" (+{more} more)" if more else "")


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise ParseError(name, "binary data, not article text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Files saved by Persian Windows editors; accepted only when they read as Arabic script.
    text = data.decode("cp1256", errors="replace")
    letters = sum(1 for char in text if "\u0600" <= char <= "\u06ff")
    if "\ufffd" not in text and letters > len(text) // 3:
        return text
    raise ParseError(name, "not UTF-8 text")


def _is_furniture(line: str) -> bool:
    if _PUNCTUATION_ONLY.match(line):
        return True
    if len(line) > _FURNITURE_MAX_CHARS:
        return False
    return squeezed(line) in _FURNITURE or _PHOTO_CREDIT.match(line) is not None


# ---------------------------------------------------------------------------------------------
# The article text: title, lead, key points, paragraphs, quotes.


def _build(units: list[Unit], meta: Meta, *, name: str, source: str | None) -> Article:
    if not _mostly_persian(unit.text for unit in units):
        raise ParseError(name, "no Persian text: this is not a Persian news article")
    title = units[0].text
    if units[0].boxed or len(title) > _TITLE_MAX_CHARS or "\n" in title:
        raise ParseError(name, "no title: the first line of text is not a headline")
    rest = units[1:]
    while rest and _same_text(rest[0].text, title):
        rest = rest[1:]
    # The id of an article without a code hashes its first lines as printed.
    first = next((unit.text for unit in rest if not unit.boxed), None)
    hashed = stable_id(source or source_of(meta.short_link or meta.url), title, first)
    breaking, title = strip_breaking(title)
    title, rest = unwrap(title, rest)
    title, story = with_subtitle(title, join_headings(join_cut_lines(rest)))
    if not story:
        raise ParseError(name, "no article text after the title")
    parts = Story()
    for index, unit in enumerate(story):
        following = story[index + 1] if index + 1 < len(story) else None
        parts.add(unit, following)
    parts.finish()
    if parts.lead is None and not (parts.key_points or parts.quotes or parts.paragraphs):
        raise ParseError(name, "no article text after the title")
    source = source or source_of(meta.short_link or meta.url)
    code = meta.code if meta.code and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", meta.code) else None
    quoted = [part for quote in parts.quotes for part in (quote.speaker, quote.text)]
    texts = one_spelling([title, parts.lead, *parts.paragraphs, *quoted])
    quotes = (
        [
            quote.model_copy(update={"speaker": speaker, "text": said})
            for quote, speaker, said in zip(
                parts.quotes, texts[-len(quoted) :: 2], texts[-len(quoted) + 1 :: 2], strict=True
            )
        ]
        if quoted
        else []
    )
    texts = texts[: len(texts) - len(quoted)]
    try:
        # Every piece is a normalized line or a stripped part of one: no need to normalize again.
        return Article.trusted(
            {
                "id": code or hashed,
                "source": source,
                "title": texts[0],
                "lead": texts[1],
                "key_points": parts.key_points,
                "quotes": quotes,
                "paragraphs": texts[2:],
                "published": published(meta, name),
                "hijri_date": meta.hijri,
                "short_link": meta.short_link,
                "url": meta.url,
                "breaking": breaking,
                "byline": parts.byline,
            }
        )
    except ValidationError as error:
        raise ParseError(name, describe_validation_error(error)) from None


def _mostly_persian(texts: Iterable[str]) -> bool:
    """At least half the letters are of the Arabic script. Counted on the UTF-8 bytes (each
    such letter starts with one of four lead bytes), which is many times faster than matching
    every character against a letter class."""
    data = "\n".join(texts).encode()
    arabic = len(data.translate(None, _NOT_ARABIC_LEAD))
    latin = len(data.translate(None, _NOT_LATIN_LETTER))
    other = len(data.translate(None, _NOT_OTHER_LEAD))
    return arabic > 0 and arabic >= _MIN_PERSIAN_SHARE * (arabic + latin + other)


def _same_text(a: str, b: str) -> bool:
    return squeezed(a) == squeezed(b) or (
        abs(len(a) - len(b)) < _SAME_TEXT_SLACK and search_key(a) == search_key(b)
    )


def source_of(link: str | None) -> str | None:
    if not link:
        return None
    host = re.sub(r"^https?://", "", link).split("/")[0].lower()
    labels = [label for label in host.split(".") if label not in ("www", "newspaper", "ir", "com")]
    if not labels:
        return None
    return _SOURCES.get(labels[-1], labels[-1])
