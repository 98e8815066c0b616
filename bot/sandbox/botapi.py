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
(`send_log`, `max_rate`, `duplicates`), counters. The server is one class in three layers:
`BotState` (bot/sandbox/state.py: what it knows, the control side), `Rules` (rules.py: chats,
rates, checks, injected faults) and `FakeTelegram` here (the Bot API's methods; photos and
rich messages in media.py, inline results and choosing one in inline.py); its vocabulary
(errors, limits, messages, users) is in wire.py.

Methods: getMe, getUpdates (long polling, offset, limit, timeout), sendMessage, sendPhoto
(by URL or file_id, kept as given, or by upload; the caption checked as Telegram does),
editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery,
answerInlineQuery (article and photo results; `choose` plays a user picking one),
setMyCommands, getMyCommands, deleteWebhook, setWebhook, getWebhookInfo,
getChatMember, sendChatAction, getFile, close, logOut; and file downloads from
/file/bot<token>/<file_path>.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any

from aiohttp import web

from bot.sandbox.formatting import TelegramError, check_message
from bot.sandbox.inline import answer_inline_query, choose
from bot.sandbox.media import edit_rich_message, resolve_photo, send_rich_message
from bot.sandbox.rules import Rules
from bot.sandbox.wire import (
    MAX_CALLBACK_ANSWER,
    MAX_DOWNLOAD,
    PACED,
    TOKEN,
    TRUE,
    ApiError,
    Limits,
    Sent,
    User,
    check_markup,
    error_answer,
    read_params,
)


class FakeTelegram(Rules):
    """The server: the state (BotState) and the Bot API's methods; `app` serves it."""

    def __init__(
        self, limits: Limits | None = None, token: str = TOKEN, *, strict: bool = False
    ) -> None:
        super().__init__(limits, token, strict=strict)
        self.chosen: dict[int, list[Sent]] = defaultdict(list)
        """Messages users sent through the bot's inline mode, per chat (bot/sandbox/inline.py)."""
        self._handlers = self._methods()
        self.app = self._build_app()

    async def choose(self, user: User | int, chat_id: int, query_id: str, result_id: str) -> Sent:
        """A user picks an inline result in a chat: the message Telegram posts there as theirs,
        "via" the bot (a photo result's picture fetched now); ChoiceFailed when it cannot."""
        await choose(self, user, chat_id, query_id, result_id)
        return self.chosen[chat_id][-1]

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

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[method.lower()] += 1
        if request.match_info["token"] != self.token:
            return error_answer(401, "Unauthorized")
        handler = self._handlers.get(method.lower())
        if handler is None:
            return error_answer(404, "Not Found: method not found")
        if time.monotonic() < self.outage_until:
            self.outage_answers += 1
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        stalled = self.stall_until - time.monotonic()
        try:
            params = await read_params(request)
            if method.lower() in PACED and time.monotonic() < self.flood_until:
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
            return error_answer(error.code, error.description, error.retry_after, error.parameters)

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
            "answerinlinequery": functools.partial(answer_inline_query, self),
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
        return self.bot_user()

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

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        if self.failing.get(chat_id):
            self.failing[chat_id] -= 1
            raise ApiError(502, "Bad Gateway")
        self._check_chat(chat_id)
        text = self._validate(params)
        paid = params.get("allow_paid_broadcast") in TRUE
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
        check_markup(params.get("reply_markup"))
        self._pace(chat_id, params.get("allow_paid_broadcast") in TRUE)
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
        check_markup(markup)
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
