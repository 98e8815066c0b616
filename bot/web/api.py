"""The HTTP API behind the ingest token: `POST /api/articles`, `POST /api/breaking`,
`GET /api/deliveries/{id}`."""

from __future__ import annotations

import functools
import hmac
import logging
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError

from bot.delivery.start import start_breaking
from bot.ingest import oversize
from bot.news.article import TEHRAN, Article
from bot.news.parse import ParseError, parse_breaking, parse_bytes
from bot.web.context import (
    CONTEXT,
    MAX_ERRORS,
    ApiError,
    decode_json,
    json_answer,
    read_body,
)
from storage.alerts import AlertStore
from storage.articles import Saved, published_timestamp
from storage.deliveries import Delivery, Kind

log = logging.getLogger("khabar.web")


def behind_token(handler: Handler) -> Handler:
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
        raise ApiError(
            401,
            "authorization required: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="khabar"'},
        )
    # Compared as bytes: compare_digest refuses non-ASCII str, and the time it takes must not
    # depend on how much of the token was right.
    # A header with bytes that are not UTF-8 arrives with surrogates: still just a wrong token.
    if not hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.get_secret_value().encode()
    ):
        log.info("refused %s %s: wrong bearer token", request.method, request.path)
        raise ApiError(
            401,
            "wrong token",
            headers={"WWW-Authenticate": 'Bearer realm="khabar", error="invalid_token"'},
        )


BodyKind = Literal["json", "text"]


def body_kind(request: web.Request) -> BodyKind:
    """JSON or plain text, from Content-Type; ApiError 415 for anything else."""
    kind = request.content_type
    if kind == "application/json" or kind.endswith("+json"):
        return "json"
    if kind == "text/plain":
        return "text"
    raise ApiError(
        415,
        f"unsupported content type {kind[:100]!r}: send application/json "
        "or text/plain (a raw article page)",
    )


def validation_errors(index: int, error: ValidationError) -> list[dict[str, Any]]:
    """Each problem of one item: its place in the body, the field (dotted path), what is
    wrong. The input is not echoed back."""
    return [
        {
            "index": index,
            "field": ".".join(str(part) for part in item["loc"]) or None,
            "message": item["msg"].removeprefix("Value error, "),
        }
        for item in error.errors(include_url=False, include_input=False)
    ]


def too_large(index: int, article: Article) -> list[dict[str, Any]]:
    """The size caps (bot.ingest.oversize) the article is over, as validation errors."""
    return [
        {"index": index, "field": found.field, "message": found.message}
        for found in oversize(article)
    ]


# C0 and C1 controls but tab, line feed and carriage return: invisible, or worse (a terminal's
# escape sequences), in text shown to readers.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# The same as bytes, only those that are one byte in every encoding a page may come in (UTF-8,
# Windows-1256): NUL stays, so that binary data is still told from text.
_CONTROL_BYTES = bytes([*range(1, 9), 11, 12, *range(14, 32), 127])


def without_controls(body: bytes) -> bytes:
    return body.translate(None, _CONTROL_BYTES)


def cleaned(data: Any) -> Any:
    """Decoded JSON with every string (keys too) stripped of control characters; ApiError 400
    for a lone surrogate ("\\ud800"), which is no character: it could be neither stored nor
    sent. Walked without recursion, however deep the JSON nests."""
    pending: list[Any] = []
    data = _cleaned_value(data, pending)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            pairs = list(node.items())
            node.clear()
            for key, value in pairs:
                node[_clean_text(key)] = _cleaned_value(value, pending)
        else:
            for place, value in enumerate(node):
                node[place] = _cleaned_value(value, pending)
    return data


