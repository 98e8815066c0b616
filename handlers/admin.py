"""What newsroom admins do (only the users of KHABAR_ADMIN_IDS; anyone else gets the answer of
an unknown command): /breaking with a preview and «✅ ارسال» / «❌ لغو», live progress of a
delivery, /cancel, /retract, /post, /stats, and articles fed in as a .txt file or pasted text.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import delivery as core
from bot.news.article import TEHRAN, Article
from bot.news.card import payloads
from bot.news.parse import ParseError, parse_breaking, parse_bytes
from bot.news.persian import to_ascii_digits, to_persian_digits
from bot.services import Services
from handlers import reader, texts, views
from storage.locks import Lease
from storage.outbox import Delivery, Kind, Status
from storage.subscribers import ChatKind

log = logging.getLogger("khabar.admin")

PROGRESS_EVERY = 3.0
ORPHANED = 30.0
"""Seconds after which a delivery whose progress message never came gets a new one."""
"""Seconds between edits of a progress message (Telegram allows about one a second)."""
MAX_FILE = 1024 * 1024
ARTICLE_MIN_LINES = 3
ARTICLE_MIN_CHARS = 300
"""Pasted text this long, over several lines, is taken for an article, not a search."""


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return reader.services(context)


def _admin(context: ContextTypes.DEFAULT_TYPE, update: Update) -> bool:
    user = update.effective_user
    return user is not None and user.id in _services(context).settings.admin_ids


async def _not_an_article(message: Message, problem: str) -> None:
    await reader.say(message, texts.NOT_AN_ARTICLE.format(problem=problem))


async def _preview_card(message: Message, article: Article) -> None:
    for payload in payloads(article):
        await reader.reply(message, payload)


# /breaking --------------------------------------------------------------------------------------
async def breaking(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    parts = message.text.split(maxsplit=1)
    text = parts[1].strip() if len(parts) > 1 else ""
    replied = message.reply_to_message
    try:
        if replied is not None and replied.document is not None:
            article = parse_breaking(await _download(replied), datetime.now(TEHRAN),
                                     name=replied.document.file_name or "file")
        elif replied is not None and (replied.text or replied.caption):
            article = parse_breaking(replied.text or replied.caption or "", datetime.now(TEHRAN))
        elif text:
            article = parse_breaking(text, datetime.now(TEHRAN))
        else:
            await reader.say(message, texts.ASK_BREAKING)
            return
    except ParseError as error:
        await _not_an_article(message, error.problem)
        return
    await preview_breaking(message, context, article)


async def preview_breaking(message: Message, context: ContextTypes.DEFAULT_TYPE,
                           article: Article) -> None:
    """The breaking card as subscribers will see it, then «send to N subscribers?»."""
    s = _services(context)
    draft = await s.sessions.save_draft(article.model_dump_json())
    await _preview_card(message, article)
    question = texts.PREVIEW_BREAKING.format(
        subscribers=views.number(await s.subscribers.count()),
        channels=views.number(len(s.settings.channel_ids)),
    )
    await reader.reply(message, {
        "text": question, "parse_mode": None,
        "reply_markup": views.buttons_row((texts.SEND, views.admin_callback("go", draft)),
                                          (texts.DISCARD, views.admin_callback("no", draft))),
    })


async def _download(message: Message) -> bytes:
    assert message.document is not None
    if (message.document.file_size or 0) > MAX_FILE:
        raise ParseError(message.document.file_name or "file", "larger than 1 MB")
    file = await message.document.get_file()
    return bytes(await file.download_as_bytearray())


# Articles fed in by an admin ---------------------------------------------------------------------
async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def pasted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def _store_and_offer(message: Message, context: ContextTypes.DEFAULT_TYPE,
                           article: Article) -> None:
    """Stored without going to the channels by itself: the admin chooses."""
    store = _services(context).store
    await store.save(article, announce=False)
    await reader.send_card(message, context, article.id)
    code = await store.links.code(article.id) or article.id
    await reader.reply(message, {
        "text": texts.PREVIEW_ARTICLE.format(title=article.title, code=code), "parse_mode": None,
        "reply_markup": views.buttons_row(
            (texts.PUBLISH, views.admin_callback("ch", article.id)),
            (texts.SEND_BREAKING, views.admin_callback("br", article.id)),
        ),
    })


# Buttons -----------------------------------------------------------------------------------------
async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    parsed = views.parse_admin_callback(query.data)
    message = query.message if isinstance(query.message, Message) else None
    if parsed is None or message is None or not _admin(context, update):
        await query.answer(texts.STALE_BUTTON)
        return
    action, value = parsed
    s = _services(context)
    if action in ("go", "no"):
        draft = await s.sessions.take_draft(value)
        if draft is None:  # pressed twice: the first press decided; its message stays
            await query.answer(texts.DRAFT_GONE)
            return
        await query.answer()
        if action == "no":
            await _edit(message, {"text": texts.DRAFT_DISCARDED, "parse_mode": None})
        else:
            await _send_breaking(message, context, Article.model_validate_json(draft))
        return
    await query.answer()
    if action == "stop":
        await _cancel(message, context, value)
        return
    article = await s.store.get(value)
    if article is None:
        await reader.say(message, texts.ARTICLE_GONE)
    elif action == "ch":
        await _post(message, context, article)
    else:
        await preview_breaking(message, context, article.model_copy(update={"breaking": True}))


async def _send_breaking(message: Message, context: ContextTypes.DEFAULT_TYPE,
                         article: Article) -> None:
    s = _services(context)
    await s.store.save(article, announce=False)
    delivery = await core.start_breaking(s.outbox, s.settings, article,
                                         await reader.card_payloads(context, article),
                                         message.chat_id)
    if delivery is None:
        await _edit(message, {"text": texts.NOBODY, "parse_mode": None})
        return
    await _show_progress(message, context, delivery, edit=True)


async def _show_progress(message: Message, context: ContextTypes.DEFAULT_TYPE,
                         delivery: Delivery, edit: bool = False) -> None:
    """The message the progress is shown in from now on (edited every few seconds)."""
    payload = views.progress(delivery, None)
    shown = await _edit(message, payload) if edit else await reader.reply(message, payload)
    await _services(context).outbox.set_progress_message(delivery.id, shown.message_id)


async def _edit(message: Message, payload: dict[str, Any]) -> Message:
    markup = payload.get("reply_markup")
    edited = await message.edit_text(
        payload["text"], parse_mode=payload.get("parse_mode"),
        reply_markup=InlineKeyboardMarkup.de_json(markup, message.get_bot()) if markup else None,
    )
    return edited if isinstance(edited, Message) else message


# /post, /cancel, /retract, /stats ---------------------------------------------------------------
async def post(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if not context.args:
        await reader.say(message, texts.ASK_ARTICLE)
        return
    s = _services(context)
    article_id = await s.store.links.resolve(to_ascii_digits(context.args[0]))
    article = await s.store.get(article_id) if article_id else None
    if article is None:
        await reader.say(message, texts.NOT_FOUND)
        return
    await _post(message, context, article)


async def _post(message: Message, context: ContextTypes.DEFAULT_TYPE, article: Article) -> None:
    s = _services(context)
    if not s.settings.channel_ids:
        await reader.say(message, texts.NO_CHANNELS)
        return
    delivery = await core.post_to_channels(
        s.outbox, s.settings, article, await reader.card_payloads(context, article),
        message.chat_id,
    )
    if delivery is None:
        await reader.say(message, texts.ALREADY_POSTED)
        return
    await reader.say(message, texts.POSTING.format(
        title=article.title, channels=views.number(delivery.total),
        id=to_persian_digits(delivery.id)))
    await _show_progress(message, context, delivery)


async def _delivery_named(message: Message, context: ContextTypes.DEFAULT_TYPE, command: str
                          ) -> Delivery | None:
    args = context.args or []
    if not args:
        await reader.say(message, texts.ASK_DELIVERY.format(command=command))
        return None
    delivery_id = to_ascii_digits(args[0]).lstrip("#")
    found = await _services(context).outbox.get(delivery_id) if delivery_id.isdigit() else None
    if found is None:
        await reader.say(message, texts.NO_DELIVERY.format(id=args[0]))
    return found


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and (found := await _delivery_named(message, context, "cancel")):
        await _cancel(message, context, found.id)


async def _cancel(message: Message, context: ContextTypes.DEFAULT_TYPE, delivery_id: str
                  ) -> None:
    number = to_persian_digits(delivery_id)
    if await _services(context).outbox.cancel(delivery_id):
        await reader.say(message, texts.CANCELLED.format(id=number))
    else:
        await reader.say(message, texts.NOT_RUNNING.format(id=number))


async def retract(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or (found := await _delivery_named(message, context, "retract")) is None:
        return
    number = to_persian_digits(found.id)
    if found.kind is Kind.RETRACT:
        await reader.say(message, texts.NOTHING_TO_RETRACT.format(id=number))
        return
    retraction = await core.retract(_services(context).outbox, found, message.chat_id)
    if retraction is None:
        await reader.say(message, texts.NOTHING_TO_RETRACT.format(id=number))
        return
    await reader.say(message, texts.RETRACTING.format(
        id=number, retraction=to_persian_digits(retraction.id)))
    await _show_progress(message, context, retraction)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    s = _services(context)
    kinds = await s.subscribers.count_by_kind()
    active = await s.outbox.active()
    error = await s.outbox.last_error()
    error_text = texts.NO_ERROR
    if error is not None:
        when = datetime.fromtimestamp(error[0], TEHRAN).strftime("%Y-%m-%d %H:%M")
        error_text = f"{to_persian_digits(when)} — {error[1]}"
    await reader.say(message, texts.STATS.format(
        subscribers=views.number(sum(kinds.values())),
        private=views.number(kinds[ChatKind.PRIVATE]), groups=views.number(kinds[ChatKind.GROUP]),
        channels=views.number(len(s.settings.channel_ids)),
        articles=views.number(await s.store.count()),
        running=views.number(sum(1 for d in active if d.status is not Status.DONE)),
        depth=views.number(await s.outbox.depth()), error=error_text,
    ))


# Progress ----------------------------------------------------------------------------------
async def report_progress(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every few seconds, in every process: the progress messages of running deliveries are
    edited by whichever process holds each one's reporter lease; when a delivery is over, its
    final report replaces the progress, once."""
    s = _services(context)
    leases: dict[str, Lease] = context.bot_data.setdefault("report leases", {})
    samples: dict[str, tuple[float, int, float | None]] = context.bot_data.setdefault(
        "report samples", {})
    active = await s.outbox.active()
    for gone in set(leases) - {d.id for d in active}:  # reported by another process
        leases.pop(gone, None)
        samples.pop(gone, None)
    for delivery in active:
        if delivery.admin_chat is None:
            continue
        if delivery.progress_message is None and time.time() - delivery.created < ORPHANED:
            continue  # its message is being sent
        lease = leases.get(delivery.id)
        if lease is None:
            lease = leases[delivery.id] = Lease(s.redis, s.store.keys.reporter(delivery.id),
                                                PROGRESS_EVERY * 4)
        if not (await lease.renew() or await lease.acquire()):
            continue
        if delivery.over:
            payload = views.report(delivery, await s.outbox.errors(delivery.id))
        else:
            payload = views.progress(delivery, _rate(samples, delivery))
        try:
            await _show(context, delivery, payload)
        except TelegramError as error:
            log.warning("progress of delivery %s: %s", delivery.id, error)
            if not delivery.over:
                continue
        if delivery.over:
            await s.outbox.reported(delivery.id)
            await lease.release()
            leases.pop(delivery.id, None)
            samples.pop(delivery.id, None)


