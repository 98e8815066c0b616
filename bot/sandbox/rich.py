"""Rich Messages (Bot API 10.1) as the fake Bot API checks them: sendRichMessage, and
editMessageText with ``rich_message``.

Written from the Bot API's "Rich messages" section: an InputRichMessage holds exactly one
of ``html`` or ``markdown`` (the fake server reads HTML only), ``is_rtl`` and
``skip_entity_detection`` are booleans; rich HTML allows the tags listed below with their
attributes, block tags hold inline content or blocks as Telegram's block types do (a list
holds items, a figure a medium and its caption, a credit `<cite>` sits in a quotation or a
caption, media are blocks of their own, never inside text), and only Telegram's named
entities (and numeric ones) are known. Limits: 32,768 characters of text, 500 blocks (list
items, table rows and the blocks inside quotations and details count), 16 levels of
nesting, 50 media. What breaks a rule is answered with a 400 whose text names the rich
message, so a bot can tell it from other refusals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.formatting import TelegramError

MAX_CHARS = 32_768
MAX_BLOCKS = 500
MAX_DEPTH = 16
MAX_MEDIA = 50

_INLINE: dict[str, frozenset[str]] = {
    **{
        name: frozenset()
        for name in [
            "b",
            "strong",
            "i",
            "em",
            "u",
            "ins",
            "s",
            "strike",
            "del",
            "code",
            "mark",
            "sub",
            "sup",
            "tg-spoiler",
            "tg-math",
            "cite",
        ]
    },
    "a": frozenset({"href", "name"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "tg-time": frozenset({"unix", "format"}),
    "tg-reference": frozenset({"name"}),
}
_TEXT_BLOCKS: dict[str, frozenset[str]] = {
    **{
        name: frozenset()
        for name in ["p", "h1", "h2", "h3", "h4", "h5", "h6", "footer", "summary", "caption"]
    },
    "pre": frozenset(),
    "aside": frozenset(),
    "figcaption": frozenset(),
    "th": frozenset({"colspan", "rowspan", "align", "valign"}),
    "td": frozenset({"colspan", "rowspan", "align", "valign"}),
    "tg-math-block": frozenset(),
}
_CONTAINERS: dict[str, frozenset[str]] = {
    "ul": frozenset(),
    "ol": frozenset({"start", "type", "reversed"}),
    "li": frozenset({"value", "type"}),
    "blockquote": frozenset(),
    "details": frozenset({"open"}),
    "figure": frozenset(),
    "table": frozenset({"bordered", "striped"}),
    "tr": frozenset(),
    "tg-collage": frozenset(),
    "tg-slideshow": frozenset(),
}
_MEDIA: dict[str, frozenset[str]] = {
    "img": frozenset({"src", "tg-spoiler", "alt"}),
    "video": frozenset({"src", "tg-spoiler"}),
    "audio": frozenset({"src"}),
}
_VOID = frozenset({"img", "hr", "tg-map"})
_OTHER_BLOCKS: dict[str, frozenset[str]] = {
    "hr": frozenset(),
    "tg-map": frozenset({"lat", "long", "zoom"}),
}
_ALLOWED = {**_INLINE, **_TEXT_BLOCKS, **_CONTAINERS, **_MEDIA, **_OTHER_BLOCKS}
_ONLY_IN: dict[str, frozenset[str]] = {
    "li": frozenset({"ul", "ol"}),
    "tr": frozenset({"table"}),
    "td": frozenset({"tr"}),
    "th": frozenset({"tr"}),
    "figcaption": frozenset({"figure"}),
    "summary": frozenset({"details"}),
    "caption": frozenset({"table"}),
    "cite": frozenset({"blockquote", "aside", "figcaption"}),
}
_HOLDS_ONLY: dict[str, frozenset[str]] = {
    "ul": frozenset({"li"}),
    "ol": frozenset({"li"}),
    "table": frozenset({"tr", "caption"}),
    "tr": frozenset({"td", "th"}),
    "figure": frozenset({"img", "video", "audio", "figcaption"}),
    "tg-collage": frozenset({"img", "video", "figure"}),
    "tg-slideshow": frozenset({"img", "video", "figure"}),
}
_MEDIA_PARENTS = frozenset({"", "figure", "tg-collage", "tg-slideshow", "details"})
_NAMED = {
    "lt": "<",
    "gt": ">",
    "amp": "&",
    "quot": '"',
    "apos": "'",
    "nbsp": "\u00a0",
    "hellip": "…",
    "mdash": "—",
    "ndash": "–",
    "lsquo": "‘",
    "rsquo": "’",
    "ldquo": "“",
    "rdquo": "”",
}
_LINKS = re.compile(r"^(?:https?://\S+|mailto:\S+|tel:\S+|tg://\S+|#\S*)$")
_MEDIA_SOURCE = re.compile(r"^(?:https?://\S+|tg://(?:photo|video|document|audio)\?id=\S+)$")
_ATTR_VALUE = r"(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+)"
_TAG = re.compile(
    rf"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*{_ATTR_VALUE})?)*)\s*(/?)>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|([a-zA-Z]+));")


@dataclass
class RichParsed:
    text: str
    """The visible text, blocks one per line."""
    blocks: int
    media: list[str] = field(default_factory=list)
    """The sources of the message's media, in order."""


def _refused(message: str) -> TelegramError:
    return TelegramError(f"Bad Request: can't parse rich message: {message}")


