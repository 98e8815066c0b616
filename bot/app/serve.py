"""`khabar run`: the application, the background runtime and the HTTP server in one process
until SIGINT or SIGTERM, then a clean stop. Telegram's updates come by webhook when
KHABAR_WEBHOOK_URL is set (every process receives them), else by long polling, which only
the holder of the poller lease does (a second poller would get 409 Conflict)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import TelegramError

from bot.app.build import build, services_for
from bot.app.runtime import Runtime
from bot.config import Settings
from bot.delivery.channels import CardMaker
from bot.news.article import Article
from bot.services import Services
from bot.web.context import WebContext
from bot.web.server import start_web
from bot.web.webhook import set_webhook
from handlers import views
from handlers.common import KhabarApplication, card_with_buttons
from storage.locks import Lease

log = logging.getLogger("khabar.app")

POLLER_LEASE = 10.0
"""Seconds: a poller that stops renewing is replaced within this (plus a third of it)."""


def run(settings: Settings) -> None:
    """The bot until SIGINT or SIGTERM, then a clean stop."""
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    services = await services_for(settings)
    try:
        await serve(build(settings, services))
    finally:
        await services.redis.aclose()


def card_maker(services: Services) -> CardMaker:
    """An article → its card with buttons (what channels and the API send)."""

    async def card(article: Article, style: str | None = None) -> list[dict[str, Any]]:
        return await card_with_buttons(services, article, style)

    return card


async def serve(application: KhabarApplication, stop: asyncio.Event | None = None) -> None:
    """Run the application until `stop` is set (or a signal comes): the background runtime,
    the HTTP server (short links, the API, health and metrics, the webhook), and Telegram's
    updates."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    services = application.bot_data.services
    assert services is not None
    settings = services.settings
    async with application:
        runtime = await Runtime.start(services, card_maker(services))
        if application.post_init:  # commands are set once the workers are ready
            await application.post_init(application)
        await application.start()
        webhook = settings.webhook_url is not None
        context = WebContext(
            settings,
            services,
            card_maker(services),
            application.bot.username or "",
            _update_sink(application) if webhook else None,
            runtime.alive,
            views.web_page_texts(),
        )
        runner: web.AppRunner | None = None
        try:
            runner = await start_web(context)
            if webhook:
                await set_webhook(application.bot, settings)
                log.info("receiving updates by webhook")
                await stop.wait()
            else:
                await poll_updates(application, services, stop)
        finally:
            # SIGTERM allows 10 s: the web server, the handlers and the workers stop together.
            stopping = [application.stop(), runtime.stop()]
            stopping += [runner.cleanup()] if runner else []
            for failure in await asyncio.gather(*stopping, return_exceptions=True):
                if isinstance(failure, Exception):
                    log.error("stopping failed", exc_info=failure)


def _update_sink(
    application: KhabarApplication,
) -> Callable[[dict[str, Any]], Coroutine[Any, Any, None]]:
    async def put(data: dict[str, Any]) -> None:
        await application.update_queue.put(Update.de_json(data, application.bot))

    return put


class _PollingTrouble:
    """getUpdates failing (Telegram or a proxy down): python-telegram-bot retries by itself;
    one line every QUIET seconds says so, instead of a traceback per try."""

    QUIET = 10.0

    def __init__(self) -> None:
        self._last = -self.QUIET

    def __call__(self, error: TelegramError) -> None:
        now = time.monotonic()
        if now - self._last >= self.QUIET:
            self._last = now
            log.warning("getting updates failed (%s); python-telegram-bot tries again", error)


async def poll_updates(
    application: KhabarApplication, services: Services, stop: asyncio.Event
) -> None:
    """Long polling while this process holds the poller lease; the others stand by and take
    over within a lease when it dies."""
    updater = application.updater
    assert updater is not None

    async def poll_while_leading(lost: asyncio.Event) -> None:
        log.info("polling Telegram for updates")
        await updater.start_polling(
            allowed_updates=Update.ALL_TYPES, error_callback=_PollingTrouble()
        )
        try:
            await lost.wait()
        finally:
            if updater.running:
                await updater.stop()
        if not stop.is_set():
            log.warning("lost the poller lease; standing by")

    lease = Lease(services.redis, services.store.keys.poller(), POLLER_LEASE)
    await lease.lead(poll_while_leading, stop)