async def _show(context: ContextTypes.DEFAULT_TYPE, delivery: Delivery,
                payload: dict[str, Any]) -> None:
    """Edit the delivery's progress message; a delivery that lost it (its process died
    before sending it) gets a new one."""
    assert delivery.admin_chat is not None
    markup = payload.get("reply_markup")
    keyboard = InlineKeyboardMarkup.de_json(markup, context.bot) if markup else None
    if delivery.progress_message is None:
        sent = await context.bot.send_message(delivery.admin_chat, payload["text"],
                                              parse_mode=None, reply_markup=keyboard)
        await _services(context).outbox.set_progress_message(delivery.id, sent.message_id)
        return
    try:
        await context.bot.edit_message_text(
            payload["text"], chat_id=delivery.admin_chat, message_id=delivery.progress_message,
            parse_mode=None, reply_markup=keyboard,
        )
    except BadRequest as error:
        if "not modified" not in str(error):
            raise


def _rate(samples: dict[str, tuple[float, int, float | None]], delivery: Delivery
          ) -> float | None:
    """Messages a second over the last interval, smoothed; None until it can be told."""
    now = datetime.now().timestamp()
    then, before, rate = samples.get(delivery.id, (delivery.created, 0, None))
    if now - then >= 1.0:
        reached = delivery.processed - delivery.counts["skipped"]  # skipped: nothing sent
        recent = (reached - before) / (now - then)
        rate = recent if rate is None else 0.5 * rate + 0.5 * recent
        samples[delivery.id] = (now, reached, rate)
    return rate if rate and rate > 0 else None


def register(application: Application[Any, Any, Any, Any, Any, Any], admin_ids: list[int]
             ) -> None:
    admins = filters.User(user_id=admin_ids)
    private = filters.ChatType.PRIVATE
    application.add_handlers([
        CommandHandler("breaking", breaking, filters=admins),
        CommandHandler("post", post, filters=admins),
        CommandHandler("cancel", cancel, filters=admins),
        CommandHandler("retract", retract, filters=admins),
        CommandHandler("stats", stats, filters=admins),
        CallbackQueryHandler(button, pattern=f"^{views.ADMIN_CALLBACK}"),
        MessageHandler(admins & private & filters.Document.ALL, document),
        MessageHandler(admins & private & filters.TEXT & ~filters.COMMAND, pasted),
    ])
    if application.job_queue is not None:
        application.job_queue.run_repeating(report_progress, interval=PROGRESS_EVERY,
                                            first=PROGRESS_EVERY)

