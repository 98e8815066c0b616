"""What newsroom admins do (only the users of KHABAR_ADMIN_IDS; anyone else gets the answer of
an unknown command): /breaking with a preview and «✅ ارسال» / «❌ لغو», live progress of a
delivery, /cancel, /retract, /post, /stats, and articles fed in as a .txt file or pasted text.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import CallbackQuery, Message, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.delivery import start as deliveries
from bot.news.article import TEHRAN, Article
from bot.news.parse import ParseError, parse_breaking, parse_bytes
from bot.news.persian import to_ascii_digits, to_persian_digits
from handlers import progress, reader, texts, views
from handlers.alerts import stats_line as alert_stats_line
from handlers.callbacks import Action, Callback
from handlers.common import (
    Context,
    KhabarApplication,
    card_with_buttons,
    edit,
    pressed,
    reply,
    say,
    send_card,
)
from handlers.photos import admin_photo, send_styled
from storage.deliveries import Delivery, Kind, Status
from storage.subscribers import ChatKind

log = logging.getLogger("khabar.admin")

MAX_FILE = 1024 * 1024
ARTICLE_MIN_LINES = 3
ARTICLE_MIN_CHARS = 300
"""Pasted text this long, over several lines, is taken for an article, not a search."""


def _admin(context: Context, update: Update) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.services.settings.admin_ids


async def _not_an_article(message: Message, problem: str) -> None:
    await say(message, texts.NOT_AN_ARTICLE.format(problem=problem))


# /breaking --------------------------------------------------------------------------------------
async def breaking(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    parts = message.text.split(maxsplit=1)
    text = parts[1].strip() if len(parts) > 1 else ""
    replied = message.reply_to_message
    try:
        if replied is not None and replied.document is not None:
            article = parse_breaking(
                await _download(replied),
                datetime.now(TEHRAN),
                name=replied.document.file_name or "file",
            )
        elif replied is not None and replied.photo and replied.caption:
            article = parse_breaking(replied.caption, datetime.now(TEHRAN))
            image = await admin_photo(replied, context.services)
            article = article.model_copy(update={"image": image})
        elif replied is not None and (replied.text or replied.caption):
            article = parse_breaking(replied.text or replied.caption or "", datetime.now(TEHRAN))
        elif text:
            article = parse_breaking(text, datetime.now(TEHRAN))
        else:
            await say(message, texts.ASK_BREAKING)
            return
    except ParseError as error:
        await _not_an_article(message, error.problem)
        return
    await preview_breaking(message, context, article)


async def preview_breaking(message: Message, context: Context, article: Article) -> None:
    """The breaking card as subscribers will see it, then «send to N subscribers?»."""
    services = context.services
    draft = await services.sessions.save_draft(article.model_dump_json())
    await send_styled(message, services, article, services.settings.broadcast_card)
    question = texts.PREVIEW_BREAKING.format(
        subscribers=views.number(await services.subscribers.count()),
        channels=views.number(len(services.settings.channel_ids)),
    )
    await reply(
        message,
        {
            "text": question,
            "parse_mode": None,
            "reply_markup": views.buttons_row(
                (texts.SEND, Callback(Action.SEND_DRAFT, draft).data()),
                (texts.DISCARD, Callback(Action.DISCARD_DRAFT, draft).data()),
            ),
        },
    )


async def _download(message: Message) -> bytes:
    assert message.document is not None
    if (message.document.file_size or 0) > MAX_FILE:
        raise ParseError(message.document.file_name or "file", "larger than 1 MB")
    file = await message.document.get_file()
    return bytes(await file.download_as_bytearray())


# Articles fed in by an admin ---------------------------------------------------------------------
async def article_file(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or message.document is None:
        return
    name = message.document.file_name or "file"
    if not name.lower().endswith(".txt"):
        await _not_an_article(message, texts.ONLY_TXT)
        return
    try:
        article = parse_bytes(await _download(message), name=name)
    except ParseError as error:
        await _not_an_article(message, error.problem)
        return
    await _store_and_offer(message, context, article)


async def pasted_article(update: Update, context: Context) -> None:
    """An admin's text in a private chat: a pasted article when it looks like one, else what
    a reader's text would be (a link or a search)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    lines = [line for line in message.text.splitlines() if line.strip()]
    if len(lines) < ARTICLE_MIN_LINES or len(message.text) < ARTICLE_MIN_CHARS:
        await reader.private_text(update, context)
        return
    try:
        article = parse_bytes(message.text.encode(), name="text")
    except ParseError as error:
        await _not_an_article(message, error.problem)
        return
    await _store_and_offer(message, context, article)


