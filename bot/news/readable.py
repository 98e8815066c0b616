"""A payload as a reader would read it, in plain text: what `khabar card` prints.

A sendMessage shows its text; a sendPhoto its picture's address, then the caption; a
sendRichMessage its blocks one per paragraph (• before a list item, » before a quotation,
— before a credit, a rule above the footer).
"""

from __future__ import annotations

import html
import re
from typing import Any

_TAG = re.compile(r"<[^>]*>")
_RICH_BREAKS = (
    (re.compile(r"<li>"), "\n• "),
    (re.compile(r"<(?:blockquote|aside)>(?:<p>)?"), "\n» "),
    (re.compile(r"<cite>"), "\n  — "),
    (re.compile(r"<footer>"), "\n" + "─" * 20 + "\n"),
    (re.compile(r'<img src="([^"]*)"/?>'), r"\n[🖼 \1]\n"),
    (re.compile(r"<figcaption>"), ""),
    (re.compile(r"</(?:p|h\d|ul|blockquote|aside|figure|footer)>"), "\n"),
)


def _text(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup))


def readable(payload: dict[str, Any]) -> str:
    method = payload.get("method", "sendMessage")
    if method == "sendPhoto":
        return f"[🖼 {payload['photo']}]\n{_text(payload.get('caption') or '')}"
    if method == "sendRichMessage":
        markup = str(payload["rich_message"].get("html", ""))
        for pattern, replacement in _RICH_BREAKS:
            markup = pattern.sub(replacement, markup)
        lines = [line.strip() for line in _text(markup).split("\n")]
        return "\n".join(line for line in lines if line)
    return _text(str(payload.get("text", "")))
