"""The `Store` contract, run against every store: the in-memory twin, TinyDB and Postgres.

What one store does, all do: a unit of work applied whole or not at all, a redelivery
recognised by the write itself, a stale case refused with `Conflict`, outbox claims with a
lease, whole lanes in order, a deletion that leaves nothing. Store-specific behaviour (files,
permissions, SQL) is tested beside each store.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from store_helpers import (
    ANN,
    BOB,
    LEASE,
    NOW,
    T0,
    claim_ids,
    claimed_by_me,
    enqueue,
    make_case,
    make_conversation,
    make_item,
    people_answering,
    put_meta,
    save,
    tombstone_of,
)

from bot.errors import Conflict
from bot.model import Audience, CaseStatus, Person, Platform
from bot.ports import KEEP, Delivered, Store, UnitOfWork

# --- cases ------------------------------------------------------------------------------------


async def test_case_round_trip_keeps_every_field(store: Store) -> None:
    case = make_case("TT-2026-0001")
    await store.commit(UnitOfWork(cases=[case]))
    loaded = await store.case("TT-2026-0001")
    assert loaded == replace(case, version=1)
    assert loaded is not None and loaded.created_at.utcoffset() == timedelta(hours=1)


async def test_cases_are_copies_both_ways(store: Store) -> None:
    case = make_case("TT-2026-0001")
    await store.commit(UnitOfWork(cases=[case]))
    case.answers["n"] = 99
    loaded = await store.case("TT-2026-0001")
    assert loaded is not None and loaded.answers["n"] == 3
    loaded.history.clear()
    again = await store.case("TT-2026-0001")
    assert again is not None and len(again.history) == 2


async def test_case_lookup_ignores_case_and_spaces(store: Store) -> None:
    await save(store, make_case("TT-2026-0001"))
    assert await store.case(" tt-2026-0001 ") is not None
    assert await store.case("TT-2026-0002") is None


async def test_a_case_is_written_from_the_version_read_and_never_over_another(
    store: Store,
) -> None:
    await save(store, make_case("TT-2026-0001"))
    first = await store.case("TT-2026-0001")
    second = await store.case("TT-2026-0001")
    assert first is not None and second is not None and first.version == 1
    first.assignee = "Lee"
    await store.commit(UnitOfWork(cases=[first]))
    assert first.version == 2  # the written case learns its new version
    second.assignee = "Kim"  # read before Lee's change was written
    with pytest.raises(Conflict):
        await store.commit(UnitOfWork(cases=[second]))
    stored = await store.case("TT-2026-0001")
    assert stored is not None and stored.assignee == "Lee" and stored.version == 2


async def test_a_new_case_over_an_existing_one_is_a_conflict(store: Store) -> None:
    await save(store, make_case("TT-2026-0001"))
    with pytest.raises(Conflict):
        await store.commit(UnitOfWork(cases=[make_case("TT-2026-0001", assignee="X")]))


async def test_a_conflict_writes_nothing_of_the_unit(store: Store) -> None:
    await save(store, make_case("TT-2026-0001"))
    stale = make_case("TT-2026-0001", version=7)
    unit = UnitOfWork(
        person_key=ANN.key,
        conversation=make_conversation(),
        delivery_id="d1",
        cases=[stale],
        outbox=[make_item("a")],
        meta={"k": {"v": 1}},
    )
    with pytest.raises(Conflict):
        await store.commit(unit)
    assert await store.conversation(ANN.key) is None
    assert not await store.seen("d1")
    assert await store.outbox_items() == []
    assert await store.get_meta("k") is None


# --- conversations and deliveries ----------------------------------------------------------------


async def test_conversation_round_trip_keep_and_end(store: Store) -> None:
    assert await store.conversation(ANN.key) is None
    conv = make_conversation()
    await store.commit(UnitOfWork(ANN.key, conv))
    assert await store.conversation(ANN.key) == conv
    await store.commit(UnitOfWork(ANN.key, KEEP, outbox=[make_item("x")]))
    assert await store.conversation(ANN.key) == conv
    await store.commit(UnitOfWork(ANN.key, None))
    assert await store.conversation(ANN.key) is None


async def test_conversations_lists_every_one_held(store: Store) -> None:
    assert await store.conversations() == []
    bob = Person(Platform.SLACK, "T1", "U2", name="Bob")
    await store.commit(UnitOfWork(ANN.key, make_conversation("c1")))
    await store.commit(UnitOfWork(bob.key, make_conversation("c2", bob)))
    assert sorted(c.id for c in await store.conversations()) == ["c1", "c2"]
    await store.commit(UnitOfWork(ANN.key, None))
    assert [c.id for c in await store.conversations()] == ["c2"]


async def test_a_unit_is_applied_whole(store: Store) -> None:
    ref = await store.take_reference(2026)
    items = [make_item("reply-1"), make_item("reply-2")]
    unit = UnitOfWork(
        ANN.key,
        make_conversation(),
        "delivery-1",
        cases=[make_case(ref)],
        outbox=items,
        meta={"teams:x": {"v": 1}, f"post:slack:{ref}": {"ts": "1"}},
    )
    assert await store.commit(unit) is True
    assert await store.conversation(ANN.key) == replace(make_conversation(), version=1)
    assert await store.seen("delivery-1") and not await store.seen("delivery-2")
    assert await claim_ids(store) == ["reply-1", "reply-2"]
    assert [i.seq for i in items] == [1, 2]  # the caller's items learn their seq
    assert await store.case(ref) is not None
    assert await store.get_meta("teams:x") == {"v": 1}
    assert await store.get_meta(f"post:slack:{ref}") == {"ts": "1"}


async def test_a_conversation_is_written_only_over_the_version_read(store: Store) -> None:
    """Two turns of one person at once (two instances): the second is refused, not lost."""
    first = make_conversation("c1")
    assert await store.commit(UnitOfWork(ANN.key, first)) and first.version == 1
    read_a = await store.conversation(ANN.key)
    read_b = await store.conversation(ANN.key)
    assert read_a is not None and read_b is not None and read_a.version == 1
    read_a.step, read_b.step = "harm", "targets"
    assert await store.commit(UnitOfWork(ANN.key, read_a, "turn-a"))
    with pytest.raises(Conflict):
        await store.commit(UnitOfWork(ANN.key, read_b, "turn-b"))
    held = await store.conversation(ANN.key)
    assert held is not None and held.step == "harm" and held.version == 2
    assert not await store.seen("turn-b")  # so the turn is done again, on what is held now
    with pytest.raises(Conflict):  # a "new" one over one held is a conflict too
        await store.commit(UnitOfWork(ANN.key, make_conversation("c2")))
    await store.commit(UnitOfWork(ANN.key, None))  # ended
    with pytest.raises(Conflict):  # and one read before it ended is not brought back
        await store.commit(UnitOfWork(ANN.key, held))
    assert await store.conversation(ANN.key) is None


async def test_a_redelivered_unit_changes_nothing(store: Store) -> None:
    await store.commit(UnitOfWork(ANN.key, make_conversation("c1"), "d1", outbox=[make_item("a")]))
    again = UnitOfWork(ANN.key, make_conversation("c2"), "d1", outbox=[make_item("b")])
    assert await store.commit(again) is False
    conv = await store.conversation(ANN.key)
    assert conv is not None and conv.id == "c1"
    assert [i.id for i in await store.outbox_items()] == ["a"]


async def test_meta_round_trip_copies_and_removal(store: Store) -> None:
    value = {"a": [1, 2], "b": {"c": "é"}}
    await put_meta(store, "teams:leadership:t1", value)
    value["a"].append(3)
    assert await store.get_meta("teams:leadership:t1") == {"a": [1, 2], "b": {"c": "é"}}
    got = await store.get_meta("teams:leadership:t1")
    assert got is not None
    got["a"].append(4)
    assert await store.get_meta("teams:leadership:t1") == {"a": [1, 2], "b": {"c": "é"}}
    await put_meta(store, "teams:leadership:t1", None)
    assert await store.get_meta("teams:leadership:t1") is None
    assert await store.get_meta("missing") is None


# --- references ---------------------------------------------------------------------------------


async def test_references_count_per_year(store: Store) -> None:
    assert await store.take_reference(2026) == "TT-2026-0001"
    assert await store.take_reference(2026) == "TT-2026-0002"
    assert await store.take_reference(2027) == "TT-2027-0001"


async def test_references_are_never_reused_after_a_delete(store: Store) -> None:
    ref = await store.take_reference(2026)
    await save(store, make_case(ref))
    await store.delete_case(ref, tombstone_of(make_case(ref)))
    assert await store.take_reference(2026) == "TT-2026-0002"


async def test_references_taken_together_are_all_different(store: Store) -> None:
    refs = await asyncio.gather(*(store.take_reference(2026) for _ in range(20)))
    assert sorted(refs) == [f"TT-2026-{n:04d}" for n in range(1, 21)]


async def test_twenty_new_cases_at_once_all_commit_first_time(store: Store) -> None:
    """Submits do not contend: each has its own reference, so none has to retry."""

    async def submit(n: int) -> bool:
        ref = await store.take_reference(2026)
        return await store.commit(UnitOfWork(f"p{n}", None, f"d{n}", cases=[make_case(ref)]))

    assert await asyncio.gather(*(submit(n) for n in range(20))) == [True] * 20
    assert len(await store.cases()) == 20


# --- finding cases ------------------------------------------------------------------------------


async def test_cases_filters_and_order(store: Store) -> None:
    await save(
        store,
        make_case("TT-2026-0002", created_at=T0 + timedelta(hours=1), status=CaseStatus.CLOSED),
        make_case("TT-2026-0001", created_at=T0, handles=("fake.head",)),
        make_case("TT-2026-0003", created_at=T0 + timedelta(hours=2), reporter=BOB, handles=()),
    )
    assert [c.reference for c in await store.cases()] == [
        "TT-2026-0001",
        "TT-2026-0002",
        "TT-2026-0003",
    ]
    assert [c.reference for c in await store.cases(open_only=True)] == [
        "TT-2026-0001",
        "TT-2026-0003",
    ]
    assert [c.reference for c in await store.cases(reporter=BOB.key)] == ["TT-2026-0003"]
    found = await store.cases(open_only=True, handles=("fake.head",))
    assert [c.reference for c in found] == ["TT-2026-0001"]
    assert await store.cases(handles=("nobody",)) == []


async def test_case_pages_hold_every_case_once_in_the_order_of_cases(store: Store) -> None:
    """Pages of an export: the same cases, the same order, none twice, however they split
    (ties in time broken by reference; an instant written with another offset sorts as the
    instant it is)."""
    assert [page async for page in store.case_pages()] == []
    utc = T0.astimezone(UTC)
    made = [
        make_case(f"TT-2026-{n:04d}", created_at=(T0 if n % 2 else utc) + timedelta(minutes=n % 4))
        for n in range(11, 0, -1)
    ]
    await save(store, *made)
    [changed] = await save(store, replace(made[3], status=CaseStatus.CLOSED))
    every = await store.cases()
    assert len(every) == 11 and changed in every
    for size in (1, 4, 11, 50):
        pages = [page async for page in store.case_pages(size)]
        assert all(0 < len(page) <= size for page in pages)
        assert [c for page in pages for c in page] == every


async def test_a_case_that_closes_or_changes_account_leaves_those_lists(store: Store) -> None:
    [case] = await save(store, make_case("TT-2026-0001", handles=("old.handle",)))
    case.status, case.handles = CaseStatus.CLOSED, ("new.handle",)
    await store.commit(UnitOfWork(cases=[case]))
    assert await store.cases(open_only=True) == []
    assert await store.cases(handles=("old.handle",)) == []
    assert [c.reference for c in await store.cases(handles=("new.handle",))] == ["TT-2026-0001"]


async def test_case_for_conversation(store: Store) -> None:
    await save(store, make_case("TT-2026-0001", conversation_id="c9"))
    found = await store.case_for_conversation("c9")
    assert found is not None and found.reference == "TT-2026-0001"
    assert await store.case_for_conversation("nope") is None


async def test_cases_due_are_the_open_ones_whose_reminder_has_come(store: Store) -> None:
    soon, later = NOW - timedelta(minutes=1), NOW + timedelta(hours=1)
    await save(
        store,
        make_case("TT-2026-0001", remind_at=soon),
        make_case("TT-2026-0002", remind_at=later),
        make_case("TT-2026-0003", remind_at=soon, status=CaseStatus.REMOVED),
        make_case("TT-2026-0004", remind_at=None),
    )
    assert [c.reference for c in await store.cases_due(NOW)] == ["TT-2026-0001"]
    [case] = await save(
        store, replace((await store.case("TT-2026-0002")) or make_case("x"), remind_at=soon)
    )
    assert [c.reference for c in await store.cases_due(NOW)] == ["TT-2026-0001", "TT-2026-0002"]
    case.remind_at = None
    await store.commit(UnitOfWork(cases=[case]))
    assert [c.reference for c in await store.cases_due(NOW)] == ["TT-2026-0001"]


# --- the outbox -----------------------------------------------------------------------------------


async def test_outbox_item_round_trip(store: Store) -> None:
    item = make_item(
        "x",
        audience=Audience.LEADERSHIP,
        due_at=T0 + timedelta(minutes=1),
        case_reference="TT-2026-0001",
        conversation_id="c1",
        reply_to={"channel": "D1"},
    )
    await enqueue(store, [item])
    [loaded] = await store.outbox_items()
    assert loaded == item
    assert loaded.due_at is not None and loaded.due_at.utcoffset() == timedelta(hours=1)


async def test_outbox_ignores_ids_pending_or_delivered(store: Store) -> None:
    await enqueue(store, [make_item("a"), make_item("a"), make_item("b")])
    await enqueue(store, [make_item("a", reply={"type": "notice", "text": "second"})])
    items = await store.outbox_items()
    assert [i.id for i in items] == ["a", "b"] and items[0].reply["text"] == "hello a"
    await store.delivered([Delivered("a")])
    again = make_item("a")
    await enqueue(store, [again])
    assert again.seq == 0  # ignored, so it never got a seq
    assert [i.id for i in await store.outbox_items()] == ["b"]


async def test_a_claim_takes_due_items_oldest_first_and_holds_them(store: Store) -> None:
    await enqueue(store, [make_item(f"i{n}", address={"channel": f"D{n}"}) for n in range(5)])
    taken = await store.claim(Platform.SLACK, "me", NOW, LEASE, limit=3)
    assert [i.id for i in taken] == ["i0", "i1", "i2"]
    assert all(i.attempts == 1 and i.claimed_by == "me" for i in taken)
    assert all(i.claimed_until == NOW + LEASE for i in taken)
    assert await claim_ids(store) == ["i3", "i4"]  # the others are held
    assert await claim_ids(store, now=NOW + LEASE / 2) == []
    later = await store.claim(Platform.SLACK, "other", NOW + LEASE * 2, LEASE)
    assert [(i.id, i.attempts) for i in later][:1] == [("i0", 2)]  # lapsed: taken again


async def test_a_claim_skips_future_failed_and_other_platforms(store: Store) -> None:
    await enqueue(
        store,
        [
            make_item("future", due_at=NOW + timedelta(minutes=1), address={"channel": "D1"}),
            make_item("failed", failed="channel_not_found", address={"channel": "D2"}),
            make_item("teams", platform=Platform.TEAMS, address={"channel": "D3"}),
            make_item("ready", address={"channel": "D4"}),
        ],
    )
    assert await claim_ids(store) == ["ready"]
    assert await claim_ids(store, Platform.TEAMS) == ["teams"]


async def test_a_lane_waits_behind_its_earliest_item(store: Store) -> None:
    dm1, dm2 = {"channel": "D1"}, {"channel": "D2"}
    await enqueue(
        store,
        [
            make_item("a1", address=dm1, due_at=NOW + timedelta(minutes=1)),
            make_item("a2", address=dm1),
            make_item("b1", address=dm2),
            make_item("b2", address=dm2),
        ],
    )
    assert await claim_ids(store) == ["b1", "b2"]  # a2 waits behind a1
    # a1 is due; b1 and b2 are still held by their claim
    assert await claim_ids(store, now=NOW + timedelta(seconds=90)) == ["a1", "a2"]


async def test_items_a_turn_claimed_in_its_commit_are_not_claimed_by_others(store: Store) -> None:
    mine = claimed_by_me(make_item("mine"))
    await store.commit(UnitOfWork(outbox=[mine]))
    assert await claim_ids(store) == []
    assert await claim_ids(store, now=NOW + LEASE * 2) == ["mine"]  # its committer died


async def test_reschedule_saves_attempts_due_time_and_failure_and_frees_the_claim(
    store: Store,
) -> None:
    await enqueue(store, [make_item("a"), make_item("b", address={"channel": "D9"})])
    a, b = await store.claim(Platform.SLACK, "me", NOW, LEASE)
    a.due_at = NOW + timedelta(seconds=30)
    b.failed, b.failed_at = "is_archived", NOW
    await store.reschedule(a, b)
    items = {i.id: i for i in await store.outbox_items()}
    assert items["a"].attempts == 1 and items["a"].due_at == NOW + timedelta(seconds=30)
    assert items["a"].claimed_by == "" and items["a"].claimed_until is None
    assert items["b"].failed == "is_archived"
    assert await claim_ids(store, now=NOW + timedelta(minutes=1)) == ["a"]
    assert [i.id for i in await store.undelivered(Platform.SLACK)] == ["b"]


async def test_reschedule_leaves_a_claim_another_instance_took_since(store: Store) -> None:
    """An instance stalled past its lease must not free the claim the other one now holds."""
    await enqueue(store, [make_item("a")])
    [stale] = await store.claim(Platform.SLACK, "slow", NOW, LEASE)
    later = NOW + LEASE * 2
    assert [i.id for i in await store.claim(Platform.SLACK, "fast", later, LEASE)] == ["a"]
    stale.due_at = NOW + timedelta(seconds=1)
    await store.reschedule(stale)  # the slow one wakes up and gives its old claim back
    [held] = await store.outbox_items()
    assert held.claimed_by == "fast" and held.claimed_until == later + LEASE
    assert await claim_ids(store, now=later) == []  # still the fast one's alone


async def test_reschedule_of_unknown_or_delivered_item_adds_nothing(store: Store) -> None:
    await enqueue(store, [make_item("a")])
    await store.delivered([Delivered("a")])
    await store.reschedule(make_item("a", attempts=3), make_item("ghost"))
    assert await store.outbox_items() == []


async def test_delivered_keeps_receipts_in_one_write(store: Store) -> None:
    await enqueue(store, [make_item("a"), make_item("b", address={"channel": "D9"})])
    await store.delivered(
        [Delivered("a", "post:slack:TT-2026-0001", {"ts": "1.1"}), Delivered("b")]
    )
    assert await store.outbox_items() == []
    assert await store.get_meta("post:slack:TT-2026-0001") == {"ts": "1.1"}


async def test_next_due_at_says_when_there_is_next_something_to_do(store: Store) -> None:
    assert await store.next_due_at(Platform.SLACK) is None
    await enqueue(
        store,
        [
            make_item("later", due_at=NOW + timedelta(minutes=5)),
            make_item("soon", due_at=NOW + timedelta(minutes=1), address={"channel": "D2"}),
            make_item("gone", failed="x", address={"channel": "D3"}),
        ],
    )
    assert await store.next_due_at(Platform.SLACK) == NOW + timedelta(minutes=1)
    assert await store.next_due_at(Platform.TEAMS) is None


async def test_next_due_at_leaves_out_what_waits_behind_its_lane(store: Store) -> None:
    """An item due now behind one waiting for its retry is not something to do now: the
    courier would wake for it again and again and find nothing it may claim."""
    await enqueue(store, [make_item("first", due_at=NOW + timedelta(minutes=3))])
    await enqueue(store, [make_item("behind")])  # due now, the same chat
    assert await store.next_due_at(Platform.SLACK) == NOW + timedelta(minutes=3)
    await enqueue(store, [make_item("other", address={"channel": "D2"})])
    assert await store.next_due_at(Platform.SLACK) == T0  # another chat's, due since made


async def test_undelivered_and_outbox_items(store: Store) -> None:
    await enqueue(
        store,
        [
            make_item("a"),
            make_item("b", platform=Platform.TEAMS),
            make_item("c", failed="channel_not_found", failed_at=NOW),
        ],
    )
    await store.delivered([Delivered("a")])
    assert [i.id for i in await store.outbox_items()] == ["b", "c"]
    assert [i.id for i in await store.undelivered(Platform.SLACK)] == ["c"]
    assert await store.undelivered(Platform.TEAMS) == []


# --- deletion -----------------------------------------------------------------------------------


async def test_delete_leaves_a_tombstone_and_every_copy_goes(store: Store) -> None:
    case = make_case("TT-2026-0001", conversation_id="conv-1")
    await save(store, case, make_case("TT-2026-0002"))
    draft = replace(make_conversation("conv-1"), case_reference="")
    await store.commit(
        UnitOfWork(
            ANN.key,
            draft,
            outbox=[
                make_item("card", case_reference="TT-2026-0001"),
                make_item("summary", conversation_id="conv-1", address={"channel": "D2"}),
                make_item("failed", case_reference="TT-2026-0001", failed="x", failed_at=NOW),
                make_item("other", case_reference="TT-2026-0002", address={"channel": "D3"}),
            ],
            meta={
                "post:slack:TT-2026-0001": {"ts": "1"},
                "reminder:48h:TT-2026-0001": {"at": "x"},
            },
        )
    )
    await store.delete_case("TT-2026-0001", tombstone_of(case))
    stored = await store.case("TT-2026-0001")
    assert stored is not None and stored.status == CaseStatus.DELETED and stored.answers == {}
    assert [i.id for i in await store.outbox_items()] == ["other"]
    assert await store.conversation(ANN.key) is None
    assert await store.get_meta("reminder:48h:TT-2026-0001") is None
    assert await store.get_meta("post:slack:TT-2026-0001") == {"ts": "1"}  # to scrub the post
    assert (await store.case("TT-2026-0002")) is not None


async def test_delete_takes_a_tombstone_of_the_same_case_only(store: Store) -> None:
    await save(store, make_case("TT-2026-0001"))
    with pytest.raises(ValueError):
        await store.delete_case("TT-2026-0001", tombstone_of(make_case("TT-2026-0002")))


# --- many writers ---------------------------------------------------------------------------


async def test_people_answering_at_once_lose_nothing(store: Store) -> None:
    people, units = people_answering(20)
    await asyncio.gather(*(store.commit(unit) for unit in units))
    for n, p in enumerate(people):
        assert await store.conversation(p.key) is not None and await store.seen(f"d{n}")
    assert len(await store.outbox_items()) == 20
    assert len({i.seq for i in await store.outbox_items()}) == 20


async def test_two_writers_of_one_case_one_wins_one_conflicts(store: Store) -> None:
    await save(store, make_case("TT-2026-0001"))
    a, b = await store.case("TT-2026-0001"), await store.case("TT-2026-0001")
    assert a is not None and b is not None
    a.assignee, b.assignee = "A", "B"
    results = await asyncio.gather(
        store.commit(UnitOfWork(cases=[a])),
        store.commit(UnitOfWork(cases=[b])),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "bool"]
    stored = await store.case("TT-2026-0001")
    assert stored is not None and stored.assignee in ("A", "B") and stored.version == 2
