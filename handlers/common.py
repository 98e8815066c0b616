"""What every handler module uses: the typed context (`context.services`), answering in a
chat (`reply`, `say`, `edit`), an article's card with its buttons, and a pressed button."""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.news.article import Article
from bot.news.styles import Style
from bot.services import BotData, Services
from handlers import texts, views
from handlers.callbacks import Action, Callback
from storage.shortlinks import ShortLinks

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class Context(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]):
    """The context every handler gets: python-telegram-bot's, with khabar's services."""

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("the application was started without its services")
        return services


CONTEXT_TYPES = ContextTypes(context=Context, bot_data=BotData)
KhabarApplication = Application[
    ExtBot[Any], Context, dict[Any, Any], dict[Any, Any], BotData, JobQueue[Any]
]


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


async def edit(message: Message, payload: dict[str, Any]) -> Message:
    """The message (one the bot sent) changed to the payload."""
    markup = payload.get("reply_markup")
    edited = await message.edit_text(
        payload["text"],
        parse_mode=payload.get("parse_mode"),
        link_preview_options=_NO_PREVIEW,
        reply_markup=InlineKeyboardMarkup.de_json(markup, message.get_bot()) if markup else None,
    )
    return edited if isinstance(edited, Message) else message


async def pressed(update: Update) -> tuple[CallbackQuery, Callback, Message] | None:
    """The button pressed, what it carries and the message it is under; None (the press
    answered «stale») for a button this version does not make or a message gone."""
    query = update.callback_query
    if query is None or query.data is None:
        return None
    callback = Callback.parse(query.data)
    message = query.message if isinstance(query.message, Message) else None
    if callback is None or message is None:
        await query.answer(texts.STALE_BUTTON)
        return None
    return query, callback, message


async def stale_button(update: Update, context: Context) -> None:
    """A button no handler is for (an old version's, or forged)."""
    if update.callback_query is not None:
        await update.callback_query.answer(texts.STALE_BUTTON)


# Cards ------------------------------------------------------------------------------------------
async def card_with_buttons(
    services: Services, article: Article, style: str | None = None
) -> list[dict[str, Any]]:
    """The card's messages, the buttons under the last one: the readers' card, or with a
    `style` (text, photo, rich: KHABAR_CHANNEL_CARD / KHABAR_BROADCAST_CARD) the one message
    of channels and broadcasts; a photo or rich card carries its text card as ``fallback``
    (bot/delivery/media.py sends it when Telegram refuses the picture or the rich message)."""
    store = services.store
    markup = card_buttons(store.links, article, await store.links.code(article.id))
    buttons = markup if markup["inline_keyboard"] else None
    if style is not None:
        [payload] = await store.styled_card(article, Style(style))
        payload = {**payload, "reply_markup": buttons}
        if payload["method"] != "sendMessage":
            [text] = await store.styled_card(article, Style.TEXT)
            fallback = {k: v for k, v in text.items() if k != "method"}
            payload["fallback"] = {**fallback, "reply_markup": buttons}
        return [payload]
    payloads = await store.card(article)
    last = len(payloads) - 1
    return [
        {**payload, "reply_markup": buttons if n == last else None}
        for n, payload in enumerate(payloads)
    ]


def card_buttons(links: ShortLinks, article: Article, code: str | None) -> dict[str, Any]:
    """The card's buttons, the article's short code already at hand."""
    return views.card_buttons(article, links.url(code) if code else None, code)


async def send_card(message: Message, context: Context, article_id: str) -> bool:
    """The article's card in the message's chat, buttons under its last message; False when
    the article is not stored."""
    article = await context.services.store.get(article_id)
    if article is None:
        return False
    payloads = await card_with_buttons(context.services, article)
    if message.chat.type == ChatType.PRIVATE:
        payloads[-1] = with_full_text(payloads[-1], article.id)
    for payload in payloads:
        await reply(message, payload)
    return True


def with_full_text(payload: dict[str, Any], article_id: str) -> dict[str, Any]:
    """The card's last payload with «📖 متن کامل» (the whole article) under its buttons."""
    rows = list((payload.get("reply_markup") or {}).get("inline_keyboard", []))
    data = Callback(Action.FULL_TEXT, article_id).data()
    button = {"text": texts.FULL_TEXT, "callback_data": data}
    return {**payload, "reply_markup": {"inline_keyboard": [*rows, [button]]}}
