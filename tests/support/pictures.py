"""A web server of news pictures for the tests: what Telegram (the fake Bot API) and khabar
fetch. `/ok.jpg` is a JPEG; `/picky.jpg` only for khabar's own User-Agent (Telegram cannot
get it, khabar can, so it is uploaded); `/page.jpg` an HTML page; `/feed.rss` a feed of three
items published now, pictured by /ok.jpg, /picky.jpg and /missing.jpg (their pages 404);
anything else 404. `hits` counts the requests per path."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)


FEED_ITEMS = {"ok": "پل طبیعت", "picky": "بوستان آب و آتش", "missing": "برج میلاد"}
"""The feed's items: picture name → title («… چراغانی شد»)."""


def _feed(base: str) -> str:
    now = format_datetime(datetime.now(UTC), usegmt=True)
    items = "".join(
        f"""<item><title>{title} چراغانی شد</title><link>{base}/news/{name}</link>
<description>&lt;p&gt;{title} امشب چراغانی شد.&lt;/p&gt;</description>
<media:content url="{base}/{name}.jpg" medium="image" type="image/jpeg"/>
<pubDate>{now}</pubDate><guid>pictured-{name}</guid></item>"""
        for name, title in FEED_ITEMS.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>خبر تصویری</title><link>{base}/</link>{items}</channel></rss>"
    )


@dataclass
class Pictures:
    url: str = ""
    hits: Counter[str] = field(default_factory=Counter)


@contextlib.asynccontextmanager
async def serving_pictures() -> AsyncIterator[Pictures]:
    pictures = Pictures()

    async def handle(request: web.Request) -> web.Response:
        pictures.hits[request.path] += 1
        if request.path == "/ok.jpg":
            return web.Response(body=JPEG, content_type="image/jpeg")
        if request.path == "/picky.jpg":
            if "khabar" not in request.headers.get("User-Agent", "").lower():
                return web.Response(status=403, text="forbidden")
            return web.Response(body=JPEG, content_type="image/jpeg")
        if request.path == "/page.jpg":
            return web.Response(text="<html></html>", content_type="text/html")
        if request.path == "/feed.rss":
            return web.Response(text=_feed(pictures.url), content_type="application/rss+xml")
        return web.Response(status=404, text="not found")

    app = web.Application()
    app.router.add_get("/{name:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    pictures.url = f"http://127.0.0.1:{port}"
    try:
        yield pictures
    finally:
        await runner.cleanup()
