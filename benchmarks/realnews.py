"""khabar on real news: the evaluation set of tests/fixtures/realnews/ (Hamshahri articles as
scraped pages, with what an editor expects of them; see benchmarks/realnews_build.py).

    .venv/bin/python benchmarks/realnews.py [--verbose] [--iterations N]

Prints, for the whole set and for its development and blind parts:

- half-space repair: precision and recall over the joints between two letters that the repair
  must change (a half-space lost in scraping, a suffix set apart by a space) or changed;
- quotes: precision (a quote whose speaker and text are the expected ones) and recall;
- bylines and leads found as expected; punctuation left glued;
- parse speed (articles/s) on these pages.

``--verbose`` lists every wrong or missed half-space, quote, lead and byline, for reading.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.news.article import Article  # noqa: E402
from bot.news.parse import parse_text  # noqa: E402
from bot.news.persian import search_key  # noqa: E402
from bot.news.script import LETTER_SET, ZWNJ  # noqa: E402

REALNEWS = ROOT / "tests" / "fixtures" / "realnews"
_FOLD = str.maketrans({"ي": "ی", "ك": "ک", "ى": "ی", "ة": "ه", "\u0640": None})
_NONE, _HALF, _APART = "n", "z", "s"
# Punctuation a Persian typesetter never leaves glued: a mark between two words, a
# parenthesis touching a word outside it, straight double quotes.
_GLUED = re.compile(
    # a full stop between two words of two letters or more (not «ه.ق», «بی.بی.سی»)
    r"(?<![\u0620-\u06ff.])[\u0620-\u06ff]{2,}\.[\u0620-\u06ff]{2,}(?![\u0620-\u06ff]*\.)"
    r"|[\u0620-\u06ff][،؛؟!][\u0620-\u06ff۰-۹]|[\u0620-\u06ff]\(|\)[\u0620-\u06ff]|\""
)


@dataclass
class Stream:
    """The letters of a text, and what stands before each one: nothing, a half-space, or
    something else (a space, punctuation, a digit)."""

    letters: str
    joints: list[str]

    @classmethod
    def of(cls, text: str) -> Stream:
        letters: list[str] = []
        joints: list[str] = []
        joint = _APART
        for char in text.translate(_FOLD):
            if char in LETTER_SET:
                letters.append(char)
                joints.append(joint)
                joint = _NONE
            elif char == ZWNJ:
                joint = _HALF if joint == _NONE else joint
            elif not ("\u064b" <= char <= "\u065f" or char == "\u0670"):
                joint = _APART
        return cls("".join(letters), joints)


@dataclass
class Counts:
    made: int = 0
    needed: int = 0
    correct: int = 0
    quotes: int = 0
    quotes_right: int = 0
    quotes_expected: int = 0
    quotes_found: int = 0
    leads_right: int = 0
    bylines_right: int = 0
    articles: int = 0
    glued: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        for name, value in vars(other).items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)
        self.notes.extend(other.notes)

    @property
    def precision(self) -> float:
        return self.correct / self.made if self.made else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.needed if self.needed else 1.0

    @property
    def quote_precision(self) -> float:
        return self.quotes_right / self.quotes if self.quotes else 1.0

    @property
    def quote_recall(self) -> float:
        return self.quotes_found / self.quotes_expected if self.quotes_expected else 1.0


def load() -> list[tuple[str, dict[str, Any]]]:
    """(page text, expectations) of every article of the set."""
    cases = []
    for path in sorted((REALNEWS / "expected").glob("*.json")):
        expected = json.loads(path.read_text(encoding="utf-8"))
        page = (REALNEWS / "pages" / f"{path.stem}.txt").read_text(encoding="utf-8")
        cases.append((page, expected))
    return cases


def pieces(article: Article) -> Iterator[str]:
    """Every piece of text of the article, in story order as far as it is known."""
    yield article.title
    if article.byline:
        yield article.byline
    if article.lead:
        yield article.lead
    for point in article.key_points:
        yield from (part for part in (point.label, point.text) if part)
    yield from article.paragraphs
    for quote in article.quotes:
        yield from (part for part in (quote.heading, quote.speaker, quote.role, quote.text) if part)


def _either_mask(gold: Stream, words: Iterable[str]) -> set[int]:
    """Joints inside words written either way (the notes' «either»): not counted."""
    masked: set[int] = set()
    for word in words:
        key = Stream.of(word).letters
        start = gold.letters.find(key)
        while key and start >= 0:
            masked.update(range(start + 1, start + len(key)))
            start = gold.letters.find(key, start + 1)
    return masked


def score_half_spaces(page: str, expected: dict[str, Any], article: Article) -> Counts:
    counts = Counts()
    gold_text = "\n".join([str(expected["title"]), *expected["text"]])
    gold = Stream.of(gold_text)
    # The page is the expected text with its half-spaces lost (or NBSP on some pages).
    lost = _APART if "\u00a0" in page else _NONE
    given = Stream(gold.letters, [lost if joint == _HALF else joint for joint in gold.joints])
    out: dict[int, str] = {}
    cursor = 0
    for piece in pieces(article):
        stream = Stream.of(piece)
        if len(stream.letters) < 4:
            continue
        start = gold.letters.find(stream.letters, cursor)
        if start < 0:
            start = gold.letters.find(stream.letters)
        if start < 0:
            counts.notes.append(f"{expected['id']}: text not found: {piece[:60]}")
            continue
        cursor = start + len(stream.letters)
        for offset in range(1, len(stream.letters)):
            out[start + offset] = stream.joints[offset]
    masked = _either_mask(gold, expected.get("either", []))
    for index, got in out.items():
        if index in masked:
            continue
        want, before = gold.joints[index], given.joints[index]
        made = got != before and got in (_NONE, _HALF)
        needed = want != before and want in (_NONE, _HALF)
        counts.made += made
        counts.needed += needed
        counts.correct += made and got == want
        if made != needed or (made and got != want):
            kind = "wrong" if made else "missed"
            counts.notes.append(f"{expected['id']}: {kind}: {_context(gold, index, got, want)}")
    return counts


def _context(gold: Stream, index: int, got: str, want: str) -> str:
    def word(joints: dict[int, str]) -> str:
        start = index
        while start > 0 and gold.joints[start] != _APART:
            start -= 1
        end = index + 1
        while end < len(gold.letters) and gold.joints[end] != _APART:
            end += 1
        text = ""
        for position in range(start, end):
            joint = joints.get(position, gold.joints[position])
            text += (ZWNJ if joint == _HALF else "") + gold.letters[position]
        return text

    return f"got «{word({index: got})}», want «{word({index: want})}»"


def _key(text: str | None) -> str:
    return search_key(text or "")


def _name_key(text: str) -> str:
    """A speaker's name however its parts are joined: «ملک زاده», «ملک‌زاده»."""
    return _key(text).replace(" ", "")


def score_structure(expected: dict[str, Any], article: Article) -> Counts:
    counts = Counts(articles=1)
    name = expected["id"]
    want_byline = expected.get("byline")
    if _key(article.byline) == _key(want_byline):
        counts.bylines_right = 1
    else:
        counts.notes.append(f"{name}: byline {article.byline!r}, want {want_byline!r}")
    lead = _key(article.lead)
    if article.lead and lead.startswith(_key(str(expected["lead"]))):
        counts.leads_right = 1
    else:
        counts.notes.append(
            f"{name}: lead {(article.lead or '')[:50]!r}, want {expected['lead']!r}"
        )
    wanted = expected.get("quotes", [])
    acceptable = [*wanted, *expected.get("maybe", [])]
    counts.quotes_expected = len(wanted)
    found = set()
    for quote in article.quotes:
        counts.quotes += 1
        speaker = _name_key(f"{quote.speaker} {quote.role or ''}")
        text = _key(quote.text)
        match = next(
            (
                i
                for i, item in enumerate(acceptable)
                if _name_key(item["speaker"]) == speaker and text.startswith(_key(item["starts"]))
            ),
            None,
        )
        if match is None:
            counts.notes.append(
                f"{name}: not a quote: 💬 {quote.speaker} | {quote.role} | {quote.text[:40]}"
            )
        else:
            counts.quotes_right += 1
            if match < len(wanted):
                found.add(match)
    counts.quotes_found = len(found)
    for i, item in enumerate(wanted):
        if i not in found:
            counts.notes.append(f"{name}: quote missed: {item['speaker']}: {item['starts']}")
    for text in pieces(article):
        glued = _GLUED.findall(text)
        counts.glued += len(glued)
        counts.notes.extend(f"{name}: glued punctuation {g!r} in {text[:40]!r}" for g in glued)
    return counts


def evaluate(cases: list[tuple[str, dict[str, Any]]]) -> dict[str, Counts]:
    """Counts for the whole set, its development part and its blind part."""
    parts = {"all": Counts(), "dev": Counts(), "blind": Counts()}
    for page, expected in cases:
        article = parse_text(page, name=f"{expected['id']}.txt")
        counts = score_half_spaces(page, expected, article)
        counts.add(score_structure(expected, article))
        parts["all"].add(counts)
        parts["blind" if expected.get("blind") else "dev"].add(counts)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--show", choices=("dev", "blind", "all"), default="dev", help="whose notes --verbose lists"
    )
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    cases = load()
    parts = evaluate(cases)
    for name, c in parts.items():
        print(
            f"{name:5} {c.articles:3} articles  half-spaces precision {c.precision:.3f} "
            f"recall {c.recall:.3f} ({c.correct}/{c.made} made, {c.needed} needed)  "
            f"quotes precision {c.quote_precision:.3f} recall {c.quote_recall:.3f} "
            f"({c.quotes_right}/{c.quotes} right, {c.quotes_found}/{c.quotes_expected} found)  "
            f"bylines {c.bylines_right}/{c.articles}  leads {c.leads_right}/{c.articles}  "
            f"glued punctuation {c.glued}"
        )
    start = time.process_time()
    for _ in range(args.iterations):
        for page, expected in cases:
            parse_text(page, name=str(expected["id"]))
    seconds = time.process_time() - start
    print(f"parse: {args.iterations * len(cases) / seconds:,.0f} articles/s (real pages)")
    if args.verbose:
        print("\n".join(parts[args.show].notes))


if __name__ == "__main__":
    main()
