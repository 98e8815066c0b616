"""Speed and quality of the Persian normalization (bot.news.persian.normalize).

    .venv/bin/python benchmarks/persian.py [--iterations N]

Prints words/s over the fixture articles, the time to normalize one 3,500-character article
(with the word cache cold, and warm as in a running bot), and the precision and recall of the
half-space repair over tests/fixtures/zwnj.tsv and zwnj-more.tsv. Times are the CPU time of
this process (one core), so other work on the machine does not count against them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.news.halfspace import clear_word_cache  # noqa: E402
from bot.news.lexicon import lexicon  # noqa: E402
from bot.news.persian import normalize  # noqa: E402
from tests.conftest import read_tsv  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
ARTICLE_CHARS = 3_500


def article_of(chars: int, texts: list[str]) -> str:
    joined = "\n\n".join(texts)
    while len(joined) < chars:
        joined += "\n\n" + joined
    return joined[:chars]


def timings(text: str, iterations: int) -> tuple[float, float]:
    """Microseconds per normalization: cold (word cache cleared each time) and warm (median)."""
    cold, warm = [], []
    for _ in range(iterations):
        clear_word_cache()
        start = time.process_time()
        normalize(text)
        cold.append(time.process_time() - start)
        start = time.process_time()
        normalize(text)
        warm.append(time.process_time() - start)
    return statistics.median(cold) * 1e6, statistics.median(warm) * 1e6


def quality(rows: list[tuple[str, str]]) -> dict[str, int]:
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for glued, want in rows:
        got = normalize(glued)
        if want == "=":
            counts["tn" if got == glued else "fp"] += 1
        elif got == want:
            counts["tp"] += 1
        elif got == glued:
            counts["fn"] += 1
        else:  # changed, but wrongly: a wrong edit and a missed one
            counts["fp"] += 1
            counts["fn"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()

    start = time.process_time()
    lexicon()
    print(f"lexicon load:        {(time.process_time() - start) * 1e3:8.1f} ms (once)")

    texts = [p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "articles").glob("*.txt"))]
    words = sum(len(t.split()) for t in texts)
    start = time.process_time()
    for _ in range(args.iterations):
        for text in texts:
            normalize(text)
    seconds = time.process_time() - start
    print(f"throughput:          {words * args.iterations / seconds:8,.0f} words/s (warm cache)")

    article = article_of(ARTICLE_CHARS, texts)
    cold, warm = timings(article, max(3, args.iterations // 10))
    print(f"{ARTICLE_CHARS:,}-char article:  {cold:8.0f} µs cold cache, {warm:.0f} µs warm")

    for name in ("zwnj.tsv", "zwnj-more.tsv"):
        counts = quality(read_tsv(FIXTURES / name))
        precision = counts["tp"] / max(1, counts["tp"] + counts["fp"])
        recall = counts["tp"] / max(1, counts["tp"] + counts["fn"])
        print(f"{name:20} precision {precision:.3f}  recall {recall:.3f}  {counts}")


if __name__ == "__main__":
    main()
