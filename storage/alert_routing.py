"""What the alert matcher needs to know of the chats an article matched, to route it: the
words of the alerts it matched and each chat's choices, then how many alerts each chat that
gets it at once has had this hour. One script call each, however many chats: an article
matching a thousand chats costs two round trips, not four thousand commands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from storage.alerts import Prefs, prefs_of
from storage.keys import Keys

UNIT, RECORD_END, CHAT_END = "\x1f", "\x1e", "\x1d"
COUNT_TTL = 3700

# For each chat: the records of the matched alerts (JSON) and the chat's choices (its hash's
# fields and values), all in one string (chats apart by GS, the two parts by RS, items by US):
# a thousand chats are one call and one reply to read. Read-only.
_FACTS = """
local unit, record_end, chat_end = ARGV[1], ARGV[2], ARGV[3]
local found = {}
for k = 1, #KEYS, 2 do
  local alerts, prefs = KEYS[k], KEYS[k + 1]
  local ids = ARGV[(k + 1) / 2 + 3]
  local records = {}
  for id in string.gmatch(ids, '[^,]+') do
    local record = redis.call('HGET', alerts, id)
    if record then records[#records + 1] = record end
  end
  local choices = redis.call('HGETALL', prefs)
  found[#found + 1] = table.concat(records, unit) .. record_end .. table.concat(choices, unit)
end
return table.concat(found, chat_end)
"""

# Each chat's count of alerts sent at once this hour, this one included (kept an hour), as
# one comma-separated string.
_COUNT = """
local ttl = ARGV[1]
local counts = {}
for k = 1, #KEYS do
  counts[k] = redis.call('INCR', KEYS[k])
  redis.call('EXPIRE', KEYS[k], ttl)
end
return table.concat(counts, ',')
"""


@dataclass(frozen=True)
class Facts:
    words: list[str]
    """The words of the chat's alerts the article matched, as the reader typed them."""
    prefs: Prefs


@dataclass
class Routing:
    redis: Redis
    keys: Keys

    def __post_init__(self) -> None:
        self._facts: AsyncScript = self.redis.register_script(_FACTS)
        self._count: AsyncScript = self.redis.register_script(_COUNT)

    async def facts(self, matched: dict[int, list[str]], default_hour: int) -> dict[int, Facts]:
        """Chat → its matched alerts' words (from their ids in `matched`; topics, «#…»,
        left to the caller) and its choices."""
        chats = list(matched)
        if not chats:
            return {}
        keys: list[str] = []
        ids: list[str] = []
        for chat in chats:
            keys += [self.keys.alerts(chat), self.keys.alert_prefs(chat)]
            ids.append(",".join(r for r in matched[chat] if not r.startswith("#")) or "-")
        found: str = await self._facts(keys=keys, args=[UNIT, RECORD_END, CHAT_END, *ids])
        facts = {}
        for chat, part in zip(chats, found.split(CHAT_END), strict=True):
            records, _, flat = part.partition(RECORD_END)
            words = sorted(json.loads(r)["text"] for r in records.split(UNIT) if r)
            items = flat.split(UNIT) if flat else []
            fields = dict(zip(items[0::2], items[1::2], strict=True))
            facts[chat] = Facts(words, prefs_of(fields, default_hour))
        return facts

    async def count_sent(self, chats: Sequence[int], hour: int) -> list[int]:
        """Each chat's alerts sent at once in this hour, this article's included."""
        if not chats:
            return []
        counts = await self._count(
            keys=[self.keys.alert_count(chat, hour) for chat in chats], args=[COUNT_TTL]
        )
        return [int(n) for n in counts.split(",")]
