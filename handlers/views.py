"""What the reader handlers send, built as plain Bot API payloads (no Redis, no I/O): article
lists with their buttons, card buttons, inline results, delivery progress and reports. What
a button carries is made by handlers/callbacks.py.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.news.article import TEHRAN, Article
from bot.news.jalali import format_date
from bot.news.persian import to_persian_digits
from bot.web.context import PageTexts
from handlers import texts
from handlers.callbacks import Action, Callback
from storage.deliveries import Delivery, Kind

NUMBERS_PER_ROW = 5


@dataclass(frozen=True)
class Listing:
    """One page of a list of articles."""

    title: str
    articles: list[Article]
    page: int
    total: int
    size: int
    action: Action
    value: str
    """What the page buttons carry besides the page: the size (latest) or query id (search)."""


def listing(page: Listing) -> dict[str, Any]:
    """The message of a list page: a numbered list (title, Persian date) with a button per
    article and ◀️ / ▶️ to page."""
    pages = max(1, math.ceil(page.total / page.size))
    header = f"<b>{html.escape(page.title)}</b>"
    if pages > 1:
        header += " · " + texts.PAGE.format(
            page=to_persian_digits(str(page.page + 1)), pages=to_persian_digits(str(pages))
        )
    lines = [header, ""]
    first = page.page * page.size + 1
    for number, article in enumerate(page.articles, first):
        lines.append(f"{to_persian_digits(str(number))}. {html.escape(article.title)}")
        if article.published:
            lines.append(f"    📅 {format_date(article.published)}")
    numbers = [
        {
            "text": to_persian_digits(str(number)),
            "callback_data": Callback(Action.OPEN_ARTICLE, article.id).data(),
        }
        for number, article in enumerate(page.articles, first)
    ]
    rows = [numbers[i : i + NUMBERS_PER_ROW] for i in range(0, len(numbers), NUMBERS_PER_ROW)]
    navigation = []
    if page.page + 1 < pages:
        older = Callback(page.action, page.value, page.page + 1).data()
        navigation.append({"text": texts.OLDER, "callback_data": older})
    if page.page > 0:
        newer = Callback(page.action, page.value, page.page - 1).data()
        navigation.append({"text": texts.NEWER, "callback_data": newer})
    if navigation:
        rows.append(navigation)
    return {
        "text": "\n".join(lines),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "reply_markup": {"inline_keyboard": rows},
    }


def card_buttons(article: Article, short_url: str | None, code: str | None) -> dict[str, Any]:
    """Under a card: «ادامه مطلب» (the article, else a short link) and «ارسال برای دیگران»."""
    row = []
    if link := article.link or short_url:
        row.append({"text": texts.READ_MORE, "url": link})
    if code:
        row.append({"text": texts.SHARE, "switch_inline_query": code})
    return {"inline_keyboard": [row]} if row else {"inline_keyboard": []}


def inline_result(
    article: Article, message: dict[str, Any], buttons: dict[str, Any]
) -> dict[str, Any]:
    """An inline query result that sends the article's (one-message) card."""
    description = format_date(article.published) if article.published else ""
    if article.lead:
        description = f"{description} — {article.lead}" if description else article.lead
    result: dict[str, Any] = {
        "type": "article",
        "id": article.id,
        "title": article.title,
        "description": description[:200],
        "input_message_content": {
            "message_text": message["text"],
            "parse_mode": message["parse_mode"],
            "link_preview_options": {"is_disabled": True},
        },
    }
    if buttons["inline_keyboard"]:
        result["reply_markup"] = buttons
    if article.image is not None:  # the article's picture beside its title in the list
        result["thumbnail_url"] = article.image.url
    return result


def command_list() -> str:
    return "\n".join(f"/{name} — {description}" for name, description in texts.COMMANDS)


# Admins --------------------------------------------------------------------------------------
BAR_WIDTH = 12


def buttons_row(*buttons: tuple[str, str]) -> dict[str, Any]:
    """One row of callback buttons: (label, callback data)."""
    return {"inline_keyboard": [[{"text": text, "callback_data": data} for text, data in buttons]]}


def number(value: int | float) -> str:
    """Persian digits with the Persian thousands separator."""
    return to_persian_digits(f"{value:,.0f}".replace(",", "٬"))


def clock_after(seconds: float) -> str:
    """Tehran's time `seconds` from now, «۱۴:۳۲»."""
    when = datetime.now(TEHRAN) + timedelta(seconds=seconds)
    return to_persian_digits(when.strftime("%H:%M"))


