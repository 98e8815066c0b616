"""Parse and render throughput on the fixture articles, one core.

    .venv/bin/python benchmarks/render.py [--iterations N]

Prints articles/s for parsing raw pages, cards/s for rendering parsed articles (the readers'
card, and each channel/broadcast style: text, photo with a picture, rich), and µs per card,
in CPU time of this process (one core), so other work on the machine does not count.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.news.article import Image  # noqa: E402
from bot.news.card import render  # noqa: E402
from bot.news.parse import parse_text  # noqa: E402
from bot.news.styles import Style, payloads  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "articles"


def measure(iterations: int) -> dict[str, float]:
    pages = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(FIXTURES.glob("*.txt"))]
    articles = [parse_text(text, name=name) for name, text in pages]

    start = time.process_time()
    for _ in range(iterations):
        for name, text in pages:
            parse_text(text, name=name)
    parse_seconds = time.process_time() - start

    start = time.process_time()
    for _ in range(iterations):
        for article in articles:
            render(article)
    render_seconds = time.process_time() - start

    count = iterations * len(pages)
    result = {
        "articles": count,
        "parse_per_second": count / parse_seconds,
        "render_per_second": count / render_seconds,
        "us_per_card": render_seconds / count * 1e6,
        "us_per_parse": parse_seconds / count * 1e6,
    }
    picture = Image(url="https://images.example.ir/1.jpg", caption="عکس خبر", credit="ایرنا")
    pictured = [article.model_copy(update={"image": picture}) for article in articles]
    for style in Style:
        start = time.process_time()
        for _ in range(iterations):
            for article in pictured:
                payloads(article, style)
        seconds = time.process_time() - start
        result[f"{style.value}_per_second"] = count / seconds
        result[f"us_per_{style.value}"] = seconds / count * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    result = measure(args.iterations)
    print(f"articles:        {result['articles']:>10,.0f}")
    print(
        f"parse:           {result['parse_per_second']:>10,.0f} articles/s "
        f"({result['us_per_parse']:.0f} µs each)"
    )
    print(
        f"render:          {result['render_per_second']:>10,.0f} cards/s "
        f"({result['us_per_card']:.1f} µs per card)"
    )
    for style in Style:
        print(
            f"{style.value + ' style:':<17}{result[style.value + '_per_second']:>10,.0f} cards/s "
            f"({result['us_per_' + style.value]:.1f} µs per card)"
        )


if __name__ == "__main__":
    main()
