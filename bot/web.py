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
strings.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import html
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from redis.exceptions import RedisError
from telegram import Bot, Update

from bot import metrics
from bot.config import ConfigError, Settings
from bot.delivery import CardMaker, start_breaking
from bot.news.article import TEHRAN, Article
from bot.news.parse import ParseError, parse_breaking, parse_bytes
from bot.services import Services
from storage.articles import Saved, published_timestamp
from storage.outbox import Delivery, Kind

log = logging.getLogger("khabar.web")
access_log = logging.getLogger("khabar.web.access")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CODE_ROUTE = "/{code:[0-9A-Za-z]{6,7}}"
"""khabar's own short codes (storage/shortlinks.py): 6 base62 characters, 7 after collisions."""
REDIS_TIMEOUT = 3.0
"""Seconds /healthz and /metrics wait for Redis before calling it down."""
SHUTDOWN_TIMEOUT = 3.0
"""Seconds requests in flight get when the server stops (SIGTERM allows 10 s in all)."""
MAX_ERRORS = 50
"""Validation errors listed in one answer; a batch of thousands of bad items stays small."""
QUIET_PATHS = frozenset({"/healthz", "/metrics"})
"""Polled every few seconds by monitoring: their access lines go to DEBUG."""


@dataclass(frozen=True)
class PageTexts:
    """The Persian words of the page a dead short link opens (from handlers/texts.py, given
    by the wiring: bot/ does not import handlers/)."""

    title: str
    body: str
    open_bot: str


@dataclass
class WebContext:
    """What the server works with; built by the application wiring (bot/app.py)."""

    settings: Settings
    services: Services
    card: CardMaker
    """An article → its card payloads with buttons (handlers.reader.card_with_buttons)."""
    bot_username: str
    """Without the @: deep links are https://t.me/<bot_username>?start=<code>."""
    updates: Callable[[dict[str, Any]], Awaitable[None]] | None
    """Where webhook updates (the JSON Telegram posts) go; None: webhook off, no route. It is
    awaited before Telegram gets its 200, so it should only hand the update on (e.g. put it
    on the Application's update_queue); when it raises, Telegram gets a 500 and retries."""
    workers_alive: Callable[[], bool]
    """Whether this process's delivery workers are running (for /healthz)."""
    page: PageTexts


CONTEXT = web.AppKey("khabar", WebContext)


class ApiError(Exception):
    """A request the client got wrong: answered `status` with `{"error": message, ...}`."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra


# The application ------------------------------------------------------------------------------
def web_app(ctx: WebContext) -> web.Application:
    """Every route, the body cap (settings.http_max_body) and the error answers."""
    app = web.Application(client_max_size=ctx.settings.http_max_body, middlewares=[_answers])
    app[CONTEXT] = ctx
    # Fixed paths first: "healthz" and "metrics" are 7 base62 characters, shaped like codes.
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_post("/api/articles", _api(post_articles))
    app.router.add_post("/api/breaking", _api(post_breaking))
    app.router.add_get("/api/deliveries/{id:[0-9]{1,18}}", _api(get_delivery))
    if ctx.updates is not None:
        for path in webhook_paths(ctx.settings):
            app.router.add_post(path, telegram_webhook)
    app.router.add_get(CODE_ROUTE, open_short_link)
    return app


async def start_web(ctx: WebContext) -> web.AppRunner:
    """The server listening on settings.http_host:http_port (port 0: any free port, see
    `runner.addresses`). Stop it with `await runner.cleanup()`. ConfigError (naming the
    variable) when the address cannot be bound."""
    settings = ctx.settings
    runner = web.AppRunner(web_app(ctx), access_log_class=AccessLogger,
                           shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise ConfigError(f"KHABAR_HTTP_PORT: cannot listen on {settings.http_host}:"
                          f"{settings.http_port}: {error.strerror or error}") from None
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
        access_log.log(level, "%s %s %d %.1f ms", request.method, path, response.status,
                       time * 1000)


@web.middleware
async def _answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What every failure is answered with (see the module's docstring)."""
    try:
        return await handler(request)
    except ApiError as error:
        return _json({"error": error.message, **error.extra}, error.status, error.headers)
    except web.HTTPException as error:  # aiohttp's own: no route, wrong method
        if error.status < 400:
            raise
        if error.status == 404 and _for_readers(request):
            return not_found_page(request.app[CONTEXT])
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else {}
        return _json({"error": error.reason.lower()}, error.status, headers)
    except RedisError as error:
        log.error("Redis failed while answering %s %s: %s", request.method,
                  request.rel_url.raw_path, error)
        return _json({"error": "storage unavailable, try again later"}, 503)
    except Exception:
        log.exception("answering %s %s failed", request.method, request.rel_url.raw_path)
        return _json({"error": "internal error (logged)"}, 500)


