"""Short links: `GET /{code}` redirects to the article, or opens it in the bot; a Persian
404 page for a code that leads nowhere."""

from __future__ import annotations

import html
import logging
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot.news.article import Article
from bot.web.context import (
    CONTEXT,
    WebContext,
)

log = logging.getLogger("khabar.web")


async def open_short_link(request: web.Request) -> web.StreamResponse:
    """302 to the article of a khabar short code, or of the code of a source's short link
    (`/7L98A` for newspaper.hamshahrionline.ir/7L98A; khabar's own codes win); the click is
    counted under the article's own code (not for HEAD, which link checkers send)."""
    ctx = request.app[CONTEXT]
    store = ctx.services.store
    # Article ids and URLs are not short links here: only codes are.
    article_id = await store.links.resolve_code(request.match_info["code"])
    article = await store.get(article_id) if article_id else None
    code = await store.links.code(article.id) if article else None
    if article is None or code is None:
        return not_found_page(ctx)
    if request.method == "GET":
        await store.links.click(code)
    return web.Response(
        status=302,
        headers={
            "Location": redirect_target(article, code, ctx.bot_username),
            "Cache-Control": "no-store",  # every open reaches us, so every click is counted
            "Referrer-Policy": "no-referrer",
        },
    )


def redirect_target(article: Article, code: str, bot_username: str) -> str:
    """The article's stored URL when it is a plain http(s) URL, else the bot's deep link:
    never anything the request itself carries."""
    url = article.url
    if url:
        parts = urlsplit(url)
        if (
            parts.scheme in ("http", "https")
            and parts.hostname
            and not any(char.isspace() or ord(char) < 32 for char in url)
        ):
            return url
    return deep_link(bot_username, code)


def deep_link(bot_username: str, code: str | None = None) -> str:
    link = f"https://t.me/{quote(bot_username.lstrip('@'), safe='')}"
    return f"{link}?start={quote(code, safe='')}" if code else link


def not_found_page(ctx: WebContext) -> web.Response:
    """The small Persian page of a link that leads nowhere, status 404."""
    bot = html.escape(deep_link(ctx.bot_username), quote=True)
    title = html.escape(ctx.page.title)
    body = (
        '<!doctype html>\n<html lang="fa" dir="rtl">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{title}</title>\n"
        "<style>body{font-family:Vazirmatn,Tahoma,sans-serif;max-width:32rem;margin:4rem auto;"
        "padding:0 1rem;line-height:1.8;color:#222}a{color:#0a66c2}</style>\n"
        f"</head>\n<body>\n<h1>{title}</h1>\n<p>{html.escape(ctx.page.body)}</p>\n"
        f'<p><a href="{bot}">{html.escape(ctx.page.open_bot)}</a></p>\n</body>\n</html>\n'
    )
    return web.Response(
        status=404,
        text=body,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )
