"""Raw article pages (the text a newspaper site shows) → Article.

The page format, as scraped from Hamshahri's newspaper site::

    • پنج شنبه 24 مهر 1404                    Jalali date     } in any order,
      • الْخَمِيس 23 ربیع الثانی 1447           Hijri date      } anywhere; each
      • 2025 Oct 16                           Gregorian date  } one optional
    کد مطلب : 265240                           the source's id
    لینک کوتاه : newspaper.hamshahrionline.ir/7L98A
    +  -                                      page furniture
    title                                     (printed twice)
    lead paragraph
    \u00a0label: text\u00a0                          key points, boxed in no-break spaces
    body paragraphs
    sub-heading                               a short line right before a quote
    name، role: what they said                a quote («role: text» when no name)
    این خبر را به اشتراک بگذارید               page furniture

Nothing here guesses silently: text that is not an article raises ParseError naming the file
and what is missing, and disagreeing dates are logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from bot.news.article import MAX_TITLE_CHARS, Article, KeyPoint, Quote, stable_id
from bot.news.pagemeta import Meta, compact_key, published, take_metadata
from bot.news.persian import normalize, search_key

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
    compact_key(line)
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
_PUNCTUATION_ONLY = re.compile(r"^[\W_]*$")

_LABEL_MAX_WORDS = 10
_LABEL_MAX_CHARS = 90
_HEADING_MAX_WORDS = 12
_HEADING_MAX_CHARS = 100
_TITLE_MAX_CHARS = 300
_SENTENCE_END = ".!؟?:؛…"
_SPEAKER_TEXT = re.compile(r"^(?P<who>[^:«»]+?)\s*:\s*(?P<text>\S.*)$")
_QUOTED_THEN_WHO = re.compile(r"^«(?P<text>[^»]+)»\s*[-–—،,]\s*(?P<who>[^«»:]+)$")
_PERSIAN_LETTER = re.compile("[\u0620-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc]")
_ANY_LETTER = re.compile(r"[^\W\d_]")
_MIN_PERSIAN_SHARE = 0.5
_SOURCES = {
    "hamshahrionline": "hamshahri",
    "hamshahri": "hamshahri",
    "irna": "irna",
    "khabaronline": "khabaronline",
}


@dataclass
class _Unit:
    """One line of article text, after the page furniture and the metadata are taken out."""

    text: str
    boxed: bool


def parse_text(text: str, *, name: str = "<text>", source: str | None = None) -> Article:
    """The Article in a raw page's text. Raises ParseError when it is not an article."""
    if "\x00" in text:
        raise ParseError(name, "binary data, not article text")
    meta = Meta()
    units: list[_Unit] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        boxed = raw.startswith("\u00a0") or raw.startswith(" \u00a0")
        line = normalize(raw)
        if not line or _is_furniture(line) or take_metadata(line, meta, name):
            continue
        units.append(_Unit(line, boxed))
    if not units:
        raise ParseError(name, "empty: no title and no text" if not text.strip() else "no title")
    return _build(units, meta, name=name, source=source)


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
    return len(line) <= _FURNITURE_MAX_CHARS and compact_key(line) in _FURNITURE


# ---------------------------------------------------------------------------------------------
# The article text: title, lead, key points, paragraphs, quotes.


def _build(units: list[_Unit], meta: Meta, *, name: str, source: str | None) -> Article:
    if not _mostly_persian(unit.text for unit in units):
        raise ParseError(name, "no Persian text: this is not a Persian news article")
    title = units[0].text
    if units[0].boxed or len(title) > _TITLE_MAX_CHARS or "\n" in title:
        raise ParseError(name, "no title: the first line of text is not a headline")
    rest = units[1:]
    while rest and _same_text(rest[0].text, title):
        rest = rest[1:]

    kinds: list[KeyPoint | Quote | str] = [
        _key_point(unit.text) if unit.boxed else _quote(unit.text) or unit.text for unit in rest
    ]
    lead: str | None = None
    key_points: list[KeyPoint] = []
    quotes: list[Quote] = []
    paragraphs: list[str] = []
    heading: str | None = None
    for index, kind in enumerate(kinds):
        following = kinds[index + 1] if index + 1 < len(kinds) else None
        if isinstance(kind, KeyPoint):
            key_points.append(kind)
        elif isinstance(kind, Quote):
            quotes.append(kind.model_copy(update={"heading": heading}) if heading else kind)
        elif isinstance(following, Quote) and _is_heading(kind):
            heading = kind
            continue
        elif lead is None:
            lead = kind
        else:
            paragraphs.append(kind)
        heading = None

    if lead is None and not (key_points or quotes or paragraphs):
        raise ParseError(name, "no article text after the title")
    source = source or source_of(meta.short_link or meta.url)
    code = meta.code if meta.code and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", meta.code) else None
    try:
        # Every piece is a normalized line or a stripped part of one: no need to normalize again.
        return Article.trusted(
            {
                "id": code or stable_id(source, title, lead),
                "source": source,
                "title": title,
                "lead": lead,
                "key_points": key_points,
                "quotes": quotes,
                "paragraphs": paragraphs,
                "published": published(meta, name),
                "hijri_date": meta.hijri,
                "short_link": meta.short_link,
                "url": meta.url,
            }
        )
    except ValidationError as error:
        raise ParseError(name, describe_validation_error(error)) from None


def _mostly_persian(texts: Iterable[str]) -> bool:
    text = "\n".join(texts)
    letters = len(_ANY_LETTER.findall(text))
    return len(_PERSIAN_LETTER.findall(text)) >= _MIN_PERSIAN_SHARE * letters


def _same_text(a: str, b: str) -> bool:
    return search_key(a) == search_key(b)


def _key_point(text: str) -> KeyPoint:
    label, sep, rest = text.partition(":")
    if sep and rest.strip() and _is_label(label):
        return KeyPoint.trusted({"label": label.strip(), "text": rest.strip()})
    return KeyPoint.trusted({"text": text})


def _is_label(text: str) -> bool:
    text = text.strip()
    return (
        0 < len(text) <= _LABEL_MAX_CHARS
        and len(text.split()) <= _LABEL_MAX_WORDS
        and not any(mark in text for mark in ".!؟?؛«»")
    )


def _quote(text: str) -> Quote | None:
    match = _QUOTED_THEN_WHO.match(text) or _SPEAKER_TEXT.match(text)
    if match is None or not _is_label(match["who"]):
        return None
    who, said = match["who"], match["text"]
    said = said.strip()
    if said.startswith("«") and said.endswith("»") and said.count("«") == 1:
        said = said[1:-1].strip()
    speaker, _, role = (part.strip() for part in who.partition("،"))
    if not speaker or len(said) < 2:
        return None
    return Quote.trusted({"speaker": speaker, "role": role or None, "text": said})


def _is_heading(text: str) -> bool:
    return (
        len(text) <= _HEADING_MAX_CHARS
        and len(text.split()) <= _HEADING_MAX_WORDS
        and text[-1] not in _SENTENCE_END
    )


def source_of(link: str | None) -> str | None:
    if not link:
        return None
    host = re.sub(r"^https?://", "", link).split("/")[0].lower()
    labels = [label for label in host.split(".") if label not in ("www", "newspaper", "ir", "com")]
    if not labels:
        return None
    return _SOURCES.get(labels[-1], labels[-1])