def _for_readers(request: web.Request) -> bool:
    """Pages a browser opens (short links) get HTML; the API and Telegram get JSON."""
    return request.method in ("GET", "HEAD") and not request.path.startswith("/api/")


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None
          ) -> web.Response:
    return web.json_response(data, status=status, headers=headers,
                             dumps=functools.partial(json.dumps, ensure_ascii=False))


# Short links ----------------------------------------------------------------------------------
async def open_short_link(request: web.Request) -> web.StreamResponse:
    """302 to the article of a khabar short code; the click is counted (not for HEAD, which
    link checkers send)."""
    ctx = request.app[CONTEXT]
    code = request.match_info["code"]
    store = ctx.services.store
    # resolve() also takes article ids; only the article's own code is a short link here.
    article_id = await store.links.resolve(code)
    article = await store.get(article_id) if article_id else None
    if article is None or await store.links.code(article.id) != code:
        return not_found_page(ctx)
    if request.method == "GET":
        await store.links.click(code)
    return web.Response(status=302, headers={
        "Location": redirect_target(article, code, ctx.bot_username),
        "Cache-Control": "no-store",  # every open reaches us, so every click is counted
        "Referrer-Policy": "no-referrer",
    })


def redirect_target(article: Article, code: str, bot_username: str) -> str:
    """The article's stored URL when it is a plain http(s) URL, else the bot's deep link:
    never anything the request itself carries."""
    url = article.url
    if url:
        parts = urlsplit(url)
        if (parts.scheme in ("http", "https") and parts.hostname
                and not any(char.isspace() or ord(char) < 32 for char in url)):
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
    return web.Response(status=404, text=body, content_type="text/html", charset="utf-8",
                        headers={"Content-Security-Policy": "default-src 'none'; "
                                 "style-src 'unsafe-inline'",
                                 "X-Content-Type-Options": "nosniff"})


# The API: authorization and bodies -------------------------------------------------------------
def _api(handler: Handler) -> Handler:
    """The handler behind the ingest token (see `authorize`)."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        authorize(request)
        return await handler(request)

    return guarded


def authorize(request: web.Request) -> None:
    """ApiError unless the request carries `Authorization: Bearer <KHABAR_INGEST_TOKEN>`:
    404 when no token is configured (the API is off), 401 when it is missing or wrong."""
    token = request.app[CONTEXT].settings.ingest_token
    if token is None:
        raise ApiError(404, "not found: the HTTP API is off (KHABAR_INGEST_TOKEN is not set)")
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        log.info("refused %s %s: no bearer token", request.method, request.path)
        raise ApiError(401, "authorization required: send Authorization: Bearer <token>",
                       headers={"WWW-Authenticate": 'Bearer realm="khabar"'})
    # Compared as bytes: compare_digest refuses non-ASCII str, and the time it takes must not
    # depend on how much of the token was right.
    # A header with bytes that are not UTF-8 arrives with surrogates: still just a wrong token.
    if not hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"),
                               token.get_secret_value().encode()):
        log.info("refused %s %s: wrong bearer token", request.method, request.path)
        raise ApiError(401, "wrong token", headers={
            "WWW-Authenticate": 'Bearer realm="khabar", error="invalid_token"'})


BodyKind = Literal["json", "text"]


def body_kind(request: web.Request) -> BodyKind:
    """JSON or plain text, from Content-Type; ApiError 415 for anything else."""
    kind = request.content_type
    if kind == "application/json" or kind.endswith("+json"):
        return "json"
    if kind == "text/plain":
        return "text"
    raise ApiError(415, f"unsupported content type {kind[:100]!r}: send application/json "
                        "or text/plain (a raw article page)")


async def read_body(request: web.Request) -> bytes:
    """The body, within settings.http_max_body; ApiError 413 beyond it. A declared length
    is refused before reading; a chunked body is cut off by aiohttp's client_max_size."""
    cap = request.app[CONTEXT].settings.http_max_body
    too_large = ApiError(413, f"the body is over the limit of {cap} bytes "
                              "(KHABAR_HTTP_MAX_BODY)", limit=cap)
    if request.content_length is not None and request.content_length > cap:
        raise too_large
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise ApiError(400, f"invalid JSON: {error.msg} at line {error.lineno} column "
                            f"{error.colno}") from None
    except UnicodeDecodeError:
        raise ApiError(400, "invalid JSON: not UTF-8") from None
    except RecursionError:
        raise ApiError(400, "invalid JSON: nested too deeply") from None


