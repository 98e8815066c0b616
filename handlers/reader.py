"""What readers do: /start (with a deep link), /help, /latest, /search, /link, pasted short
links, article cards, paging buttons, /subscribe and /unsubscribe.

In groups the bot answers only commands (with or without @botname) and its own buttons;
other chatter there is not its business.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import metrics
from bot.news.article import Article
from bot.services import BOT_DATA_KEY, Services
from handlers import texts, views
from storage.shortlinks import ShortLinks
from storage.subscribers import ChatKind

PAGE_SIZE = 10
MAX_PAGE_SIZE = 20
# Things in a message that may point at an article: URLs and bare domains with a path, codes
# of 5-7 letters and digits, article ids of digits.
_LINKISH = re.compile(
    r"https?://\S+|(?:[\w-]+\.)+[a-z]{2,}/\S+|\b[0-9A-Za-z]{5,7}\b|\b\d{4,12}\b", re.I
)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found: Services = context.bot_data[BOT_DATA_KEY]
    return found


async def reply(message: Message, payload: dict[str, Any]) -> Message:
    """Send a payload built by handlers/views.py as a reply in the message's chat."""
    markup = payload.get("reply_markup")
    return await message.chat.send_message(
        text=payload["text"],
        parse_mode=payload.get("parse_mode"),
        link_preview_options=_NO_PREVIEW,
        reply_markup=InlineKeyboardMarkup.de_json(markup, message.get_bot()) if markup else None,
    )


async def say(message: Message, text: str) -> None:
    """Plain text (no parse mode: nothing in it needs escaping)."""
    await message.chat.send_message(text, parse_mode=None, link_preview_options=_NO_PREVIEW)


# /start and /help ------------------------------------------------------------------------------
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if context.args:  # t.me/<bot>?start=<article id or code>
        article_id = await services(context).store.links.resolve(context.args[0])
        if article_id and await send_card(message, context, article_id):
            return
        await say(message, texts.NOT_FOUND)
        return
    await say(message, texts.WELCOME.format(commands=views.command_list(),
                                            bot=context.bot.username))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message:
        await say(update.effective_message,
                  texts.HELP.format(commands=views.command_list(), bot=context.bot.username))


# Cards -----------------------------------------------------------------------------------------
async def send_card(message: Message, context: ContextTypes.DEFAULT_TYPE, article_id: str
                    ) -> bool:
    """The article's card in the message's chat, buttons under its last message; False when
    the article is not stored."""
    article = await services(context).store.get(article_id)
    if article is None:
        return False
    for payload in await card_payloads(context, article):
        await reply(message, payload)
    return True


async def card_payloads(context: ContextTypes.DEFAULT_TYPE, article: Article
                        ) -> list[dict[str, Any]]:
    """The card's messages, the buttons under the last one."""
    return await card_with_buttons(services(context), article)


async def card_with_buttons(found: Services, article: Article) -> list[dict[str, Any]]:
    store = found.store
    payloads = await store.card(article)
    markup = buttons(store.links, article, await store.links.code(article.id))
    last = len(payloads) - 1
    return [{**payload, "reply_markup": markup if n == last and markup["inline_keyboard"]
             else None} for n, payload in enumerate(payloads)]


def buttons(links: ShortLinks, article: Article, code: str | None) -> dict[str, Any]:
    """The card's buttons, the article's short code already at hand."""
    return views.card_buttons(article, links.url(code) if code else None, code)


# Lists -----------------------------------------------------------------------------------------
async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def latest_page(context: ContextTypes.DEFAULT_TYPE, page: int, size: int
                      ) -> dict[str, Any] | None:
    store = services(context).store
    total = await store.count()
    articles = await store.latest(page * size, size)
    if not articles:
        return None
    return views.listing(views.Listing(texts.LATEST_TITLE, articles, page, total, size, "l",
                                       str(size)))


async def search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    query = " ".join(context.args or []).strip()
    if not query:
        await services(context).sessions.wait_for(message.chat_id, update.effective_user.id,
                                                  "search")
        await say(message, texts.ASK_QUERY)
        return
    await answer_search(message, context, query)


