"""What readers do: /start (with a deep link), /help, /latest, /search, /link, pasted short
links, article cards, paging buttons, /subscribe and /unsubscribe.

In groups the bot answers only commands (with or without @botname) and its own buttons;
other chatter there is not its business.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import LinkPreviewOptions, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import metrics
from handlers import texts, views
from handlers.callbacks import Action
from handlers.common import (
    Context,
    KhabarApplication,
    edit,
    pressed,
    reply,
    say,
    send_card,
)
from handlers.fulltext import send_full_text
from storage.subscribers import ChatKind

PAGE_SIZE = 10
MAX_PAGE_SIZE = 20
# Things in a message that may point at an article: URLs and bare domains with a path, codes
# of 5-7 letters and digits, article ids of digits.
_LINKISH = re.compile(
    r"https?://\S+|(?:[\w-]+\.)+[a-z]{2,}/\S+|\b[0-9A-Za-z]{5,7}\b|\b\d{4,12}\b", re.I
)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


# /start and /help ------------------------------------------------------------------------------
async def start(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    if context.args:  # t.me/<bot>?start=<article id or code>
        article_id = await context.services.store.links.resolve(context.args[0])
        if article_id and await send_card(message, context, article_id):
            return
        await say(message, texts.NOT_FOUND)
        return
    await say(
        message, texts.WELCOME.format(commands=views.command_list(), bot=context.bot.username)
    )


async def help_command(update: Update, context: Context) -> None:
    if update.effective_message:
        await say(
            update.effective_message,
            texts.HELP.format(commands=views.command_list(), bot=context.bot.username),
        )


# Lists -----------------------------------------------------------------------------------------
async def latest(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    size = PAGE_SIZE
    if context.args and context.args[0].isdigit():
        size = max(1, min(MAX_PAGE_SIZE, int(context.args[0])))
    page = await latest_page(context, 0, size)
    if page is None:
        await say(message, texts.NO_ARTICLES)
        return
    await reply(message, page)


async def latest_page(context: Context, page: int, size: int) -> dict[str, Any] | None:
    store = context.services.store
    total = await store.count()
    articles = await store.latest(page * size, size)
    if not articles:
        return None
    return views.listing(
        views.Listing(
            texts.LATEST_TITLE, articles, page, total, size, Action.LATEST_PAGE, str(size)
        )
    )


async def search(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    query = " ".join(context.args or []).strip()
    if not query:
        await context.services.sessions.wait_for(
            message.chat_id, update.effective_user.id, "search"
        )
        await say(message, texts.ASK_QUERY)
        return
    await answer_search(message, context, query)


async def answer_search(message: Message, context: Context, query: str) -> None:
    query_id = await context.services.sessions.save_query(query)
    page = await search_page(context, query, query_id, 0)
    if page is None:
        await say(message, texts.NO_RESULTS.format(query=query))
        return
    await reply(message, page)


async def search_page(
    context: Context, query: str, query_id: str, page: int
) -> dict[str, Any] | None:
    with metrics.SEARCH_SECONDS.time():
        total, found = await context.services.store.find_page(query, page * PAGE_SIZE, PAGE_SIZE)
    if not found:
        return None
    title = texts.SEARCH_TITLE.format(query=query)
    articles = [article for article, _ in found]
    return views.listing(
        views.Listing(title, articles, page, total, PAGE_SIZE, Action.SEARCH_PAGE, query_id)
    )


# Short links and free text ---------------------------------------------------------------------
async def link(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    if not context.args:
        await say(message, texts.ASK_LINK.format(example="7L98A"))
        return
    # One word is taken as it is (a source's code may be of any length), then as text.
    if len(context.args) == 1:
        article_id = await context.services.store.links.resolve(context.args[0])
        if article_id and await send_card(message, context, article_id):
            return
    await open_links(message, context, " ".join(context.args))


async def open_links(message: Message, context: Context, text: str) -> bool:
    """The card of the first article the text points at; «not found» when it points at
    something khabar does not know. False when nothing in it looks like a link or code."""
    candidates = _LINKISH.findall(text)
    if not candidates:
        return False
    links = context.services.store.links
    for candidate in candidates:
        article_id = await links.resolve(candidate.rstrip(".,;:!?)»"))
        if article_id and await send_card(message, context, article_id):
            return True
    await say(message, texts.NOT_FOUND)
    return True


async def private_text(update: Update, context: Context) -> None:
    """A message in a private chat: the answer to «what are you looking for?», a pasted
    link, or else a search."""
    message = update.effective_message
    if message is None or message.text is None or update.effective_user is None:
        return
    if message.via_bot is not None and message.via_bot.id == context.bot.id:
        return  # the reader chose one of our inline results here: the card is already there
    awaited = await context.services.sessions.awaited(message.chat_id, update.effective_user.id)
    if awaited != "search" and await open_links(message, context, message.text):
        return
    await answer_search(message, context, message.text.strip())


# Buttons ---------------------------------------------------------------------------------------
async def open_article(update: Update, context: Context) -> None:
    """A numbered button of a list: the article's card."""
    if (press := await pressed(update)) is None:
        return
    query, callback, message = press
    await query.answer()
    if not await send_card(message, context, callback.value):
        await say(message, texts.ARTICLE_GONE)


