"""Alerts: every new article matched against the words and topics readers follow, and sent to
the chats it matched, through the outbox like every delivery.

One process at a time (the holder of a lease) reads the new-articles stream through its own
consumer group, so each article is matched once however many processes run; what it finds
is filed in Redis in the same step that acknowledges the article (storage/alert_queue.py).
A chat gets an article once however many of its alerts match it, with a line saying why.
Then, by the chat's choice: at once (unless it is the chat's quiet hours, or it has had its
share of alerts this hour: then held), or held for a daily digest at the chat's hour. Held
items go out as one message listing them, when they are due.

Breaking news first: alert deliveries and digests enter the outbox only while no breaking
item is being delivered and the outbox is nearly empty, so a breaking item never waits behind
more than a few alert messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError

from bot.config import Settings
from bot.delivery.channels import CardMaker
from bot.delivery.start import enqueue_if_free
from bot.news.article import TEHRAN, Article
from storage.alert_index import AlertIndex
from storage.alert_queue import AlertQueue, Held, Ready
from storage.alert_routing import Routing
from storage.alert_terms import ArticleTerms
from storage.alerts import AlertStore, Prefs
from storage.articles import ArticleStore
from storage.deliveries import Kind, Status
from storage.locks import Lease
from storage.outbox import Outbox

log = logging.getLogger("khabar.alerts")

MATCHER_LEASE = 15.0
CHATS_PER_DELIVERY = 50
BACKLOG = 100
"""Alerts enter the outbox only while fewer entries than this wait there: a breaking item
waits behind at most BACKLOG + CHATS_PER_DELIVERY alert messages (about 5 s of the budget),
and the workers always have alerts in hand while there are more."""
REASON_SEPARATOR = "\x1f"
REASONS_SHOWN = 3
SETTLE = 2.0
"""Seconds after its creation time a delivery is looked at: by then it is surely visible
(its number is taken a moment before its record is written)."""


@dataclass(frozen=True)
class AlertWording:
    """What the messages say (handlers/views.py knows the Persian): a card with its reason
    line; one digest message listing (article, reason) pairs, daily or held for the morning;
    the delivery's title for the newsroom."""

    with_reason: Callable[[list[dict[str, Any]], list[str]], list[dict[str, Any]]]
    digest: Callable[[list[tuple[Article, list[str]]], bool], dict[str, Any]]
    digest_title: str


# Tehran's clock -------------------------------------------------------------------------------
def tehran(now: float) -> datetime:
    return datetime.fromtimestamp(now, TEHRAN)


def next_hour(now: float, hour: int) -> float:
    """The next time it is `hour`:00 in Tehran, after `now`."""
    local = tehran(now)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return at.timestamp()


def in_quiet_hours(now: float, quiet: tuple[int, int]) -> bool:
    start, end = quiet
    hour = tehran(now).hour
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def reasons(text: str) -> list[str]:
    return [reason for reason in text.split(REASON_SEPARATOR) if reason]


