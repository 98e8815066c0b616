"""A local Telegram Bot API server (aiohttp) that behaves like Telegram where khabar can tell:
the sandbox's Telegram (`khabar sandbox`) and the tests' (tests/support/fake_telegram.py).

Point the bot at it with KHABAR_BOT_API_URL=http://HOST:PORT/bot. It validates every text the
bot sends (HTML parse mode and entities, lengths: bot/sandbox/formatting.py) and answers 400 with
Telegram's own descriptions; it enforces the bot-wide and per-chat rates with 429 and
retry_after (sendMessage with allow_paid_broadcast against a separate, higher bot-wide
rate); it answers 403 for chats marked as blocked, and 400 with migrate_to_chat_id for a group
upgraded to a supergroup. Channels are addressed by "@username" once registered. Users are
simulated through the control API, in Python (the `FakeTelegram` methods) or over HTTP under
/control/ (for manual testing and benchmarks: `python -m bot.sandbox.botapi --port 8081`).
What the bot did is kept for the tests: the messages per chat, a log of every successful send
(`send_log`, `max_rate`, `duplicates`), counters.

Methods: getMe, getUpdates (long polling, offset, limit, timeout), sendMessage, sendPhoto
(by URL or file_id, kept as given, or by upload; the caption checked as Telegram does),
editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery,
answerInlineQuery, setMyCommands, getMyCommands, deleteWebhook, setWebhook, getWebhookInfo,
getChatMember, sendChatAction, getFile, close, logOut; and file downloads from
/file/bot<token>/<file_path>.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import math
import posixpath
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from aiohttp import web

from bot.sandbox.formatting import TelegramError, check_message, utf16_len
from bot.sandbox.media import edit_rich_message, resolve_photo, send_rich_message

TOKEN = "123456:TEST-token-for-the-fake-server"
BOT_ID = 123456
BOT_USERNAME = "khabar_test_bot"
MAX_INLINE_RESULTS = 50
MAX_CALLBACK_ANSWER = 200
MAX_INLINE_OFFSET = 64
MAX_DOWNLOAD = 20 * 1024 * 1024
"""Bots may download files up to 20 MB."""
_TRUE = (True, "true", "True", "1")
_PACED = frozenset({"sendmessage", "sendphoto", "editmessagetext", "editmessagereplymarkup"})
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
    """A message the bot sent (or edited) in a chat, as the fake server keeps it."""

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


class FakeTelegram:
    """The server's state and behaviour; `app` serves it."""

    def __init__(
        self, limits: Limits | None = None, token: str = TOKEN, *, strict: bool = False
    ) -> None:
        self.token = token
        self.username = BOT_USERNAME
        """The bot's username (getMe), without the @."""
        self.limits = limits or Limits()
        self.strict = strict
        """Sliding windows (STRICT_*) instead of token buckets, and edits paced too."""
        self._windows: dict[int | str, Window] = {}
        self.outage_until = 0.0
        """Until then (time.monotonic()) every method answers 502 from a proxy, not JSON."""
        self.flood_until = 0.0
        """Until then every send and edit answers 429 with the time left as retry_after."""
        self.stall_until = 0.0
        """Until then requests are carried out but not answered (the answer comes after)."""
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._inline_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._new_update = asyncio.Condition()
        self._poll_generation = 0
        self.conflicts = 0
        """getUpdates requests ended by a newer one: two pollers at once (or a dead one's)."""
        self.messages: dict[int, list[Sent]] = defaultdict(list)
        self._by_id: dict[tuple[int, int], Sent] = {}
        self.chat_types: dict[int, str] = {}
        self.usernames: dict[str, int] = {}
        """Registered chat usernames (lower case, without "@") and their chat ids."""
        self._channel_names: dict[int, str] = {}
        self.migrated: dict[int, int] = {}
        """Groups upgraded to supergroups: old chat id -> new chat id."""
        self.blocked: set[int] = set()
        self.admins: dict[int, set[int]] = defaultdict(set)
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.commands: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] = {"url": ""}
        self.errors: list[tuple[str, str]] = []
        """(method, description) of every request answered with an error other than 429."""
        self.rate_limited = 0
        self.outage_answers = 0
        self.failing: dict[int, int] = {}
        """chat → how many more sendMessage calls to it fail with 502 Bad Gateway (a proxy
        or network fault between the bot and Telegram)."""
        self.limited_log: list[tuple[float, int]] = []
        """(time.monotonic(), retry_after) of every 429 answered."""
        self.paid_sent = 0
        """Successful sendMessage calls with allow_paid_broadcast."""
        self.deleted = 0
        """Messages the bot deleted."""
        self.send_log: list[tuple[float, int]] = []
        """(time.monotonic(), chat_id) of every successful sendMessage, in order."""
        self._copies: Counter[tuple[int, str]] = Counter()
        self._duplicates: Counter[int] = Counter()
        self.files: dict[str, StoredFile] = {}
        """Files users sent, by file_id."""
        self._files_by_path: dict[str, StoredFile] = {}
        self.downloads = 0
        self.photo_sources: Counter[str] = Counter()
        """How each photo sent came: "url" (fetched), "upload", "file_id" (bot/sandbox/media.py)."""
        self.calls: Counter[str] = Counter()
        self._global = Bucket(self.limits.global_burst, self.limits.global_rate)
        self._paid = Bucket(self.limits.paid_burst, self.limits.paid_rate)
        self._per_chat: dict[int, Bucket] = {}
        self._sent_event: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self._handlers = self._methods()
        self.app = self._build_app()

    # Chats the bot knows of (without any update) -------------------------------------------
    def add_private_chats(self, ids: Iterable[int]) -> None:
        """Users who have started the bot (e.g. subscribers from before), all at once."""
        self.chat_types.update(dict.fromkeys(ids, "private"))

    def add_group(self, chat_id: int, kind: str = "supergroup") -> None:
        """A group ("group" or "supergroup") the bot is a member of."""
        self.chat_types[chat_id] = kind

    def add_channel(self, username: str, chat_id: int) -> None:
        """A channel (a negative id, e.g. -1001234) the bot may post in, also by "@username"."""
        self.chat_types[chat_id] = "channel"
        self._channel_names[chat_id] = username.removeprefix("@")
        self.usernames[username.removeprefix("@").lower()] = chat_id

    def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group becomes a supergroup: the old id now answers 400 with migrate_to_chat_id;
        the new one is a known supergroup, with the old one's admins."""
        self.migrated[old_chat_id] = new_chat_id
        self.chat_types[new_chat_id] = "supergroup"
        self.admins[new_chat_id] |= self.admins.get(old_chat_id, set())

    # Users (the control side) ---------------------------------------------------------------
    def _chat(self, chat_id: int, kind: str | None, user: User) -> dict[str, Any]:
        kind = kind or self.chat_types.get(chat_id) or ("private" if chat_id > 0 else "group")
        self.chat_types[chat_id] = kind
        if kind == "private":
            return {"id": chat_id, "type": kind, "first_name": user.first_name}
        return self._chat_dict(chat_id)

    def _chat_dict(self, chat_id: int) -> dict[str, Any]:
        kind = self.chat_types.get(chat_id, "private")
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind != "private":
            chat["title"] = f"گروه {abs(chat_id)}" if kind != "channel" else f"کانال {chat_id}"
        if kind == "channel" and chat_id in self._channel_names:
            chat["username"] = self._channel_names[chat_id]
        return chat

    def _user_message(
        self,
        user: User | int,
        chat_id: int | None,
        chat_type: str | None,
        reply_to: Sent | dict[str, Any] | None,
    ) -> dict[str, Any]:
        user = user if isinstance(user, User) else User(user)
        chat_id = user.id if chat_id is None else chat_id
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "from": user.as_dict(),
            "chat": self._chat(chat_id, chat_type, user),
            "date": int(time.time()),
        }
        if isinstance(reply_to, Sent):
            message["reply_to_message"] = self._message_dict(reply_to)
        elif reply_to is not None:  # as Telegram: a reply's reply is not nested any further
            message["reply_to_message"] = {
                k: v for k, v in reply_to.items() if k != "reply_to_message"
            }
        return message

    async def send_text(
        self,
        user: User | int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str | None = None,
        reply_to: Sent | dict[str, Any] | None = None,
        via_bot: bool = False,
    ) -> dict[str, Any]:
        """A user writes `text` in a chat (their private chat with the bot by default),
        optionally as a reply to a message the bot sent (a `Sent`) or to a user's message (as
        `send_text` or `send_document` returned it); `via_bot`: an inline result of the bot
        the user chose, which Telegram posts as the user's message "via @bot"."""
        message = self._user_message(user, chat_id, chat_type, reply_to)
        message["text"] = text
        if via_bot:
            message["via_bot"] = await self._get_me({})
        if text.startswith("/"):
            message["entities"] = _command_entities(text)
        await self._push({"message": message})
        return message

    async def send_document(
        self,
        user: User | int,
        file_name: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "text/plain",
        chat_id: int | None = None,
        chat_type: str | None = None,
        reply_to: Sent | dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user sends a file (with a caption, maybe as a reply, as `send_text`); the bot
        gets it with getFile and downloads it from /file/bot<token>/<file_path>."""
        message = self._user_message(user, chat_id, chat_type, reply_to)
        stored = self._store_file(file_name, content)
        message["document"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        if caption is not None:
            message["caption"] = caption
            if caption.startswith("/"):
                message["caption_entities"] = _command_entities(caption)
        await self._push({"message": message})
        return message

    def _store_file(self, file_name: str, content: bytes, folder: str = "documents") -> StoredFile:
        number = next(self._file_ids)
        stored = StoredFile(
            file_id=f"BQACAgQAAxkBAAI{number:08d}",
            file_unique_id=f"AgAD{number:08d}",
            file_path=f"{folder}/file_{number}{posixpath.splitext(file_name)[1]}",
            content=content,
        )
        self.files[stored.file_id] = self._files_by_path[stored.file_path] = stored
        return stored

    async def press(self, user: User | int, sent: Sent, data: str) -> str:
        """A user presses an inline button (callback data `data`) under a message the bot sent;
        returns the callback query's id (see `callback_answers`)."""
        user = user if isinstance(user, User) else User(user)
        query_id = str(next(self._callback_ids))
        message = {
            "message_id": sent.message_id,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "خبر", "username": self.username},
            "chat": self._chat(sent.chat_id, None, user),
            "date": int(time.time()),
            "text": sent.text,
        }
        await self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.as_dict(),
                    "message": message,
                    "chat_instance": str(sent.chat_id),
                    "data": data,
                }
            }
        )
        return query_id

    async def inline(self, user: User | int, query: str, offset: str = "") -> str:
        """A user types `@bot query`; returns the inline query's id (see `inline_answers`)."""
        user = user if isinstance(user, User) else User(user)
        query_id = str(next(self._inline_ids))
        await self._push(
            {
                "inline_query": {
                    "id": query_id,
                    "from": user.as_dict(),
                    "query": query,
                    "offset": offset,
                }
            }
        )
        return query_id

    async def _push(self, update: dict[str, Any]) -> None:
        async with self._new_update:
            self._updates.append({"update_id": next(self._update_ids), **update})
            self._new_update.notify_all()

    # Reading what the bot did ---------------------------------------------------------------
    def chat(self, chat_id: int) -> list[Sent]:
        """What the bot has in a chat now, oldest first (deleted messages left out)."""
        return [sent for sent in self.messages[chat_id] if not sent.deleted]

    def deleted_in(self, chat_id: int) -> list[Sent]:
        """The bot's messages in a chat that it deleted, oldest first."""
        return [sent for sent in self.messages.get(chat_id, []) if sent.deleted]

    def max_rate(self, window: float = 1.0) -> float:
        """The most successful sendMessage calls in any `window` seconds, per second."""
        if window <= 0:
            raise ValueError("the window must be positive")
        most, first, log = 0, 0, self.send_log
        for last, (stamp, _) in enumerate(log):
            while stamp - log[first][0] >= window:
                first += 1
            most = max(most, last - first + 1)
        return most / window

    def duplicates(self) -> dict[int, int]:
        """Chats where the bot sent the same text more than once: chat id -> extra copies."""
        return {chat_id: extra for chat_id, extra in self._duplicates.items() if extra}

    async def wait_for(
        self, chat_id: int, count: int = 1, timeout: float = 5.0, after: int | None = None
    ) -> list[Sent]:
        """Wait until the bot has sent `count` more messages to the chat than it had when
        called (or than `after`); returns the new ones."""
        start = len(self.messages[chat_id]) if after is None else after
        deadline = time.monotonic() + timeout
        while len(self.messages[chat_id]) < start + count:
            event = self._sent_event[chat_id]
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"chat {chat_id}: {len(self.messages[chat_id]) - start} of {count} messages"
                )
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                continue
        return self.messages[chat_id][start:]

    async def wait_until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("the condition never held")
            await asyncio.sleep(0.01)

    # The Bot API ----------------------------------------------------------------------------
    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
        app.router.add_post("/control/message", self._control_message)
        app.router.add_post("/control/inline", self._control_inline)
        app.router.add_post("/control/press", self._control_press)
        app.router.add_post("/control/block", self._control_block)
        app.router.add_get("/control/chats/{chat_id}", self._control_chat)
        app.router.add_get("/control/inline/{query_id}", self._control_inline_answer)
        app.router.add_post("/control/subscribers", self._control_subscribers)
        app.router.add_get("/control/stats", self._control_stats)
        return app

    # Faults (a proxy failing, a flood wait, a stall) -----------------------------------------
    def fail_all(self, seconds: float) -> None:
        """For `seconds` from now every request gets 502 Bad Gateway as a proxy sends it."""
        self.outage_until = time.monotonic() + seconds

    def flood(self, seconds: float) -> None:
        """For `seconds` from now every send and edit gets 429 with retry_after = time left."""
        self.flood_until = time.monotonic() + seconds

    def stall(self, seconds: float) -> None:
        """For `seconds` from now requests are carried out, their answers held until then."""
        self.stall_until = time.monotonic() + seconds

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[method.lower()] += 1
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        handler = self._handlers.get(method.lower())
        if handler is None:
            return _error(404, "Not Found: method not found")
        if time.monotonic() < self.outage_until:
            self.outage_answers += 1
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        stalled = self.stall_until - time.monotonic()
        try:
            params = await _params(request)
            if method.lower() in _PACED and time.monotonic() < self.flood_until:
                left = math.ceil(self.flood_until - time.monotonic())
                self.limited_log.append((time.monotonic(), left))
                raise ApiError(429, f"Too Many Requests: retry after {left}", retry_after=left)
            result = await handler(params)
            if stalled > 0 and method.lower() != "getupdates":
                await asyncio.sleep(stalled)
            return web.json_response({"ok": True, "result": result})
        except ApiError as error:
            if error.code == 429:
                self.rate_limited += 1
            elif error.code != 409:
                self.errors.append((method, error.description))
            return _error(error.code, error.description, error.retry_after, error.parameters)

    async def _download(self, request: web.Request) -> web.Response:
        stored = self._files_by_path.get(request.match_info["file_path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.Response(status=404, text="Not Found")
        self.downloads += 1
        return web.Response(body=stored.content, content_type="application/octet-stream")

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "sendrichmessage": functools.partial(send_rich_message, self),
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "answerinlinequery": self._answer_inline_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getchatmember": self._get_chat_member,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
            "close": self._true,
            "logout": self._true,
        }

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "خبر",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(100, int(params.get("limit") or 100))
        timeout = float(params.get("timeout") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        mine = self._poll_generation
        async with self._new_update:
            self._new_update.notify_all()  # as Telegram: a new poll ends the one before it
            deadline = time.monotonic() + timeout
            while not self._updates and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
                if self._poll_generation != mine:
                    self.conflicts += 1
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
        return self._updates[:limit]

    def _chat_id(self, params: dict[str, Any]) -> int:
        """The numeric chat id, also for a registered "@username"."""
        value = params.get("chat_id")
        if isinstance(value, str) and value.startswith("@"):
            chat_id = self.usernames.get(value[1:].lower())
            if chat_id is None:
                raise ApiError(400, "Bad Request: chat not found")
            return chat_id
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None

    def _check_migrated(self, chat_id: int) -> None:
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                parameters={"migrate_to_chat_id": self.migrated[chat_id]},
            )

    def _check_chat(self, chat_id: int) -> None:
        self._check_migrated(chat_id)
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self.chat_types:
            raise ApiError(400, "Bad Request: chat not found")

    def _pace(self, chat_id: int, paid: bool = False) -> None:
        """429 when the bot goes over the bot-wide (the paid one for a paid broadcast) or the
        chat's rate."""
        private = self.chat_types.get(chat_id) == "private"
        if self.strict:
            self._pace_strictly(chat_id, private, paid)
            return
        bucket = self._per_chat.get(chat_id)
        if bucket is None:
            limits = self.limits
            bucket = self._per_chat[chat_id] = (
                Bucket(limits.private_burst, limits.private_rate)
                if private
                else Bucket(limits.group_burst, limits.group_rate)
            )
        for wait in ((self._paid if paid else self._global).take(), bucket.take()):
            if wait:
                retry_after = max(1, round(wait))
                self.limited_log.append((time.monotonic(), retry_after))
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )

    def _pace_strictly(self, chat_id: int, private: bool, paid: bool) -> None:
        bot = "paid" if paid else "bot"
        if bot not in self._windows:
            self._windows[bot] = Window(*(STRICT_PAID if paid else STRICT_BOT))
        if chat_id not in self._windows:
            self._windows[chat_id] = Window(*(STRICT_PRIVATE if private else STRICT_GROUP))
        for window in (self._windows[bot], self._windows[chat_id]):
            if wait := window.take():
                retry_after = max(1, math.ceil(wait))
                self.limited_log.append((time.monotonic(), retry_after))
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )

    def _validate(self, params: dict[str, Any]) -> str:
        try:
            parsed = check_message(params)
        except TelegramError as error:
            raise ApiError(400, str(error)) from None
        _check_markup(params.get("reply_markup"))
        return parsed.text

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        if self.failing.get(chat_id):
            self.failing[chat_id] -= 1
            raise ApiError(502, "Bad Gateway")
        self._check_chat(chat_id)
        text = self._validate(params)
        paid = params.get("allow_paid_broadcast") in _TRUE
        self._pace(chat_id, paid)
        sent = Sent(
            message_id=next(self._message_ids[chat_id]),
            chat_id=chat_id,
            text=text,
            html=params["text"] if params.get("parse_mode") else None,
            reply_markup=params.get("reply_markup"),
            payload=params,
        )
        self.messages[chat_id].append(sent)
        self._by_id[chat_id, sent.message_id] = sent
        self.send_log.append((time.monotonic(), chat_id))
        if paid:
            self.paid_sent += 1
        copies = self._copies[chat_id, text]
        self._copies[chat_id, text] = copies + 1
        if copies:
            self._duplicates[chat_id] += 1
        event = self._sent_event.get(chat_id)
        if event is not None:
            event.set()
        return self._message_dict(sent)

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        self._check_chat(chat_id)
        photo = await resolve_photo(self, params.get("photo"), chat_id)  # bot/sandbox/media.py
        text, html = "", None
        if params.get("caption"):
            try:
                parsed = check_message(
                    {
                        "caption": params["caption"],
                        "parse_mode": params.get("parse_mode"),
                        "entities": params.get("caption_entities"),
                    },
                    caption=True,
                )
            except TelegramError as error:
                raise ApiError(400, str(error)) from None
            text = parsed.text
            html = params["caption"] if params.get("parse_mode") else None
        _check_markup(params.get("reply_markup"))
        self._pace(chat_id, params.get("allow_paid_broadcast") in _TRUE)
        sent = Sent(
            message_id=next(self._message_ids[chat_id]),
            chat_id=chat_id,
            text=text,
            html=html,
            reply_markup=params.get("reply_markup"),
            payload={k: v for k, v in params.items() if not isinstance(v, bytes)},
            photo=photo,
        )
        self.messages[chat_id].append(sent)
        self._by_id[chat_id, sent.message_id] = sent
        self.send_log.append((time.monotonic(), chat_id))
        event = self._sent_event.get(chat_id)
        if event is not None:
            event.set()
        return self._message_dict(sent)

    def _find(self, params: dict[str, Any]) -> Sent:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: inline messages are not kept by the fake server")
        chat_id = self._chat_id(params)
        try:
            message_id = int(params.get("message_id") or 0)
        except (TypeError, ValueError):
            message_id = 0
        sent = self._by_id.get((chat_id, message_id))
        if sent is None or sent.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        return sent

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("rich_message") is not None:
            return await edit_rich_message(self, params)
        sent = self._find(params)
        text = self._validate(params)
        if self.strict:
            self._pace(sent.chat_id)
        markup = params.get("reply_markup")
        if text == sent.text and markup == sent.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current "
                "content and reply markup of the message",
            )
        sent.text, sent.html, sent.reply_markup = (
            text,
            params["text"] if params.get("parse_mode") else None,
            markup,
        )
        sent.payload, sent.edits = params, sent.edits + 1
        self._sent_event[sent.chat_id].set()
        return self._message_dict(sent)

    async def _edit_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._find(params)
        markup = params.get("reply_markup")
        _check_markup(markup)
        if markup == sent.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        if self.strict:
            self._pace(sent.chat_id)
        sent.reply_markup, sent.edits = markup, sent.edits + 1
        return self._message_dict(sent)

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        try:
            sent = self._find(params)
        except ApiError:
            raise ApiError(400, "Bad Request: message to delete not found") from None
        sent.deleted = True
        self.deleted += 1
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id in self.callback_answers:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = params
        return True

    async def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("inline_query_id") or "")
        if query_id in self.inline_answers:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
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
            content = result.get("input_message_content")
            if result.get("type") != "article" or not isinstance(content, dict):
                raise ApiError(400, "Bad Request: only article results are supported here")
            if not result.get("title"):
                raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
            try:
                check_message(
                    {
                        "text": content.get("message_text"),
                        "parse_mode": content.get("parse_mode"),
                        "entities": content.get("entities"),
                    }
                )
            except TelegramError as error:
                raise ApiError(400, str(error)) from None
            _check_markup(result.get("reply_markup"))
        self.inline_answers[query_id] = params
        return True

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands are invalid")
        for command in commands:
            name = str(command.get("command") or "")
            if not (
                1 <= len(name) <= 32
                and name.islower()
                and name.replace("_", "").isalnum()
                and name.isascii()
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": ""}
        return True

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        self.webhook = dict(params)
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = self._chat_id(params), int(params.get("user_id") or 0)
        self._check_migrated(chat_id)
        if chat_id not in self.chat_types:
            raise ApiError(400, "Bad Request: chat not found")
        status = "administrator" if user_id in self.admins[chat_id] else "member"
        if self.chat_types[chat_id] == "private" and user_id == chat_id:
            status = "member"
        return {
            "status": status,
            "user": User(user_id).as_dict(),
            **(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                }
                if status == "administrator"
                else {}
            ),
        }

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._check_chat(self._chat_id(params))
        return True

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.as_dict()

    def _message_dict(self, sent: Sent) -> dict[str, Any]:
        chat = self._chat_dict(sent.chat_id)
        message: dict[str, Any] = {"message_id": sent.message_id}
        if chat["type"] == "channel":  # a channel post: signed by the channel, from no one
            message["sender_chat"] = chat
        else:
            message["from"] = {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "خبر",
                "username": self.username,
            }
        message.update(chat=chat, date=int(time.time()))
        if sent.photo is None:
            message["text"] = sent.text
        else:
            stored = self.files.get(sent.photo)
            message["caption"] = sent.text
            message["photo"] = [
                {
                    "file_id": sent.photo,
                    "file_unique_id": stored.file_unique_id if stored else f"AQAD{sent.photo[-8:]}",
                    "width": 1280,
                    "height": 720,
                }
            ]
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return message

    # The control API over HTTP --------------------------------------------------------------
    async def _control_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        message = await self.send_text(
            User(int(body["user_id"])),
            str(body["text"]),
            chat_id=body.get("chat_id"),
            chat_type=body.get("chat_type"),
        )
        return web.json_response(message)

    async def _control_inline(self, request: web.Request) -> web.Response:
        body = await request.json()
        query_id = await self.inline(
            int(body["user_id"]), str(body.get("query", "")), str(body.get("offset", ""))
        )
        return web.json_response({"id": query_id})

    async def _control_press(self, request: web.Request) -> web.Response:
        body = await request.json()
        sent = self._by_id.get((int(body["chat_id"]), int(body["message_id"])))
        if sent is None:
            return web.json_response({"error": "no such message"}, status=404)
        query_id = await self.press(int(body["user_id"]), sent, str(body["data"]))
        return web.json_response({"id": query_id})

    async def _control_block(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.blocked.add(int(body["chat_id"]))
        return web.json_response({"ok": True})

    async def _control_chat(self, request: web.Request) -> web.Response:
        """The bot's messages in a chat; with ?after=N&count=K, first wait (up to ?timeout=
        seconds) until it has sent K messages after the first N."""
        chat_id = int(request.match_info["chat_id"])
        if "count" in request.query:
            try:
                await self.wait_for(
                    chat_id,
                    int(request.query["count"]),
                    float(request.query.get("timeout", 10)),
                    after=int(request.query.get("after", 0)),
                )
            except TimeoutError as error:
                return web.json_response({"error": str(error)}, status=408)
        return web.json_response(
            [
                {
                    "message_id": s.message_id,
                    "text": s.text,
                    "html": s.html,
                    "reply_markup": s.reply_markup,
                    "edits": s.edits,
                }
                for s in self.chat(chat_id)
            ]
        )

    async def _control_inline_answer(self, request: web.Request) -> web.Response:
        answer = self.inline_answers.get(request.match_info["query_id"])
        return web.json_response(answer) if answer else web.json_response({}, status=404)

    async def _control_subscribers(self, request: web.Request) -> web.Response:
        """Private chats first..first+count-1 at once, every `blocked_every`th blocked."""
        body = await request.json()
        first, count = int(body["first"]), int(body["count"])
        every = int(body.get("blocked_every") or 0)
        ids = range(first, first + count)
        self.add_private_chats(ids)
        blocked = ids[every - 1 :: every] if every > 0 else range(0)
        self.blocked.update(blocked)
        return web.json_response({"registered": len(ids), "blocked": len(blocked)})

    async def _control_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    def stats(self) -> dict[str, Any]:
        """What GET /control/stats answers; `reached`: chats with at least one message, `span`:
        seconds from the first message sent to the last."""
        return {
            "sent": len(self.send_log),
            "rate_limited": self.rate_limited,
            "errors": len(self.errors),
            "paid_sent": self.paid_sent,
            "duplicates": sum(self._duplicates.values()),
            "max_rate": self.max_rate(1.0),
            "deleted": self.deleted,
            "reached": len({chat for _, chat in self.send_log}),
            "span": self.send_log[-1][0] - self.send_log[0][0] if self.send_log else 0.0,
        }


def _error(
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


def _command_entities(text: str) -> list[dict[str, Any]]:
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])}]