async def _store_and_offer(message: Message, context: Context, article: Article) -> None:
    """Stored without going to the channels by itself: the admin chooses."""
    store = context.services.store
    await store.save(article, announce=False)
    await send_card(message, context, article.id)
    code = await store.links.code(article.id) or article.id
    await reply(
        message,
        {
            "text": texts.PREVIEW_ARTICLE.format(title=article.title, code=code),
            "parse_mode": None,
            "reply_markup": views.buttons_row(
                (texts.PUBLISH, Callback(Action.PUBLISH_TO_CHANNELS, article.id).data()),
                (texts.SEND_BREAKING, Callback(Action.OFFER_BREAKING, article.id).data()),
            ),
        },
    )


# Buttons -----------------------------------------------------------------------------------------
async def _admin_pressed(
    update: Update, context: Context
) -> tuple[CallbackQuery, Callback, Message] | None:
    """An admin's button, pressed by an admin (to anyone else it is stale)."""
    press = await pressed(update)
    if press is not None and not _admin(context, update):
        await press[0].answer(texts.STALE_BUTTON)
        return None
    return press


async def _take_draft(update: Update, context: Context) -> tuple[Message, Article] | None:
    """The draft a «✅ ارسال» or «❌ لغو» is under, taken: pressed twice, the first press
    decided (its message stays)."""
    if (press := await _admin_pressed(update, context)) is None:
        return None
    query, callback, message = press
    draft = await context.services.sessions.take_draft(callback.value)
    if draft is None:
        await query.answer(texts.DRAFT_GONE)
        return None
    await query.answer()
    return message, Article.model_validate_json(draft)


async def send_draft(update: Update, context: Context) -> None:
    if (taken := await _take_draft(update, context)) is not None:
        message, article = taken
        await _send_breaking(message, context, article)


async def discard_draft(update: Update, context: Context) -> None:
    if (taken := await _take_draft(update, context)) is not None:
        await edit(taken[0], {"text": texts.DRAFT_DISCARDED, "parse_mode": None})


async def _stored_article(update: Update, context: Context) -> tuple[Message, Article] | None:
    """The stored article an admin's button is for; «gone» when it is no longer stored."""
    if (press := await _admin_pressed(update, context)) is None:
        return None
    query, callback, message = press
    await query.answer()
    article = await context.services.store.get(callback.value)
    if article is None:
        await say(message, texts.ARTICLE_GONE)
        return None
    return message, article


async def publish_to_channels(update: Update, context: Context) -> None:
    if (found := await _stored_article(update, context)) is not None:
        message, article = found
        await _post(message, context, article)


async def offer_breaking(update: Update, context: Context) -> None:
    if (found := await _stored_article(update, context)) is not None:
        message, article = found
        await preview_breaking(message, context, article.model_copy(update={"breaking": True}))


async def stop_delivery(update: Update, context: Context) -> None:
    if (press := await _admin_pressed(update, context)) is not None:
        query, callback, message = press
        await query.answer()
        await _cancel(message, context, callback.value)


async def _send_breaking(message: Message, context: Context, article: Article) -> None:
    services = context.services
    await services.store.save(article, announce=False)
    delivery = await deliveries.start_breaking(
        services.outbox,
        services.settings,
        article,
        await card_with_buttons(services, article, services.settings.broadcast_card),
        message.chat_id,
    )
    if delivery is None:
        await edit(message, {"text": texts.NOBODY, "parse_mode": None})
        return
    await _show_progress(message, context, delivery, in_place=True)


async def _show_progress(
    message: Message, context: Context, delivery: Delivery, in_place: bool = False
) -> None:
    """The message the progress is shown in from now on (edited every few seconds): this
    one changed (`in_place`) or a new one."""
    payload = views.progress(delivery, None)
    shown = await edit(message, payload) if in_place else await reply(message, payload)
    await context.services.outbox.set_progress_message(delivery.id, shown.message_id)


