"""The outbox in Redis: snapshots, paging into the stream, finishing, claiming, touching."""

from __future__ import annotations

from redis.asyncio import Redis

from storage.deliveries import Done, Entry, Kind, Outcome, Status
from storage.keys import Keys
from storage.outbox import Outbox
from storage.subscribers import ChatKind, Subscribers

CARD = [{"text": "<b>خبر</b>", "parse_mode": "HTML"}]


async def filled(redis: Redis, keys: Keys, chats: int) -> tuple[Outbox, str]:
    subscribers = Subscribers(redis, keys)
    for chat in range(1, chats + 1):
        await subscribers.subscribe(chat, ChatKind.PRIVATE)
    outbox = Outbox(redis, keys)
    await outbox.ensure_group()
    delivery = await outbox.create(Kind.BREAKING, CARD, title="خبر", subscribers=True)
    assert delivery is not None
    await outbox.enqueue(delivery.id, page=7)
    return outbox, delivery.id


async def test_the_chats_are_fixed_when_the_delivery_is_made(redis: Redis, keys: Keys) -> None:
    subscribers = Subscribers(redis, keys)
    for chat in (1, 2, 3):
        await subscribers.subscribe(chat, ChatKind.PRIVATE)
    outbox = Outbox(redis, keys)
    await outbox.ensure_group()
    delivery = await outbox.create(
        Kind.BREAKING, CARD, title="خبر", subscribers=True, chats=["@news"]
    )
    assert delivery is not None and delivery.total == 4
    await subscribers.subscribe(4, ChatKind.PRIVATE)  # too late for this one
    await subscribers.unsubscribe(1)  # still gets it: it was subscribed when it was made
    await outbox.enqueue(delivery.id)
    entries = await outbox.read("w1", 10, 0)
    assert sorted(entry.chat for entry in entries) == ["1", "2", "3", "@news"]
    assert not await redis.exists(keys.delivery_chats(delivery.id)), "the snapshot is dropped"
    assert await outbox.create(Kind.POST, CARD, title="خبر") is None, "nobody to send to"


async def test_paged_enqueue_and_finish_reach_done_once(redis: Redis, keys: Keys) -> None:
    outbox, delivery_id = await filled(redis, keys, 30)
    assert await outbox.depth() == 30
    entries = await outbox.read("w1", 100, 0)
    assert len(entries) == 30
    done = [Done(e, Outcome.SENT, sent_to=e.chat, sent=(7,)) for e in entries[:29]]
    assert await outbox.finish(done) == []
    assert await outbox.finish([Done(entries[29], Outcome.BLOCKED, "blocked")]) == [delivery_id]
    assert await outbox.finish(done[:3]) == [], "finishing twice counts nothing"
    delivery = await outbox.get(delivery_id)
    assert delivery is not None and delivery.status is Status.DONE
    assert (delivery.counts["sent"], delivery.counts["blocked"]) == (29, 1)
    assert await outbox.depth() == 0
    assert await outbox.messages_in(delivery_id, entries[0].chat) == (entries[0].chat, [7])
    assert await outbox.errors(delivery_id) == [], "a blocked chat is not an error"


async def test_a_cancelled_delivery_is_not_put_in_further(redis: Redis, keys: Keys) -> None:
    subscribers = Subscribers(redis, keys)
    for chat in range(1, 21):
        await subscribers.subscribe(chat, ChatKind.PRIVATE)
    outbox = Outbox(redis, keys)
    await outbox.ensure_group()
    delivery = await outbox.create(Kind.BREAKING, CARD, title="خبر", subscribers=True)
    assert delivery is not None and await outbox.cancel(delivery.id)
    await outbox.enqueue(delivery.id)
    found = await outbox.get(delivery.id)
    assert found is not None and found.enqueued == 0 and found.status is Status.DONE
    assert not await outbox.cancel(delivery.id), "nothing left to stop"


async def test_a_touch_does_not_take_back_an_entry_another_worker_claimed(
    redis: Redis, keys: Keys
) -> None:
    outbox, _ = await filled(redis, keys, 2)
    first, second = await outbox.read("a", 2, 0)
    claimed = await outbox.claim_stale("b", 0, 1)  # a was silent too long for b
    assert [entry.entry_id for entry in claimed] == [first.entry_id]
    assert await outbox.touch("a", [first.entry_id, second.entry_id]) == [first.entry_id]
    pending = await redis.xpending_range(keys.outbox(), "workers", "-", "+", 10)
    assert {p["message_id"]: p["consumer"] for p in pending} == {
        first.entry_id: "b",
        second.entry_id: "a",
    }


async def test_a_consumer_with_pending_entries_is_kept(redis: Redis, keys: Keys) -> None:
    outbox, _ = await filled(redis, keys, 1)
    await outbox.join("idle")
    [entry] = await outbox.read("busy", 1, 0)
    await outbox.leave("busy")
    await outbox.leave("idle")
    names = {c["name"] for c in await redis.xinfo_consumers(keys.outbox(), "workers")}
    assert names == {"busy"}, "its entry can still be claimed"
    assert [e.entry_id for e in await outbox.claim_stale("other", 0, 5)] == [entry.entry_id]


async def test_two_workers_finishing_one_chat_keep_both_message_ids(
    redis: Redis, keys: Keys
) -> None:
    outbox, delivery_id = await filled(redis, keys, 1)
    [entry] = await outbox.read("a", 1, 0)
    [again] = await outbox.claim_stale("b", 0, 1)
    await outbox.finish([Done(entry, Outcome.SENT, sent_to=entry.chat, sent=(11,))])
    await outbox.finish([Done(again, Outcome.SENT, sent_to=again.chat, sent=(12,))])
    assert await outbox.messages_in(delivery_id, entry.chat) == (entry.chat, [11, 12])
    delivery = await outbox.get(delivery_id)
    assert delivery is not None and delivery.counts["sent"] == 1


async def test_hand_back_puts_entries_back_for_anyone(redis: Redis, keys: Keys) -> None:
    outbox, _ = await filled(redis, keys, 3)
    entries = await outbox.read("stopping", 3, 0)
    await outbox.hand_back(entries)
    again = await outbox.read("other", 10, 0)
    assert sorted(e.chat for e in again) == ["1", "2", "3"]
    assert all(isinstance(e, Entry) for e in again)
    assert await redis.xpending(keys.outbox(), "workers") == {
        "pending": 3,
        "min": again[0].entry_id,
        "max": again[-1].entry_id,
        "consumers": [{"name": "other", "pending": 3}],
    }
