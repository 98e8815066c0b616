"""The pieces a card is made of, and how they are laid into messages.

A block knows its HTML, its visible text, its length in UTF-16 code units (as Telegram counts)
and its entity count as it is made, so a card is never parsed back; ``pack`` lays blocks into
messages in order, splitting plain text at sentence ends when a block does not fit.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 4096
MAX_ENTITIES = 100
PARAGRAPH = "\n\n"
LINE = "\n"
# The lookbehind starts a match only at the first mark of a run, so a run of thousands of
# dots costs one pass, not one per dot.
_SENTENCE_END = re.compile(r"(?<![.!?؟؛…])[.!?؟؛…]++[»\")]*+(?=\s)|\n")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class CardMessage:
    """One message of a card: its HTML and the text a reader sees."""

    html: str
    text: str

    def payload(self) -> dict[str, Any]:
        """Exactly what goes to sendMessage (chat_id aside)."""
        return {
            "text": self.html,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }


@dataclass
class Block:
    html: str
    text: str
    entities: int
    sep: str = PARAGRAPH
    plain: bool = False
    """Plain text may be split between messages at sentence boundaries."""
    length: int = field(init=False)

    def __post_init__(self) -> None:
        self.length = utf16_len(self.text)


class Builder:
    def __init__(self) -> None:
        self._html: list[str] = []
        self._text: list[str] = []
        self._entities = 0

    def text(self, value: str, entities: int = 0) -> Builder:
        """Plain text; ``entities`` counts those Telegram finds in it itself (#hashtags)."""
        self._html.append(escape(value))
        self._text.append(value)
        self._entities += entities
        return self

    def line(self) -> Builder:
        """Start a new line, unless nothing has been written yet."""
        return self.text(LINE) if self._text else self

    def tag(self, name: str, value: str, attrs: str = "") -> Builder:
        self._html.append(f"<{name}{attrs}>{escape(value)}</{name}>")
        self._text.append(value)
        self._entities += 1
        return self

    def link(self, label: str, href: str) -> Builder:
        return self.tag("a", label, f' href="{html.escape(href, quote=True)}"')

    def block(self, sep: str = PARAGRAPH) -> Block:
        return Block("".join(self._html), "".join(self._text), self._entities, sep)


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def plain(text: str, sep: str = PARAGRAPH) -> Block:
    block = Builder().text(text).block(sep)
    block.plain = True
    return block


@dataclass
class _Message:
    html: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    length: int = 0
    entities: int = 0

    def room(self, sep: str) -> int:
        return MAX_TEXT - self.length - (len(sep) if self.text else 0)

    def add(self, block: Block) -> None:
        if self.text:
            self.html.append(block.sep)
            self.text.append(block.sep)
            self.length += len(block.sep)
        self.html.append(block.html)
        self.text.append(block.text)
        self.length += block.length
        self.entities += block.entities

    def fits(self, block: Block) -> bool:
        return block.length <= self.room(block.sep) and (
            self.entities + block.entities <= MAX_ENTITIES
        )

    def done(self) -> CardMessage:
        return CardMessage("".join(self.html), "".join(self.text))


def pack(blocks: list[Block], max_messages: int) -> list[CardMessage] | None:
    """Blocks laid into messages in order; None when they need more than `max_messages`."""
    messages = [_Message()]
    for block in blocks:
        current = messages[-1]
        if current.fits(block):
            current.add(block)
            continue
        if block.plain:
            rest = block.text
            while rest:
                current = messages[-1]
                head, rest = split_to_fit(rest, current.room(block.sep), not current.text)
                if head:
                    current.add(plain(head, block.sep))
                if rest and current.text:
                    messages.append(_Message())
                if len(messages) > max_messages:
                    return None
            continue
        messages.append(_Message())
        if len(messages) > max_messages or not messages[-1].fits(block):
            return None
        messages[-1].add(block)
    return [message.done() for message in messages]


def split_to_fit(text: str, room: int, empty: bool) -> tuple[str, str]:
    """The longest head of text that fits in room, cut at a sentence end; then at a space and
    finally anywhere only when the message is still empty (a sentence longer than a message)."""
    if utf16_len(text) <= room:
        return text, ""
    if room <= 0:
        return "", text
    best = length = 0
    for match in _SENTENCE_END.finditer(text):
        length += utf16_len(text[best : match.end()])  # text[:best] is counted already
        if length > room:
            break
        best = match.end()
    if best == 0 and empty:
        window = _prefix_within(text, room)
        space = text.rfind(" ", 0, window + 1)
        best = space if space > 0 else window
    head, rest = text[:best].rstrip(), text[best:].lstrip()
    return head, rest


def _prefix_within(text: str, room: int) -> int:
    """The number of characters of text that fit in ``room`` UTF-16 units."""
    end = min(len(text), room)
    while end > 0 and utf16_len(text[:end]) > room:
        end -= max(1, (utf16_len(text[:end]) - room) // 2)
    return end
