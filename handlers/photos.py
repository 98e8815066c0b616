"""An admin's photo as an article's picture (/breaking in reply to a photo with a caption):
the largest size is kept by khabar (served at KHABAR_PUBLIC_URL/photos/<id>.jpg, for rich
messages) and its file_id noted, so photo cards send it without any upload."""

from __future__ import annotations

from telegram import Message

from bot.news.article import Image
from bot.services import Services
from bot.web.photos import photo_url
from storage.photos import MAX_PHOTO_BYTES, Photos


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
    await Photos(services.redis, services.store.keys).keep(name, content, url, largest.file_id)
    return Image(url=url)
