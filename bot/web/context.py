"""What every route of the HTTP server shares: its context (built by the wiring), the
error a client caused, JSON answers, reading a body within its cap."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.delivery.channels import CardMaker
from bot.services import Services
from storage.shortlinks import SOURCE_CODE

log = logging.getLogger("khabar.web")


WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CODE_ROUTE = f"/{{code:{SOURCE_CODE}}}"
"""Short codes: khabar's own (storage/shortlinks.py: 6 base62 characters, 7 after
collisions) and those of the sources' short links (3 to 20)."""
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

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra


def json_answer(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(
        data,
        status=status,
        headers=headers,
        dumps=functools.partial(json.dumps, ensure_ascii=False),
    )


async def read_body(request: web.Request) -> bytes:
    """The body, within settings.http_max_body; ApiError 413 beyond it. A declared length
    is refused before reading; a chunked body is cut off by aiohttp's client_max_size."""
    cap = request.app[CONTEXT].settings.http_max_body
    too_large = ApiError(
        413, f"the body is over the limit of {cap} bytes (KHABAR_HTTP_MAX_BODY)", limit=cap
    )
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
        raise ApiError(
            400, f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except UnicodeDecodeError:
        raise ApiError(400, "invalid JSON: not UTF-8") from None
    except RecursionError:
        raise ApiError(400, "invalid JSON: nested too deeply") from None
    except ValueError:  # Python refuses to read an integer of thousands of digits
        raise ApiError(
            400, f"invalid JSON: a number of more than {sys.get_int_max_str_digits()} digits"
        ) from None
