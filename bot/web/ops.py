"""For monitoring: `GET /healthz` and `GET /metrics`."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from bot import metrics
from bot.web.context import (
    CONTEXT,
    REDIS_TIMEOUT,
    json_answer,
)

log = logging.getLogger("khabar.web")


async def healthz(request: web.Request) -> web.StreamResponse:
    """200 when Redis answers PING and the delivery workers run; 503 naming what is wrong.
    A pause Telegram asked for (429) shows as "telegram": "paused" with `paused_for` seconds
    left: the process is well (restarting it would not help), sending waits."""
    ctx = request.app[CONTEXT]
    health = {"redis": "ok", "workers": "ok"}
    paused_for = 0.0
    try:
        await asyncio.wait_for(ctx.services.redis.ping(), REDIS_TIMEOUT)
        paused_for = await asyncio.wait_for(ctx.services.limiter.paused_for(), REDIS_TIMEOUT)
    except (RedisError, OSError, TimeoutError) as error:
        # The reason stays in the log: this page is unauthenticated.
        log.warning("health check: Redis does not answer: %s", error or type(error).__name__)
        health["redis"] = "unreachable"
    if not ctx.workers_alive():
        health["workers"] = "not running"
    healthy = all(value == "ok" for value in health.values())
    answer: dict[str, str | float] = {**health, "telegram": "paused" if paused_for else "ok"}
    if paused_for:
        answer["paused_for"] = round(paused_for, 1)
    return json_answer(answer, 200 if healthy else 503, {"Cache-Control": "no-store"})


async def metrics_page(request: web.Request) -> web.StreamResponse:
    """bot.metrics.REGISTRY in Prometheus text format; the outbox depth read now."""
    outbox = request.app[CONTEXT].services.outbox
    try:
        metrics.OUTBOX_DEPTH.set(await asyncio.wait_for(outbox.depth(), REDIS_TIMEOUT))
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("metrics: cannot read the outbox depth: %s", error or type(error).__name__)
        metrics.OUTBOX_DEPTH.set(float("nan"))  # unknown, rather than a stale figure
    return web.Response(
        body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
