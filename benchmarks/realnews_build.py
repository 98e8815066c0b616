"""Build khabar's real-news evaluation set from the Hamshahri corpus (evaluation data only).

    .venv/bin/python benchmarks/realnews_build.py [--corpus PATH]

(PATH: ../shared/eval/hamshahri/corpus.jsonl.gz by default.)

For every article named in tests/fixtures/realnews/notes.json (notes written by reading each
article), writes two files under tests/fixtures/realnews/:

- ``pages/<id>.txt``: the article as a scraped page (the seed's layout: date, code, the title
  twice, paragraphs, page furniture) with every half-space lost: the corpus marks half-spaces
  with NBSP, and the page glues the two sides (a few pages, ``"nbsp": true`` in the notes,
  keep the NBSP as many CMS exports do);
- ``expected/<id>.json``: what khabar should make of it: the text with its half-spaces as an
  editor writes them (the corpus's NBSP read as a half-space where it is one, a plain space
  where the notes or the rules say so, and the words the corpus glued or spaced that the notes
  list), the byline, how the lead starts, the quotes and their speakers.

Only the articles in the notes are read: the collection itself is never copied.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REALNEWS = ROOT / "tests" / "fixtures" / "realnews"
CORPUS = ROOT.parent / "shared" / "eval" / "hamshahri" / "corpus.jsonl.gz"
ZWNJ = "\u200c"
NBSP = "\u00a0"
_FOLD = str.maketrans({"ي": "ی", "ك": "ک", "ى": "ی"})
_LETTER = "\u0620-\u063f\u0641-\u065f\u066e-\u06d3\u06d5"
# An NBSP next to one of these words stands for a plain space (the corpus uses it for both).
_STANDALONE = frozenset(
    [
        "که",
        "و",
        "در",
        "از",
        "را",
        "به",
        "با",
        "است",
        "این",
        "آن",
        "برای",
        "تا",
        "یا",
        "هم",
        "نیز",
        "بر",
        "اما",
        "ولی",
        "هر",
        "چه",
        "شد",
        "شده",
        "بود",
        "باشد",
        "کرد",
    ]
)
_NON_JOINING = frozenset("اآأإدذرزژوؤءۀ")
_SUFFIXES = frozenset(
    [
        "ها",
        "های",
        "هایی",
        "ای",
        "اند",
        "ام",
        "ایم",
        "اید",
        "ات",
        "اش",
        "شان",
        "مان",
        "تان",
        "ترین",
        "تر",
        "هایش",
        "هایشان",
        "هاست",
    ]
)
# Written glued or with a half-space by careful editors alike: never counted either way.
EITHER = (
    "آنها",
    "اینها",
    "همجوار",
    "راهیابی",
    "بزرگسال",
    "ترقیخواه",
    "سکونتگاه",
    "پنجشنبه",
    "فیلمساز",
    "فیلمسازی",
    "فیلمسازان",
)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_FURNITURE = "این خبر را به اشتراک بگذارید"


def _nbsp(match: re.Match[str], spaces: set[str]) -> str:
    """An NBSP between two words: a half-space, or a plain space next to a word that stands
    alone or where the notes say so."""
    left, right = match.group(1), match.group(2)
    if f"{left} {right}" in spaces:
        return f"{left} "
    if left in ("می", "نمی") or right in _SUFFIXES:
        return left if left[-1] in _NON_JOINING else f"{left}{ZWNJ}"  # می‌شد، شده‌اند
    if left in _STANDALONE or right in _STANDALONE:
        return f"{left} "
    if left[-1] in _NON_JOINING:
        return left  # no half-space after a letter that never joins: یادآور، سینماگران
    return f"{left}{ZWNJ}"


_NBSP_PAIR = re.compile(f"([{_LETTER}]+){NBSP}+(?=([{_LETTER}]+))")


def gold_line(line: str, note: dict[str, Any]) -> str:
    """The line as an editor writes it: letters folded, half-spaces where they belong."""
    spaces = set(note.get("space", []))
    text = line.translate(_FOLD)
    text = _NBSP_PAIR.sub(lambda m: _nbsp(m, spaces), text)
    text = re.sub(" +", " ", text.replace(NBSP, " "))
    for word in note.get("join", []):
        # «سرمایه‌گذاری» or «کشور|ها» (joined without a half-space): the corpus wrote the
        # parts glued, half-spaced or set apart by a space.
        parts = [re.escape(part) for part in re.split(f"[{ZWNJ}|]", word)]
        pattern = f"(?<![{_LETTER}{ZWNJ}])" + f"[ {ZWNJ}]?".join(parts) + f"(?![{_LETTER}{ZWNJ}])"
        text = re.sub(pattern, word.replace("|", ""), text)
    return re.sub(" +", " ", text).strip()


def scraped_line(gold: str, keep_nbsp: bool) -> str:
    """What a scraper shows: every half-space lost (or, from some CMSs, an NBSP)."""
    return gold.replace(ZWNJ, NBSP if keep_nbsp else "")


def page(article: dict[str, Any], note: dict[str, Any], gold: list[str]) -> str:
    published = date.fromisoformat(str(article["published"])[:10])
    keep = bool(note.get("nbsp"))
    title, *paragraphs = (scraped_line(line, keep) for line in gold)
    lines = [
        f"• {published.year} {_MONTHS[published.month - 1]} {published.day:02d}",
        f"کد مطلب : {article['id']}",
        "+",
        "-",
        "",
        title,
        "",
        title,
        "",
    ]
    for paragraph in paragraphs:
        lines += [paragraph, ""]
    lines.append(_FURNITURE)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    notes: dict[str, dict[str, Any]] = json.loads(
        (REALNEWS / "notes.json").read_text(encoding="utf-8")
    )
    found = {}
    with gzip.open(args.corpus, "rt", encoding="utf-8") as corpus:
        for row in corpus:
            article = json.loads(row)
            if article["id"] in notes:
                found[article["id"]] = article
    missing = notes.keys() - found.keys()
    if missing:
        sys.exit(f"not in the corpus: {sorted(missing)}")
    (REALNEWS / "pages").mkdir(exist_ok=True)
    (REALNEWS / "expected").mkdir(exist_ok=True)
    for article_id, note in notes.items():
        article = found[article_id]
        lines = [str(article["title"]), *article["paragraphs"]]
        gold = [g for g in (gold_line(line, note) for line in lines) if g]
        (REALNEWS / "pages" / f"{article_id}.txt").write_text(
            page(article, note, gold), encoding="utf-8"
        )
        expected = {
            "id": article_id,
            "blind": bool(note.get("blind")),
            "title": gold[0],
            "byline": note.get("byline"),
            "lead": note.get("lead"),
            "quotes": note.get("quotes", []),
            "maybe": note.get("maybe", []),
            "either": [*EITHER, *note.get("either", [])],
            "text": gold[1:],
        }
        (REALNEWS / "expected" / f"{article_id}.json").write_text(
            json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    print(f"{len(notes)} articles written to {REALNEWS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
