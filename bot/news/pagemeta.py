"""The metadata lines of a raw article page: its dates (Jalali, Gregorian, Hijri; a time
when one is printed), the source's article code, its short link and its URL.

Lines may come in any order; the first of each kind wins, and disagreeing dates are logged
with the input's name, never guessed between silently.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.news import jalali
from bot.news.article import TEHRAN
from bot.news.persian import search_key, to_ascii_digits

log = logging.getLogger("bot.news.parse")

BULLET = re.compile(r"^[\s•·▪◾●○*\-–—]+")


def compact_key(text: str) -> str:
    """The search key without spaces: «به اشتراک بگذارید» and «به‌اشتراک بگذارید» agree."""
    return search_key(text).replace(" ", "")


_MONTHS_EN = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_TIME = r"(?:\s*[,،\-–]?\s*(?:ساعت\s*)?(?P<time>\d{1,2}:\d{2}))?"
_MONTH_EN = r"(?P<mon>[a-z]{3})[a-z]*\.?,?"
_GREGORIAN = (
    re.compile(rf"^(?P<y>\d{{4}})\s+{_MONTH_EN}\s+(?P<d>\d{{1,2}}){_TIME}$", re.I),
    re.compile(rf"^(?P<d>\d{{1,2}})\s+{_MONTH_EN}\s+(?P<y>\d{{4}}){_TIME}$", re.I),
    re.compile(rf"^(?P<y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}}){_TIME}$"),
)
_JALALI = re.compile(
    r"^(?:(?P<weekday>[^\d]+?)\s*[,،]?\s*)?"
    rf"(?P<d>\d{{1,2}})\s+(?P<month>[^\d\s]+)\s+(?P<y>1[34]\d\d){_TIME}$"
)
_HIJRI_MONTHS = frozenset(
    compact_key(name)
    for name in (
        "محرم",
        "صفر",
        "ربیع الاول",
        "ربیع الثانی",
        "ربیع الآخر",
        "جمادی الاولی",
        "جمادی الاول",
        "جمادی الثانیه",
        "جمادی الثانی",
        "جمادی الآخره",
        "رجب",
        "شعبان",
        "رمضان",
        "شوال",
        "ذیقعده",
        "ذی القعده",
        "ذیحجه",
        "ذی الحجه",
    )
)
_HIJRI = re.compile(
    r"^(?:(?P<weekday>\S+)\s+)?(?P<d>\d{1,2})\s+(?P<month>\D+?)\s+(?P<y>1[45]\d\d)$"
)
_CODE = re.compile(r"^کد\s*(?:مطلب|خبر)\s*:\s*(?P<id>\S+)$")
_SHORT_LINK = re.compile(r"^لینک\s*کوتاه\s*:\s*(?P<link>\S+)$")
_URL_LINE = re.compile(
    r"^(?:(?:لینک|نشانی|آدرس)(?:\s*(?:خبر|مطلب))?\s*:\s*)?(?P<url>https?://\S+)$"
)


_MAX_META_LINE = 100
# What a code or link line starts with; any other metadata line is a date, with digits.
_META_STARTS = ("کد", "لینک", "نشانی", "آدرس", "http")
_HAS_DIGIT = re.compile(r"\d")


@dataclass
class Meta:
    code: str | None = None
    short_link: str | None = None
    url: str | None = None
    gregorian: date | None = None
    jalali: date | None = None
    hijri: str | None = None
    time: tuple[int, int] | None = None


def take_metadata(line: str, meta: Meta, name: str) -> bool:
    """Record the line in meta when it is metadata; say whether it was."""
    if len(line) > _MAX_META_LINE and "://" not in line[:_MAX_META_LINE]:
        return False  # a paragraph, not a date, code or link line
    bare = to_ascii_digits(BULLET.sub("", line)).strip()
    if not bare.startswith(_META_STARTS):
        return _HAS_DIGIT.search(bare) is not None and _take_date(bare, line, meta, name)
    if match := _CODE.match(bare):
        meta.code = meta.code or match["id"]
        return True
    if match := _SHORT_LINK.match(bare):
        meta.short_link = meta.short_link or match["link"]
        return True
    if match := _URL_LINE.match(bare):
        meta.url = meta.url or match["url"]
        return True
    return _take_date(bare, line, meta, name)


def _take_date(bare: str, line: str, meta: Meta, name: str) -> bool:
    if len(bare) > 60:
        return False
    return (
        _take_gregorian(bare, meta, name)
        or _take_jalali(bare, meta, name)
        or _take_hijri(bare, line, meta)
    )


def _take_gregorian(bare: str, meta: Meta, name: str) -> bool:
    if found := _gregorian(bare):
        match, ymd = found
        day = _make_date(name, bare, date, ymd)
        if day and meta.gregorian and day != meta.gregorian:
            log.warning(
                "%s: two Gregorian dates, %s and %s; using the first", name, meta.gregorian, day
            )
        meta.gregorian = meta.gregorian or day
        _take_time(match, meta)
        return True
    return False


def _take_jalali(bare: str, meta: Meta, name: str) -> bool:
    if (match := _JALALI.match(bare)) and (month := jalali.month_number(match["month"])):
        weekday = (match["weekday"] or "").strip()
        if weekday and jalali.weekday_number(weekday) is None:
            return False
        day = _make_date(name, bare, jalali.to_gregorian, (int(match["y"]), month, int(match["d"])))
        if day and weekday and jalali.weekday_number(weekday) != jalali.jalali_weekday(day):
            log.warning(
                "%s: the Jalali line says %s but %s is a %s",
                name,
                weekday,
                bare,
                jalali.WEEKDAYS[jalali.jalali_weekday(day)],
            )
        if day and meta.jalali and day != meta.jalali:
            log.warning("%s: two Jalali dates disagree (%s); using the first", name, bare)
        meta.jalali = meta.jalali or day
        _take_time(match, meta)
        return True
    return False


def _take_hijri(bare: str, line: str, meta: Meta) -> bool:
    match = _HIJRI.match(bare)
    if match and compact_key(match["month"]) in _HIJRI_MONTHS:
        meta.hijri = meta.hijri or BULLET.sub("", line)
        return True
    return False


def _gregorian(bare: str) -> tuple[re.Match[str], tuple[int, int, int]] | None:
    for pattern in _GREGORIAN:
        if match := pattern.match(bare):
            groups = match.groupdict()
            month = int(groups["m"]) if groups.get("m") else _MONTHS_EN.get(groups["mon"].lower())
            if month is None:
                return None
            return match, (int(match["y"]), month, int(match["d"]))
    return None


def _make_date(
    name: str, line: str, build: Callable[[int, int, int], date], ymd: tuple[int, int, int]
) -> date | None:
    try:
        return build(*ymd)
    except ValueError:
        log.warning("%s: ignoring a date that does not exist: %s", name, line)
        return None


def _take_time(match: re.Match[str], meta: Meta) -> None:
    if match["time"] and meta.time is None:
        hour, minute = (int(part) for part in match["time"].split(":"))
        if hour < 24 and minute < 60:
            meta.time = (hour, minute)


def published(meta: Meta, name: str) -> date | datetime | None:
    day = meta.gregorian or meta.jalali
    if meta.gregorian and meta.jalali and meta.gregorian != meta.jalali:
        log.warning(
            "%s: the Jalali line is %s but the Gregorian line says %s; using the Gregorian line",
            name,
            meta.jalali,
            meta.gregorian,
        )
    if day is None:
        if meta.hijri:
            log.warning("%s: only a Hijri date (%s); published left empty", name, meta.hijri)
        return None
    if meta.time:
        return datetime(day.year, day.month, day.day, *meta.time, tzinfo=TEHRAN)
    return day
