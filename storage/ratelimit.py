"""Rate limits shared by every process of the bot, in Redis.

Telegram's limits are per bot, not per process, so they are counted in one place: a GCRA
(generic cell rate algorithm) limiter is a single number per key, the "theoretical arrival
time" of the next message, in Redis's own clock (TIME), so processes on different machines
agree without synchronized clocks.

- `bot`: everything the bot sends (Telegram's ~30 messages/s, or the paid-broadcast ceiling);
  readers' replies are *charged* to it without waiting (they are paced in-process and come
  first), so a busy reader hour slows a broadcast rather than the other way round;
- `broadcast`: what delivery workers may use of it (KHABAR_BROADCAST_RATE);
- one per chat: 1 message/s in private chats, 20/min in groups and channels, short bursts
  allowed;
- the pause: set when Telegram answers 429, for exactly retry_after; every worker of every
  process waits it out before the next message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from storage.keys import Keys

TELEGRAM_RATE = 30.0
"""Messages a second Telegram lets a bot send in all (without paid broadcast)."""
PAID_RATE = 1000.0
"""With allow_paid_broadcast."""


@dataclass(frozen=True)
class Rate:
    """`per_second` on average, `burst` at once."""

    per_second: float
    burst: int = 1

    @property
    def interval_ms(self) -> float:
        return 1000.0 / self.per_second

    @property
    def tolerance_ms(self) -> float:
        return (self.burst - 1) * self.interval_ms


PRIVATE_CHAT = Rate(1.0, burst=2)
GROUP_CHAT = Rate(20 / 60, burst=1)
"""Exactly 20 a minute: a burst on top would allow 22 in the first one."""


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

# A reply to a reader: counted against the bot-wide and the chat's limiters without waiting
# (it was paced in-process already), which pushes broadcast traffic back.
# KEYS: bot, chat. ARGV: bot interval, chat interval.
_CHARGE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
for i = 1, #KEYS do
  local value = tonumber(redis.call('GET', KEYS[i]))
  if value == nil or value < now then value = now end
  value = value + tonumber(ARGV[i])
  redis.call('SET', KEYS[i], tostring(value), 'PX', math.ceil(value - now) + 1000)
end
return 1
"""

# A longer pause wins over a shorter one: two 429s in a row must not shorten the wait.
_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
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
    _charge: AsyncScript = field(init=False, repr=False)
    _pause: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._charge = self.redis.register_script(_CHARGE)
        self._pause = self.redis.register_script(_PAUSE)

    @classmethod
    def for_broadcast(cls, redis: Redis, keys: Keys, rate: float, paid: bool) -> RateLimiter:
        """KHABAR_BROADCAST_RATE under the bot-wide ceiling (30/s, 1000/s paid). The bursts
        are kept small: a full bucket on our side would let a burst arrive at Telegram just
        as its own bucket is empty."""
        ceiling = PAID_RATE if paid else TELEGRAM_RATE
        bot = Rate(ceiling, burst=max(1, int(ceiling / 10)))
        broadcast = Rate(min(rate, ceiling), burst=max(1, int(min(rate, ceiling) / 10)))
        return cls(redis, keys, broadcast, bot)

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

    async def charge(self, chat: str) -> None:
        """Count a reader's reply (sent without waiting here) against the shared limits."""
        await self._charge(
            keys=[self.keys.rate("bot"), self.keys.chat_rate(chat)],
            args=[self.bot.interval_ms, chat_rate(chat).interval_ms],
        )

    async def pause(self, seconds: float, why: str = "429") -> None:
        """Hold every worker of every process back for `seconds` from now."""
        await self._pause(keys=[self.keys.pause()], args=[max(1, int(seconds * 1000)), why])
