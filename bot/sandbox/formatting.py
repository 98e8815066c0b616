"""What Telegram accepts in sendMessage: HTML parse mode, or text with entities.

A checker written from the Bot API's "Formatting options" and Telegram's observed answers, for
the tests and for the fake Bot API server: it rejects what Telegram rejects, with Telegram's
own error texts (``Bad Request: can't parse entities: ...``), and returns the visible text and
the entities of what it accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_ENTITIES = 100

# tag → the entity type it makes; attributes allowed on it.
_TAGS: dict[str, tuple[str, frozenset[str]]] = {
    "b": ("bold", frozenset()),
    "strong": ("bold", frozenset()),
    "i": ("italic", frozenset()),
    "em": ("italic", frozenset()),
    "u": ("underline", frozenset()),
    "ins": ("underline", frozenset()),
    "s": ("strikethrough", frozenset()),
    "strike": ("strikethrough", frozenset()),
    "del": ("strikethrough", frozenset()),
    "tg-spoiler": ("spoiler", frozenset()),
    "span": ("spoiler", frozenset({"class"})),
    "a": ("text_link", frozenset({"href"})),
    "code": ("code", frozenset({"class"})),
    "pre": ("pre", frozenset()),
    "blockquote": ("blockquote", frozenset({"expandable"})),
    "tg-emoji": ("custom_emoji", frozenset({"emoji-id"})),
}
_FORMATTING = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTR_VALUE = r"(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+)"
_TAG = re.compile(
    rf"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*{_ATTR_VALUE})?)*)\s*(/?)>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)


class TelegramError(ValueError):
    """Telegram's 400 answer; ``description`` is its text."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass
class Entity:
    type: str
    offset: int
    length: int
    url: str | None = None


@dataclass
class Parsed:
    text: str
    entities: list[Entity]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(html: str, index: int) -> int:
    return len(html[:index].encode("utf-8"))


def _cant_parse(message: str) -> TelegramError:
    return TelegramError(f"Bad Request: can't parse entities: {message}")


def parse_html(html: str) -> Parsed:
    """Visible text and entities of a parse_mode=HTML text, or TelegramError."""
    text: list[str] = []
    length = 0  # UTF-16 units of visible text so far
    entities: list[Entity] = []
    stack: list[tuple[str, Entity]] = []
    index = 0
    while index < len(html):
        char = html[index]
        if char == "<":
            match = _TAG.match(html, index)
            if match is None:
                raise _cant_parse(
                    f"Unsupported start tag at byte offset {_byte_offset(html, index)}"
                )
            closing, name, attrs, _ = match.groups()
            name = name.lower()
            if name not in _TAGS:
                raise _cant_parse(
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(html, index)}'
                )
            if closing:
                if not stack or stack[-1][0] != name:
                    raise _cant_parse(
                        f"Unmatched end tag at byte offset {_byte_offset(html, index)}, "
                        f'expected "</{stack[-1][0] if stack else ""}>", found "</{name}>"'
                    )
                _, entity = stack.pop()
                entity.length = length - entity.offset
            else:
                entity = _open(name, attrs, length, html, index)
                _check_nesting(entity, [open_entity for _, open_entity in stack], html, index)
                stack.append((name, entity))
                entities.append(entity)
            index = match.end()
            continue
        if char == "&":
            match = _ENTITY.match(html, index)
            if match is None or (match.group(3) and match.group(3) not in _NAMED_ENTITIES):
                raise _cant_parse(
                    f"Character entity expected at byte offset {_byte_offset(html, index)}"
                    if match is None
                    else f'Unsupported HTML entity "&{match.group(3)};" at byte offset '
                    f"{_byte_offset(html, index)}"
                )
            decimal, hexadecimal, named = match.groups()
            if named:
                value = _NAMED_ENTITIES[named]
            else:
                code = int(decimal) if decimal else int(hexadecimal, 16)
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise _cant_parse(f"Invalid character code at byte offset {index}")
                value = chr(code)
            text.append(value)
            length += utf16_len(value)
            index = match.end()
            continue
        if char == ">":
            raise _cant_parse(f"Unexpected > at byte offset {_byte_offset(html, index)}")
        text.append(char)
        length += utf16_len(char)
        index += 1
    if stack:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    # Entities in the order they open; empty ones are dropped, as Telegram does.
    entities = sorted((e for e in entities if e.length > 0), key=lambda e: (e.offset, -e.length))
    return Parsed("".join(text), entities)


