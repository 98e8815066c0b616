"""The Persian lexicon shipped with khabar (bot/news/data/): word frequencies, lemmas, verb stems.

- ``fa_lexicon.tsv.gz``: word, Zipf frequency from wordfreq 3.1.1 (CC BY-SA 4.0), and
  part-of-speech tags from hazm 0.10.0's lemma list (MIT); see bot/news/data/README.md.
- ``fa_verbs.tsv``: past and present stems of Persian verbs, from hazm (MIT).

Loaded once, on first use (about 45,000 words, a few tens of milliseconds).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

# Present stems ending in a vowel take «ی» before the ending: می‌آیند, می‌گویید.
PRESENT_ENDINGS = ("", "م", "ی", "یی", "د", "یم", "ید", "ند", "یند", "یید")
PAST_ENDINGS = ("", "م", "ی", "یم", "ید", "ند")


ZWNJ = "\u200c"


@dataclass(frozen=True)
class Lexicon:
    zipf: dict[str, float]
    tags: dict[str, frozenset[str]]
    verb_forms: frozenset[str]
    half_spaced: dict[str, tuple[str, ...]]
    """Glued spelling → the lexicon's spellings of it with half-spaces: میتوان → (می‌توان,)."""

    def frequency(self, word: str) -> float:
        """Zipf frequency (log10 per billion words); 0.0 for a word the corpus never showed."""
        return self.zipf.get(word, 0.0)

    def is_lemma(self, word: str) -> bool:
        """A word the curated lemma list has as a word in its own right."""
        return word in self.tags

    def has_tag(self, word: str, tag: str) -> bool:
        return tag in self.tags.get(word, ())

    def known(self, word: str) -> bool:
        return word in self.zipf or word in self.tags

    def spellings_with_half_spaces(self, glued: str) -> tuple[str, ...]:
        return self.half_spaced.get(glued, ())

    def is_verb_form(self, word: str) -> bool:
        """A conjugated verb without its prefix: «توان», «شوند», «خواهیم», «رسید»."""
        return word in self.verb_forms


def _verb_forms(text: str) -> frozenset[str]:
    forms: set[str] = set()
    for line in text.splitlines():
        past, _, present = line.partition("\t")
        if present:
            forms.update(present + ending for ending in PRESENT_ENDINGS)
        if len(past) >= 2:
            forms.update(past + ending for ending in PAST_ENDINGS)
    forms.discard("")
    return frozenset(forms)


@cache
def lexicon() -> Lexicon:
    zipf: dict[str, float] = {}
    tags: dict[str, frozenset[str]] = {}
    with gzip.open(DATA / "fa_lexicon.tsv.gz", "rt", encoding="utf-8") as rows:
        for row in rows:
            word, frequency, tag_list = row.rstrip("\n").split("\t")
            if frequency:
                zipf[word] = float(frequency)
            if tag_list:
                tags[word] = frozenset(tag_list.split(","))
    verbs = (DATA / "fa_verbs.tsv").read_text(encoding="utf-8")
    half_spaced: dict[str, tuple[str, ...]] = {}
    for word in dict.fromkeys([*zipf, *tags]):  # in the file's order, not a set's (hash seed)
        if ZWNJ in word:
            glued = word.replace(ZWNJ, "")
            half_spaced[glued] = (*half_spaced.get(glued, ()), word)
    return Lexicon(zipf, tags, _verb_forms(verbs), half_spaced)
