"""Telegram's rules as the local Bot API applies them: which chat a request means (ids,
@names, groups that migrated), blocked and unknown chats, rates (token buckets, or a strict
server's sliding windows), Telegram's text checks, which message an edit means; and the
faults a test can inject (a proxy failing, a flood wait, a stall)."""

from __future__ import annotations

import math
import time
from typing import Any

from bot.sandbox.formatting import TelegramError, check_message
from bot.sandbox.state import BotState
from bot.sandbox.wire import (
    STRICT_BOT,
    STRICT_GROUP,
    STRICT_PAID,
    STRICT_PRIVATE,
    ApiError,
    Bucket,
    Sent,
    Window,
    check_markup,
)


class Rules(BotState):
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
        check_markup(params.get("reply_markup"))
        return parsed.text

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
