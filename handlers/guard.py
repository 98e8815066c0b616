"""The flood guard: a user who sends more than 8 updates in 10 seconds gets one polite notice
and is ignored for a short while; other users are not affected. Counted in Redis, so it holds
across processes. Runs before every other handler. With the replies' budget (about one message
a second per chat, bot/app/limits.py) a burst of 30 commands gets 8 answers and the notice, in
turn, never more than Telegram allows in one chat."""

from __future__ import annotations

from redis.exceptions import RedisError
from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot import metrics
from handlers import texts
from handlers.common import Context, KhabarApplication, say
from storage.sessions import Flood

GUARD_GROUP = -1


async def guard(update: Update, context: Context) -> None:
    metrics.UPDATES.inc()
    user = update.effective_user
    if user is None or update.inline_query is not None:
        return  # inline queries come at every keystroke; Telegram paces those itself
    try:
        verdict = await context.services.sessions.flood(user.id)
    except RedisError:
        return  # while Redis is away nobody is counted: answering comes first
    if verdict is Flood.OK:
        return
    if verdict is Flood.WARN:
        if update.callback_query:
            await update.callback_query.answer(texts.SLOW_DOWN, show_alert=False)
        elif update.effective_message and update.effective_chat:
            await say(update.effective_message, texts.SLOW_DOWN)
    raise ApplicationHandlerStop


def register(application: KhabarApplication) -> None:
    application.add_handler(TypeHandler(Update, guard), group=GUARD_GROUP)
