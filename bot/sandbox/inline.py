"""Inline mode in the fake Bot API: answerInlineQuery's checks, and what a user's choice of a
result puts in a chat, as Telegram does both; registered by bot/sandbox/botapi.py.

answerInlineQuery takes article and photo results (the only kinds khabar sends), each checked
as Telegram checks it: an id of 1-64 bytes, unique; an article needs a title and an
input_message_content; a photo needs its photo_url (http or https) with a thumbnail_url
(InlineQueryResultPhoto) or a photo_file_id Telegram knows (InlineQueryResultCachedPhoto); a
caption of at most 1,024 UTF-16 units once its HTML or entities are parsed; a text within
Telegram's rules; valid buttons.

Choosing a result (`choose`) is what a user's app does: the message goes into the chat as the
user's, "via" the bot, with the result's buttons: an article's text; a photo result's photo
(a URL is fetched then, as Telegram's servers do: a picture that is not there or not a JPEG
sends nothing) with its caption; or the input_message_content a result names instead. The
bot hears of it only in the user's private chat with it, as with any message there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.sandbox.formatting import Parsed, TelegramError, check_message
from bot.sandbox.media import PhotoRefused, fetch
from bot.sandbox.wire import (
    MAX_INLINE_OFFSET,
    MAX_INLINE_RESULTS,
    ApiError,
    Sent,
    User,
    check_markup,
)

if TYPE_CHECKING:
    from bot.sandbox.botapi import FakeTelegram

_JPEG = b"\xff\xd8\xff"
_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class ChoiceFailed(ValueError):
    """The user's app could not send the result (Telegram's description)."""


def _parsed(content: dict[str, Any], *, caption: bool = False) -> Parsed:
    field = "caption" if caption else "text"
    payload = {
        field: content.get(field if caption else "message_text"),
        "parse_mode": content.get("parse_mode"),
        "entities": content.get("caption_entities" if caption else "entities"),
    }
    try:
        return check_message(payload, caption=caption)
    except TelegramError as error:
        raise ApiError(400, str(error)) from None


def _is_web_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and "." in value


def _check_photo(server: FakeTelegram, result: dict[str, Any]) -> None:
    url, file_id = result.get("photo_url"), result.get("photo_file_id")
    if not url and not file_id:
        raise ApiError(
            400, "Bad Request: can't parse inline query result: Can't find field \"photo_file_id\""
        )
    if url:
        if not _is_web_url(url):
            raise ApiError(400, "Bad Request: WEBDOCUMENT_URL_INVALID")
        if not result.get("thumbnail_url"):
            raise ApiError(400, "Bad Request: PHOTO_THUMB_URL_EMPTY")
        if not _is_web_url(result["thumbnail_url"]):
            raise ApiError(400, "Bad Request: WEBDOCUMENT_URL_INVALID")
    elif str(file_id) not in server.files:
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
    if result.get("caption"):
        _parsed(result, caption=True)


async def answer_inline_query(server: FakeTelegram, params: dict[str, Any]) -> bool:
    query_id = str(params.get("inline_query_id") or "")
    if query_id in server.inline_answers:
        raise ApiError(400, _TOO_OLD)
    results = params.get("results")
    if not isinstance(results, list):
        raise ApiError(400, "Bad Request: can't parse inline query results JSON object")
    if len(results) > MAX_INLINE_RESULTS:
        raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
    if len(str(params.get("next_offset") or "").encode()) > MAX_INLINE_OFFSET:
        raise ApiError(400, "Bad Request: NEXT_OFFSET_INVALID")
    ids = [str(result.get("id")) for result in results]
    if len(set(ids)) != len(ids):
        raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
    for result in results:
        if not 1 <= len(str(result.get("id") or "").encode()) <= 64:
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        kind, content = result.get("type"), result.get("input_message_content")
        if kind == "article":
            if not isinstance(content, dict):
                raise ApiError(400, "Bad Request: MESSAGE_EMPTY")
            if not result.get("title"):
                raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
        elif kind == "photo":
            _check_photo(server, result)
        else:
            raise ApiError(400, "Bad Request: only article and photo results are supported here")
        if isinstance(content, dict):
            _parsed(content)
        check_markup(result.get("reply_markup"))
    server.inline_answers[query_id] = params
    return True


async def _photo(server: FakeTelegram, result: dict[str, Any], chat_id: int) -> str:
    """The file_id of the result's photo; a URL is fetched as Telegram's servers would."""
    if not result.get("photo_url"):
        return str(result["photo_file_id"])
    try:
        content = await fetch(str(result["photo_url"]))
    except PhotoRefused as error:
        raise ChoiceFailed(error.description) from None
    if not content.startswith(_JPEG):
        raise ChoiceFailed("Bad Request: PHOTO_CONTENT_TYPE_INVALID")
    return server._store_file(f"photo-{chat_id}.jpg", content, "photos").file_id


async def choose(
    server: FakeTelegram, user: User | int, chat_id: int, query_id: str, result_id: str
) -> dict[str, Any]:
    """A user picks a result of an inline query the bot answered; the message as Telegram
    posts it in the chat (kept in `server.chosen`), or ChoiceFailed."""
    answer = server.inline_answers.get(query_id)
    found = [r for r in (answer or {}).get("results", []) if str(r.get("id")) == result_id]
    if not found:
        raise ChoiceFailed("no such result")
    [result] = found
    content = result.get("input_message_content")
    photo = None
    if isinstance(content, dict):
        parsed = _parsed(content)
    else:  # a photo result sends its photo
        photo = await _photo(server, result, chat_id)
        parsed = _parsed(result, caption=True) if result.get("caption") else Parsed("", [])
    user = user if isinstance(user, User) else User(user)
    message = server._user_message(user, chat_id, None, None)
    message["via_bot"] = server.bot_user()
    entities = [vars(entity) for entity in parsed.entities]
    if photo is None:
        message["text"] = parsed.text
    else:
        stored = server.files[photo]
        size = {"file_id": photo, "file_unique_id": stored.file_unique_id}
        message["photo"] = [{**size, "width": 1280, "height": 720}]
        if parsed.text:
            message["caption"] = parsed.text
    if entities:
        message["entities" if photo is None else "caption_entities"] = entities
    markup = result.get("reply_markup")
    if markup:
        message["reply_markup"] = markup
    server.chosen[chat_id].append(
        Sent(
            message_id=int(message["message_id"]),
            chat_id=chat_id,
            text=parsed.text,
            html=_html(result if photo else content),
            reply_markup=markup,
            payload=message,
            photo=photo,
        )
    )
    if chat_id == user.id:
        await server._push({"message": message})
    return message


def _html(source: dict[str, Any] | None) -> str | None:
    if not source or not source.get("parse_mode"):
        return None
    value = source.get("caption", source.get("message_text"))
    return value if isinstance(value, str) else None
