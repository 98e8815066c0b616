"""The web chat of the sandbox, under /sandbox on the sandbox's server: the page (plain HTML,
CSS and a small script in static/, no build step) and the JSON it talks to.

- ``GET /sandbox``: the page; ``GET /sandbox/static/{name}``: its files.
- ``GET /sandbox/api/state?chat=ID&since=V&timeout=S``: the chats, the people and one chat's
  messages; with `since`, answered once the version has moved past V (long polling, at most
  S seconds), which is how edits and deletions show live in every tab.
- ``POST /sandbox/api/message`` ``{user_id, chat_id, text}``: a person writes.
- ``POST /sandbox/api/document`` (a form: user_id, chat_id, file, caption): a person sends a
  file (an admin's .txt article).
- ``POST /sandbox/api/press`` ``{user_id, chat_id, message_id, data}``: a button is pressed;
  answered with the bot's answer to the callback query (its text, alert or not).
- ``POST /sandbox/api/inline`` ``{user_id, query, offset}``: inline mode as the person types;
  answered with the bot's results.
- ``POST /sandbox/api/choose`` ``{user_id, chat_id, query_id, result_id}``: a result is sent
  (a photo result as a photo; 400 with Telegram's reason when its picture cannot be had).
- ``POST /sandbox/api/readers``: one more reader.
- ``GET /sandbox/api/file/{file_id}``: a picture the bot sent (or a reader, inline).

Errors are answered ``{"error": "..."}`` with 400 (what the page sent) or 504 (the bot did not
answer in time).
"""

from __future__ import annotations

import asyncio
import time
from importlib import resources
from typing import Any

from aiohttp import web

from bot.sandbox.chats import ADMIN, CHANNEL_ID, GROUP_ID, SandboxTelegram
from bot.sandbox.wire import User

PAGE_PATH = "/sandbox"
ANSWER_TIMEOUT = 10.0
"""Seconds the page waits for the bot's answer to a button or an inline query."""
MAX_POLL = 25.0
MAX_TEXT = 8192
"""Characters a person may type in one message (Telegram's apps split at 4,096)."""
MAX_UPLOAD = 1024 * 1024
STATIC_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}


class Refused(Exception):
    """What the page asked for makes no sense (no such person, chat, message or result)."""


def add_routes(app: web.Application, telegram: SandboxTelegram) -> None:
    page = _Page(telegram)
    app.router.add_get(PAGE_PATH, page.index)
    app.router.add_get(PAGE_PATH + "/", page.index)
    app.router.add_get(PAGE_PATH + "/static/{name}", page.static)
    app.router.add_get(PAGE_PATH + "/api/state", page.state)
    app.router.add_post(PAGE_PATH + "/api/message", page.message)
    app.router.add_post(PAGE_PATH + "/api/document", page.document)
    app.router.add_post(PAGE_PATH + "/api/press", page.press)
    app.router.add_post(PAGE_PATH + "/api/inline", page.inline)
    app.router.add_post(PAGE_PATH + "/api/choose", page.choose)
    app.router.add_post(PAGE_PATH + "/api/readers", page.add_reader)
    app.router.add_get(PAGE_PATH + "/api/file/{file_id}", page.file)


def _static(name: str) -> bytes | None:
    if "/" in name or name.startswith(".") or not name.endswith(tuple(STATIC_TYPES)):
        return None
    try:
        return resources.files("bot.sandbox").joinpath("static", name).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None


