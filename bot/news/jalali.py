"""The Persian (Jalali) calendar as a reader sees it: names, and dates written out in full."""

from __future__ import annotations

from datetime import date, datetime

import jdatetime

from bot.news.persian import ZWNJ, to_persian_digits

MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)
# jdatetime counts weekdays from Saturday.
WEEKDAYS = (
    "شنبه",
    f"یک{ZWNJ}شنبه",
    "دوشنبه",
    f"سه{ZWNJ}شنبه",
    "چهارشنبه",
    f"پنج{ZWNJ}شنبه",
    "جمعه",
)


def _key(name: str) -> str:
    return name.replace(ZWNJ, "").replace(" ", "")


_MONTH_NUMBERS = {_key(name): number for number, name in enumerate(MONTHS, start=1)}
_WEEKDAY_NUMBERS = {_key(name): number for number, name in enumerate(WEEKDAYS)}


def month_number(name: str) -> int | None:
    """1–12 for a Jalali month name, however it is spaced; None for anything else."""
    return _MONTH_NUMBERS.get(_key(name))


def weekday_number(name: str) -> int | None:
    """0 (Saturday) – 6 (Friday) for a Persian weekday name, however it is spaced."""
    return _WEEKDAY_NUMBERS.get(_key(name))


def to_gregorian(year: int, month: int, day: int) -> date:
    """The Gregorian date of a Jalali one; ValueError when the Jalali date does not exist."""
    result: date = jdatetime.date(year, month, day).togregorian()
    return result


def jalali_weekday(day: date) -> int:
    """The Persian weekday (0 = Saturday) of a Gregorian date."""
    return (day.weekday() + 2) % 7


def format_date(value: date) -> str:
    """«پنج‌شنبه ۲۴ مهر ۱۴۰۴», and «، ساعت ۱۴:۳۰» when the value carries a time."""
    plain = value.date() if isinstance(value, datetime) else value
    jalali = jdatetime.date.fromgregorian(date=plain)
    text = f"{WEEKDAYS[jalali.weekday()]} {jalali.day} {MONTHS[jalali.month - 1]} {jalali.year}"
    if isinstance(value, datetime):
        text += f"، ساعت {value.hour:02d}:{value.minute:02d}"
    return to_persian_digits(text)
