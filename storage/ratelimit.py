"""One message budget in Redis, shared by every process of the bot.

Telegram's limits are per bot, not per process, and a strict Telegram counts them as windows
no burst may exceed: 30 messages in any second for the whole bot, about one a second (a few
at once) in a private chat, 20 in any minute in a group or channel. Every call that sends or
edits a message is counted here, replies and deliveries alike. A GCRA (generic cell rate
algorithm) limiter is a single number per key, the "theoretical arrival time" of the next
message, in Redis's own clock (TIME), so processes on different machines agree without
synchronized clocks. The budgets sit a little under Telegram's numbers (`BOT`, the chat
rates): what we send leaves in the order it was allowed, but reaches Telegram a few
milliseconds apart from that, and the margin keeps any window under the limit.

- `bot`: everything the bot sends, with no burst allowance; replies to readers *book* the
  next free slot (`book`: they wait their turn, and come first: a booked slot in the future
  holds deliveries back until it has passed);
- `broadcast`: what delivery workers may use of it (KHABAR_BROADCAST_RATE, at most the bot's
  budget); workers only take a slot that is free now (`acquire`), never one a reply booked;
- one per chat: private chats 1/s with 3 at once (at most 4 in any second), groups and
  channels 16/min with 3 at once (at most 19 in any minute);
- the pause: set when Telegram answers 429, for exactly retry_after; nothing is sent by any
  process until it is over (a longer pause wins over a shorter one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from storage.keys import Keys

TELEGRAM_RATE = 30.0
"""Messages a second Telegram lets a bot send in all (without paid broadcast)."""
PAID_RATE = 1000.0
"""With allow_paid_broadcast."""
BOT_BUDGET = 29.0
"""What khabar sends a second at most: Telegram's 30 less a margin. With BOT_EARLY_MS, the
31st message after any first one is at least 30 intervals less 4 ms later, 1,030 ms: a
request may reach Telegram 30 ms closer to the one 30 before it than it left before a
window of a second holds 31 (the strict fake Bot API refuses the 31st, as Telegram does).
28/s gave 59 ms of margin but 93% of Telegram's rate; see benchmarks/broadcast.py."""
BOT_EARLY_MS = 4.0
"""How early a bot-wide slot may be used: enough for the wake-up of a timer and a round
trip to Redis (a sender later than that loses the difference, which costs rate, not
safety), small so that no window of a second takes a message more."""
PAID_BUDGET = 900.0
PAID_BURST = 50
"""Paid broadcast: 900/s with 50 at once, at most 950 in any second of Telegram's 1,000."""


@dataclass(frozen=True)
class Rate:
    """`per_second` on average, `burst` at once."""

    per_second: float
    burst: int = 1
    early_ms: float | None = None
    """How early a sender may come for its slot (None: a third of an interval)."""

    @property
    def interval_ms(self) -> float:
        return 1000.0 / self.per_second

    @property
    def tolerance_ms(self) -> float:
        # A sender may come back for its slot a little early (a third of an interval unless
        # told): one that comes back late would otherwise lose the difference, and asyncio's
        # timers are always a little late. A window still holds no more than one extra.
        early = self.interval_ms / 3 if self.early_ms is None else self.early_ms
        return (self.burst - 1) * self.interval_ms + early


PRIVATE_CHAT = Rate(1.0, burst=3)
"""At most 4 in any second (Telegram: about one a second, short bursts tolerated)."""
GROUP_CHAT = Rate(16 / 60, burst=3)
"""At most 19 in any minute (Telegram: 20)."""


def chat_rate(chat: str) -> Rate:
    """Users have positive ids; groups, supergroups and channels negative ids or @names."""
    return PRIVATE_CHAT if chat.isdigit() else GROUP_CHAT


