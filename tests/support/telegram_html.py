"""What Telegram accepts in a message: the checker lives in bot/sandbox/formatting.py (the
sandbox's Bot API validates with it); the names the tests import."""

from bot.sandbox.formatting import (
    MAX_CAPTION,
    MAX_ENTITIES,
    MAX_TEXT,
    Entity,
    Parsed,
    TelegramError,
    check_entities,
    check_message,
    parse_html,
    utf16_len,
)

__all__ = [
    "MAX_CAPTION",
    "MAX_ENTITIES",
    "MAX_TEXT",
    "Entity",
    "Parsed",
    "TelegramError",
    "check_entities",
    "check_message",
    "parse_html",
    "utf16_len",
]