def validation_errors(index: int, error: ValidationError) -> list[dict[str, Any]]:
    """Each problem of one item: its place in the body, the field (dotted path), what is
    wrong. The input is not echoed back."""
    return [
        {"index": index, "field": ".".join(str(part) for part in item["loc"]) or None,
         "message": item["msg"].removeprefix("Value error, ")}
        for item in error.errors(include_url=False, include_input=False)
    ]


def invalid(message: str, errors: list[dict[str, Any]]) -> ApiError:
    error = ApiError(422, message, errors=errors[:MAX_ERRORS])
    if len(errors) > MAX_ERRORS:
        error.extra["more_errors"] = len(errors) - MAX_ERRORS
    return error


def articles_in(kind: BodyKind, body: bytes) -> list[Article]:
    """The body's articles: a JSON Article, a JSON list of them, or a raw page. ApiError 422
    (every problem, per item) when any of them is not a valid article."""
    if kind == "text":
        try:
            return [parse_bytes(body, name="body")]
        except ParseError as error:
            raise invalid(f"not an article: {error.problem}",
                          [{"index": 0, "field": None, "message": error.problem}]) from None
    data = decode_json(body)
    records = data if isinstance(data, list) else [data]
    if not isinstance(data, list | dict):
        raise invalid("expected an Article (a JSON object) or a list of them",
                      [{"index": 0, "field": None, "message": "not a JSON object"}])
    if not records:
        raise invalid("an empty list: no articles to store", [])
    articles: list[Article] = []
    errors: list[dict[str, Any]] = []
    bad = 0
    for index, record in enumerate(records):
        try:
            articles.append(Article.model_validate(record))
        except ValidationError as error:
            bad += 1
            errors += validation_errors(index, error)
    if errors:
        raise invalid(f"nothing was stored: {bad} of {len(records)} "
                      f"article{'s' if len(records) > 1 else ''} not valid", errors)
    return articles


# The API: routes ------------------------------------------------------------------------------
async def post_articles(request: web.Request) -> web.StreamResponse:
    """Store articles (announced, so the channels get the new ones); 201 with each one's
    short URL and what saving it did. Articles older than the retention window are not
    stored (as with `khabar ingest`): "expired"."""
    ctx = request.app[CONTEXT]
    kind = body_kind(request)
    articles = articles_in(kind, await read_body(request))
    store = ctx.services.store
    now = datetime.now(UTC)
    cutoff = (store.clock() - store.retention).timestamp()
    expired = [published_timestamp(article, now) < cutoff for article in articles]
    fresh = [article for article, old in zip(articles, expired, strict=True) if not old]
    outcomes = iter(await store.save_many(fresh, announce=True))
    ids = list(dict.fromkeys(article.id for article in fresh))
    codes = dict(zip(ids, await store.links.codes(ids), strict=True))
    answer = [
        {"id": article.id, "code": None, "short_url": None, "status": "expired"} if old
        else _stored(store.links.url, article.id, codes.get(article.id), next(outcomes))
        for article, old in zip(articles, expired, strict=True)
    ]
    statuses = [item["status"] for item in answer]
    log.info("HTTP API: %d article(s): %s", len(answer),
             ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses)))
    return _json({"articles": answer}, 201)


