"""Telegram's webhook over real HTTP on the real Redis: each update_id handled once, whichever
process it is posted to and however often."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app.build import services_for
from tests.test_web import Web, serving

SECRET = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}
WEBHOOK: dict[str, Any] = {
    "webhook": True,
    "webhook_url": "https://bot.example.ir",
    "webhook_secret": SecretStr("hook-secret"),
}


def update(update_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "text": "/start",
            "chat": {"id": 5, "type": "private"},
        },
    }


@pytest.fixture
async def hook() -> AsyncIterator[Web]:
    async with serving(**WEBHOOK) as running:
        yield running


async def test_an_update_posted_twice_is_handled_once(hook: Web) -> None:
    for _ in range(3):
        status, _ = await hook.post("/telegram/webhook", update(41), headers=SECRET)
        assert status == 200
    status, _ = await hook.post("/telegram/webhook", update(42), headers=SECRET)
    assert status == 200
    assert [item["update_id"] for item in hook.updates] == [41, 42]


async def test_an_update_posted_to_two_processes_at_once_is_handled_once(hook: Web) -> None:
    other_services = await services_for(hook.services.settings)  # a connection of its own
    try:
        async with serving(other_services, **WEBHOOK) as other:
            posts = [
                server.post("/telegram/webhook", update(n), headers=SECRET)
                for n in range(100, 120)
                for server in (hook, other, hook, other)
            ]
            assert {status for status, _ in await asyncio.gather(*posts)} == {200}
            handled = sorted(item["update_id"] for item in hook.updates + other.updates)
            assert handled == list(range(100, 120))
    finally:
        await other_services.redis.aclose()


async def test_an_update_that_could_not_be_handed_on_is_taken_again() -> None:
    failures = [RuntimeError("the update queue is gone")]

    async def first_fails(_: dict[str, Any]) -> None:
        if failures:
            raise failures.pop()

    async with serving(on_update=first_fails, **WEBHOOK) as hook:
        status, _ = await hook.post("/telegram/webhook", update(7), headers=SECRET)
        assert status == 500  # Telegram sends it again
        status, _ = await hook.post("/telegram/webhook", update(7), headers=SECRET)
        assert status == 200
        assert [item["update_id"] for item in hook.updates] == [7]


async def test_an_update_without_an_update_id_is_a_400(hook: Web) -> None:
    bodies: list[dict[str, Any]] = [{"message": {}}, {"update_id": "7"}, {"update_id": True}]
    for body in bodies:
        status, answer = await hook.post("/telegram/webhook", body, headers=SECRET)
        assert status == 400, body
        assert "update_id" in answer["error"]
    assert hook.updates == []


async def test_the_update_handed_on_is_the_one_posted(hook: Web) -> None:
    posted = update(9)
    await hook.post("/telegram/webhook", copy.deepcopy(posted), headers=SECRET)
    assert hook.updates == [posted]
