"""What readers do with alerts: /alert (follow words), /alerts (the list, remove, pause, at
once or a daily digest, quiet hours), /topics (follow the newsroom's sections), and their
buttons. In groups only the group's admins change them; channels have none.
"""

from __future__ import annotations

from typing import Any

from telegram import Chat, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.news.article import Article
from bot.news.persian import normalize, to_persian_digits
from handlers import alert_views as views
from handlers import texts
from handlers.callbacks import Action, Callback
from handlers.common import Context, KhabarApplication, edit, pressed, reply, say
from storage.alert_queue import AlertQueue
from storage.alert_terms import ArticleTerms, Unit, parse_alert
from storage.alerts import MAX_ALERTS, MAX_WORDS, Added, AlertStore, Refusal

RECENT_SHOWN = 3
RECENT_LOOKED_AT = 30
ADMINS = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def alert_store(context: Context) -> AlertStore:
    services = context.services
    return AlertStore(services.redis, services.store.keys)


async def _may_change(message: Message, chat: Chat, user: User) -> bool:
    """Private chats always; groups for their admins; never channels (each told why)."""
    if chat.type == ChatType.PRIVATE:
        return True
    if chat.type == ChatType.CHANNEL:
        await say(message, texts.ALERT_NOT_IN_CHANNELS)
        return False
    member = await chat.get_member(user.id)
    if member.status not in ADMINS:
        await say(message, texts.ALERT_ADMINS_ONLY)
        return False
    return True


async def _in_chat(update: Update) -> tuple[Message, Chat] | None:
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return None
    if not await _may_change(message, chat, user):
        return None
    return message, chat


# /alert ------------------------------------------------------------------------------------------
async def alert(update: Update, context: Context) -> None:
    if (found := await _in_chat(update)) is None:
        return
    message, chat = found
    text = normalize(" ".join(context.args or []))
    if not text:
        await say(message, texts.ASK_ALERT)
        return
    store = alert_store(context)
    parsed = parse_alert(text)
    refusal = await store.refusal(parsed)
    if refusal is not None:
        await say(message, _refused(refusal, text))
        return
    added, _ = await store.add(chat.id, text, parsed.units)
    if added is Added.EXISTS:
        await say(message, texts.ALERT_EXISTS.format(words=text))
        return
    if added is Added.FULL:
        await say(message, texts.ALERT_FULL.format(limit=to_persian_digits(str(MAX_ALERTS))))
        return
    prefs = await store.prefs(chat.id, context.services.settings.alert_digest_hour)
    recent = await _recent(context, text, parsed.units)
    await reply(message, views.alert_saved(text, prefs.hour if prefs.digest else None, recent))


def _refused(refusal: Refusal, text: str) -> str:
    if refusal is Refusal.TOO_MANY_WORDS:
        return texts.ALERT_TOO_MANY_WORDS.format(limit=to_persian_digits(str(MAX_WORDS)))
    if refusal is Refusal.ONLY_STOP_WORDS:
        return texts.ALERT_STOP_WORDS.format(words=text)
    if refusal is Refusal.TOO_COMMON:
        return texts.ALERT_TOO_COMMON.format(words=text)
    return texts.ASK_ALERT


async def _recent(context: Context, text: str, units: list[Unit]) -> list[Article]:
    """The newest stored articles the alert matches, among what search finds for it."""
    _, found = await context.services.store.find_page(text, 0, RECENT_LOOKED_AT)
    matching = [article for article, _ in found if ArticleTerms.of(article).matches(units)]
    matching.sort(key=lambda article: str(article.published or ""), reverse=True)
    return matching[:RECENT_SHOWN]


# /alerts and its buttons -----------------------------------------------------------------------
async def alerts(update: Update, context: Context) -> None:
    if (found := await _in_chat(update)) is None:
        return
    message, chat = found
    await reply(message, await panel(context, chat.id))


async def panel(context: Context, chat: int) -> dict[str, Any]:
    store = alert_store(context)
    settings = context.services.settings
    prefs = await store.prefs(chat, settings.alert_digest_hour)
    return views.alert_panel(
        views.AlertPanel(
            alerts=[(found.id, found.text) for found in await store.alerts(chat)],
            topics=sorted(await store.topics(chat)),
            digest=prefs.digest,
            hour=prefs.hour,
            quiet=prefs.quiet,
            paused=prefs.paused,
            quiet_hours=settings.quiet_hours,
            per_hour=settings.alerts_per_hour,
        )
    )


