"""What the handlers work with, built once by bot/app.py and kept in the Application's
bot_data: the settings and the storage services."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.config import Settings
from storage.articles import ArticleStore
from storage.outbox import Outbox
from storage.ratelimit import RateLimiter
from storage.sessions import Sessions
from storage.subscribers import Subscribers

BOT_DATA_KEY = "khabar"


@dataclass
class Services:
    settings: Settings
    redis: Redis
    store: ArticleStore
    sessions: Sessions
    subscribers: Subscribers
    outbox: Outbox
    limiter: RateLimiter
