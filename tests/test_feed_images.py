"""An article's picture from its feed (media:content, an image enclosure, media:thumbnail,
an <img> in the description) or its page (og:image, the Nastooh lead image)."""

from __future__ import annotations

from pathlib import Path

import feedparser

from bot.feeds.extract import item_article, page_article, read_page
from bot.feeds.fetch import Response
from bot.feeds.rss import feed_items

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def items(name: str) -> dict[str, str | None]:
    parsed = feedparser.parse((FEEDS / name).read_bytes())
    return {item.key: item.image for item in feed_items(parsed)}


def page(name: str, url: str, body: bytes | None = None) -> Response:
    return Response(200, url, body or (FEEDS / name).read_bytes(), "text/html", "utf-8", None, None)


def test_feed_items_take_their_picture_in_the_order_feeds_give_it() -> None:
    assert items("pictures.rss") == {
        "n1001": "https://img.example.ir/1001-large.jpg",  # media:content over the thumbnail
        "n1002": "https://img.example.ir/1002.png",  # an image enclosure
        "n1003": "https://img.example.ir/1003-thumb.jpg",  # a video's thumbnail
        "n1004": None,  # audio, and no http(s) picture
    }
    assert (
        items("hamshahri.rss")["hamshahri-948102"] == "http://images.hamshahrionline.ir/948102.jpg"
    )


def test_a_page_gives_its_og_image_else_the_nastooh_lead_image_absolute() -> None:
    url = "http://www.hamshahrionline.ir/news/948101/x"
    found = read_page(page("hamshahri-948101.html", url))
    assert found is not None and found.image == "http://www.hamshahrionline.ir/files/948101.jpg"
    og = (
        b'<html><head><meta property="og:image" content="/og/1.jpg"></head><body>'
        + ("<p>" + "متن خبر. " * 40 + "</p></body></html>").encode()
    )
    found = read_page(page("", "https://news.example.ir/news/5", og))
    assert found is not None and found.image == "https://news.example.ir/og/1.jpg"


def test_the_feed_picture_comes_first_then_the_page_and_articles_carry_it() -> None:
    parsed = feedparser.parse((FEEDS / "hamshahri.rss").read_bytes())
    by_key = {item.key: item for item in feed_items(parsed)}
    air = item_article(by_key["hamshahri-948102"], "hamshahri")
    assert air.image is not None and air.image.url == "http://images.hamshahrionline.ir/948102.jpg"
    metro_item = by_key["hamshahri-948101"]
    url = "http://www.hamshahrionline.ir/news/948101/x"
    metro_page = read_page(page("hamshahri-948101.html", url))
    assert metro_page is not None
    metro = page_article(metro_page, metro_item, "hamshahri")
    assert metro.image is not None
    assert metro.image.url == "http://www.hamshahrionline.ir/files/948101.jpg"
