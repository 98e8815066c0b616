"""The tests' fake Bot API server: the sandbox's local Bot API (bot/sandbox/botapi.py), which
grew out of this module; the names the tests and benchmarks import, and
`python -m tests.support.fake_telegram` as before."""

from bot.sandbox.botapi import FakeTelegram, main, serve
from bot.sandbox.wire import (
    BOT_ID,
    BOT_USERNAME,
    MAX_CALLBACK_ANSWER,
    MAX_DOWNLOAD,
    MAX_INLINE_OFFSET,
    MAX_INLINE_RESULTS,
    STRICT_BOT,
    STRICT_GROUP,
    STRICT_PAID,
    STRICT_PRIVATE,
    TOKEN,
    ApiError,
    Bucket,
    Limits,
    Sent,
    StoredFile,
    User,
    Window,
)

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "MAX_CALLBACK_ANSWER",
    "MAX_DOWNLOAD",
    "MAX_INLINE_OFFSET",
    "MAX_INLINE_RESULTS",
    "STRICT_BOT",
    "STRICT_GROUP",
    "STRICT_PAID",
    "STRICT_PRIVATE",
    "TOKEN",
    "ApiError",
    "Bucket",
    "FakeTelegram",
    "Limits",
    "Sent",
    "StoredFile",
    "User",
    "Window",
    "main",
    "serve",
]

if __name__ == "__main__":
    main()