async def full_text(update: Update, context: Context) -> None:
    """«📖 متن کامل» under a card: the whole article (handlers/fulltext.py)."""
    if (press := await pressed(update)) is None:
        return
    query, callback, message = press
    await query.answer()
    if not await send_full_text(message, context, callback.value):
        await say(message, texts.ARTICLE_GONE)


async def turn_page(update: Update, context: Context) -> None:
    """◀️ / ▶️ under a list (/latest or a search): the list message shows that page."""
    if (press := await pressed(update)) is None:
        return
    query, callback, message = press
    page: dict[str, Any] | None = None
    if callback.action is Action.LATEST_PAGE and callback.value.isdigit():
        size = max(1, min(MAX_PAGE_SIZE, int(callback.value)))
        page = await latest_page(context, callback.page, size)
    elif callback.action is Action.SEARCH_PAGE and (
        text := await context.services.sessions.query(callback.value)
    ):
        page = await search_page(context, text, callback.value, callback.page)
    if page is None:
        await query.answer(texts.STALE_BUTTON)
        return
    await query.answer()
    await edit(message, page)


# Subscriptions ---------------------------------------------------------------------------------
async def subscribe(update: Update, context: Context) -> None:
    await _subscription(update, context, subscribe=True)


async def unsubscribe(update: Update, context: Context) -> None:
    await _subscription(update, context, subscribe=False)


async def _subscription(update: Update, context: Context, subscribe: bool) -> None:
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    if chat.type == ChatType.CHANNEL:
        await say(message, texts.CHANNELS_NOT_HERE)
        return
    private = chat.type == ChatType.PRIVATE
    if not private:
        member = await chat.get_member(user.id)
        if member.status not in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER):
            await say(message, texts.ADMINS_ONLY)
            return
    subscribers = context.services.subscribers
    if subscribe:
        kind = ChatKind.PRIVATE if private else ChatKind.GROUP
        added = await subscribers.subscribe(chat.id, kind, user.language_code or "fa")
        if not added:
            await say(message, texts.ALREADY_SUBSCRIBED)
        else:
            await say(message, texts.SUBSCRIBED_PRIVATE if private else texts.SUBSCRIBED_GROUP)
        return
    removed = await subscribers.unsubscribe(chat.id)
    await say(message, texts.UNSUBSCRIBED if removed else texts.NOT_SUBSCRIBED)


async def unknown_command(update: Update, context: Context) -> None:
    if update.effective_message:
        await say(update.effective_message, texts.UNKNOWN_COMMAND)


def register(application: KhabarApplication) -> None:
    application.add_handlers(
        [
            CommandHandler("start", start),
            CommandHandler("help", help_command),
            CommandHandler("latest", latest),
            CommandHandler("search", search),
            CommandHandler("link", link),
            CommandHandler("subscribe", subscribe),
            CommandHandler("unsubscribe", unsubscribe),
            CallbackQueryHandler(open_article, pattern=Action.OPEN_ARTICLE.pattern),
            CallbackQueryHandler(full_text, pattern=Action.FULL_TEXT.pattern),
            CallbackQueryHandler(turn_page, pattern=Action.LATEST_PAGE.pattern),
            CallbackQueryHandler(turn_page, pattern=Action.SEARCH_PAGE.pattern),
            MessageHandler(
                filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, private_text
            ),
            MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, unknown_command),
        ]
    )