def check_rich_message(rich: Any) -> RichParsed:
    """The visible text, block count and media of an InputRichMessage, or TelegramError with
    the text of a 400."""
    if not isinstance(rich, dict):
        raise TelegramError('Bad Request: field "rich_message" must be of type Object')
    sources = [name for name in ("html", "markdown", "blocks") if rich.get(name) is not None]
    if len(sources) != 1:
        raise _refused("exactly one of html, markdown or blocks must be specified")
    for flag in ("is_rtl", "skip_entity_detection"):
        if flag in rich and not isinstance(rich[flag], bool):
            raise TelegramError(f'Bad Request: field "{flag}" must be of type Boolean')
    unknown = set(rich) - {"html", "markdown", "blocks", "media", "is_rtl", "skip_entity_detection"}
    if unknown:
        raise _refused(f"unknown field {sorted(unknown)[0]!r}")
    if sources[0] != "html":
        raise _refused("the fake Bot API checks rich HTML only")
    markup = rich["html"]
    if not isinstance(markup, str) or not markup.strip():
        raise TelegramError("Bad Request: rich message is empty")
    parsed = parse_rich_html(markup)
    if len(parsed.text) > MAX_CHARS:
        raise TelegramError("Bad Request: RICH_MESSAGE_TOO_LONG: rich message text is too long")
    if parsed.blocks > MAX_BLOCKS:
        raise TelegramError("Bad Request: RICH_MESSAGE_TOO_MANY_BLOCKS")
    if len(parsed.media) > MAX_MEDIA:
        raise TelegramError("Bad Request: RICH_MESSAGE_TOO_MANY_MEDIA")
    return parsed


def _attrs(name: str, raw: str, offset: int) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        key = match.group(1).lower()
        if key not in _ALLOWED[name]:
            raise _refused(f'unsupported attribute "{key}" of tag "{name}" at byte offset {offset}')
        value = next((g for g in match.group(2, 3, 4) if g is not None), "")
        found[key] = _unescape(value, offset)
    return found


def _unescape(text: str, offset: int) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(3):
            if match.group(3) not in _NAMED:
                raise _refused(f'unsupported HTML entity "&{match.group(3)};" at {offset}')
            return _NAMED[match.group(3)]
        return chr(int(match.group(1)) if match.group(1) else int(match.group(2), 16))

    if "<" in text or ">" in text:
        raise _refused(f'unexpected "<" or ">" at byte offset {offset}')
    decoded = _ENTITY.sub(one, text)
    if "&" in _ENTITY.sub("", text):
        raise _refused(f'unescaped "&" at byte offset {offset}')
    return decoded


@dataclass
class _Open:
    name: str
    inline_content: bool = False
    """An item or quotation holding text of its own: one implicit paragraph block."""


def parse_rich_html(markup: str) -> RichParsed:
    stack: list[_Open] = []
    text: list[str] = []
    blocks = 0
    media: list[str] = []
    position = 0

    def parent() -> str:
        return stack[-1].name if stack else ""

    def add_text(chunk: str, offset: int) -> None:
        nonlocal blocks
        if not chunk:
            return
        value = _unescape(chunk, offset)
        where = parent()
        if where in _HOLDS_ONLY or where in _MEDIA:
            if value.strip():
                raise _refused(f'text is not allowed inside "{where}" at byte offset {offset}')
            return
        if stack and where in _CONTAINERS and not stack[-1].inline_content and value.strip():
            stack[-1].inline_content = True
            blocks += 1
        text.append(value)

    for match in _TAG.finditer(markup):
        offset = len(markup[: match.start()].encode("utf-8"))
        add_text(markup[position : match.start()], offset)
        position = match.end()
        closing, name, raw, self_closing = (
            match.group(1),
            match.group(2).lower(),
            match.group(3),
            match.group(4),
        )
        if name not in _ALLOWED:
            raise _refused(f'unsupported start tag "{name}" at byte offset {offset}')
        if closing:
            if not stack or stack[-1].name != name:
                raise _refused(f'unmatched end tag "{name}" at byte offset {offset}')
            stack.pop()
            if name in _TEXT_BLOCKS or name in _CONTAINERS:
                text.append("\n")
            continue
        attrs = _attrs(name, raw, offset)
        where = parent()
        if name in _ONLY_IN and where not in _ONLY_IN[name]:
            raise _refused(f'tag "{name}" is not allowed inside "{where or "the message"}"')
        if where in _HOLDS_ONLY and name not in _HOLDS_ONLY[where]:
            raise _refused(f'tag "{name}" is not allowed inside "{where}"')
        inline_parent = where in _INLINE or where in _TEXT_BLOCKS
        if inline_parent and name not in _INLINE:
            raise _refused(f'block tag "{name}" inside "{where}" at byte offset {offset}')
        if name in _MEDIA:
            if where not in _MEDIA_PARENTS:
                raise _refused(f'media "{name}" must be a block of its own, not in "{where}"')
            source = attrs.get("src", "")
            if not _MEDIA_SOURCE.match(source):
                raise _refused(f'wrong media URL "{source}" at byte offset {offset}')
            media.append(source)
        if name == "a" and "href" in attrs and not _LINKS.match(attrs["href"]):
            raise _refused(f'wrong URL "{attrs["href"]}" at byte offset {offset}')
        if name not in _INLINE and name not in ("figure", "figcaption", "summary", "caption"):
            blocks += 1
        if name in _VOID:
            if name in ("hr", "tg-map"):
                text.append("\n")
            continue
        if self_closing:
            raise _refused(f'tag "{name}" must be closed at byte offset {offset}')
        if name == "cite":
            text.append("\n")  # a credit reads on a line of its own
        stack.append(_Open(name))
        if len(stack) > MAX_DEPTH:
            raise _refused(f"nesting deeper than {MAX_DEPTH} levels")
    add_text(markup[position:], len(markup.encode("utf-8")))
    if stack:
        raise _refused(f'can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    visible = re.sub(r"\n+", "\n", "".join(text)).strip()
    return RichParsed(visible, blocks, media)
