"""The Telegram application: built from Settings, wired to the storage and the handlers.

`khabar run` calls `run(settings)`: long polling until SIGINT/SIGTERM, then a clean stop.
Tests build the same Application with `build()` and drive it over real HTTP against the fake
Bot API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError
from telegram import Bot, BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import HTTPXRequest

from bot.config import ConfigError, Settings
from bot.delivery import ChannelPoster, Deliverer
from bot.feeds.poller import FeedPoller
from bot.news.analysis import query_terms
from bot.services import BOT_DATA_KEY, Services
from bot.web import WebContext, set_webhook, start_web
from handlers import admin, guard, inline, reader, texts, views
from storage.articles import ArticleStore
from storage.keys import Keys
from storage.locks import Lease
from storage.outbox import Outbox
from storage.ratelimit import RateLimiter
from storage.redis import connect
from storage.sessions import Sessions
from storage.subscribers import Subscribers

log = logging.getLogger("khabar.app")

KhabarApplication = Application[Any, Any, Any, Any, Any, Any]
DELIVERY_WORKERS = 4
DELIVERY_BATCH = 16
"""Chats each delivery worker has in hand: enough in flight for paid broadcast's 1000/s."""
POLLER_LEASE = 10.0
"""Seconds: a poller that stops renewing is replaced within this (plus a third of it)."""


SENDING = frozenset({"sendMessage", "editMessageText", "sendDocument", "sendPhoto"})


class ReplyLimiter(AIORateLimiter):
    """Readers' replies, paced in-process as before, are also counted against the limits
    shared with the delivery workers (without waiting for them): replies come first, and a
    broadcast slows down to leave them room."""

    shared: RateLimiter | None = None

    async def process_request(
        self, callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] |
                                                list[dict[str, Any]]]],
        args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat = data.get("chat_id")
        if self.shared is not None and chat is not None and endpoint in SENDING:
            try:
                await self.shared.charge(str(chat))
            except RedisError as error:  # a reply is not held back by Redis trouble
                log.warning("could not count a reply against the shared limits: %s", error)
        return await super().process_request(callback, args, kwargs, endpoint, data,
                                             rate_limit_args)


async def services_for(settings: Settings) -> Services:
    redis = await connect(settings.redis_url)
    keys = Keys(settings.redis_prefix)
    store = ArticleStore(redis, keys, retention=timedelta(days=settings.retention_days),
                         public_url=settings.public_url)
    limiter = RateLimiter.for_broadcast(redis, keys, settings.broadcast_rate,
                                        settings.paid_broadcast)
    return Services(settings, redis, store, Sessions(redis, keys), Subscribers(redis, keys),
                    Outbox(redis, keys), limiter)


def delivery_bot(settings: Settings, connections: int) -> Bot:
    """The delivery workers' own Bot: no in-process rate limiter (the shared one decides)
    and enough connections for every message in flight."""
    assert settings.bot_token is not None
    request = HTTPXRequest(connection_pool_size=connections, read_timeout=15.0,
                           write_timeout=15.0, pool_timeout=15.0)
    return Bot(settings.bot_token.get_secret_value(), base_url=settings.bot_api_url,
               request=request)


