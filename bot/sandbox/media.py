"""Photos and rich messages in the fake Bot API: what sendPhoto, sendRichMessage and
editMessageText with ``rich_message`` do, registered by bot/sandbox/botapi.py.

sendPhoto takes a photo three ways, as Telegram does: an HTTP URL, which the server fetches
itself (a 404 or any failure answers "failed to get HTTP URL content", a page that is not a
picture "wrong type of the web page content"), an upload (multipart; bytes that are no
picture answer IMAGE_PROCESS_FAILED), or the file_id of a photo sent before (an unknown one
answers "wrong file identifier/HTTP URL specified"). Every photo sent gets a file_id the bot
may send again; ``server.photo_sources`` counts how each photo came (url, upload, file_id).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.sandbox.formatting import TelegramError
from bot.sandbox.rich import check_rich_message
from bot.sandbox.wire import ApiError, Sent, check_markup

if TYPE_CHECKING:
    from bot.sandbox.botapi import FakeTelegram

MAX_PHOTO_BYTES = 10 * 1024 * 1024
FETCH_TIMEOUT = 5.0
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


def is_picture(content: bytes) -> bool:
    """JPEG, PNG, GIF or WebP, by their first bytes (as an image decoder would find out)."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return True
    return any(content.startswith(signature) for signature in _SIGNATURES)


class PhotoRefused(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


async def fetch(url: str) -> bytes:
    """The picture at url, as Telegram's servers would get it, or PhotoRefused."""
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, allow_redirects=True) as response,
        ):
            if response.status != 200:
                raise PhotoRefused("Bad Request: failed to get HTTP URL content")
            content = await response.content.read(MAX_PHOTO_BYTES + 1)
            kind = response.headers.get("Content-Type", "")
    except (aiohttp.ClientError, TimeoutError):
        raise PhotoRefused("Bad Request: failed to get HTTP URL content") from None
    if len(content) > MAX_PHOTO_BYTES:
        raise PhotoRefused("Bad Request: failed to get HTTP URL content")
    if not kind.startswith("image/") or not is_picture(content):
        raise PhotoRefused("Bad Request: wrong type of the web page content")
    return content


async def resolve_photo(server: FakeTelegram, photo: Any, chat_id: int) -> str:
    """The file_id of the photo a sendPhoto names (URL, upload or file_id), or a 400."""
    try:
        if isinstance(photo, bytes):
            if not is_picture(photo):
                raise PhotoRefused("Bad Request: IMAGE_PROCESS_FAILED")
            server.photo_sources["upload"] += 1
            return server._store_file(f"photo-{chat_id}.jpg", photo, "photos").file_id
        if not isinstance(photo, str) or not photo:
            raise PhotoRefused("Bad Request: there is no photo in the request")
        if photo.startswith(("http://", "https://")):
            content = await fetch(photo)
            server.photo_sources["url"] += 1
            return server._store_file(f"photo-{chat_id}.jpg", content, "photos").file_id
        if photo not in server.files:
            raise PhotoRefused("Bad Request: wrong file identifier/HTTP URL specified")
        server.photo_sources["file_id"] += 1
        return photo
    except PhotoRefused as error:
        raise ApiError(400, error.description) from None


def _checked(params: dict[str, Any]) -> str:
    try:
        return check_rich_message(params.get("rich_message")).text
    except TelegramError as error:
        raise ApiError(400, error.description) from None


async def send_rich_message(server: FakeTelegram, params: dict[str, Any]) -> dict[str, Any]:
    chat_id = server._chat_id(params)
    server._check_chat(chat_id)
    text = _checked(params)
    check_markup(params.get("reply_markup"))
    server._pace(chat_id, params.get("allow_paid_broadcast") in (True, "true", "True"))
    sent = Sent(
        message_id=next(server._message_ids[chat_id]),
        chat_id=chat_id,
        text=text,
        html=None,
        reply_markup=params.get("reply_markup"),
        payload=params,
    )
    server.messages[chat_id].append(sent)
    server._by_id[chat_id, sent.message_id] = sent
    server.send_log.append((time.monotonic(), chat_id))
    server._sent_event[chat_id].set()
    return server._message_dict(sent)


async def edit_rich_message(server: FakeTelegram, params: dict[str, Any]) -> dict[str, Any]:
    """editMessageText with ``rich_message`` (and no ``text``: exactly one of them)."""
    if params.get("text") is not None:
        raise ApiError(400, "Bad Request: exactly one of text and rich_message must be specified")
    sent = server._find(params)
    if sent.photo is not None:
        raise ApiError(400, "Bad Request: there is no text in the message to edit")
    text = _checked(params)
    check_markup(params.get("reply_markup"))
    if server.strict:
        server._pace(sent.chat_id)
    sent.text, sent.html, sent.reply_markup = text, None, params.get("reply_markup")
    sent.payload, sent.edits = params, sent.edits + 1
    server._sent_event[sent.chat_id].set()
    return server._message_dict(sent)