@dataclass
class AlertSender:
    store: ArticleStore
    outbox: Outbox
    settings: Settings
    card: CardMaker
    wording: AlertWording
    clock: Callable[[], float] = time.time
    lease_seconds: float = MATCHER_LEASE
    grace: float = 5.0
    backlog: int = BACKLOG
    alerts: AlertStore = field(init=False)
    queue: AlertQueue = field(init=False)
    index: AlertIndex = field(init=False)
    routing: Routing = field(init=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.alerts = AlertStore(self.store.redis, self.store.keys)
        self.queue = AlertQueue(self.store.redis, self.store.keys)
        self.index = AlertIndex(self.store.redis, self.store.keys)
        self.routing = Routing(self.store.redis, self.store.keys)

    def start(self) -> None:
        lease = Lease(
            self.store.redis, self.store.keys.alert_matcher(), self.lease_seconds, grace=self.grace
        )
        self._task = asyncio.get_running_loop().create_task(lease.lead(self._run, self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await asyncio.wait([self._task], timeout=self.grace + 1.0)

    async def _run(self, lost: asyncio.Event) -> None:
        await self.queue.ensure_group()
        self.index = AlertIndex(self.store.redis, self.store.keys)  # loaded on first use
        while not lost.is_set():
            await self.match_new(block_ms=500)
            await self.release()
            await self.send_digests()

    # Matching ------------------------------------------------------------------------------------
    async def match_new(self, block_ms: int = 0) -> int:
        """Match what was stored since the last call (first what a predecessor left pending),
        then the articles of breaking news and posts the newsroom started since; returns how
        many articles were matched."""
        matched = 0
        for entries in (await self.queue.pending(), await self.queue.new(block_ms)):
            for entry_id, article_id in entries:
                matched += await self._match(article_id, entry_id=entry_id)
        for created, kind, article_id in await self.queue.deliveries_since(self.clock() - SETTLE):
            started = kind in (Kind.BREAKING.value, Kind.POST.value)
            matched += await self._match(article_id if started else "", cursor=created)
        return matched

    async def _match(
        self, article_id: str, *, entry_id: str | None = None, cursor: float | None = None
    ) -> int:
        """One article routed and filed (a stream entry acknowledged with it, or the
        deliveries' cursor moved past it); an article matched before is not matched again."""
        ready: list[Ready] = []
        held: list[Held] = []
        routed = ""
        try:
            if article_id and not await self.queue.matched(article_id):
                article = await self.store.get(article_id)
                if article is not None:
                    ready, held = await self.route(article)
                    routed = article_id
        except RedisError:
            raise  # nothing filed: matched again
        except Exception:  # this article only: the others go on
            log.exception("could not match article %s against the alerts", article_id)
        now = self.clock()
        await self.queue.file(routed, ready, held, now=now, entry_id=entry_id, cursor=cursor)
        return 1 if routed else 0

    async def route(self, article: Article) -> tuple[list[Ready], list[Held]]:
        """The chats the article is for, each at once or held (see the module's docstring)."""
        now = self.clock()
        found = await self.alerts.match(ArticleTerms.of(article), self.settings.topics, self.index)
        if not found:
            return [], []
        if article.breaking:  # subscribers have it from the breaking delivery
            subscribed = await self.alerts.subscribed(list(found))
            found = {chat: why for chat, why in found.items() if chat not in subscribed}
        facts = await self.routing.facts(found, self.settings.alert_digest_hour)
        named = {
            chat: known.words + [r for r in found[chat] if r.startswith("#")]
            for chat, known in facts.items()
        }
        at_once: list[tuple[int, Prefs]] = []
        held: list[Held] = []
        for chat in sorted(named):
            chosen = facts[chat].prefs
            reason = REASON_SEPARATOR.join(named[chat][:REASONS_SHOWN])
            if chosen.paused or not named[chat]:
                continue
            if chosen.digest:
                held.append(Held(chat, article.id, reason, next_hour(now, chosen.hour)))
            elif chosen.quiet and in_quiet_hours(now, self.settings.quiet_hours):
                morning = next_hour(now, self.settings.quiet_hours[1])
                held.append(Held(chat, article.id, reason, morning))
            else:
                at_once.append((chat, chosen))
        counts = await self.routing.count_sent([chat for chat, _ in at_once], int(now // 3600))
        groups: dict[str, list[int]] = {}
        for (chat, chosen), count in zip(at_once, counts, strict=True):
            reason = REASON_SEPARATOR.join(named[chat][:REASONS_SHOWN])
            if count > self.settings.alerts_per_hour:  # the rest of the hour: the digest
                held.append(Held(chat, article.id, reason, next_hour(now, chosen.hour)))
            else:
                groups.setdefault(reason, []).append(chat)
        ready = [
            Ready(article.id, reason, members[i : i + CHATS_PER_DELIVERY])
            for reason, members in groups.items()
            for i in range(0, len(members), CHATS_PER_DELIVERY)
        ]
        return ready, held

    # Into the outbox -----------------------------------------------------------------------------
    async def clear_to_send(self) -> bool:
        """No breaking item under way, and the outbox nearly empty."""
        for delivery in await self.outbox.active():
            if delivery.kind is Kind.BREAKING and delivery.status in (
                Status.ENQUEUEING,
                Status.RUNNING,
            ):
                return False
        return await self.outbox.depth() < self.backlog

    async def release(self, most: int = 20) -> int:
        """Ready alert deliveries into the outbox while it is clear; how many went."""
        released = 0
        while released < most:
            ready = await self.queue.next_ready()
            if ready is None or not await self.clear_to_send():
                break
            article = await self.store.get(ready.article_id)
            if article is not None:
                messages = self.wording.with_reason(await self.card(article), reasons(ready.reason))
                delivery = await self.outbox.create(
                    Kind.ALERT,
                    messages,
                    title=article.title,
                    chats=[str(chat) for chat in ready.chats],
                    claim_for=article.id,  # a chat never gets an article twice
                    article_id=article.id,
                )
                if delivery is not None:
                    await enqueue_if_free(self.outbox, delivery.id)
                    released += 1
                await self.queue.claims_kept(ready.chats)
            await self.queue.done_ready()
        return released

    async def send_digests(self, now: float | None = None) -> int:
        """Every held item due by `now` (by default the clock's), one message per chat;
        returns how many digests went."""
        now = self.clock() if now is None else now
        sent = 0
        for chat, upto in await self.queue.due(now):
            if not await self.clear_to_send():
                break
            held = await self.queue.held(chat, upto)
            found = {a.id: a for a in await self.store.get_many([h.article_id for h in held])}
            items = [
                (found[h.article_id], reasons(h.reason)) for h in held if h.article_id in found
            ]
            if items:
                prefs = await self.alerts.prefs(chat, self.settings.alert_digest_hour)
                # Held for the quiet hours, or the day's digest (also of a chat that had its
                # share of alerts at once).
                morning = not prefs.digest and tehran(upto).hour == self.settings.quiet_hours[1]
                daily = not morning
                delivery = await self.outbox.create(
                    Kind.ALERT,
                    [self.wording.digest(items, daily)],
                    title=self.wording.digest_title,
                    chats=[str(chat)],
                    claim_for=f"digest:{int(upto)}",  # made again after a crash: sent once
                )
                if delivery is not None:
                    await enqueue_if_free(self.outbox, delivery.id)
                    sent += 1
                await self.queue.claims_kept([chat])
            await self.queue.digest_sent(chat, upto)
        return sent
