"""Build bot/news/data/fa_lexicon.tsv.gz and fa_verbs.tsv from their published sources.

Not used at run time; kept so the shipped data can be rebuilt and checked. Sources:

- wordfreq 3.1.1 (Robyn Speer et al.), ``wordfreq/data/small_fa.msgpack.gz``: Persian word
  frequencies. Data under CC BY-SA 4.0; the derived lexicon is shared under the same license.
- hazm 0.10.0 (Roshan Research), ``hazm/data/words.dat`` and ``hazm/data/verbs.dat``: a
  curated Persian lemma list with part-of-speech tags, and verb stems. MIT license.

Usage (needs the msgpack package; the wheels come from PyPI)::

    pip download --no-deps wordfreq==3.1.1 hazm==0.10.0 -d /tmp/lex
    unzip -o /tmp/lex/wordfreq-3.1.1-py3-none-any.whl -d /tmp/lex/wf
    unzip -o /tmp/lex/hazm-0.10.0-py3-none-any.whl -d /tmp/lex/hazm
    python bot/news/data/build_lexicon.py /tmp/lex/wf/wordfreq/data/small_fa.msgpack.gz \\
        /tmp/lex/hazm/hazm/data

Output, one word per line: ``word<TAB>zipf<TAB>tags``, where zipf is wordfreq's Zipf frequency
(log10 of occurrences per billion words; empty when wordfreq does not list the word) and tags
are hazm's part-of-speech tags (empty when hazm does not list the word as a lemma it has seen).
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_LETTERS = "\u0621-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc"
PERSIAN_WORD = re.compile(f"[{_LETTERS}]+(?:\u200c[{_LETTERS}]+)*")


def main(wordfreq_path: str, hazm_dir: str) -> None:
    import msgpack  # type: ignore[import-not-found]  # only for rebuilding the data

    with gzip.open(wordfreq_path) as packed:
        buckets = msgpack.load(packed, raw=False)[1:]
    zipf: dict[str, float] = {}
    for centibels, words in enumerate(buckets):
        for word in words:
            zipf.setdefault(word, round(9 - centibels / 100, 2))
    tags: dict[str, str] = {}
    for line in (Path(hazm_dir) / "words.dat").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        # Entries with a zero count and no tag are unchecked forms, not lemmas.
        if len(parts) >= 3 and parts[1] != "0" and parts[2] != "0":
            tags[parts[0]] = parts[2]
    words = sorted(set(zipf) | set(tags))
    with gzip.open(HERE / "fa_lexicon.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        for word in words:
            if PERSIAN_WORD.fullmatch(word):
                frequency = f"{zipf[word]:.2f}" if word in zipf else ""
                out.write(f"{word}\t{frequency}\t{tags.get(word, '')}\n")
    stems = (Path(hazm_dir) / "verbs.dat").read_text(encoding="utf-8").split()
    (HERE / "fa_verbs.tsv").write_text(
        "".join(f"{past}\t{present}\n" for past, _, present in (s.partition("#") for s in stems)),
        encoding="utf-8",
    )
    print(f"{len(words)} words, {len(stems)} verbs")


if __name__ == "__main__":
    main(*sys.argv[1:3])