def pause_notice(seconds: float, waiting: int) -> str:
    """What the admins are told when Telegram pauses the bot (bot/delivery/pauses.py)."""
    return texts.PAUSED.format(
        duration=duration(seconds), until=clock_after(seconds), waiting=number(waiting)
    )


def duration(seconds: float) -> str:
    """«۲ دقیقه و ۱۰ ثانیه», «۱ ساعت و ۵ دقیقه», «۴۵ ثانیه»."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(texts.HOURS.format(n=number(hours)))
    if minutes:
        parts.append(texts.MINUTES.format(n=number(minutes)))
    if (secs and not hours) or not parts:
        parts.append(texts.SECONDS.format(n=number(secs)))
    return texts.AND.join(parts)


def bar(done: int, total: int) -> str:
    filled = BAR_WIDTH if total <= 0 else min(BAR_WIDTH, done * BAR_WIDTH // total)
    return "▓" * filled + "░" * (BAR_WIDTH - filled)


def _kind(delivery: Delivery) -> tuple[str, str]:
    number = to_persian_digits(delivery.id)
    if delivery.kind is Kind.POST:
        return "📢", texts.KIND_POST.format(id=number)
    if delivery.kind is Kind.RETRACT:
        return "🗑", texts.KIND_RETRACT.format(target=to_persian_digits(delivery.target or ""))
    return "🔴", texts.KIND_BREAKING.format(id=number)


def _counts(delivery: Delivery, blocked_line: str) -> list[str]:
    done_line = texts.DELETED_LINE if delivery.kind is Kind.RETRACT else texts.SENT_LINE
    lines = [done_line.format(done=number(delivery.counts["sent"]), total=number(delivery.total))]
    if delivery.kind is not Kind.RETRACT:
        lines.append(blocked_line.format(blocked=number(delivery.counts["blocked"])))
    lines.append(texts.FAILED_LINE.format(failed=number(delivery.counts["failed"])))
    return lines


def progress(delivery: Delivery, rate: float | None) -> dict[str, Any]:
    """The admin's live view of a running delivery: a bar, counts, rate and time left, and a
    button to stop it. `rate`: messages a second lately (None: not known yet)."""
    icon, kind = _kind(delivery)
    left = delivery.total - delivery.processed
    lines = [
        texts.HEAD.format(icon=icon, kind=kind, title=delivery.title),
        texts.BAR.format(
            bar=bar(delivery.processed, delivery.total),
            percent=number(100 * delivery.processed // max(delivery.total, 1)),
        ),
        *_counts(delivery, texts.BLOCKED_LINE),
        texts.RATE_LINE.format(
            rate=number(rate) if rate else "…",
            left=duration(left / rate) if rate else texts.UNKNOWN_TIME,
        ),
    ]
    stop = Callback(Action.STOP_DELIVERY, delivery.id).data()
    return {
        "text": "\n".join(lines),
        "parse_mode": None,
        "reply_markup": buttons_row((texts.STOP, stop)),
    }


def report(delivery: Delivery, failures: list[tuple[str, str]]) -> dict[str, Any]:
    """The final report of a delivery that is over."""
    icon, kind = _kind(delivery)
    elapsed = max(1.0, (delivery.finished or delivery.created) - delivery.created)
    skipped = delivery.counts["skipped"]
    stopped = skipped or delivery.enqueued < delivery.total
    lines = [
        texts.REPORT_HEAD.format(
            icon="⏹" if stopped else icon,
            kind=kind,
            title=delivery.title,
            outcome=texts.REPORT_CANCELLED if stopped else texts.REPORT_DONE,
        ),
        *_counts(delivery, texts.BLOCKED_REPORT_LINE),
    ]
    if skipped:
        lines.append(texts.SKIPPED_LINE.format(skipped=number(skipped)))
    lines.append(
        texts.DURATION_LINE.format(
            duration=duration(elapsed), rate=number(delivery.counts["sent"] / elapsed)
        )
    )
    if delivery.counts["duplicates"]:
        lines.append(texts.DUPLICATES_LINE.format(duplicates=number(delivery.counts["duplicates"])))
    if failures:
        lines.append(texts.FAILURE_LINE.format(reason=failures[0][1]))
    if delivery.kind is not Kind.RETRACT and delivery.counts["sent"]:
        lines += ["", texts.RETRACT_HINT.format(id=delivery.id)]
    return {"text": "\n".join(lines), "parse_mode": None, "reply_markup": None}


def web_page_texts() -> PageTexts:
    """The words of the web server's page for a dead short link."""
    return PageTexts(texts.WEB_NOT_FOUND_TITLE, texts.WEB_NOT_FOUND, texts.WEB_OPEN_BOT)


# Alerts ------------------------------------------------------------------------------------------
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