def _cleaned_value(value: Any, pending: list[Any]) -> Any:
    """A string cleaned; a list or object put aside, to be walked."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, list | dict):
        pending.append(value)
    return value


def _clean_text(text: str) -> str:
    if lone := _SURROGATE.search(text):
        raise ApiError(
            400,
            f"invalid JSON: \\u{ord(lone.group()):04x} is a lone surrogate, not a character "
            "(a character beyond U+FFFF is written as a pair, e.g. \\ud83d\\ude00)",
        )
    return _CONTROLS.sub("", text)


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
            page = parse_bytes(without_controls(body), name="body")
        except ParseError as error:
            raise invalid(
                f"not an article: {error.problem}",
                [{"index": 0, "field": None, "message": error.problem}],
            ) from None
        if over := too_large(0, page):
            raise invalid("not stored: the article is over a size cap", over)
        return [page]
    data = cleaned(decode_json(body))
    records = data if isinstance(data, list) else [data]
    if not isinstance(data, list | dict):
        raise invalid(
            "expected an Article (a JSON object) or a list of them",
            [{"index": 0, "field": None, "message": "not a JSON object"}],
        )
    if not records:
        raise invalid("an empty list: no articles to store", [])
    articles: list[Article] = []
    errors: list[dict[str, Any]] = []
    bad = 0
    for index, record in enumerate(records):
        try:
            item = Article.model_validate(record)
        except ValidationError as error:
            bad += 1
            errors += validation_errors(index, error)
            continue
        if over := too_large(index, item):
            bad += 1
            errors += over
        articles.append(item)
    if errors:
        raise invalid(
            f"nothing was stored: {bad} of {len(records)} "
            f"article{'s' if len(records) > 1 else ''} not valid",
            errors,
        )
    return articles


# The API: routes ------------------------------------------------------------------------------
async def post_articles(request: web.Request) -> web.StreamResponse:
    """Store articles (announced, so the channels get the new ones); 201 with each one's
    short URL and what saving it did. Articles older than the retention window (when
    KHABAR_RETENTION_DAYS sets one) are not stored, as with `khabar ingest`: "expired"."""
    ctx = request.app[CONTEXT]
    kind = body_kind(request)
    articles = articles_in(kind, await read_body(request))
    store = ctx.services.store
    now = datetime.now(UTC)
    cutoff = (store.clock() - store.retention).timestamp() if store.retention else -math.inf
    expired = [published_timestamp(article, now) < cutoff for article in articles]
    fresh = [article for article, old in zip(articles, expired, strict=True) if not old]
    outcomes = iter(await store.save_many(fresh, announce=True))
    ids = list(dict.fromkeys(article.id for article in fresh))
    codes = dict(zip(ids, await store.links.codes(ids), strict=True))
    answer = [
        {"id": article.id, "code": None, "short_url": None, "status": "expired"}
        if old
        else _stored(store.links.url, article.id, codes.get(article.id), next(outcomes))
        for article, old in zip(articles, expired, strict=True)
    ]
    statuses = [item["status"] for item in answer]
    log.info(
        "HTTP API: %d article(s): %s",
        len(answer),
        ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses)),
    )
    return json_answer({"articles": answer}, 201)


def _stored(
    url: Callable[[str], str], article_id: str, code: str | None, saved: Saved
) -> dict[str, Any]:
    return {
        "id": article_id,
        "code": code,
        "short_url": url(code) if code else None,
        "status": saved.value,
    }


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
        raise ApiError(
            409,
            f"this breaking item was sent already (delivery {sent}); "
            "nothing was sent again: change it to send it anew",
            article=stored,
            delivery=sent,
        )
    delivery = await start_breaking(
        ctx.services.outbox,
        ctx.settings,
        article,
        await ctx.card(article, ctx.settings.broadcast_card),
        None,
    )
    if delivery is None:
        return json_answer(
            {
                "delivery": None,
                "total": 0,
                "article": stored,
                "message": "stored, but nobody is subscribed and every channel has it: "
                "nothing to send",
            }
        )
    log.info(
        "HTTP API: breaking %s to %d chats (delivery %s)", article.id, delivery.total, delivery.id
    )
    progress = f"/api/deliveries/{delivery.id}"
    return json_answer(
        {"delivery": delivery.id, "total": delivery.total, "progress": progress, "article": stored},
        202,
        {"Location": progress},
    )


def breaking_in(kind: BodyKind, body: bytes) -> Article:
    """`{"text": "..."}` or plain text as an editor types it (bot.news.parse.parse_breaking), or
    a JSON Article; marked breaking, published now unless it says when."""
    # To the minute: the same text posted twice within a minute is the same item (same id
    # and content), which is how a retried request is told from a new one.
    now = datetime.now(TEHRAN).replace(second=0, microsecond=0)
    if kind == "text":
        return _within_caps(_parse_breaking(without_controls(body), now))
    data = cleaned(decode_json(body))
    if isinstance(data, dict) and set(data) == {"text"}:
        if not isinstance(data["text"], str):
            raise invalid(
                "not a breaking item",
                [{"index": 0, "field": "text", "message": "Input should be a valid string"}],
            )
        return _within_caps(_parse_breaking(data["text"], now))
    if not isinstance(data, dict):
        raise invalid(
            'expected {"text": "..."} or an Article (a JSON object)',
            [{"index": 0, "field": None, "message": "not a JSON object"}],
        )
    try:
        article = Article.model_validate(data)
    except ValidationError as error:
        raise invalid(
            "not a valid article: nothing was stored or sent", validation_errors(0, error)
        ) from None
    return _within_caps(
        article.model_copy(update={"breaking": True, "published": article.published or now})
    )


def _within_caps(article: Article) -> Article:
    if errors := too_large(0, article):
        raise invalid(
            "not a breaking item: it is over a size cap; nothing was stored or sent", errors
        )
    return article


def _parse_breaking(text: str | bytes, now: datetime) -> Article:
    try:
        return parse_breaking(text, now, name="body")
    except ParseError as error:
        raise invalid(
            f"not a breaking item: {error.problem}",
            [{"index": 0, "field": "text", "message": error.problem}],
        ) from None


async def get_delivery(request: web.Request) -> web.StreamResponse:
    """A delivery's progress: status, total, counts, when it was created and finished."""
    outbox = request.app[CONTEXT].services.outbox
    delivery_id = request.match_info["id"]
    delivery = await outbox.get(delivery_id)
    if delivery is None:
        raise ApiError(404, f"no delivery {delivery_id}")
    return json_answer(delivery_json(delivery, await outbox.errors(delivery_id)))