async def answer_search(message: Message, context: ContextTypes.DEFAULT_TYPE, query: str
                        ) -> None:
    query_id = await services(context).sessions.save_query(query)
    page = await search_page(context, query, query_id, 0)
    if page is None:
        await say(message, texts.NO_RESULTS.format(query=query))
        return
    await reply(message, page)


async def search_page(context: ContextTypes.DEFAULT_TYPE, query: str, query_id: str, page: int
                      ) -> dict[str, Any] | None:
    with metrics.SEARCH_SECONDS.time():
        total, found = await services(context).store.find_page(query, page * PAGE_SIZE,
                                                               PAGE_SIZE)
    if not found:
        return None
    title = texts.SEARCH_TITLE.format(query=query)
    articles = [article for article, _ in found]
    return views.listing(views.Listing(title, articles, page, total, PAGE_SIZE, "s", query_id))


# Short links and free text ---------------------------------------------------------------------
async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if not context.args:
        await say(message, texts.ASK_LINK.format(example="7L98A"))
        return
    await open_links(message, context, " ".join(context.args))


async def open_links(message: Message, context: ContextTypes.DEFAULT_TYPE, text: str) -> bool:
    """The card of the first article the text points at; «not found» when it points at
    something khabar does not know. False when nothing in it looks like a link or code."""
    candidates = _LINKISH.findall(text)
    if not candidates:
        return False
    links = services(context).store.links
    for candidate in candidates:
        article_id = await links.resolve(candidate.rstrip(".,;:!?)»"))
        if article_id and await send_card(message, context, article_id):
            return True
    await say(message, texts.NOT_FOUND)
    return True


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message in a private chat: the answer to «what are you looking for?», a pasted
    link, or else a search."""
    message = update.effective_message
    if message is None or message.text is None or update.effective_user is None:
        return
    awaited = await services(context).sessions.awaited(message.chat_id,
                                                      update.effective_user.id)
    if awaited != "search" and await open_links(message, context, message.text):
        return
    await answer_search(message, context, message.text.strip())


# Buttons ---------------------------------------------------------------------------------------
async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    callback = views.Callback.parse(query.data)
    message = query.message if isinstance(query.message, Message) else None
    if callback is None or message is None:
        await query.answer(texts.STALE_BUTTON)
        return
    if callback.kind == "a":
        await query.answer()
        if not await send_card(message, context, callback.value):
            await say(message, texts.ARTICLE_GONE)
        return
    page: dict[str, Any] | None = None
    if callback.kind == "l" and callback.value.isdigit():
        size = max(1, min(MAX_PAGE_SIZE, int(callback.value)))
        page = await latest_page(context, callback.page, size)
    elif callback.kind == "s" and (text := await services(context).sessions.query(
        callback.value
    )):
        page = await search_page(context, text, callback.value, callback.page)
    if page is None:
        await query.answer(texts.STALE_BUTTON)
        return
    await query.answer()
    markup = page["reply_markup"]
    await message.edit_text(
        page["text"], parse_mode=page["parse_mode"], link_preview_options=_NO_PREVIEW,
        reply_markup=InlineKeyboardMarkup.de_json(markup, context.bot),
    )


# Subscriptions ---------------------------------------------------------------------------------
async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _subscription(update, context, subscribe=True)


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _subscription(update, context, subscribe=False)


async def _subscription(update: Update, context: ContextTypes.DEFAULT_TYPE, subscribe: bool
                        ) -> None:
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
    subscribers = services(context).subscribers
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


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message:
        await say(update.effective_message, texts.UNKNOWN_COMMAND)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handlers([
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CommandHandler("latest", latest),
        CommandHandler("search", search),
        CommandHandler("link", link),
        CommandHandler("subscribe", subscribe),
        CommandHandler("unsubscribe", unsubscribe),
        CallbackQueryHandler(button),
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
                       private_text),
        MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, unknown_command),
    ])
