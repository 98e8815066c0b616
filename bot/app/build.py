"""The Telegram application: built from Settings and the services, every handler registered.

Tests build the same Application with `build()` and drive it over real HTTP against the fake
Bot API server; `bot/app/serve.py` runs it in production.
"""

from __future__ import annotations

import gc
import logging

from redis.exceptions import RedisError
from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import ApplicationBuilder, Defaults

from bot.app.limits import ReplyLimiter
from bot.config import ConfigError, Settings
from bot.news.analysis import query_terms
from bot.services import Services
from handlers import admin, alerts, guard, inline, reader, texts
from handlers.common import CONTEXT_TYPES, Context, KhabarApplication
from storage.articles import ArticleStore
from storage.keys import Keys
from storage.outbox import Outbox
from storage.ratelimit import RateLimiter
from storage.redis import connect
from storage.sessions import Sessions
from storage.subscribers import Subscribers

log = logging.getLogger("khabar.app")


async def services_for(settings: Settings) -> Services:
    """Redis connected (StorageUnavailable when it does not answer) and every store on it."""
    redis = await connect(settings.redis_url)
    keys = Keys(settings.redis_prefix)
    store = ArticleStore(
        redis,
        keys,
        retention=settings.retention,
        public_url=settings.public_url,
    )
    limiter = RateLimiter.for_broadcast(
        redis, keys, settings.broadcast_rate, settings.paid_broadcast
    )
    if limiter.broadcast.per_second < settings.broadcast_rate:
        log.warning(
            "KHABAR_BROADCAST_RATE %g is above what Telegram allows the bot in all; "
            "deliveries use %g messages a second",
            settings.broadcast_rate,
            limiter.broadcast.per_second,
        )
    return Services(
        settings,
        redis,
        store,
        Sessions(redis, keys),
        Subscribers(redis, keys),
        Outbox(redis, keys),
        limiter,
    )


def build(settings: Settings, services: Services) -> KhabarApplication:
    """The Application, every handler registered; not started."""
    if settings.bot_token is None:
        raise ConfigError("KHABAR_BOT_TOKEN: required to run the bot (get one from @BotFather)")
    application: KhabarApplication = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.bot_api_url)
        .base_file_url(settings.bot_api_url.removesuffix("/bot") + "/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .rate_limiter(ReplyLimiter(services.limiter))
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(True)
        .post_init(_post_init)
        .build()
    )
    application.bot_data.services = services
    guard.register(application)
    admin.register(application, settings)
    alerts.register(application)  # before reader's «unknown command»
    reader.register(application)
    inline.register(application)
    application.add_error_handler(_on_error)
    return application


async def _post_init(application: KhabarApplication) -> None:
    commands = [BotCommand(name, description) for name, description in texts.COMMANDS]
    await application.bot.set_my_commands(commands)
    # Load the lexicon and the search analysis now, not on the first reader's search.
    query_terms("کلان‌شهرهای ایران")
    # What is loaded by now (the lexicon, its caches: hundreds of thousands of objects) lives
    # as long as the process; the collector need not walk it again on every full collection,
    # which cost about a quarter of a core during a broadcast.
    gc.collect()
    gc.freeze()


async def _on_error(update: object, context: Context) -> None:
    """Log with context (never the token); the reader gets a short apology, not silence."""
    error = context.error
    where = ""
    if isinstance(update, Update):
        chat = update.effective_chat
        user = update.effective_user
        where = (
            f" (update {update.update_id}, chat {chat.id if chat else '-'}, "
            f"user {user.id if user else '-'})"
        )
    if isinstance(error, Forbidden):
        log.info("can't write to a chat%s: %s", where, error)
        return
    if isinstance(error, RetryAfter):  # the reply's slot was too far away (ReplyLimiter)
        log.info("a reply was not sent%s: its turn was %s s away", where, error.retry_after)
        return
    if isinstance(error, RedisError):
        log.warning("Redis failed while handling an update%s: %s", where, error)
    else:
        log.error("handling an update failed%s", where, exc_info=error)
    if (
        isinstance(update, Update)
        and update.effective_chat
        and not isinstance(error, TelegramError)
    ):
        try:
            await update.effective_chat.send_message(texts.APOLOGY, parse_mode=None)
        except TelegramError as failure:
            log.warning("could not send the apology%s: %s", where, failure)
