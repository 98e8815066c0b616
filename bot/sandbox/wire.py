"""The local Bot API's vocabulary: its errors, rate limits (token buckets, and the strict
server's sliding windows), what it keeps of the bot's messages and the users' files and
people, and the small helpers that read requests and write answers as Telegram does."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.formatting import utf16_len

TOKEN = "123456:TEST-token-for-the-fake-server"
BOT_ID = 123456
BOT_USERNAME = "khabar_test_bot"
MAX_INLINE_RESULTS = 50
MAX_CALLBACK_ANSWER = 200
MAX_INLINE_OFFSET = 64
MAX_DOWNLOAD = 20 * 1024 * 1024
"""Bots may download files up to 20 MB."""
TRUE = (True, "true", "True", "1")
PACED = frozenset({"sendmessage", "sendphoto", "editmessagetext", "editmessagereplymarkup"})
"""The methods a flood wait (429) stops: what sends or edits a message."""


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.parameters = parameters


@dataclass
class Bucket:
    """A token bucket: `capacity` at once, refilled at `rate` a second."""

    capacity: float
    rate: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> float:
        """0 when a token was taken, else the seconds until one is there."""
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens = self.capacity
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class Window:
    """A sliding window: at most `count` in any `seconds`. How a strict server counts: no
    burst gets through however the sender paces itself on average."""

    count: int
    seconds: float
    stamps: deque[float] = field(default_factory=deque)

    def take(self) -> float:
        """0 when it was let through (and counted), else the seconds until one would be."""
        now = time.monotonic()
        while self.stamps and now - self.stamps[0] >= self.seconds:
            self.stamps.popleft()
        if len(self.stamps) < self.count:
            self.stamps.append(now)
            return 0.0
        return self.seconds - (now - self.stamps[0])


STRICT_BOT = (30, 1.0)
"""The strict server's windows (`FakeTelegram(strict=True)`): 30 messages in any second for
the whole bot, 5 in any second to one private chat, 20 in any minute to a group or channel;
sends and edits alike."""
STRICT_PRIVATE = (5, 1.0)
STRICT_GROUP = (20, 60.0)
STRICT_PAID = (1000, 1.0)


@dataclass(frozen=True)
class Limits:
    """Telegram's rates (burst, per second); tests may tighten or loosen them."""

    global_burst: float = 30
    global_rate: float = 30
    private_burst: float = 5
    private_rate: float = 1
    group_burst: float = 20
    group_rate: float = 20 / 60
    paid_burst: float = 1000
    paid_rate: float = 1000
    """Bot-wide, for sendMessage with allow_paid_broadcast (instead of global_*)."""


@dataclass
class Sent:
    """A message the bot sent (or edited) in a chat, as the fake server keeps it; or one a
    user sent through the bot's inline mode (`FakeTelegram.chosen`)."""

    message_id: int
    chat_id: int
    text: str
    """The visible text (HTML tags and entities resolved)."""
    html: str | None
    reply_markup: dict[str, Any] | None
    payload: dict[str, Any]
    deleted: bool = False
    edits: int = 0
    photo: str | None = None
    """A photo message's picture: the URL or file_id it was sent with, or the file_id of an
    upload (in `files`); its caption is `text` / `html`."""

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class StoredFile:
    """A file a user sent; the bot gets it with getFile and downloads it."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


@dataclass
class User:
    id: int
    first_name: str = "کاربر"
    username: str | None = None
    language_code: str = "fa"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            data["username"] = self.username
        return data


def error_answer(
    code: int,
    description: str,
    retry_after: int | None = None,
    parameters: dict[str, Any] | None = None,
) -> web.Response:
    """Telegram's error answer; `parameters` (and retry_after) as its ResponseParameters."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    extra = dict(parameters or {})
    if retry_after is not None:
        extra["retry_after"] = retry_after
    if extra:
        body["parameters"] = extra
    return web.json_response(body, status=code)


def command_entities(text: str) -> list[dict[str, Any]]:
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])}]


JSON_FIELDS = (
    "reply_markup",
    "rich_message",
    "entities",
    "results",
    "commands",
    "link_preview_options",
    "reply_parameters",
    "allowed_updates",
    "button",
    "scope",
)


async def read_params(request: web.Request) -> dict[str, Any]:
    """The method's parameters, from a JSON body, a form, or the query string; fields that
    hold objects arrive JSON-encoded in forms, as with Telegram."""
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        # Uploads (sendPhoto's photo): their bytes.
        params.update({k: v.file.read() for k, v in form.items() if isinstance(v, web.FileField)})
    for name in JSON_FIELDS:
        if isinstance(params.get(name), str):
            try:
                params[name] = json.loads(params[name])
            except json.JSONDecodeError:
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return params


def check_markup(markup: Any) -> None:
    if markup is None:
        return
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            if not str(button.get("text") or "").strip():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            kinds = {
                "url",
                "callback_data",
                "switch_inline_query",
                "switch_inline_query_current_chat",
                "login_url",
                "copy_text",
            }
            if not kinds & button.keys():
                raise ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
            url = button.get("url")
            if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