def _stored(url: Callable[[str], str], article_id: str, code: str | None, saved: Saved
            ) -> dict[str, Any]:
    return {"id": article_id, "code": code, "short_url": url(code) if code else None,
            "status": saved.value}


async def post_breaking(request: web.Request) -> web.StreamResponse:
    """A breaking item to every subscriber and channel: 202 with the delivery to follow at
    /api/deliveries/<id>; 200 with "delivery": null when there is nobody to send it to."""
    ctx = request.app[CONTEXT]
    kind = body_kind(request)
    article = breaking_in(kind, await read_body(request))
    store = ctx.services.store
    saved = await store.save(article, announce=False)
    code = await store.links.code(article.id)
    stored = _stored(store.links.url, article.id, code, saved)
    if saved is Saved.UNCHANGED and (
        sent := await ctx.services.outbox.recent_for(article.id, Kind.BREAKING)
    ):
        # The same item again (a client retrying after a timeout, most often): sending it
        # twice to every subscriber is worse than asking the sender to change it. An item
        # stored by a request that failed before its delivery was made is sent now.
        raise ApiError(409, f"this breaking item was sent already (delivery {sent}); "
                            "nothing was sent again: change it to send it anew",
                       article=stored, delivery=sent)
    delivery = await start_breaking(ctx.services.outbox, ctx.settings, article,
                                    await ctx.card(article), None)
    if delivery is None:
        return _json({"delivery": None, "total": 0, "article": stored,
                      "message": "stored, but nobody is subscribed and every channel has it: "
                                 "nothing to send"})
    log.info("HTTP API: breaking %s to %d chats (delivery %s)", article.id, delivery.total,
             delivery.id)
    progress = f"/api/deliveries/{delivery.id}"
    return _json({"delivery": delivery.id, "total": delivery.total, "progress": progress,
                  "article": stored}, 202, {"Location": progress})


def breaking_in(kind: BodyKind, body: bytes) -> Article:
    """`{"text": "..."}` or plain text as an editor types it (bot.news.parse.parse_breaking), or
    a JSON Article; marked breaking, published now unless it says when."""
    # To the minute: the same text posted twice within a minute is the same item (same id
    # and content), which is how a retried request is told from a new one.
    now = datetime.now(TEHRAN).replace(second=0, microsecond=0)
    if kind == "text":
        return _parse_breaking(body, now)
    data = decode_json(body)
    if isinstance(data, dict) and set(data) == {"text"}:
        if not isinstance(data["text"], str):
            raise invalid("not a breaking item", [
                {"index": 0, "field": "text", "message": "Input should be a valid string"}])
        return _parse_breaking(data["text"], now)
    if not isinstance(data, dict):
        raise invalid('expected {"text": "..."} or an Article (a JSON object)',
                      [{"index": 0, "field": None, "message": "not a JSON object"}])
    try:
        article = Article.model_validate(data)
    except ValidationError as error:
        raise invalid("not a valid article: nothing was stored or sent",
                      validation_errors(0, error)) from None
    return article.model_copy(update={"breaking": True, "published": article.published or now})


def _parse_breaking(text: str | bytes, now: datetime) -> Article:
    try:
        return parse_breaking(text, now, name="body")
    except ParseError as error:
        raise invalid(f"not a breaking item: {error.problem}",
                      [{"index": 0, "field": "text", "message": error.problem}]) from None


async def get_delivery(request: web.Request) -> web.StreamResponse:
    """A delivery's progress: status, total, counts, when it was created and finished."""
    outbox = request.app[CONTEXT].services.outbox
    delivery_id = request.match_info["id"]
    delivery = await outbox.get(delivery_id)
    if delivery is None:
        raise ApiError(404, f"no delivery {delivery_id}")
    return _json(delivery_json(delivery, await outbox.errors(delivery_id)))