async def _pressed_here(update: Update) -> tuple[Callback, Message] | None:
    """A button of /alerts or /topics, pressed by someone who may change the chat's alerts."""
    if (press := await pressed(update)) is None:
        return None
    query, callback, message = press
    if update.effective_user is None:
        return None
    if message.chat.type != ChatType.PRIVATE:
        member = await message.chat.get_member(update.effective_user.id)
        if member.status not in ADMINS:
            await query.answer(texts.ALERT_ADMINS_ONLY, show_alert=True)
            return None
    await query.answer()
    return callback, message


async def remove_alert(update: Update, context: Context) -> None:
    if (press := await _pressed_here(update)) is None:
        return
    callback, message = press
    await alert_store(context).remove(message.chat.id, callback.value)
    await edit(message, await panel(context, message.chat.id))


async def pause_alerts(update: Update, context: Context) -> None:
    if (press := await _pressed_here(update)) is None:
        return
    callback, message = press
    await alert_store(context).set_prefs(message.chat.id, paused=callback.value == "1")
    await edit(message, await panel(context, message.chat.id))


async def alert_mode(update: Update, context: Context) -> None:
    if (press := await _pressed_here(update)) is None:
        return
    callback, message = press
    mode = "digest" if callback.value == "digest" else "now"
    await alert_store(context).set_prefs(message.chat.id, mode=mode)
    await edit(message, await panel(context, message.chat.id))


async def digest_hour(update: Update, context: Context) -> None:
    if (press := await _pressed_here(update)) is None:
        return
    callback, message = press
    if callback.value.isdigit() and int(callback.value) < 24:
        await alert_store(context).set_prefs(message.chat.id, hour=int(callback.value))
    await edit(message, await panel(context, message.chat.id))


async def quiet_hours(update: Update, context: Context) -> None:
    if (press := await _pressed_here(update)) is None:
        return
    callback, message = press
    await alert_store(context).set_prefs(message.chat.id, quiet=callback.value == "1")
    await edit(message, await panel(context, message.chat.id))


# /topics ---------------------------------------------------------------------------------------
async def topics(update: Update, context: Context) -> None:
    if (found := await _in_chat(update)) is None:
        return
    message, chat = found
    followed = await alert_store(context).topics(chat.id)
    await reply(message, views.topics_panel(context.services.settings.topics, followed))


async def toggle_topic(update: Update, context: Context) -> None:
    if (press := await _pressed_here(update)) is None:
        return
    callback, message = press
    offered = context.services.settings.topics
    store = alert_store(context)
    if callback.value.isdigit() and int(callback.value) < len(offered):
        await store.toggle_topic(message.chat.id, offered[int(callback.value)])
    await edit(message, views.topics_panel(offered, await store.topics(message.chat.id)))


# For the newsroom ------------------------------------------------------------------------------
async def stats_line(context: Context) -> str:
    """The /stats line of alerts (handlers/admin.py); none while nobody follows anything and
    no topic is offered."""
    services = context.services
    found = await alert_store(context).stats(services.settings.topics)
    if not found.chats and not found.topics:
        return ""
    queue = AlertQueue(services.redis, services.store.keys)
    return views.alert_stats(
        found.alerts, found.chats, await queue.ready_count(), await queue.held_count(), found.topics
    )


def register(application: KhabarApplication) -> None:
    application.add_handlers(
        [
            CommandHandler("alert", alert),
            CommandHandler("alerts", alerts),
            CommandHandler("topics", topics),
            CallbackQueryHandler(remove_alert, pattern=Action.REMOVE_ALERT.pattern),
            CallbackQueryHandler(pause_alerts, pattern=Action.PAUSE_ALERTS.pattern),
            CallbackQueryHandler(alert_mode, pattern=Action.ALERT_MODE.pattern),
            CallbackQueryHandler(digest_hour, pattern=Action.DIGEST_HOUR.pattern),
            CallbackQueryHandler(quiet_hours, pattern=Action.QUIET_HOURS.pattern),
            CallbackQueryHandler(toggle_topic, pattern=Action.TOGGLE_TOPIC.pattern),
        ]
    )