def delivery_json(delivery: Delivery, failures: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "kind": delivery.kind.value,
        "status": delivery.status.value,
        "title": delivery.title,
        "article": delivery.article_id,
        "total": delivery.total,
        "enqueued": delivery.enqueued,
        "processed": delivery.processed,
        "counts": delivery.counts,
        "created": _iso(delivery.created),
        "finished": _iso(delivery.finished),
        "failures": [{"chat": chat, "reason": reason} for chat, reason in failures],
    }


def _iso(stamp: float | None) -> str | None:
    if not stamp:
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


TOP_ALERTS = 20
TOP_ALERTS_MOST = 100


async def get_top_alerts(request: web.Request) -> web.StreamResponse:
    """The most-followed alert words: `{"alerts": [{"words", "chats"}], "chats", "total"}`;
    `?limit=` up to 100."""
    services = request.app[CONTEXT].services
    limit = request.query.get("limit", str(TOP_ALERTS))
    if not limit.isdigit() or not 1 <= int(limit) <= TOP_ALERTS_MOST:
        raise ApiError(400, f"limit must be a number from 1 to {TOP_ALERTS_MOST}")
    store = AlertStore(services.redis, services.store.keys)
    stats = await store.stats(services.settings.topics)
    top = await store.top_words(int(limit))
    return json_answer(
        {
            "alerts": [{"words": words, "chats": chats} for words, chats in top],
            "chats": stats.chats,
            "total": stats.alerts,
            "topics": stats.topics,
        }
    )