# /post, /cancel, /retract, /stats ---------------------------------------------------------------
async def post(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    if not context.args:
        await say(message, texts.ASK_ARTICLE)
        return
    services = context.services
    article_id = await services.store.links.resolve(to_ascii_digits(context.args[0]))
    article = await services.store.get(article_id) if article_id else None
    if article is None:
        await say(message, texts.NOT_FOUND)
        return
    await _post(message, context, article)


async def _post(message: Message, context: Context, article: Article) -> None:
    services = context.services
    if not services.settings.channel_ids:
        await say(message, texts.NO_CHANNELS)
        return
    delivery = await deliveries.post_to_channels(
        services.outbox,
        services.settings,
        article,
        await card_with_buttons(services, article, services.settings.channel_card),
        message.chat_id,
    )
    if delivery is None:
        await say(message, texts.ALREADY_POSTED)
        return
    await say(
        message,
        texts.POSTING.format(
            title=article.title,
            channels=views.number(delivery.total),
            id=to_persian_digits(delivery.id),
        ),
    )
    await _show_progress(message, context, delivery)


async def _delivery_named(message: Message, context: Context, command: str) -> Delivery | None:
    args = context.args or []
    if not args:
        await say(message, texts.ASK_DELIVERY.format(command=command))
        return None
    delivery_id = to_ascii_digits(args[0]).lstrip("#")
    found = await context.services.outbox.get(delivery_id) if delivery_id.isdigit() else None
    if found is None:
        await say(message, texts.NO_DELIVERY.format(id=args[0]))
    return found


async def cancel(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is not None and (found := await _delivery_named(message, context, "cancel")):
        await _cancel(message, context, found.id)


async def _cancel(message: Message, context: Context, delivery_id: str) -> None:
    number = to_persian_digits(delivery_id)
    if await context.services.outbox.cancel(delivery_id):
        await say(message, texts.CANCELLED.format(id=number))
    else:
        await say(message, texts.NOT_RUNNING.format(id=number))


async def retract(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or (found := await _delivery_named(message, context, "retract")) is None:
        return
    number = to_persian_digits(found.id)
    if found.kind is Kind.RETRACT:
        await say(message, texts.NOTHING_TO_RETRACT.format(id=number))
        return
    retraction = await deliveries.retract(context.services.outbox, found, message.chat_id)
    if retraction is None:
        await say(message, texts.NOTHING_TO_RETRACT.format(id=number))
        return
    await say(
        message, texts.RETRACTING.format(id=number, retraction=to_persian_digits(retraction.id))
    )
    await _show_progress(message, context, retraction)


async def stats(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    services = context.services
    kinds = await services.subscribers.count_by_kind()
    active = await services.outbox.active()
    error = await services.outbox.last_error()
    error_text = texts.NO_ERROR
    if error is not None:
        when = datetime.fromtimestamp(error[0], TEHRAN).strftime("%Y-%m-%d %H:%M")
        error_text = f"{to_persian_digits(when)} — {error[1]}"
    paused = ""
    if (left := await services.limiter.paused_for()) > 0:
        paused = texts.STATS_PAUSED.format(until=views.clock_after(left), left=views.duration(left))
    await say(
        message,
        texts.STATS.format(
            subscribers=views.number(sum(kinds.values())),
            private=views.number(kinds[ChatKind.PRIVATE]),
            groups=views.number(kinds[ChatKind.GROUP]),
            channels=views.number(len(services.settings.channel_ids)),
            articles=views.number(await services.store.count()),
            running=views.number(sum(1 for d in active if d.status is not Status.DONE)),
            depth=views.number(await services.outbox.depth()),
            error=error_text,
        )
        + await alert_stats_line(context)
        + paused,
    )


def register(application: KhabarApplication, settings: Settings) -> None:
    admins = filters.User(user_id=settings.admin_ids)
    private = filters.ChatType.PRIVATE
    application.add_handlers(
        [
            CommandHandler("breaking", breaking, filters=admins),
            CommandHandler("post", post, filters=admins),
            CommandHandler("cancel", cancel, filters=admins),
            CommandHandler("retract", retract, filters=admins),
            CommandHandler("stats", stats, filters=admins),
            CallbackQueryHandler(send_draft, pattern=Action.SEND_DRAFT.pattern),
            CallbackQueryHandler(discard_draft, pattern=Action.DISCARD_DRAFT.pattern),
            CallbackQueryHandler(publish_to_channels, pattern=Action.PUBLISH_TO_CHANNELS.pattern),
            CallbackQueryHandler(offer_breaking, pattern=Action.OFFER_BREAKING.pattern),
            CallbackQueryHandler(stop_delivery, pattern=Action.STOP_DELIVERY.pattern),
            MessageHandler(admins & private & filters.Document.ALL, article_file),
            MessageHandler(admins & private & filters.TEXT & ~filters.COMMAND, pasted_article),
        ]
    )
    progress.register(application, settings.progress_seconds)