def delivery_json(delivery: Delivery, failures: Sequence[tuple[str, str]] = ()
                  ) -> dict[str, Any]:
    return {
        "id": delivery.id, "kind": delivery.kind.value, "status": delivery.status.value,
        "title": delivery.title, "article": delivery.article_id, "total": delivery.total,
        "enqueued": delivery.enqueued, "processed": delivery.processed,
        "counts": delivery.counts, "created": _iso(delivery.created),
        "finished": _iso(delivery.finished),
        "failures": [{"chat": chat, "reason": reason} for chat, reason in failures],
    }


def _iso(stamp: float | None) -> str | None:
    if not stamp:
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


# Operations -----------------------------------------------------------------------------------
async def healthz(request: web.Request) -> web.StreamResponse:
    """200 when Redis answers PING and the delivery workers run; 503 naming what is wrong."""
    ctx = request.app[CONTEXT]
    health = {"redis": "ok", "workers": "ok"}
    try:
        await asyncio.wait_for(ctx.services.redis.ping(), REDIS_TIMEOUT)
    except (RedisError, OSError, TimeoutError) as error:
        # The reason stays in the log: this page is unauthenticated.
        log.warning("health check: Redis does not answer: %s", error or type(error).__name__)
        health["redis"] = "unreachable"
    if not ctx.workers_alive():
        health["workers"] = "not running"
    healthy = all(value == "ok" for value in health.values())
    return _json(health, 200 if healthy else 503, {"Cache-Control": "no-store"})


async def metrics_page(request: web.Request) -> web.StreamResponse:
    """bot.metrics.REGISTRY in Prometheus text format; the outbox depth read now."""
    outbox = request.app[CONTEXT].services.outbox
    try:
        metrics.OUTBOX_DEPTH.set(await asyncio.wait_for(outbox.depth(), REDIS_TIMEOUT))
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("metrics: cannot read the outbox depth: %s", error or type(error).__name__)
        metrics.OUTBOX_DEPTH.set(float("nan"))  # unknown, rather than a stale figure
    return web.Response(body=generate_latest(metrics.REGISTRY),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


# Telegram's webhook ---------------------------------------------------------------------------
def webhook_endpoint(settings: Settings) -> str:
    """The URL Telegram posts updates to: KHABAR_WEBHOOK_URL, ending in /telegram/webhook."""
    if settings.webhook_url is None:
        raise ConfigError("KHABAR_WEBHOOK_URL: not set (webhook mode is off)")
    url = settings.webhook_url.rstrip("/")
    return url if url.endswith(WEBHOOK_PATH) else url + WEBHOOK_PATH


def webhook_paths(settings: Settings) -> list[str]:
    """/telegram/webhook, and the endpoint's own path when KHABAR_WEBHOOK_URL has a prefix
    (https://example.ir/khabar): served either way, whether or not a proxy strips it."""
    paths = [WEBHOOK_PATH]
    if settings.webhook_url is not None:
        path = urlsplit(webhook_endpoint(settings)).path
        if path not in paths:
            paths.append(path)
    return paths


async def telegram_webhook(request: web.Request) -> web.StreamResponse:
    """An update from Telegram, checked against KHABAR_WEBHOOK_SECRET (when one is set),
    handed to ctx.updates; 200 at once."""
    ctx = request.app[CONTEXT]
    assert ctx.updates is not None  # the route exists only then
    secret = ctx.settings.webhook_secret
    if secret is not None:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                   secret.get_secret_value().encode()):
            log.warning("refused a webhook request: %s secret token",
                        "wrong" if given else "no")
            raise ApiError(403, "forbidden: wrong or missing secret token")
    update = decode_json(await read_body(request))
    if not isinstance(update, dict):
        raise ApiError(400, "an update is a JSON object")
    await ctx.updates(update)
    return web.Response(status=200)


async def set_webhook(bot: Bot, settings: Settings) -> None:
    """Tell Telegram to post updates to this server (webhook_endpoint), with the secret
    token it is to send back; pending updates are kept."""
    url = webhook_endpoint(settings)
    secret = settings.webhook_secret
    await bot.set_webhook(
        url=url, secret_token=secret.get_secret_value() if secret is not None else None,
        allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
    )
    log.info("Telegram posts updates to %s", url)