def _open(name: str, attrs: str, offset: int, html: str, index: int) -> Entity:
    entity_type, allowed = _TAGS[name]
    values: dict[str, str] = {}
    for attr in _ATTR.finditer(attrs):
        key = attr.group(1).lower()
        if key not in allowed:
            continue  # Telegram ignores unknown attributes
        values[key] = next((g for g in attr.groups()[1:] if g is not None), "")
    if name == "span" and values.get("class") != "tg-spoiler":
        raise _cant_parse(f'Tag "span" must have class "tg-spoiler" at byte offset {index}')
    if name == "blockquote" and "expandable" in values:
        entity_type = "expandable_blockquote"
    url = None
    if name == "a":
        url = _unescape(values.get("href", ""))
        if not re.match(r"^(https?|tg|ftp|mailto)://|^tg:|^mailto:", url, re.I):
            raise TelegramError("Bad Request: wrong HTTP URL")
    return Entity(entity_type, offset, 0, url)


def _unescape(value: str) -> str:
    return _ENTITY.sub(
        lambda m: (
            _NAMED_ENTITIES.get(m.group(3) or "", "")
            if m.group(3)
            else chr(int(m.group(1)) if m.group(1) else int(m.group(2), 16))
        ),
        value,
    )


def _check_nesting(entity: Entity, open_entities: list[Entity], html: str, index: int) -> None:
    for outer in open_entities:
        if not _may_nest(outer.type, entity.type):
            raise _cant_parse(
                f'Tag "{entity.type}" can\'t be nested inside "{outer.type}" '
                f"at byte offset {_byte_offset(html, index)}"
            )


def _may_nest(outer: str, inner: str) -> bool:
    """The Bot API's nesting rules: formatting nests with anything but pre and code; a
    blockquote holds no blockquote; pre may hold code (for its language); nothing else nests."""
    quotes = {"blockquote", "expandable_blockquote"}
    if outer in quotes and inner in quotes:
        return False
    if outer == "pre" and inner == "code":
        return True
    if {outer, inner} & {"pre", "code"}:
        return False
    return outer in _FORMATTING or inner in _FORMATTING or outer in quotes


def check_entities(text: str, entities: list[dict[str, Any]]) -> Parsed:
    """Validate a text + entities message the way Telegram does."""
    total = utf16_len(text)
    parsed: list[Entity] = []
    for raw in entities:
        kind, offset, length = raw.get("type"), raw.get("offset"), raw.get("length")
        if kind not in _ENTITY_TYPES or not isinstance(offset, int) or not isinstance(length, int):
            raise TelegramError("Bad Request: can't parse entities: wrong entity")
        if offset < 0 or length <= 0 or offset + length > total:
            raise TelegramError("Bad Request: can't parse entities: entity beyond the end of text")
        if kind == "text_link" and not raw.get("url"):
            raise TelegramError("Bad Request: can't parse entities: text_link without url")
        parsed.append(Entity(kind, offset, length, raw.get("url")))
    parsed.sort(key=lambda e: (e.offset, -e.length))
    for position, entity in enumerate(parsed):
        for other in parsed[position + 1 :]:
            if other.offset >= entity.offset + entity.length:
                break
            inside = other.offset + other.length <= entity.offset + entity.length
            if not inside or not _may_nest(entity.type, other.type):
                raise TelegramError("Bad Request: can't parse entities: entities overlap")
    return Parsed(text, parsed)


def check_message(payload: dict[str, Any], *, caption: bool = False) -> Parsed:
    """A sendMessage (or caption) payload as Telegram would take it, or TelegramError."""
    field = "caption" if caption else "text"
    raw = payload.get(field)
    if not isinstance(raw, str):
        raise TelegramError(f"Bad Request: message {field} is empty")
    mode = payload.get("parse_mode")
    if mode is not None and payload.get("entities") is not None:
        raise TelegramError("Bad Request: can't use parse_mode and entities together")
    if mode is None:
        parsed = check_entities(raw, list(payload.get("entities") or []))
    elif str(mode).upper() == "HTML":
        parsed = parse_html(raw)
    else:
        raise TelegramError(f"Bad Request: unsupported parse_mode {mode!r} in this checker")
    visible = parsed.text.strip()
    if not visible:
        raise TelegramError(f"Bad Request: message {field} is empty")
    limit = MAX_CAPTION if caption else MAX_TEXT
    if utf16_len(visible) > limit:
        raise TelegramError(
            "Bad Request: message caption is too long"
            if caption
            else "Bad Request: message is too long"
        )
    if len(parsed.entities) > MAX_ENTITIES:
        raise TelegramError("Bad Request: too many entities")
    return parsed