def build(settings: Settings, services: Services | None = None) -> KhabarApplication:
    """The Application, every handler registered; not started. Without `services`, they are
    made (Redis connected) when the application starts, in its own event loop."""
    if settings.bot_token is None:
        raise ConfigError("KHABAR_BOT_TOKEN: required to run the bot (get one from @BotFather)")
    application = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.bot_api_url)
        .base_file_url(settings.bot_api_url.removesuffix("/bot") + "/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(ReplyLimiter(max_retries=3))
        .concurrent_updates(True)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data["settings"] = settings
    if services is not None:
        application.bot_data[BOT_DATA_KEY] = services
    guard.register(application)
    admin.register(application, settings.admin_ids)
    reader.register(application)
    inline.register(application)
    application.add_error_handler(_on_error)
    return application


async def _post_init(application: KhabarApplication) -> None:
    if BOT_DATA_KEY not in application.bot_data:
        services = await services_for(application.bot_data["settings"])
        application.bot_data[BOT_DATA_KEY] = services
        application.bot_data["own services"] = True
    services = application.bot_data[BOT_DATA_KEY]
    limiter = application.bot.rate_limiter
    if isinstance(limiter, ReplyLimiter):
        limiter.shared = services.limiter
    await _start_delivery(application, services)
    commands = [BotCommand(name, description) for name, description in texts.COMMANDS]
    await application.bot.set_my_commands(commands)
    # Load the lexicon and the search analysis now, not on the first reader's search.
    query_terms("کلان‌شهرهای ایران")
    # What is loaded by now (the lexicon, its caches: hundreds of thousands of objects) lives
    # as long as the process; the collector need not walk it again on every full collection,
    # which cost about a quarter of a core during a broadcast.
    gc.collect()
    gc.freeze()


async def _start_delivery(application: KhabarApplication, services: Services) -> None:
    settings = services.settings
    deliverer = Deliverer(
        delivery_bot(settings, DELIVERY_WORKERS * DELIVERY_BATCH + 8), services.outbox,
        services.subscribers, services.limiter, paid=settings.paid_broadcast,
        workers=DELIVERY_WORKERS, batch=DELIVERY_BATCH,
        claim_after=settings.delivery_claim_seconds,
    )
    await deliverer.bot.initialize()
    await deliverer.start()
    poster = ChannelPoster(services.store, services.outbox, settings,
                           lambda article: reader.card_with_buttons(services, article),
                           max_age=timedelta(hours=settings.channel_max_age_hours))
    if settings.channel_ids:
        await poster.ensure_group()
        poster.start()
    feeds = FeedPoller(services.store, settings)
    feeds.start()  # nothing to do without KHABAR_FEEDS
    application.bot_data["delivery"] = (deliverer, poster, feeds)


async def _post_shutdown(application: KhabarApplication) -> None:
    if "delivery" in application.bot_data:
        deliverer, poster, feeds = application.bot_data.pop("delivery")
        stopped = await asyncio.gather(poster.stop(), deliverer.stop(), feeds.stop(),
                                       return_exceptions=True)  # together: SIGTERM allows 10 s
        for failure in stopped:
            if isinstance(failure, Exception):
                log.error("stopping failed", exc_info=failure)
        await deliverer.bot.shutdown()
    if application.bot_data.get("own services"):
        await application.bot_data[BOT_DATA_KEY].redis.aclose()


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with context (never the token); the reader gets a short apology, not silence."""
    error = context.error
    where = ""
    if isinstance(update, Update):
        chat = update.effective_chat
        user = update.effective_user
        where = (f" (update {update.update_id}, chat {chat.id if chat else '-'}, "
                 f"user {user.id if user else '-'})")
    if isinstance(error, Forbidden):
        log.info("can't write to a chat%s: %s", where, error)
        return
    log.error("handling an update failed%s", where, exc_info=error)
    if isinstance(update, Update) and update.effective_chat and not isinstance(
        error, TelegramError
    ):
        try:
            await update.effective_chat.send_message(texts.APOLOGY, parse_mode=None)
        except TelegramError as failure:
            log.warning("could not send the apology%s: %s", where, failure)


def run(settings: Settings) -> None:
    """The bot until SIGINT or SIGTERM, then a clean stop."""
    asyncio.run(serve(build(settings)))


async def serve(application: KhabarApplication, stop: asyncio.Event | None = None) -> None:
    """Run the application until `stop` is set (or a signal comes): the HTTP server (short
    links, the API, health and metrics, the webhook), and Telegram's updates by webhook when
    KHABAR_WEBHOOK_URL is set (every process receives them), else by long polling."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with application:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        services: Services = application.bot_data[BOT_DATA_KEY]
        settings = services.settings
        deliverer = application.bot_data["delivery"][0]
        webhook = settings.webhook_url is not None
        context = WebContext(
            settings, services, lambda article: reader.card_with_buttons(services, article),
            application.bot.username or "", _update_sink(application) if webhook else None,
            deliverer.alive, views.web_page_texts(),
        )
        runner: web.AppRunner | None = None
        try:
            runner = await start_web(context)
            if webhook:
                await set_webhook(application.bot, settings)
                log.info("receiving updates by webhook")
                await stop.wait()
            else:
                await _poll(application, services, stop)
        finally:
            # SIGTERM allows 10 s: the web server, the handlers and the workers stop together.
            stopping = [application.stop()] + ([runner.cleanup()] if runner else [])
            for failure in await asyncio.gather(*stopping, return_exceptions=True):
                if isinstance(failure, Exception):
                    log.error("stopping failed", exc_info=failure)
            if application.post_shutdown:
                await application.post_shutdown(application)


def _update_sink(application: KhabarApplication
                 ) -> Callable[[dict[str, Any]], Coroutine[Any, Any, None]]:
    async def put(data: dict[str, Any]) -> None:
        await application.update_queue.put(Update.de_json(data, application.bot))

    return put


async def _poll(application: KhabarApplication, services: Services, stop: asyncio.Event
                ) -> None:
    """Of the processes sharing one Redis only the holder of the poller lease polls Telegram
    (a second poller would get 409 Conflict); the others stand by and take over within a
    lease when it dies."""
    lease = Lease(services.redis, services.store.keys.poller(), POLLER_LEASE)
    updater = application.updater
    assert updater is not None
    polling = False
    try:
        while not stop.is_set():
            if polling and not await lease.renew():
                log.warning("lost the poller lease; standing by")
                await updater.stop()
                polling = False
            elif not polling and await lease.acquire():
                log.info("polling Telegram for updates")
                await updater.start_polling(allowed_updates=Update.ALL_TYPES)
                polling = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLLER_LEASE / 3)
    finally:
        if polling:
            await updater.stop()
            await lease.release()
