"""What a button carries (its callback data) and which handler it goes to: one `Action` per
kind of button, one handler per action.

Data are `1:<action>:<value>`, and `1:<action>:<page>:<value>` for the page buttons of a
list; the leading version makes buttons of an older format stale, not misread. A value of
an admin action may itself hold colons (it is everything after the action).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

VERSION = "1"


class Action(StrEnum):
    OPEN_ARTICLE = "a"
    """A reader opens an article of a list: its card."""
    FULL_TEXT = "f"
    """«📖 متن کامل» under a card: the whole article (the value is its id)."""
    LATEST_PAGE = "l"
    """Another page of /latest (the value is the page size)."""
    SEARCH_PAGE = "s"
    """Another page of a search (the value is the saved query's id)."""
    SEND_DRAFT = "x:go"
    """An admin sends a breaking draft (the value is the draft's id)."""
    DISCARD_DRAFT = "x:no"
    PUBLISH_TO_CHANNELS = "x:ch"
    """A stored article (the value is its id) to the channels."""
    OFFER_BREAKING = "x:br"
    """A stored article as breaking news: its preview and the «send?» question."""
    STOP_DELIVERY = "x:stop"
    """A running delivery (the value is its id) is cancelled."""
    REMOVE_ALERT = "ax"
    """A reader removes one of their alerts (the value is its id) from /alerts."""
    PAUSE_ALERTS = "ap"
    """Every alert of the chat paused ("1") or resumed ("0")."""
    ALERT_MODE = "am"
    """Alerts at once ("now") or in a daily digest ("digest")."""
    DIGEST_HOUR = "ah"
    """The digest's hour, Tehran time (the value: 0-23)."""
    QUIET_HOURS = "aq"
    """Quiet hours on ("1") or off ("0")."""
    TOGGLE_TOPIC = "at"
    """A topic of KHABAR_TOPICS followed or no longer (the value is its place in the list)."""

    @property
    def paged(self) -> bool:
        return self in (Action.LATEST_PAGE, Action.SEARCH_PAGE)

    @property
    def for_admins(self) -> bool:
        return self.value.startswith("x:")

    @property
    def prefix(self) -> str:
        return f"{VERSION}:{self.value}:"

    @property
    def pattern(self) -> str:
        """The regular expression of CallbackQueryHandler for this action's buttons."""
        return "^" + re.escape(self.prefix)


@dataclass(frozen=True)
class Callback:
    action: Action
    value: str
    page: int = 0

    def data(self) -> str:
        if self.action.paged:
            return f"{self.action.prefix}{self.page}:{self.value}"
        return f"{self.action.prefix}{self.value}"

    @classmethod
    def parse(cls, data: str) -> Callback | None:
        """None for data this version does not make (old or forged buttons)."""
        for action in Action:
            if data.startswith(action.prefix):
                return cls._parse(action, data[len(action.prefix) :])
        return None

    @classmethod
    def _parse(cls, action: Action, rest: str) -> Callback | None:
        if action.paged:
            page, _, value = rest.partition(":")
            if page.isdigit() and value and ":" not in value:
                return cls(action, value, int(page))
            return None
        if not rest or (":" in rest and not action.for_admins):
            return None
        return cls(action, rest)
