"""Alerts: the words and topics a chat follows, and the index that finds, for a new article,
the chats to tell.

Each alert is filed under its rarest term only (the one fewest stored articles have), in a
set whose entries carry every term the alert needs; every change to those sets is also
recorded on a stream, so the matcher keeps a copy of the index in memory (storage/
alert_index.py): for an article, the sets of its own terms give the only alerts that can
match, each checked at once against the article's terms (storage/alert_terms.py), without a
round trip per term however many alerts there are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from bot.news.analysis import commonness
from storage.alert_index import AlertIndex
from storage.alert_terms import ArticleTerms, Parsed, Unit, spec, topic_key, units_of
from storage.keys import Keys
from storage.redis import awaited
from storage.subscribers import Subscribers

MAX_ALERTS = 10
MAX_WORDS = 5
COMMON_ZIPF = 6.2
"""A term at least this common in Persian at large («ایران», «سال») matches almost any news."""
COMMON_SHARE = 0.2
"""A term in more than this share of the stored articles matches almost any news..."""
COMMON_MIN_ARTICLES = 200
"""...once the archive is large enough to tell."""
CHANGES_KEPT = 100_000
"""Changes to the index kept for the matcher's copy to catch up with (it reloads when it
fell further behind)."""
POSTING_BYTES = 5
"""The search index's postings: 5 bytes an article (storage/keys.py `postings`)."""


class Added(Enum):
    ADDED = "added"
    EXISTS = "exists"
    FULL = "full"


class Refusal(Enum):
    EMPTY = "empty"
    TOO_MANY_WORDS = "too_many_words"
    ONLY_STOP_WORDS = "only_stop_words"
    TOO_COMMON = "too_common"


@dataclass(frozen=True)
class Alert:
    id: str
    text: str
    """The words as the reader typed them (display form)."""
    units: list[Unit]
    key: str
    """The rarest term: the index set it is filed under."""


@dataclass(frozen=True)
class Prefs:
    mode: str = "now"
    """"now": each article as it comes; "digest": one message a day at `hour`."""
    hour: int = 20
    quiet: bool = True
    paused: bool = False

    @property
    def digest(self) -> bool:
        return self.mode == "digest"


@dataclass(frozen=True)
class Stats:
    chats: int
    alerts: int
    topics: dict[str, int]


def alert_id(units: list[Unit]) -> str:
    return hashlib.sha1(spec(units).encode()).hexdigest()[:8]


# An alert is added, unless the chat has it or has the most it may; its index entry (and the
# change, for the matcher's copy: storage/alert_index.py), the chat's membership of the alert
# chats and the words' follower count change in the same step.
_ADD = """
local alerts, index, chats, words, terms, changes =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local chat, id, record, member, label, limit, term, kept =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if redis.call('HEXISTS', alerts, id) == 1 then return 0 end
if redis.call('HLEN', alerts) >= tonumber(limit) then return -1 end
redis.call('HSET', alerts, id, record)
redis.call('SADD', index, member)
redis.call('SADD', terms, term)
redis.call('XADD', changes, 'MAXLEN', '~', kept, '*', 'op', '+', 'term', term, 'member', member)
redis.call('SADD', chats, chat)
redis.call('ZINCRBY', words, 1, label)
return 1
"""

# The alert goes with its index entry (the change recorded) and its share of the words'
# count; a chat left with no alert and no topic leaves the alert chats.
_REMOVE = """
local alerts, index, chats, words, topics, changes =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local chat, id, member, label, term, kept = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('HDEL', alerts, id) == 0 then return 0 end
redis.call('SREM', index, member)
redis.call('XADD', changes, 'MAXLEN', '~', kept, '*', 'op', '-', 'term', term, 'member', member)
if tonumber(redis.call('ZINCRBY', words, -1, label)) <= 0 then redis.call('ZREM', words, label) end
if redis.call('HLEN', alerts) == 0 and redis.call('SCARD', topics) == 0 then
  redis.call('SREM', chats, chat)
end
return 1
"""

