"""A web server of news pictures for the tests: what Telegram (the fake Bot API) and khabar
fetch. `/ok.jpg` is a JPEG; `/picky.jpg` only for khabar's own User-Agent (Telegram cannot
get it, khabar can, so it is uploaded); `/page.jpg` an HTML page; anything else 404.
`hits` counts the requests per path."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)


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
