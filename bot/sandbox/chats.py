"""The sandbox's Telegram: the local Bot API (`FakeTelegram`, strict as Telegram counts) with
the people and chats of a newsroom, and what the web chat needs on top: every chat as a
timeline (the users' own messages between the bot's), a version that changes with anything
the page shows, and waiting for it (the page long-polls).

The people: readers (three, more on demand), the newsroom's admin (in KHABAR_ADMIN_IDS for
the sandbox), a group the readers share (the first reader is its admin) and the newsroom's
channel. Everything lives in this process: a page reload or a second tab sees the same chats;
a restart of the sandbox starts them empty (the Redis keeps subscriptions, the chats are
known again at start so deliveries reach them).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.botapi import FakeTelegram
from bot.sandbox.formatting import Parsed, TelegramError, check_message
from bot.sandbox.wire import TOKEN, Sent, User

ADMIN = User(900001, "دبیر خبر", "sardabir")
READERS = (User(900101, "مریم", "maryam"), User(900102, "علی", "ali"), User(900103, "سارا"))
GROUP_ID = -1009000000001
GROUP_TITLE = "خبرخوان‌های محله"
CHANNEL_ID = -1009000000002
CHANNEL_USERNAME = "khabar_sandbox"
CHANNEL_TITLE = "کانال خبر"
BOT_USERNAME = "khabar_sandbox_bot"
READER_NAMES = ("نگار", "رضا", "پریسا", "حسین", "لیلا", "امید", "مهسا", "کاوه")
"""Names of the readers added from the page, in turn."""
MAX_READERS = 20


_SHOWN = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "sendrichmessage",
        "editmessagetext",
        "editmessagereplymarkup",
        "deletemessage",
    }
)
"""The Bot API methods that change what the page shows."""


@dataclass
class UserMessage:
    """A message a person wrote (or sent through the bot's inline mode) in a chat."""

    seq: int
    position: int
    """How many of the bot's messages the chat had when it was written: it shows after
    them."""
    user: User
    message_id: int
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    via_bot: bool = False
    file_name: str | None = None
    photo: str | None = None
    """The file_id of the message's photo (an inline photo result chosen)."""


class SandboxTelegram(FakeTelegram):
    """The local Bot API with the sandbox's people, and the page's view of it."""

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__(token=token, strict=True)
        self.username = BOT_USERNAME
        self.version = 0
        self._changed = asyncio.Event()
        self._seq = itertools.count(1)
        self.people: dict[int, User] = {ADMIN.id: ADMIN}
        self.readers: list[int] = []
        self.timeline: dict[int, list[UserMessage]] = {}
        self.last_answer: dict[str, dict[str, Any]] = {}
        """Callback answers by query id (what the page shows after a press)."""
        for reader in READERS:
            self.add_reader(reader)
        # Readers added in an earlier run may still be subscribed (Redis keeps them): their
        # chats stay known, so a delivery reaches them rather than unsubscribing them.
        self.add_private_chats(range(READERS[0].id, READERS[0].id + MAX_READERS))
        self.add_private_chats([ADMIN.id])
        self.add_group(GROUP_ID)
        self.admins[GROUP_ID].add(READERS[0].id)
        self.add_channel("@" + CHANNEL_USERNAME, CHANNEL_ID)

    # People ------------------------------------------------------------------------------
    def add_reader(self, user: User | None = None) -> User:
        """A reader (the next sandbox name when none is given), with a private chat."""
        if user is None:
            if len(self.readers) >= MAX_READERS:
                raise ValueError(f"at most {MAX_READERS} readers")
            number = len(self.readers) - len(READERS)
            name = READER_NAMES[number % len(READER_NAMES)]
            user = User(max(self.readers) + 1, name)
        self.people[user.id] = user
        self.readers.append(user.id)
        self.add_private_chats([user.id])
        self.touch()
        return user

    def chats(self) -> list[dict[str, Any]]:
        """Every chat the page lists: kind, title, who may write there."""
        found: list[dict[str, Any]] = [
            {"id": user_id, "kind": "private", "title": self.people[user_id].first_name}
            for user_id in self.readers
        ]
        found.append({"id": GROUP_ID, "kind": "group", "title": GROUP_TITLE})
        found.append(
            {
                "id": CHANNEL_ID,
                "kind": "channel",
                "title": CHANNEL_TITLE,
                "username": CHANNEL_USERNAME,
            }
        )
        found.append({"id": ADMIN.id, "kind": "admin", "title": ADMIN.first_name})
        for chat in found:
            messages = self.view(int(chat["id"]))
            chat["count"] = len(messages)
            chat["last"] = messages[-1]["text"][:80] if messages else ""
        return found

    def _chat_dict(self, chat_id: int) -> dict[str, Any]:
        chat = super()._chat_dict(chat_id)
        if chat_id == GROUP_ID:
            chat["title"] = GROUP_TITLE
        elif chat_id == CHANNEL_ID:
            chat["title"] = CHANNEL_TITLE
        return chat

    # What the page shows, and when it changes ------------------------------------------------
    def touch(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, since: int, timeout: float) -> int:
        """The version, once it is past `since` or `timeout` seconds have gone."""
        if self.version == since:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
        return self.version

    def view(self, chat_id: int) -> list[dict[str, Any]]:
        """The chat as its members see it, oldest first: the bot's messages (deleted ones
        gone) and the people's, in the order they were sent."""
        written = sorted(self.timeline.get(chat_id, []), key=lambda m: (m.position, m.seq))
        shown: list[dict[str, Any]] = []
        mine = iter(written)
        pending = next(mine, None)
        for position, sent in enumerate(self.messages.get(chat_id, [])):
            while pending is not None and pending.position <= position:
                shown.append(_user_view(pending))
                pending = next(mine, None)
            if not sent.deleted:
                shown.append(self._bot_view(sent))
        while pending is not None:
            shown.append(_user_view(pending))
            pending = next(mine, None)
        return shown

    def _bot_view(self, sent: Sent) -> dict[str, Any]:
        parsed = _parsed(sent)
        view: dict[str, Any] = {
            "key": f"b{sent.message_id}",
            "from": "bot",
            "message_id": sent.message_id,
            "text": parsed.text,
            "entities": [vars(entity) for entity in parsed.entities],
            "reply_markup": sent.reply_markup,
            "edits": sent.edits,
        }
        if sent.photo is not None:
            stored = self.files.get(sent.photo)
            view["photo"] = f"/sandbox/api/file/{stored.file_id}" if stored else None
        rich = sent.payload.get("rich_message")
        if isinstance(rich, dict) and isinstance(rich.get("html"), str):
            # Checked by the Bot API (bot/sandbox/rich.py); the page builds it tag by tag.
            view["rich"] = {"html": rich["html"], "is_rtl": rich.get("is_rtl") in (True, "true")}
        return view

    # What people do (the page calls these) ---------------------------------------------------
    def _write(self, chat_id: int, user: User, message: dict[str, Any], **extra: Any) -> None:
        self.timeline.setdefault(chat_id, []).append(
            UserMessage(
                seq=next(self._seq),
                position=len(self.messages.get(chat_id, [])),
                user=user,
                message_id=int(message["message_id"]),
                text=str(message.get("text") or message.get("caption") or ""),
                entities=list(message.get("entities") or message.get("caption_entities") or []),
                **extra,
            )
        )
        self.touch()

    async def write(self, user: User, chat_id: int, text: str) -> None:
        message = await self.send_text(user, text, chat_id=chat_id)
        self._write(chat_id, user, message)

    async def upload(
        self, user: User, chat_id: int, file_name: str, content: bytes, caption: str | None
    ) -> None:
        message = await self.send_document(
            user, file_name, content, caption=caption, chat_id=chat_id
        )
        self._write(chat_id, user, message, file_name=file_name)

    async def choose(self, user: User | int, chat_id: int, query_id: str, result_id: str) -> Sent:
        """The user picks an inline result: it goes into the chat as their message "via" the
        bot, as Telegram's apps send it (bot/sandbox/inline.py), and the page shows it."""
        chosen = await super().choose(user, chat_id, query_id, result_id)
        user = user if isinstance(user, User) else self.people.get(user, User(user))
        self._write(
            chat_id,
            user,
            chosen.payload,
            reply_markup=chosen.reply_markup,
            via_bot=True,
            photo=chosen.photo,
        )
        return chosen

    # The Bot API's methods that change what the page shows ------------------------------------
    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        methods = super()._methods()
        for name in _SHOWN:
            methods[name] = self._touching(methods[name])
        return methods

    def _touching(
        self, method: Callable[[dict[str, Any]], Awaitable[Any]]
    ) -> Callable[[dict[str, Any]], Awaitable[Any]]:
        """The method, and the page told to look again once it answered (or failed)."""

        async def call(params: dict[str, Any]) -> Any:
            try:
                return await method(params)
            finally:
                self.touch()

        return call


def _user_view(message: UserMessage) -> dict[str, Any]:
    view = {
        "key": f"u{message.seq}",
        "from": "user",
        "user": {"id": message.user.id, "name": message.user.first_name},
        "text": message.text,
        "entities": message.entities,
        "reply_markup": message.reply_markup,
        "via_bot": message.via_bot,
        "file_name": message.file_name,
    }
    if message.photo is not None:
        view["photo"] = f"/sandbox/api/file/{message.photo}"
    return view


def _parsed(sent: Sent) -> Parsed:
    """The visible text and entities of a message the bot sent (it passed the checks)."""
    payload = sent.payload
    try:
        if sent.photo is not None:
            if not payload.get("caption"):
                return Parsed("", [])
            return check_message(
                {
                    "caption": payload["caption"],
                    "parse_mode": payload.get("parse_mode"),
                    "entities": payload.get("caption_entities"),
                },
                caption=True,
            )
        return check_message(payload)
    except TelegramError:
        return Parsed(sent.text, [])