# Takes one message's worth for each chat of the list, in order, where both the chat and the
# bot-wide limiters allow it now. The checks and the updates of every limiter involved must be
# one step: two processes reading the same arrival time would both send. It stops at the first
# chat the bot-wide limits refuse, so the order of the queue is kept. With each slot given it
# writes the caller's note (HSET key field value: the outbox's "in flight" mark), so a slot is
# never taken without its mark, and the mark costs no round trip of its own.
# KEYS: pause, bot, broadcast, then per chat: its limiter, the hash its note goes to.
# ARGV: bot interval, bot tolerance, broadcast interval, broadcast tolerance, then per chat:
#       interval and tolerance (ms), note field, note value.
# Returns {wait, r1..rn}: wait = ms until the bot-wide limiters allow the next message (0 when
# they did not refuse any); ri = 0 when chat i may send now, else ms until it may (-1: not
# looked at because the bot-wide limit was reached first).
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local pause = redis.call('PTTL', KEYS[1])
local results = {}
if pause > 0 then
  results[1] = pause
  for i = 4, #KEYS, 2 do results[#results + 1] = -1 end
  return results
end
local function tat(key)
  local value = tonumber(redis.call('GET', key))
  if value == nil or value < now then return now end
  return value
end
local bot_tat, bot_interval, bot_tolerance = tat(KEYS[2]), tonumber(ARGV[1]), tonumber(ARGV[2])
local all_tat, all_interval, all_tolerance = tat(KEYS[3]), tonumber(ARGV[3]), tonumber(ARGV[4])
local wait = 0
local taken = 0
for i = 4, #KEYS, 2 do
  if wait > 0 then
    results[#results + 1] = -1
  else
    local n = (i - 4) * 2
    local interval, tolerance = tonumber(ARGV[5 + n]), tonumber(ARGV[6 + n])
    local chat_tat = tat(KEYS[i])
    if chat_tat - now > tolerance then
      results[#results + 1] = math.ceil(chat_tat - now - tolerance)
    else
      local over = math.max(bot_tat - now - bot_tolerance, all_tat - now - all_tolerance)
      if over > 0 then
        wait = math.ceil(over)
        results[#results + 1] = -1
      else
        bot_tat, all_tat = bot_tat + bot_interval, all_tat + all_interval
        redis.call('SET', KEYS[i], tostring(chat_tat + interval), 'PX',
                   math.ceil(chat_tat + interval - now) + 1000)
        redis.call('HSET', KEYS[i + 1], ARGV[7 + n], ARGV[8 + n])
        redis.call('EXPIRE', KEYS[i + 1], 172800)
        results[#results + 1] = 0
        taken = taken + 1
      end
    end
  end
end
if taken > 0 then
  redis.call('SET', KEYS[2], tostring(bot_tat), 'PX', math.ceil(bot_tat - now) + 1000)
  redis.call('SET', KEYS[3], tostring(all_tat), 'PX', math.ceil(all_tat - now) + 1000)
end
table.insert(results, 1, wait)
return results
"""

# A reply books the first moment both the bot-wide and the chat's limiters (and any pause)
# allow, however far ahead, and returns how long to wait for it; a slot further away than the
# horizon is not booked (the reader has moved on: -wait is returned). One script, because two
# processes booking at once must not get the same slot.
_BOOK = """
local pause_key, bot_key, chat_key = KEYS[1], KEYS[2], KEYS[3]
local bot_interval, chat_interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local chat_tolerance, horizon = tonumber(ARGV[3]), tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local function tat(key)
  local value = tonumber(redis.call('GET', key))
  if value == nil or value < now then return now end
  return value
end
local bot_tat, chat_tat = tat(bot_key), tat(chat_key)
local at = math.max(now + math.max(redis.call('PTTL', pause_key), 0), bot_tat,
                    chat_tat - chat_tolerance)
if at - now > horizon then return -math.ceil(at - now) end
local next_bot, next_chat = at + bot_interval, math.max(chat_tat, at) + chat_interval
redis.call('SET', bot_key, tostring(next_bot), 'PX', math.ceil(next_bot - now) + 1000)
redis.call('SET', chat_key, tostring(next_chat), 'PX', math.ceil(next_chat - now) + 1000)
return math.ceil(at - now)
"""

# A longer pause wins over a shorter one: two 429s in a row must not shorten the wait.
# Returns 1 when this call set or lengthened the pause.
_PAUSE = """
local pause_key = KEYS[1]
local ms, why = tonumber(ARGV[1]), ARGV[2]
if redis.call('PTTL', pause_key) < ms then
  redis.call('SET', pause_key, why, 'PX', ms)
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Ask:
    """A slot to send one message to `chat`; when given, `note_field` = `note_value` is
    written to the hash `note_key` in the same step."""

    chat: str
    note_key: str
    note_field: str
    note_value: str


@dataclass(frozen=True)
class Grant:
    """What `acquire` allowed: per chat, 0.0 = send now, else seconds to wait (None: not
    looked at); and how long the bot-wide limits (or a pause) hold back the rest."""

    chats: list[float | None]
    wait: float


@dataclass
class RateLimiter:
    redis: Redis
    keys: Keys
    broadcast: Rate
    bot: Rate
    _acquire: AsyncScript = field(init=False, repr=False)
    _book: AsyncScript = field(init=False, repr=False)
    _pause: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._book = self.redis.register_script(_BOOK)
        self._pause = self.redis.register_script(_PAUSE)

    @classmethod
    def for_broadcast(cls, redis: Redis, keys: Keys, rate: float, paid: bool) -> RateLimiter:
        """KHABAR_BROADCAST_RATE under the bot's budget (29/s; 900/s with paid broadcast).
        No burst for the bot: a burst on our side is one that arrives at Telegram just as its
        window is full."""
        bot = (
            Rate(PAID_BUDGET, burst=PAID_BURST) if paid else Rate(BOT_BUDGET, early_ms=BOT_EARLY_MS)
        )
        rate = min(rate, bot.per_second)
        return cls(redis, keys, Rate(rate, burst=max(1, min(bot.burst, int(rate / 20)))), bot)

    async def acquire(self, asks: Sequence[Ask]) -> Grant:
        """One message's worth for each chat that may send now, in order, each with its note
        written (see _ACQUIRE)."""
        if not asks:
            return Grant([], 0.0)
        keys = [self.keys.pause(), self.keys.rate("bot"), self.keys.rate("broadcast")]
        args: list[float | str] = [
            self.bot.interval_ms,
            self.bot.tolerance_ms,
            self.broadcast.interval_ms,
            self.broadcast.tolerance_ms,
        ]
        for ask in asks:
            keys += [self.keys.chat_rate(ask.chat), ask.note_key]
            rate = chat_rate(ask.chat)
            args += [rate.interval_ms, rate.tolerance_ms, ask.note_field, ask.note_value]
        wait, *verdicts = await self._acquire(keys=keys, args=args)
        return Grant([None if v < 0 else v / 1000 for v in map(int, verdicts)], int(wait) / 1000)

    async def book(self, chat: str, horizon: float) -> float:
        """Book the next slot a reply to `chat` may use; the seconds to wait for it. A slot
        more than `horizon` seconds away is not booked: -(its wait) is returned."""
        rate = chat_rate(chat)
        wait = await self._book(
            keys=[self.keys.pause(), self.keys.rate("bot"), self.keys.chat_rate(chat)],
            args=[self.bot.interval_ms, rate.interval_ms, rate.tolerance_ms, horizon * 1000],
        )
        return int(wait) / 1000

    async def pause(self, seconds: float, why: str = "429") -> bool:
        """Hold every process back for `seconds` from now; True when this call set the pause
        (or made it longer), so exactly one caller reports it."""
        ms = max(1, math.ceil(seconds * 1000))
        return bool(await self._pause(keys=[self.keys.pause()], args=[ms, why]))

    async def claim_pause_report(self, seconds: float) -> bool:
        """True for the one caller that reports the pause in force (for its `seconds`)."""
        ms = max(1, math.ceil(seconds * 1000))
        return bool(await self.redis.set(self.keys.pause_reported(), 1, nx=True, px=ms))

    async def paused_for(self) -> float:
        """Seconds left of the pause Telegram asked for (0 when sending freely)."""
        return max(0, int(await self.redis.pttl(self.keys.pause()))) / 1000