class _Page:
    def __init__(self, telegram: SandboxTelegram) -> None:
        self.telegram = telegram

    async def index(self, request: web.Request) -> web.StreamResponse:
        return await self.static_file("index.html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        return await self.static_file(request.match_info["name"])

    async def static_file(self, name: str) -> web.StreamResponse:
        body = _static(name)
        if body is None:
            raise web.HTTPNotFound()
        kind = STATIC_TYPES[name[name.rindex(".") :]]
        return web.Response(
            body=body,
            content_type=kind,
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def state(self, request: web.Request) -> web.Response:
        telegram = self.telegram
        try:
            chat_id = int(request.query.get("chat") or ADMIN.id)
            since = int(request.query.get("since") or -1)
            timeout = min(MAX_POLL, float(request.query.get("timeout", MAX_POLL)))
        except ValueError:
            return _refused("chat, since and timeout are numbers")
        version = await telegram.changed(since, timeout)
        return web.json_response(
            {
                "version": version,
                "bot": {"username": telegram.username, "name": "خبر"},
                "admin": {"id": ADMIN.id, "name": ADMIN.first_name},
                "readers": [
                    {"id": user_id, "name": telegram.people[user_id].first_name}
                    for user_id in telegram.readers
                ],
                "group_admins": sorted(telegram.admins[GROUP_ID]),
                "chats": telegram.chats(),
                "chat": chat_id,
                "messages": telegram.view(chat_id),
            }
        )

    async def message(self, request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            user, chat_id = self._writer(body)
            text = str(body.get("text") or "").strip()
            if not text or len(text) > MAX_TEXT:
                raise Refused(f"a message is 1 to {MAX_TEXT} characters")
        except Refused as error:
            return _refused(str(error))
        await self.telegram.write(user, chat_id, text)
        return web.json_response({"ok": True})

    async def document(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        try:
            user, chat_id = self._writer(
                {"user_id": form.get("user_id"), "chat_id": form.get("chat_id")}
            )
            if not isinstance(upload, web.FileField):
                raise Refused("no file")
            content = upload.file.read(MAX_UPLOAD + 1)
            if len(content) > MAX_UPLOAD:
                raise Refused("at most 1 MB")
        except Refused as error:
            return _refused(str(error))
        caption = str(form.get("caption") or "").strip() or None
        await self.telegram.upload(user, chat_id, upload.filename, content, caption)
        return web.json_response({"ok": True})

    async def press(self, request: web.Request) -> web.Response:
        body = await _json(request)
        telegram = self.telegram
        try:
            user, chat_id = self._writer(body, channel=True)
            sent = telegram._by_id.get((chat_id, int(body.get("message_id") or 0)))
            if sent is None or sent.deleted:
                raise Refused("no such message")
            data = str(body.get("data") or "")
            if data not in {b.get("callback_data") for b in sent.buttons}:
                raise Refused("no such button")
        except (Refused, ValueError) as error:
            return _refused(str(error))
        query_id = await telegram.press(user, sent, data)
        answer = await _answered(telegram.callback_answers, query_id)
        if answer is None:
            return web.json_response({"error": "the bot did not answer"}, status=504)
        return web.json_response(
            {"text": answer.get("text") or "", "show_alert": bool(answer.get("show_alert"))}
        )

    async def inline(self, request: web.Request) -> web.Response:
        body = await _json(request)
        telegram = self.telegram
        try:
            user = self._person(body.get("user_id"))
        except Refused as error:
            return _refused(str(error))
        query = str(body.get("query") or "")[:256]
        query_id = await telegram.inline(user, query, str(body.get("offset") or ""))
        answer = await _answered(telegram.inline_answers, query_id)
        if answer is None:
            return web.json_response({"error": "the bot did not answer"}, status=504)
        return web.json_response(
            {
                "query_id": query_id,
                "next_offset": answer.get("next_offset") or "",
                "results": [
                    {
                        "id": str(result.get("id")),
                        "title": result.get("title") or "",
                        "description": result.get("description") or "",
                        "thumbnail_url": _thumbnail(result),
                    }
                    for result in answer.get("results", [])
                ],
            }
        )

    async def choose(self, request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            user, chat_id = self._writer(body)
            await self.telegram.choose(
                user, chat_id, str(body.get("query_id")), str(body.get("result_id"))
            )
        except (Refused, ValueError, KeyError) as error:
            return _refused(str(error) or "no such result")
        return web.json_response({"ok": True})

    async def add_reader(self, request: web.Request) -> web.Response:
        try:
            user = self.telegram.add_reader()
        except ValueError as error:
            return _refused(str(error))
        return web.json_response({"id": user.id, "name": user.first_name})

    async def file(self, request: web.Request) -> web.Response:
        stored = self.telegram.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored.content, content_type=_picture_type(stored.content))

    def _person(self, value: Any) -> User:
        try:
            user = self.telegram.people.get(int(value))
        except (TypeError, ValueError):
            user = None
        if user is None:
            raise Refused("no such person")
        return user

    def _writer(self, body: dict[str, Any], channel: bool = False) -> tuple[User, int]:
        """The person and a chat they are in: their private chat, the group (readers), the
        channel (buttons only)."""
        user = self._person(body.get("user_id"))
        try:
            chat_id = int(body.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise Refused("no such chat") from None
        member = chat_id == user.id or (chat_id == GROUP_ID and user.id in self.telegram.readers)
        if not (member or (channel and chat_id == CHANNEL_ID)):
            raise Refused(f"{user.first_name} is not in chat {chat_id}")
        return user, chat_id


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _answered(answers: dict[str, dict[str, Any]], query_id: str) -> dict[str, Any] | None:
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while query_id not in answers:
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.02)
    return answers[query_id]


def _picture_type(content: bytes) -> str:
    for signature, kind in _PICTURES:
        if content.startswith(signature):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


_PICTURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
)


def _thumbnail(result: dict[str, Any]) -> str | None:
    """What the page shows beside a result: its thumbnail, or a cached photo's picture."""
    if result.get("thumbnail_url"):
        return str(result["thumbnail_url"])
    if result.get("photo_file_id"):
        return f"{PAGE_PATH}/api/file/{result['photo_file_id']}"
    return None


def _refused(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)