# A topic followed or no longer followed, in one step with the chat's own list.
_TOGGLE_TOPIC = """
local followers, topics, chats, alerts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local chat, name = ARGV[1], ARGV[2]
if redis.call('SREM', topics, name) == 1 then
  redis.call('SREM', followers, chat)
  if redis.call('HLEN', alerts) == 0 and redis.call('SCARD', topics) == 0 then
    redis.call('SREM', chats, chat)
  end
  return 0
end
redis.call('SADD', topics, name)
redis.call('SADD', followers, chat)
redis.call('SADD', chats, chat)
return 1
"""


def _member(chat: int, alert: Alert) -> str:
    """The alert's entry in the index (storage/alert_index.py reads it back)."""
    return f"{chat}:{alert.id}:{spec(alert.units)}"


@dataclass
class AlertStore:
    redis: Redis
    keys: Keys

    def __post_init__(self) -> None:
        self._add: AsyncScript = self.redis.register_script(_ADD)
        self._remove: AsyncScript = self.redis.register_script(_REMOVE)
        self._toggle: AsyncScript = self.redis.register_script(_TOGGLE_TOPIC)

    # Words -------------------------------------------------------------------------------------
    async def refusal(self, parsed: Parsed) -> Refusal | None:
        """Why these words cannot be an alert, or None."""
        if parsed.words == 0:
            return Refusal.EMPTY
        if parsed.words > MAX_WORDS:
            return Refusal.TOO_MANY_WORDS
        if not parsed.units:
            return Refusal.ONLY_STOP_WORDS
        if await self._too_common(parsed.units):
            return Refusal.TOO_COMMON
        return None

    async def _too_common(self, units: list[Unit]) -> bool:
        every = [term for unit in units for term in unit]
        if len(units) == 1 and len(units[0]) == 1 and commonness(every[0]) >= COMMON_ZIPF:
            return True
        if len(units) == 1 and len(units[0]) > 1:
            return False  # a phrase is specific even of common words
        counts = await self.document_counts(every)
        total = await self.articles_indexed()
        if total < COMMON_MIN_ARTICLES:
            return all(commonness(term) >= COMMON_ZIPF for term in every)
        return min(counts.values()) > COMMON_SHARE * total

    async def document_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """How many stored articles have each term (the search index's postings)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for term in terms:
                pipe.strlen(self.keys.postings(term))
            lengths = await pipe.execute()
        return {term: int(n) // POSTING_BYTES for term, n in zip(terms, lengths, strict=True)}

    async def articles_indexed(self) -> int:
        return int(await awaited(self.redis.hget(self.keys.index_stats(), "documents")) or 0)

    async def rarest(self, units: list[Unit]) -> str:
        """The term fewest stored articles have (then the least common in Persian)."""
        every = list(dict.fromkeys(term for unit in units for term in unit))
        counts = await self.document_counts(every)
        return min(every, key=lambda term: (counts[term], commonness(term), term))

    async def add(self, chat: int, text: str, units: list[Unit]) -> tuple[Added, Alert]:
        alert = Alert(alert_id(units), text, units, await self.rarest(units))
        record = json.dumps(
            {"text": text, "spec": spec(units), "key": alert.key}, ensure_ascii=False
        )
        keys, args = self._add_arguments(chat, alert, record)
        added = await self._add(keys=keys, args=args)
        return {1: Added.ADDED, 0: Added.EXISTS}.get(int(added), Added.FULL), alert

    def _add_arguments(
        self, chat: int, alert: Alert, record: str
    ) -> tuple[list[str], list[str | int]]:
        """The keys and arguments of the script that files one alert (see _ADD)."""
        keys = [
            self.keys.alerts(chat),
            self.keys.alert_index(alert.key),
            self.keys.alert_chats(),
            self.keys.alert_words(),
            self.keys.alert_terms(),
            self.keys.alert_changes(),
        ]
        args: list[str | int] = [
            chat,
            alert.id,
            record,
            _member(chat, alert),
            alert.text,
            MAX_ALERTS,
            alert.key,
            CHANGES_KEPT,
        ]
        return keys, args

    async def add_many(self, items: Sequence[tuple[int, str, list[Unit], str]]) -> None:
        """(chat, text, units, rarest term) in one round trip, each as `add` files it (no
        limit checked: for loading alerts in bulk, e.g. the benchmark)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat, text, units, key in items:
                alert = Alert(alert_id(units), text, units, key)
                record = json.dumps({"text": text, "spec": spec(units), "key": key})
                keys, args = self._add_arguments(chat, alert, record)
                await self._add(
                    keys=keys,
                    args=args,
                    client=pipe,
                )
            await pipe.execute()

    async def alerts(self, chat: int) -> list[Alert]:
        found = await awaited(self.redis.hgetall(self.keys.alerts(chat)))
        alerts = []
        for found_id, record in found.items():
            data = json.loads(record)
            alerts.append(Alert(found_id, data["text"], units_of(data["spec"]), data["key"]))
        return sorted(alerts, key=lambda alert: alert.text)

    async def remove(self, chat: int, found_id: str) -> Alert | None:
        """The alert removed (None: the chat had no such alert)."""
        record = await awaited(self.redis.hget(self.keys.alerts(chat), found_id))
        if record is None:
            return None
        data = json.loads(record)
        alert = Alert(found_id, data["text"], units_of(data["spec"]), data["key"])
        removed = await self._remove(
            keys=[
                self.keys.alerts(chat),
                self.keys.alert_index(alert.key),
                self.keys.alert_chats(),
                self.keys.alert_words(),
                self.keys.chat_topics(chat),
                self.keys.alert_changes(),
            ],
            args=[chat, found_id, _member(chat, alert), alert.text, alert.key, CHANGES_KEPT],
        )
        return alert if removed else None

    # Topics -------------------------------------------------------------------------------------
    async def toggle_topic(self, chat: int, topic: str) -> bool:
        """Follow the topic, or stop following it; True when the chat follows it now."""
        following = await self._toggle(
            keys=[
                self.keys.topic_followers(topic_key(topic)),
                self.keys.chat_topics(chat),
                self.keys.alert_chats(),
                self.keys.alerts(chat),
            ],
            args=[chat, topic],
        )
        return bool(following)

    async def topics(self, chat: int) -> set[str]:
        return set(await awaited(self.redis.smembers(self.keys.chat_topics(chat))))

    # How a chat gets them -----------------------------------------------------------------------
    async def prefs(self, chat: int, default_hour: int = 20) -> Prefs:
        found = await awaited(self.redis.hgetall(self.keys.alert_prefs(chat)))
        return prefs_of(found, default_hour)

    async def set_prefs(
        self,
        chat: int,
        *,
        mode: str | None = None,
        hour: int | None = None,
        quiet: bool | None = None,
        paused: bool | None = None,
    ) -> None:
        fields: dict[str, str | int] = {}
        if mode is not None:
            fields["mode"] = mode
        if hour is not None:
            fields["hour"] = hour
        if quiet is not None:
            fields["quiet"] = int(quiet)
        if paused is not None:
            fields["paused"] = int(paused)
        if fields:
            await awaited(self.redis.hset(self.keys.alert_prefs(chat), mapping=fields))

    # Matching -----------------------------------------------------------------------------------
    async def match(
        self, article: ArticleTerms, topics: Sequence[str], index: AlertIndex
    ) -> dict[int, list[str]]:
        """Chat → why the article is theirs: the ids of the alerts it matches (storage/
        alert_routing.py names them), then «#topic» for each topic of theirs it is in."""
        reasons: dict[int, list[str]] = {}
        for chat, found_id in await index.matching(article):
            reasons.setdefault(chat, []).append(found_id)
        followed = [topic for topic in topics if topic_key(topic) in article.tags]
        if followed:
            async with self.redis.pipeline(transaction=False) as pipe:
                for topic in followed:
                    pipe.smembers(self.keys.topic_followers(topic_key(topic)))
                followers = await pipe.execute()
            for topic, chats in zip(followed, followers, strict=True):
                for chat in chats:
                    reasons.setdefault(int(chat), []).append(f"#{topic}")
        return reasons

    async def subscribed(self, chats: Sequence[int]) -> set[int]:
        """Those of the chats that subscribe to breaking news."""
        if not chats:
            return set()
        scores = await self.redis.zmscore(self.keys.subscribers(), [str(c) for c in chats])
        return {chat for chat, score in zip(chats, scores, strict=True) if score is not None}

    # Chats that are gone ------------------------------------------------------------------------
    async def drop_chat(self, chat: int) -> None:
        """Everything of a chat that blocked the bot or is gone."""
        for alert in await self.alerts(chat):
            await self.remove(chat, alert.id)
        for topic in await self.topics(chat):
            await self.toggle_topic(chat, topic)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.alert_prefs(chat), self.keys.alert_pending(chat))
            pipe.zrem(self.keys.alert_due(), chat)
            pipe.srem(self.keys.alert_chats(), chat)
            await pipe.execute()

    async def move_chat(self, old: int, new: int) -> None:
        """A group that became a supergroup keeps its alerts, topics and choices."""
        alerts, topics = await self.alerts(old), await self.topics(old)
        prefs = await awaited(self.redis.hgetall(self.keys.alert_prefs(old)))
        await self.drop_chat(old)
        for alert in alerts:
            await self.add(new, alert.text, alert.units)
        for topic in topics:
            await self.toggle_topic(new, topic)
        if prefs:
            await awaited(self.redis.hset(self.keys.alert_prefs(new), mapping=prefs))

    # For the newsroom ---------------------------------------------------------------------------
    async def stats(self, topics: Sequence[str]) -> Stats:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.scard(self.keys.alert_chats())
            pipe.zrange(self.keys.alert_words(), 0, -1, withscores=True)
            for topic in topics:
                pipe.scard(self.keys.topic_followers(topic_key(topic)))
            chats, words, *followers = await pipe.execute()
        alerts = int(sum(score for _, score in words))
        return Stats(int(chats), alerts, dict(zip(topics, map(int, followers), strict=True)))

    async def top_words(self, limit: int = 20) -> list[tuple[str, int]]:
        """The most-followed alerts' words, with how many chats follow them."""
        found = await self.redis.zrevrange(self.keys.alert_words(), 0, limit - 1, withscores=True)
        return [(words, int(score)) for words, score in found]


def prefs_of(fields: dict[str, str], default_hour: int) -> Prefs:
    """A chat's choices from its alert-prefs hash (the defaults where it has none)."""
    return Prefs(
        mode=fields.get("mode", "now"),
        hour=int(fields.get("hour", default_hour)),
        quiet=fields.get("quiet", "1") == "1",
        paused=fields.get("paused", "0") == "1",
    )


class AlertingSubscribers(Subscribers):
    """The subscribers as the delivery workers see them: a chat that blocked the bot loses
    its alerts too, a group that became a supergroup keeps them under its new id."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        super().__init__(redis, keys)
        self.alerts = AlertStore(redis, keys)

    async def unsubscribe(self, chat_id: int) -> bool:
        removed = await super().unsubscribe(chat_id)
        await self.alerts.drop_chat(chat_id)
        return removed

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> bool:
        moved = await super().migrate(old_chat_id, new_chat_id)
        await self.alerts.move_chat(old_chat_id, new_chat_id)
        return moved
