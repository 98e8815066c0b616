"""`khabar sandbox`: the whole bot as `khabar run` runs it (bot/app/serve.py: the handlers,
the delivery workers, the channel poster, the HTTP server), pointed at the sandbox's own Bot
API instead of Telegram, with the web chat at /sandbox.

One server listens at KHABAR_HTTP_HOST:KHABAR_HTTP_PORT: the Bot API (/bot<token>/...,
/file/bot<token>/...), its control API (/control/...), the page (/sandbox...), and everything
else (short links, the API for a CMS, /healthz, /metrics) passed on to the bot's own HTTP
server, which listens on a free loopback port. Redis: KHABAR_REDIS_URL when it answers, else a
real one started for the sandbox (embedded_redis.py) with its data in `.khabar-sandbox/redis`
of the working directory. Either way the keys are under KHABAR_REDIS_PREFIX + "-sandbox", so a
sandbox beside a production bot on one Redis never touches its subscribers. The sample
articles (samples/) are ingested at start. SIGINT or SIGTERM stops the bot, the server and the
Redis it started, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import SecretStr

from bot.app.build import build, services_for
from bot.app.serve import serve
from bot.config import ConfigError, Settings
from bot.ingest import ingest
from bot.sandbox.chats import ADMIN, CHANNEL_USERNAME, SandboxTelegram
from bot.sandbox.embedded_redis import EmbeddedRedis, free_port
from bot.sandbox.web import PAGE_PATH, add_routes
from storage.redis import StorageUnavailable, connect

log = logging.getLogger("khabar.sandbox")

FOLDER = Path(".khabar-sandbox")
PREFIX_SUFFIX = "-sandbox"
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "host",
    }
)


def page_url(settings: Settings) -> str:
    host = settings.http_host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.http_port}{PAGE_PATH}"


async def run_sandbox(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    folder: Path = FOLDER,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """The sandbox until `stop` is set or a signal comes; `on_ready` gets the page's URL once
    the bot is about to take updates."""
    stop = stop or asyncio.Event()
    token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(24)}"
    telegram = SandboxTelegram(token)
    add_routes(telegram.app, telegram)
    inner_port = free_port()
    async with contextlib.AsyncExitStack() as cleanup:
        session = await cleanup.enter_async_context(aiohttp.ClientSession(auto_decompress=True))
        telegram.app.router.add_route("*", "/{tail:.*}", _proxy(session, inner_port))
        # Long polls (the page's, getUpdates) are cut at once when the sandbox stops.
        runner = web.AppRunner(telegram.app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        cleanup.push_async_callback(runner.cleanup)
        try:
            await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        except OSError as error:
            raise ConfigError(
                f"KHABAR_HTTP_PORT: cannot listen on {settings.http_host}:"
                f"{settings.http_port}: {error.strerror or error}"
            ) from None
        bound = runner.addresses[0][1] if runner.addresses else settings.http_port
        outer = settings.model_copy(update={"http_port": bound})
        redis_url = await _redis(settings.redis_url, folder, cleanup)
        public_url = settings.public_url
        if "public_url" not in settings.model_fields_set:
            public_url = page_url(outer).removesuffix(PAGE_PATH)
        bot_settings = settings.model_copy(
            update={
                "bot_token": SecretStr(token),
                "bot_api_url": f"http://127.0.0.1:{bound}/bot",
                "redis_url": redis_url,
                "redis_prefix": settings.redis_prefix + PREFIX_SUFFIX,
                "admin_ids": [*settings.admin_ids, ADMIN.id],
                "channel_ids": ["@" + CHANNEL_USERNAME],
                "http_host": "127.0.0.1",
                "http_port": inner_port,
                "public_url": public_url,
                "webhook_url": None,
                "webhook_secret": None,
            }
        )
        services = await services_for(bot_settings)
        cleanup.push_async_callback(services.redis.aclose)
        with resources.as_file(resources.files("bot.sandbox") / "samples") as samples:
            summary = await ingest(services.store, [samples], workers=1)
        log.info("sample articles: %d in the store", summary.articles)
        application = build(bot_settings, services)
        announce = asyncio.create_task(_when_up(session, inner_port, page_url(outer), on_ready))
        try:
            await serve(application, stop)
        finally:
            announce.cancel()


async def _when_up(
    session: aiohttp.ClientSession, port: int, url: str, on_ready: Callable[[str], None] | None
) -> None:
    """`on_ready(url)` once the bot's HTTP server answers: the bot is taking updates by then
    (serve() starts it after the application)."""
    while True:
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                await answer.read()
            break
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    log.info("the sandbox is ready at %s", url)
    if on_ready:
        on_ready(url)


async def _redis(url: str, folder: Path, cleanup: contextlib.AsyncExitStack) -> str:
    """The URL of a Redis that answers: `url`'s, or one started for the sandbox."""
    try:
        client = await connect(url)
    except StorageUnavailable as error:
        log.info("%s; starting one for the sandbox", error)
    else:
        await client.aclose()
        return url
    server = await EmbeddedRedis.start(folder / "redis")
    cleanup.push_async_callback(server.stop)
    return server.url


def _proxy(session: aiohttp.ClientSession, port: int) -> Handler:
    """Requests for the bot's own HTTP server, passed on as they came; its answers (redirects
    included) passed back."""

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            async with session.request(
                request.method,
                f"http://127.0.0.1:{port}{request.rel_url}",
                headers=headers,
                data=await request.read(),
                allow_redirects=False,
            ) as answer:
                body = await answer.read()
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
                return web.Response(status=answer.status, body=body, headers=kept)
        except aiohttp.ClientError as error:
            log.warning(
                "passing %s %s to the bot's HTTP server failed: %s",
                request.method,
                request.rel_url.path,
                error,
            )
            return web.json_response({"error": "the bot's HTTP server does not answer"}, status=502)

    return forward
