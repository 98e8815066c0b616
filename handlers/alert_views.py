"""What alerts send and show, as plain Bot API payloads (no Redis, no I/O): an article's
card with the line saying why it came, the digest of held articles, the answer to /alert, the
/alerts and /topics panels, the /stats line."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from bot.news.article import Article
from bot.news.jalali import format_date
from bot.news.persian import to_persian_digits
from handlers import texts
from handlers.callbacks import Action, Callback
from handlers.views import NUMBERS_PER_ROW, number

DIGEST_HOURS = (7, 12, 18, 21)
DIGEST_SHOWN = 20
CALLBACK_LIMIT = 64
UTF16_LIMITS = {"text": 4096, "caption": 1024}


def _hour(hour: int) -> str:
    return to_persian_digits(f"{hour}")


def reason_line(reasons: list[str]) -> str:
    """«🔔 به‌خاطر هشدار: زلزله» (words) and «… موضوع: ورزشی» (topics, «#» in `reasons`)."""
    words = [r for r in reasons if not r.startswith("#")]
    topics = [r[1:] for r in reasons if r.startswith("#")]
    parts = []
    if words:
        parts.append(texts.REASON_ALERT.format(words=texts.LIST_SEPARATOR.join(words)))
    if topics:
        parts.append(texts.REASON_TOPIC.format(topics=texts.LIST_SEPARATOR.join(topics)))
    return " · ".join(parts)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def with_reason(messages: list[dict[str, Any]], reasons: list[str]) -> list[dict[str, Any]]:
    """An article's card with the line saying why it came, on top of its first message when
    it fits there (the HTML counted whole: never over Telegram's limit), else as a message of
    its own before it."""
    line = reason_line(reasons)
    if not messages:
        return messages
    first = messages[0]
    parse_mode = first.get("parse_mode")
    shown = html.escape(line) if parse_mode == "HTML" else line
    for field, limit in UTF16_LIMITS.items():
        if isinstance(first.get(field), str) and parse_mode in ("HTML", None):
            if _utf16(first[field]) + _utf16(shown) + 2 <= limit:
                return [{**first, field: f"{shown}\n\n{first[field]}"}, *messages[1:]]
            break
    return [{"text": line, "parse_mode": None}, *messages]


def alert_digest(items: list[tuple[Article, list[str]]], daily: bool) -> dict[str, Any]:
    """One message listing held articles, a numbered button for each card."""
    shown = items[:DIGEST_SHOWN]
    lines = [f"<b>{html.escape(texts.DIGEST_DAILY if daily else texts.DIGEST_MORNING)}</b>", ""]
    for place, (article, reasons) in enumerate(shown, 1):
        lines.append(f"{to_persian_digits(str(place))}. {html.escape(article.title)}")
        lines.append(f"    {html.escape(reason_line(reasons))}")
    if len(items) > len(shown):
        lines.append(texts.DIGEST_MORE.format(n=number(len(items) - len(shown))))
    buttons = [
        {
            "text": to_persian_digits(str(n)),
            "callback_data": Callback(Action.OPEN_ARTICLE, article.id).data(),
        }
        for n, (article, _) in enumerate(shown, 1)
        if len(Callback(Action.OPEN_ARTICLE, article.id).data().encode()) <= CALLBACK_LIMIT
    ]
    rows = [buttons[i : i + NUMBERS_PER_ROW] for i in range(0, len(buttons), NUMBERS_PER_ROW)]
    return {
        "text": "\n".join(lines),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "reply_markup": {"inline_keyboard": rows},
    }


def alert_saved(words: str, digest_hour: int | None, recent: list[Article]) -> dict[str, Any]:
    """The answer to /alert: what was saved, how it will come, the last matching articles."""
    how = (
        texts.ALERT_HOW_DIGEST.format(hour=_hour(digest_hour))
        if digest_hour is not None
        else texts.ALERT_HOW_NOW
    )
    lines = [html.escape(texts.ALERT_SAVED.format(words=words, how=how)), ""]
    if not recent:
        lines.append(html.escape(texts.ALERT_NO_RECENT))
        return {"text": "\n".join(lines), "parse_mode": "HTML", "reply_markup": None}
    lines.append(html.escape(texts.ALERT_RECENT))
    for n, article in enumerate(recent, 1):
        lines.append(f"{to_persian_digits(str(n))}. {html.escape(article.title)}")
        if article.published:
            lines.append(f"    📅 {format_date(article.published)}")
    buttons = [
        {
            "text": to_persian_digits(str(n)),
            "callback_data": Callback(Action.OPEN_ARTICLE, article.id).data(),
        }
        for n, article in enumerate(recent, 1)
    ]
    return {
        "text": "\n".join(lines),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "reply_markup": {"inline_keyboard": [buttons]},
    }


@dataclass(frozen=True)
class AlertPanel:
    """What /alerts shows: the chat's alerts (id, words), topics and choices."""

    alerts: list[tuple[str, str]]
    topics: list[str]
    digest: bool
    hour: int
    quiet: bool
    paused: bool
    quiet_hours: tuple[int, int]
    per_hour: int


def _button(label: str, action: Action, value: str) -> dict[str, str]:
    return {"text": label, "callback_data": Callback(action, value).data()}


def alert_panel(panel: AlertPanel) -> dict[str, Any]:
    """/alerts: the list, a ❌ under each alert, pause all, at once or a daily digest (and its
    hour), quiet hours; every button edits this message in place."""
    if not panel.alerts and not panel.topics:
        return {"text": texts.ALERTS_EMPTY, "parse_mode": None, "reply_markup": None}
    lines = [texts.ALERTS_TITLE, ""]
    lines += [
        f"{to_persian_digits(str(n))}. {words}" for n, (_, words) in enumerate(panel.alerts, 1)
    ]
    if panel.topics:
        lines.append(texts.ALERTS_TOPICS.format(topics=texts.LIST_SEPARATOR.join(panel.topics)))
    lines.append("")
    if panel.digest:
        lines.append(texts.ALERTS_MODE_DIGEST.format(hour=_hour(panel.hour)))
    else:
        lines.append(texts.ALERTS_MODE_NOW.format(limit=to_persian_digits(str(panel.per_hour))))
    start, end = panel.quiet_hours
    quiet = texts.ALERTS_QUIET_ON.format(start=_hour(start), end=_hour(end))
    lines.append(quiet if panel.quiet else texts.ALERTS_QUIET_OFF)
    if panel.paused:
        lines.append(texts.ALERTS_PAUSED)
    rows: list[list[dict[str, str]]] = [
        [_button(texts.BUTTON_REMOVE.format(words=words[:40]), Action.REMOVE_ALERT, alert_id)]
        for alert_id, words in panel.alerts
    ]

    def chosen(label: str, on: bool) -> str:
        return texts.CHOSEN.format(label=label) if on else label

    rows.append(
        [
            _button(chosen(texts.BUTTON_NOW, not panel.digest), Action.ALERT_MODE, "now"),
            _button(chosen(texts.BUTTON_DIGEST, panel.digest), Action.ALERT_MODE, "digest"),
        ]
    )
    if panel.digest:
        rows.append(
            [
                _button(
                    chosen(texts.BUTTON_HOUR.format(hour=_hour(hour)), hour == panel.hour),
                    Action.DIGEST_HOUR,
                    str(hour),
                )
                for hour in sorted({*DIGEST_HOURS, panel.hour})
            ]
        )
    rows.append(
        [
            _button(
                texts.BUTTON_QUIET_ON if panel.quiet else texts.BUTTON_QUIET_OFF,
                Action.QUIET_HOURS,
                "0" if panel.quiet else "1",
            ),
            _button(
                texts.BUTTON_RESUME if panel.paused else texts.BUTTON_PAUSE,
                Action.PAUSE_ALERTS,
                "0" if panel.paused else "1",
            ),
        ]
    )
    return {"text": "\n".join(lines), "parse_mode": None, "reply_markup": {"inline_keyboard": rows}}


def topics_panel(topics: list[str], followed: set[str]) -> dict[str, Any]:
    """/topics: a toggle button per topic of KHABAR_TOPICS, ✅ on those followed."""
    if not topics:
        return {"text": texts.TOPICS_NONE, "parse_mode": None, "reply_markup": None}
    buttons = [
        _button(
            texts.CHOSEN.format(label=topic) if topic in followed else topic,
            Action.TOGGLE_TOPIC,
            str(n),
        )
        for n, topic in enumerate(topics)
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    return {
        "text": texts.TOPICS_TITLE,
        "parse_mode": None,
        "reply_markup": {"inline_keyboard": rows},
    }


def alert_stats(alerts: int, chats: int, ready: int, held: int, topics: dict[str, int]) -> str:
    """The /stats line of alerts and topic followers."""
    followers = texts.LIST_SEPARATOR.join(
        f"{topic} {number(count)}" for topic, count in topics.items()
    )
    return texts.STATS_ALERTS.format(
        alerts=number(alerts),
        chats=number(chats),
        ready=number(ready),
        held=number(held),
        topics=followers or texts.NO_ERROR,
    )