_JSON_FIELDS = (
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


async def _params(request: web.Request) -> dict[str, Any]:
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
    for name in _JSON_FIELDS:
        if isinstance(params.get(name), str):
            try:
                params[name] = json.loads(params[name])
            except json.JSONDecodeError:
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return params


def _check_markup(markup: Any) -> None:
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


async def serve(
    telegram: FakeTelegram, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Start the server; returns the runner (to clean up) and the Bot API base URL for
    KHABAR_BOT_API_URL (http://host:port/bot)."""
    runner = web.AppRunner(telegram.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, f"http://{host}:{bound}/bot"


def main() -> None:
    parser = argparse.ArgumentParser(description="The fake Bot API server, on its own.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--no-limits", action="store_true", help="no 429s: measure the bot, not Telegram's rates"
    )
    parser.add_argument(
        "--strict", action="store_true", help="Telegram's limits as sliding windows (STRICT_*)"
    )
    args = parser.parse_args()
    unlimited = Limits(*(1e9,) * len(fields(Limits))) if args.no_limits else None
    telegram = FakeTelegram(unlimited, strict=args.strict)
    print(
        f"KHABAR_BOT_API_URL=http://{args.host}:{args.port}/bot KHABAR_BOT_TOKEN={TOKEN}",
        flush=True,
    )
    web.run_app(telegram.app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
