"""Live progress of deliveries in the admins' chats: the progress message of each running
delivery is edited every KHABAR_PROGRESS_SECONDS by whichever process holds that delivery's
reporter lease, and replaced by the final report once, when the delivery is over.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.services import Sample
from handlers import views
from handlers.common import Context, KhabarApplication
from storage.deliveries import Delivery
from storage.locks import Lease

log = logging.getLogger("khabar.admin")

ORPHANED = 30.0
"""Seconds after which a delivery whose progress message never came gets a new one."""


async def report_progress(context: Context) -> None:
    """Every few seconds, in every process: the progress messages of running deliveries are
    edited by whichever process holds each one's reporter lease; when a delivery is over, its
    final report replaces the progress, once."""
    services = context.services
    leases = context.bot_data.report_leases
    samples = context.bot_data.report_samples
    active = await services.outbox.active()
    for gone in set(leases) - {d.id for d in active}:  # reported by another process
        leases.pop(gone, None)
        samples.pop(gone, None)
    for delivery in active:
        if delivery.admin_chat is None:
            continue
        if delivery.progress_message is None and time.time() - delivery.created < ORPHANED:
            continue  # its message is being sent
        lease = leases.get(delivery.id)
        if lease is None:
            lease = leases[delivery.id] = Lease(
                services.redis,
                services.store.keys.reporter(delivery.id),
                context.services.settings.progress_seconds * 4,
            )
        if not await lease.hold():
            continue
        if delivery.over:
            payload = views.report(delivery, await services.outbox.errors(delivery.id))
        else:
            payload = views.progress(delivery, _rate(samples, delivery))
        try:
            await _show(context, delivery, payload)
        except TelegramError as error:
            log.warning("progress of delivery %s: %s", delivery.id, error)
            if not delivery.over:
                continue
        if delivery.over:
            await services.outbox.reported(delivery.id)
            await lease.release()
            leases.pop(delivery.id, None)
            samples.pop(delivery.id, None)


async def _show(context: Context, delivery: Delivery, payload: dict[str, Any]) -> None:
    """Edit the delivery's progress message; a delivery that lost it (its process died
    before sending it) gets a new one."""
    assert delivery.admin_chat is not None
    markup = payload.get("reply_markup")
    keyboard = InlineKeyboardMarkup.de_json(markup, context.bot) if markup else None
    if delivery.progress_message is None:
        sent = await context.bot.send_message(
            delivery.admin_chat, payload["text"], parse_mode=None, reply_markup=keyboard
        )
        await context.services.outbox.set_progress_message(delivery.id, sent.message_id)
        return
    try:
        await context.bot.edit_message_text(
            payload["text"],
            chat_id=delivery.admin_chat,
            message_id=delivery.progress_message,
            parse_mode=None,
            reply_markup=keyboard,
        )
    except BadRequest as error:
        if "not modified" not in str(error):
            raise


def _rate(samples: dict[str, Sample], delivery: Delivery) -> float | None:
    """Messages a second over the last interval, smoothed; None until it can be told."""
    now = datetime.now().timestamp()
    then, before, rate = samples.get(delivery.id, (delivery.created, 0, None))
    if now - then >= 1.0:
        reached = delivery.processed - delivery.counts["skipped"]  # skipped: nothing sent
        recent = (reached - before) / (now - then)
        rate = recent if rate is None else 0.5 * rate + 0.5 * recent
        samples[delivery.id] = (now, reached, rate)
    return rate if rate and rate > 0 else None


def register(application: KhabarApplication, every: float) -> None:
    """Report progress every `every` seconds (KHABAR_PROGRESS_SECONDS: Telegram allows an edit
    about once a second per chat; the default of 3 s leaves room for the admin's commands)."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(report_progress, interval=every, first=every)
