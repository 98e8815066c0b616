"""Pictures on the admins' side: an admin's photo as an article's picture (/breaking in reply
to a photo with a caption: the largest size is kept by khabar, served at
KHABAR_PUBLIC_URL/photos/<id>.jpg for rich messages, and its file_id noted, so photo cards
send it without any upload); a breaking item's preview in the style subscribers get."""

from __future__ import annotations

from typing import Any

from telegram import Message

from bot.delivery.media import Media
from bot.news.article import Article, Image
from bot.news.styles import Style
from bot.services import Services
from bot.web.photos import photo_url
from storage.photos import MAX_PHOTO_BYTES


async def admin_photo(message: Message, services: Services) -> Image | None:
    """The message's photo as an Image; None when it has none or it is too large."""
    if not message.photo:
        return None
    largest = message.photo[-1]
    if (largest.file_size or 0) > MAX_PHOTO_BYTES:
        return None
    content = bytes(await (await largest.get_file()).download_as_bytearray())
    name = largest.file_unique_id
    url = photo_url(services.settings.public_url, name)
    await services.photos.keep(name, content, url, largest.file_id)
    return Image(url=url)


async def send_styled(message: Message, services: Services, article: Article, style: str) -> None:
    """The article's card in a channel/broadcast style (what subscribers will see) in the
    message's chat, sent as deliveries send it: a picture by its file_id when known, else by
    URL, uploaded or as text when Telegram cannot use it; a refused rich message as text."""
    [payload] = await services.store.styled_card(article, Style(style))
    chat = {"chat_id": message.chat_id}
    fields = {**chat, **{k: v for k, v in payload.items() if k != "method"}}
    bot = message.get_bot()

    async def post(method: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = await bot.do_api_request(method, api_kwargs=params)
        assert isinstance(answer, dict)
        return answer

    if payload["method"] == "sendMessage":
        await post("sendMessage", fields)
        return
    [text] = await services.store.styled_card(article, Style.TEXT)
    fallback = {**chat, **{k: v for k, v in text.items() if k != "method"}}
    media = Media(
        services.redis,
        services.store.keys,
        services.settings.feed_allow_private,
        services.rich_refusals,
    )
    if payload["method"] == "sendPhoto":
        await media.send_photo(post, fields, fallback)
    else:
        await media.send_rich(post, fields, fallback)
