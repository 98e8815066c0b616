"""«📖 متن کامل»: the whole article in the reader's chat, as one rich message (right to
left: the picture, the title, the lead, the key points, every quote credited to its speaker,
the body, the footer), or as text messages when KHABAR_RICH_MESSAGES=false or the Bot API
refuses rich messages (an older self-hosted server: the refusal is logged once and
remembered for a while by every process, storage/refusals.py)."""

from __future__ import annotations

from telegram import Message
from telegram.error import BadRequest, EndPointNotFound, InvalidToken

from bot.delivery.media import rich_refused
from bot.news.card import render
from bot.news.styles import Style
from handlers.common import Context, reply

TEXT_MESSAGES = 6
"""The whole article as text takes at most this many messages."""


async def send_full_text(message: Message, context: Context, article_id: str) -> bool:
    """The whole article in the message's chat; False when it is not stored."""
    services = context.services
    article = await services.store.get(article_id)
    if article is None:
        return False
    refusals = services.rich_refusals
    if services.settings.rich_messages and not await refusals.refused():
        [payload] = await services.store.styled_card(article, Style.RICH)
        try:
            await message.get_bot().do_api_request(
                "sendRichMessage",
                api_kwargs={"chat_id": message.chat_id, "rich_message": payload["rich_message"]},
            )
            return True
        except (BadRequest, EndPointNotFound, InvalidToken) as error:
            if not rich_refused(error):
                raise
            await refusals.remember(str(error))
    for part in render(article, TEXT_MESSAGES):
        await reply(message, part.payload())
    return True
