"""The flood guard: a user who sends more than ~20 updates in 10 seconds gets one polite
notice and is ignored for a short while; other users are not affected. Counted in Redis, so
it holds across processes. Runs before every other handler."""

from __future__ import annotations

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
    verdict = await context.services.sessions.flood(user.id)
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
