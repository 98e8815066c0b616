"""The local Bot API's state and its control side: the chats it knows, users writing,
pressing buttons and typing inline queries (in Python, or over HTTP under /control/), and
what the bot did, for the tests and the sandbox's page. The Bot API methods are in
bot/sandbox/botapi.py."""

from __future__ import annotations

import asyncio
import itertools
import posixpath
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from bot.sandbox.wire import (
    BOT_ID,
    BOT_USERNAME,
    TOKEN,
    Bucket,
    Limits,
    Sent,
    StoredFile,
    User,
    Window,
    command_entities,
)


class BotState:
    """What the local Bot API knows (chats, messages, updates, files, counters) and the
    control side that plays the users and reads what the bot did; `FakeTelegram` adds the
    Bot API itself."""

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

    def bot_user(self) -> dict[str, Any]:
        """The bot as getMe describes it."""
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "خبر",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

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
            message["via_bot"] = self.bot_user()
        if text.startswith("/"):
            message["entities"] = command_entities(text)
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
                message["caption_entities"] = command_entities(caption)
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
