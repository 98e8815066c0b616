"""Telegram's webhook: the route updates are posted to, and telling Telegram about it."""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, Update

from bot.config import ConfigError, Settings
from bot.web.context import (
    CONTEXT,
    SECRET_HEADER,
    WEBHOOK_PATH,
    ApiError,
    decode_json,
    read_body,
)
from storage.updates import SeenUpdates

log = logging.getLogger("khabar.web")


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
    handed to ctx.updates once (storage/updates.py: an update_id posted again, to this
    process or another, is answered 200 and left alone); 200 at once."""
    ctx = request.app[CONTEXT]
    assert ctx.updates is not None  # the route exists only then
    secret = ctx.settings.webhook_secret
    if secret is not None:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), secret.get_secret_value().encode()
        ):
            log.warning("refused a webhook request: %s secret token", "wrong" if given else "no")
            raise ApiError(403, "forbidden: wrong or missing secret token")
    update = decode_json(await read_body(request))
    if not isinstance(update, dict):
        raise ApiError(400, "an update is a JSON object")
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise ApiError(400, "an update has an integer update_id")
    seen = SeenUpdates(ctx.services.redis, ctx.services.store.keys)
    if not await seen.take(update_id):
        log.info("update %d was posted again: handled once already", update_id)
        return web.Response(status=200)
    try:
        await ctx.updates(update)
    except BaseException:
        await seen.give_back(update_id)  # answered 500: Telegram sends it again
        raise
    return web.Response(status=200)


async def set_webhook(bot: Bot, settings: Settings) -> None:
    """Tell Telegram to post updates to this server (webhook_endpoint), with the secret
    token it is to send back; pending updates are kept."""
    url = webhook_endpoint(settings)
    secret = settings.webhook_secret
    await bot.set_webhook(
        url=url,
        secret_token=secret.get_secret_value() if secret is not None else None,
        allowed_updates=Update.ALL_TYPES,
        drop_pending_updates=False,
    )
    log.info("Telegram posts updates to %s", url)
