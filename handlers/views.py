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
from urllib.parse import urlsplit

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
    result: dict[str, Any] = {
        "type": "article",
        "id": article.id,
        "title": article.title,
        "description": _inline_description(article),
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


_NOT_JPEG = (".png", ".gif", ".webp", ".svg", ".bmp", ".tif", ".tiff", ".avif", ".heic")


def inline_photo_by_url(url: str) -> bool:
    """Whether a picture may go in an inline photo result by its URL: Telegram takes only
    JPEG there, so not one whose name says it is something else (by its file_id, any
    picture Telegram took before may)."""
    return not urlsplit(url).path.lower().endswith(_NOT_JPEG)


def inline_photo_result(
    article: Article, card: dict[str, Any], buttons: dict[str, Any], file_id: str | None
) -> dict[str, Any]:
    """An inline query result that sends the article's photo card (bot/news/styles.py): by
    the picture's file_id when Telegram gave khabar one (InlineQueryResultCachedPhoto),
    else by its URL (InlineQueryResultPhoto, the picture its own thumbnail)."""
    result: dict[str, Any] = {
        "type": "photo",
        "id": article.id,
        "title": article.title,
        "description": _inline_description(article),
        "caption": card["caption"],
        "parse_mode": card["parse_mode"],
    }
    if file_id is not None:
        result["photo_file_id"] = file_id
    else:
        result["photo_url"] = result["thumbnail_url"] = card["photo"]
    if buttons["inline_keyboard"]:
        result["reply_markup"] = buttons
    return result


def _inline_description(article: Article) -> str:
    """Under the title in the list of results: the date and the lead."""
    description = format_date(article.published) if article.published else ""
    if article.lead:
        description = f"{description} — {article.lead}" if description else article.lead
    return description[:200]


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
