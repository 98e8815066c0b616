"""The HTTP server of `khabar run` (aiohttp): short-link redirects, the ingest and breaking
API, health, metrics, and Telegram's webhook.

Routes:
- ``GET /{code}``: 302 to the article's own URL, else to the bot's deep link; a Persian
  404 page for an unknown code. Only stored http(s) URLs are redirected to.
- ``POST /api/articles``, ``POST /api/breaking``, ``GET /api/deliveries/{id}``: with
  ``Authorization: Bearer <KHABAR_INGEST_TOKEN>``; 404 when no token is configured.
- ``GET /healthz``, ``GET /metrics``.
- ``POST /telegram/webhook``, when the context has somewhere for updates to go.

Errors a client can cause are answered with ``{"error": "...", ...}`` in plain English for
operators; anything else is logged with the request it came from and answered 500. Tokens,
secrets and Authorization headers are never logged, and the access log leaves out query
strings; a request malformed at the HTTP level is logged as one INFO line (ClientFaults).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from redis.exceptions import RedisError

from bot.config import ConfigError
from bot.web.api import behind_token, get_delivery, get_top_alerts, post_articles, post_breaking
from bot.web.context import (
    CODE_ROUTE,
    CONTEXT,
    QUIET_PATHS,
    SHUTDOWN_TIMEOUT,
    ApiError,
    WebContext,
    json_answer,
)
from bot.web.links import not_found_page, open_short_link
from bot.web.ops import healthz, metrics_page
from bot.web.photos import PHOTO_ROUTE, serve_photo
from bot.web.webhook import telegram_webhook, webhook_paths

log = logging.getLogger("khabar.web")
access_log = logging.getLogger("khabar.web.access")
server_log = logging.getLogger("khabar.web.server")
"""aiohttp's own messages about connections and requests (instead of "aiohttp.server")."""


class ClientFaults(logging.Filter):
    """A request malformed at the HTTP level (a bad request line, an invalid header, TLS sent
    to the plain port) is the client's doing, answered 400 by aiohttp: one INFO line with the
    reason, not an ERROR with a traceback. Anything else passes as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        fault = record.exc_info[1] if record.exc_info else None
        if isinstance(fault, HttpProcessingError):
            reason = " ".join(str(fault.message or type(fault).__name__).split())
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg, record.args = "bad HTTP request from %s: %s", (peer, reason[:200])
            record.levelno = min(record.levelno, logging.INFO)  # aiohttp's DEBUG stays
            record.levelname = logging.getLevelName(record.levelno)
            record.exc_info = record.exc_text = None
        return True


server_log.addFilter(ClientFaults())


def web_app(ctx: WebContext) -> web.Application:
    """Every route, the body cap (settings.http_max_body) and the error answers."""
    app = web.Application(client_max_size=ctx.settings.http_max_body, middlewares=[_answers])
    app[CONTEXT] = ctx
    # Fixed paths first: "healthz" and "metrics" are 7 base62 characters, shaped like codes.
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_post("/api/articles", behind_token(post_articles))
    app.router.add_post("/api/breaking", behind_token(post_breaking))
    app.router.add_get("/api/deliveries/{id:[0-9]{1,18}}", behind_token(get_delivery))
    app.router.add_get("/api/alerts/top", behind_token(get_top_alerts))
    if ctx.updates is not None:
        for path in webhook_paths(ctx.settings):
            app.router.add_post(path, telegram_webhook)
    app.router.add_get(PHOTO_ROUTE, serve_photo)
    app.router.add_get(CODE_ROUTE, open_short_link)
    return app


async def start_web(ctx: WebContext) -> web.AppRunner:
    """The server listening on settings.http_host:http_port (port 0: any free port, see
    `runner.addresses`). Stop it with `await runner.cleanup()`. ConfigError (naming the
    variable) when the address cannot be bound."""
    settings = ctx.settings
    runner = web.AppRunner(
        web_app(ctx),
        access_log_class=AccessLogger,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        logger=server_log,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise ConfigError(
            f"KHABAR_HTTP_PORT: cannot listen on {settings.http_host}:"
            f"{settings.http_port}: {error.strerror or error}"
        ) from None
    log.info("HTTP server listening on %s", ", ".join(_address(a) for a in runner.addresses))
    return runner


def _address(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path (still percent-encoded, so a path cannot forge log
    lines) without its query string, status, time. No headers, so no tokens."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.rel_url.raw_path
        level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
        access_log.log(
            level, "%s %s %d %.1f ms", request.method, path, response.status, time * 1000
        )


@web.middleware
async def _answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What every failure is answered with (see the module's docstring)."""
    try:
        return await handler(request)
    except ApiError as error:
        return json_answer({"error": error.message, **error.extra}, error.status, error.headers)
    except web.HTTPException as error:  # aiohttp's own: no route, wrong method
        if error.status < 400:
            raise
        if error.status == 404 and _for_readers(request):
            return not_found_page(request.app[CONTEXT])
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else {}
        return json_answer({"error": error.reason.lower()}, error.status, headers)
    except RedisError as error:
        log.error(
            "Redis failed while answering %s %s: %s",
            request.method,
            request.rel_url.raw_path,
            error,
        )
        return json_answer({"error": "storage unavailable, try again later"}, 503)
    except Exception:
        log.exception("answering %s %s failed", request.method, request.rel_url.raw_path)
        return json_answer({"error": "internal error (logged)"}, 500)


def _for_readers(request: web.Request) -> bool:
    """Pages a browser opens (short links) get HTML; the API and Telegram get JSON."""
    return request.method in ("GET", "HEAD") and not request.path.startswith("/api/")
