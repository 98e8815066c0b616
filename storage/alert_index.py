"""The alert matcher's copy of the alert index (storage/alerts.py), in memory.

Redis holds the index (a set per term, of the alerts filed under it) and a stream of every
change to it. The copy is loaded whole when a process becomes the matcher, then follows the
stream: before each article it applies what changed since (one round trip), so an alert
added in any process a moment ago is matched. Fallen further behind than the stream keeps,
it loads the whole index again. Looking up an article's few hundred terms is then a few
hundred dict lookups, not a few hundred keys sent to Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from redis.asyncio import Redis

from storage.alert_terms import ArticleTerms, Unit, units_of
from storage.keys import Keys
from storage.redis import awaited

Entry: TypeAlias = tuple[int, str, tuple[Unit, ...] | None]
"""(chat, alert id, the units to check; None for a one-word alert filed under that word: an
article with the word matches it). Tuples of plain values: the collector soon stops
tracking them, so a million alerts in memory do not slow every full collection."""

LOAD_PAGE = 500
CHANGES_PAGE = 10_000


def entry(member: str, term: str) -> Entry:
    chat, alert_id, alert_spec = member.split(":", 2)
    units = tuple(units_of(alert_spec))
    return int(chat), alert_id, None if units == ((term,),) else units


def _later(stream_id: str, other: str) -> bool:
    first, _, second = stream_id.partition("-")
    one, _, two = other.partition("-")
    return (int(first), int(second or 0)) > (int(one), int(two or 0))


@dataclass
class AlertIndex:
    redis: Redis
    keys: Keys
    by_term: dict[str, dict[str, Entry]] = field(default_factory=dict, init=False)
    """Term → its index entries ("chat:alert id:spec") and what each stands for."""
    seen: str | None = field(default=None, init=False)
    """The last change applied; None: not loaded."""

    async def load(self) -> None:
        """The whole index, and where in the changes it stands."""
        last = await self.redis.xrevrange(self.keys.alert_changes(), count=1)
        seen = last[0][0] if last else "0-0"
        terms = sorted(await awaited(self.redis.smembers(self.keys.alert_terms())))
        by_term: dict[str, dict[str, Entry]] = {}
        for start in range(0, len(terms), LOAD_PAGE):
            page = terms[start : start + LOAD_PAGE]
            async with self.redis.pipeline(transaction=False) as pipe:
                for term in page:
                    pipe.smembers(self.keys.alert_index(term))
                found = await pipe.execute()
            for term, members in zip(page, found, strict=True):
                if members:
                    by_term[term] = {member: entry(member, term) for member in members}
        self.by_term = by_term
        self.seen = seen
        await self.catch_up()

    async def catch_up(self) -> None:
        """The changes since the last call applied (a load when none was made, or when the
        stream no longer reaches back that far)."""
        if self.seen is None:
            await self.load()
            return
        while True:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xrange(self.keys.alert_changes(), count=1)
                pipe.xrange(self.keys.alert_changes(), min=f"({self.seen}", count=CHANGES_PAGE)
                oldest, changes = await pipe.execute()
            if oldest and self.seen != "0-0" and _later(oldest[0][0], self.seen):
                self.seen = None  # trimmed past what was applied: everything again
                await self.load()
                return
            for change_id, fields in changes:
                term, member = fields["term"], fields["member"]
                entries = self.by_term.setdefault(term, {})
                if fields["op"] == "+":
                    entries[member] = entry(member, term)
                else:
                    entries.pop(member, None)
                self.seen = change_id
            if len(changes) < CHANGES_PAGE:
                return

    async def matching(self, article: ArticleTerms) -> list[tuple[int, str]]:
        """(chat, alert id) of every alert the article matches, after applying what changed
        since the last article; only the alerts filed under one of its terms are looked at."""
        await self.catch_up()
        found = []
        for term in article.present:
            entries = self.by_term.get(term)
            if entries:
                for chat, alert_id, units in entries.values():
                    if units is None or article.matches(units):
                        found.append((chat, alert_id))
        return found
