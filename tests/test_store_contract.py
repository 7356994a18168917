"""The `Store` contract, run against the in-memory twin and the TinyDB store alike.

The first half holds for both stores; the second half is about the files only the TinyDB store
has: persistence across restarts, permissions, refusing damaged files, the folder lock, write
failures, sharding and keeping disk work off the event loop.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import stat
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import codec
from bot.clock import FakeClock
from bot.errors import StorageError, UnreadableDataError
from bot.model import (
    Audience,
    Case,
    CaseStatus,
    Conversation,
    Flag,
    HistoryEntry,
    OutboxItem,
    Person,
    Platform,
)
from bot.ports import StepCommit, Store
from storage import atomic
from storage.memory import MemoryStore
from storage.tinydb_store import TinyStore, open_store

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 6, 1, 9, 30, 15, 123456, tzinfo=LONDON)  # BST: +01:00
ANN = Person(Platform.SLACK, "T1", "U1", name="Ann Teacher", email="ann@school.example")
BOB = Person(Platform.TEAMS, "tenant", "29:bob", name="Bob Head", email="bob@school.example")


# --- builders -----------------------------------------------------------------------------------


def make_case(reference: str, *, reporter: Person = ANN, **changes: Any) -> Case:
    """A case with every field set to something other than its default."""
    fields: dict[str, Any] = {
        "reference": reference,
        "created_at": T0,
        "reporter": reporter,
        "conversation_id": f"conv-{reference}",
        "answers": {"link": "https://www.tiktok.com/@fake", "pupils": ["7B"], "n": 3},
        "flags": frozenset({Flag.DANGER, Flag.PUPILS_TARGETED}),
        "status": CaseStatus.REPORTED_IN_APP,
        "status_times": {"reported_in_app": T0 + timedelta(minutes=5)},
        "assignee": "U9",
        "history": [
            HistoryEntry(T0, "U1", "created"),
            HistoryEntry(T0 + timedelta(hours=1), "U9", "status", "new", "reported", "phoned"),
        ],
        "handles": ("@fake.mr.smith", "@fake2"),
        "duplicate_of": "TT-2026-0001",
        "extra_reports": 2,
        "retention_category": "safeguarding",
        "review_on": "2033-06-01",
    }
    fields.update(changes)
    return Case(**fields)


def make_conversation(cid: str = "c1", person: Person = ANN) -> Conversation:
    return Conversation(
        id=cid,
        person=person,
        step="links",
        started_at=T0,
        updated_at=T0 + timedelta(seconds=30),
        answers={"link": "https://www.tiktok.com/@fake", "notes": "é ☃ \u2028"},
        trail=["start", "links"],
        flags={Flag.SEXUAL_IMAGES},
        address={"channel": "D123"},
        editing=True,
    )


def make_item(item_id: str, **changes: Any) -> OutboxItem:
    fields: dict[str, Any] = {
        "id": item_id,
        "platform": Platform.SLACK,
        "audience": Audience.PERSON,
        "workspace": "T1",
        "address": {"channel": "D123"},
        "reply": {"type": "notice", "text": f"hello {item_id}", "tone": "info", "title": ""},
        "created_at": T0,
    }
    fields.update(changes)
    return OutboxItem(**fields)


def tombstone_of(case: Case) -> Case:
    return Case(
        reference=case.reference,
        created_at=case.created_at,
        reporter=Person(case.reporter.platform, case.reporter.workspace, case.reporter.user_id),
        conversation_id="",
        answers={},
        status=CaseStatus.DELETED,
    )


NOW = T0 + timedelta(days=1)


async def ids_due(
    store: Store, platform: Platform = Platform.SLACK, now: datetime = NOW
) -> list[str]:
    return [i.id for i in await store.due(platform, now)]


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "tinydb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else await open_store(tmp_path / "data")
    yield s
    await s.close()


@pytest.fixture
async def tiny(tmp_path: Path) -> AsyncIterator[TinyStore]:
    s = await open_store(tmp_path / "data")
    yield s
    await s.close()


# === the contract, for both stores ==============================================================


async def test_case_round_trip_keeps_every_field(store: Store) -> None:
    case = make_case("TT-2026-0001")
    await store.save_case(case)
    loaded = await store.case("TT-2026-0001")
    assert loaded == case
    assert loaded is not None and loaded.created_at.utcoffset() == timedelta(hours=1)
    assert loaded.status_times["reported_in_app"].utcoffset() == timedelta(hours=1)


async def test_cases_are_copies_both_ways(store: Store) -> None:
    case = make_case("TT-2026-0001")
    await store.save_case(case)
    case.answers["link"] = "changed after saving"
    loaded = await store.case("TT-2026-0001")
    assert loaded is not None
    loaded.answers["pupils"].append("8C")
    again = await store.case("TT-2026-0001")
    assert again is not None and again.answers == make_case("TT-2026-0001").answers


async def test_case_lookup_ignores_case_and_spaces(store: Store) -> None:
    await store.save_case(make_case("TT-2026-0001"))
    assert await store.case("  tt-2026-0001 ") is not None
    assert await store.case("TT-2026-0002") is None


async def test_save_case_replaces_the_whole_case(store: Store) -> None:
    await store.save_case(make_case("TT-2026-0001"))
    smaller = make_case("TT-2026-0001", answers={}, history=[], status=CaseStatus.CLOSED)
    await store.save_case(smaller)
    assert await store.case("TT-2026-0001") == smaller
    assert len(await store.cases()) == 1


async def test_conversation_round_trip_and_end(store: Store) -> None:
    assert await store.conversation(ANN.key) is None
    conv = make_conversation()
    await store.commit(StepCommit(ANN.key, conv))
    assert await store.conversation(ANN.key) == conv
    await store.commit(StepCommit(ANN.key, None))
    assert await store.conversation(ANN.key) is None


async def test_conversations_lists_every_draft_in_progress(store: Store) -> None:
    assert await store.conversations() == []
    bob = Person(Platform.SLACK, "T1", "U2", name="Bob")
    await store.commit(StepCommit(ANN.key, make_conversation("c1")))
    await store.commit(StepCommit(bob.key, make_conversation("c2", bob)))
    assert sorted(c.id for c in await store.conversations()) == ["c1", "c2"]
    await store.commit(StepCommit(ANN.key, None))
    assert [c.id for c in await store.conversations()] == ["c2"]


async def test_undelivered_holds_pending_and_failed_items_of_every_platform(store: Store) -> None:
    await store.enqueue([make_item("a"), make_item("b", platform=Platform.TEAMS), make_item("c")])
    failed = make_item("c", failed="channel_not_found", attempts=1, failed_at=datetime.now(UTC))
    failed.seq = 3
    await store.reschedule(failed)
    await store.delivered("a")
    held = await store.outbox_items()
    assert [i.id for i in held] == ["b", "c"] and held[1].failed == "channel_not_found"


async def test_commit_makes_the_whole_step_visible(store: Store) -> None:
    items = [make_item("reply-1"), make_item("reply-2")]
    await store.commit(StepCommit(ANN.key, make_conversation(), "delivery-1", items))
    assert await store.conversation(ANN.key) == make_conversation()
    assert await store.seen("delivery-1")
    assert not await store.seen("delivery-2")
    assert await ids_due(store) == ["reply-1", "reply-2"]
    assert [i.seq for i in items] == [1, 2]  # the caller's items learn their seq


async def test_outbox_item_round_trip(store: Store) -> None:
    item = make_item(
        "x",
        audience=Audience.LEADERSHIP,
        attempts=2,
        due_at=T0 + timedelta(minutes=1),
        case_reference="TT-2026-0001",
    )
    await store.enqueue([item])
    (loaded,) = await store.due(Platform.SLACK, NOW)
    assert loaded == item
    assert loaded.due_at is not None and loaded.due_at.utcoffset() == timedelta(hours=1)


async def test_outbox_ignores_ids_pending_or_delivered(store: Store) -> None:
    await store.enqueue([make_item("a"), make_item("a"), make_item("b")])
    await store.enqueue([make_item("a", reply={"type": "notice", "text": "second"})])
    assert await ids_due(store) == ["a", "b"]
    assert (await store.due(Platform.SLACK, NOW))[0].reply["text"] == "hello a"
    await store.delivered("a")
    again = make_item("a")
    await store.enqueue([again])
    assert again.seq == 0  # ignored, so it never got a seq
    assert await ids_due(store) == ["b"]
    await store.commit(StepCommit(ANN.key, None, "d1", [make_item("a"), make_item("c")]))
    assert await ids_due(store) == ["b", "c"]


async def test_due_is_oldest_first_by_seq_and_limited(store: Store) -> None:
    # created_at runs backwards: only the enqueue order (seq) counts.
    items = [make_item(f"m{n}", created_at=T0 - timedelta(minutes=n)) for n in range(5)]
    for item in items:
        await store.enqueue([item])
    assert await ids_due(store) == ["m0", "m1", "m2", "m3", "m4"]
    assert [i.id for i in await store.due(Platform.SLACK, NOW, limit=2)] == ["m0", "m1"]
    seqs = [i.seq for i in await store.due(Platform.SLACK, NOW)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


async def test_due_skips_future_failed_and_other_platforms(store: Store) -> None:
    await store.enqueue(
        [
            make_item("later", due_at=NOW + timedelta(minutes=5)),
            make_item("now", due_at=NOW),
            make_item("broken", failed="channel_not_found"),
            make_item("teams", platform=Platform.TEAMS),
        ]
    )
    assert await ids_due(store) == ["now"]
    assert await ids_due(store, now=NOW + timedelta(minutes=5)) == ["later", "now"]
    assert await ids_due(store, Platform.TEAMS) == ["teams"]
    assert await store.next_due_at(Platform.SLACK) == NOW
    assert await store.next_due_at(Platform.TERMINAL) is None


async def test_reschedule_saves_attempts_due_time_and_failure(store: Store) -> None:
    await store.enqueue([make_item("a"), make_item("b")])
    (a, _) = await store.due(Platform.SLACK, NOW)
    a.attempts, a.due_at = 1, NOW + timedelta(minutes=1)
    await store.reschedule(a)
    assert await ids_due(store) == ["b"]
    (later, _) = await store.due(Platform.SLACK, NOW + timedelta(minutes=1))
    assert later.id == "a" and later.attempts == 1
    later.failed = "not_in_channel"
    await store.reschedule(later)
    assert await ids_due(store, now=NOW + timedelta(days=1)) == ["b"]
    assert await store.next_due_at(Platform.SLACK) == T0  # b's created_at; a is failed


async def test_reschedule_of_unknown_or_delivered_item_adds_nothing(store: Store) -> None:
    await store.reschedule(make_item("ghost"))
    await store.enqueue([make_item("a")])
    (a,) = await store.due(Platform.SLACK, NOW)
    await store.delivered("a")
    await store.reschedule(a)
    assert await ids_due(store) == []


async def test_references_unique_increasing_per_year(store: Store) -> None:
    first = [await store.next_reference(2026) for _ in range(3)]
    assert first == ["TT-2026-0001", "TT-2026-0002", "TT-2026-0003"]
    assert await store.next_reference(2027) == "TT-2027-0001"
    assert await store.next_reference(2026) == "TT-2026-0004"


async def test_reference_not_reused_after_delete(store: Store) -> None:
    ref = await store.next_reference(2026)
    case = make_case(ref)
    await store.save_case(case)
    await store.delete_case(ref, tombstone_of(case))
    assert await store.next_reference(2026) == "TT-2026-0002"


async def test_cases_filters_and_order(store: Store) -> None:
    late = make_case("TT-2026-0001", created_at=T0 + timedelta(days=2))
    closed = make_case("TT-2026-0002", status=CaseStatus.CLOSED)
    bobs = make_case("TT-2026-0003", reporter=BOB, created_at=T0 - timedelta(days=1))
    for case in (late, closed, bobs):
        await store.save_case(case)
    refs = [c.reference for c in await store.cases()]
    assert refs == ["TT-2026-0003", "TT-2026-0002", "TT-2026-0001"]
    assert [c.reference for c in await store.cases(open_only=True)] == [
        "TT-2026-0003",
        "TT-2026-0001",
    ]
    assert [c.reference for c in await store.cases(reporter=ANN.key)] == [
        "TT-2026-0002",
        "TT-2026-0001",
    ]
    assert [c.reference for c in await store.cases(open_only=True, reporter=BOB.key)] == [
        "TT-2026-0003"
    ]
    assert await store.cases(reporter="slack:T1:nobody") == []


async def test_case_for_conversation(store: Store) -> None:
    await store.save_case(make_case("TT-2026-0001", conversation_id="conv-a"))
    await store.save_case(make_case("TT-2026-0002", conversation_id="conv-b"))
    found = await store.case_for_conversation("conv-b")
    assert found is not None and found.reference == "TT-2026-0002"
    assert await store.case_for_conversation("conv-z") is None
    # A case re-saved under another conversation is found there, not under the old one.
    await store.save_case(make_case("TT-2026-0002", conversation_id="conv-c"))
    assert await store.case_for_conversation("conv-b") is None
    assert await store.case_for_conversation("conv-c") is not None


async def test_delete_leaves_tombstone_and_drops_what_refers_to_it(store: Store) -> None:
    case = make_case("TT-2026-0001")
    await store.save_case(case)
    await store.save_case(make_case("TT-2026-0011"))
    await store.enqueue(
        [
            make_item("card-1", case_reference="TT-2026-0001"),
            make_item("card-11", case_reference="TT-2026-0011"),
            make_item("plain"),
        ]
    )
    await store.put_meta("post:slack:TT-2026-0001", {"ts": "1"})  # kept: to scrub the post
    await store.put_meta("reminder:48h:TT-2026-0001", {"at": "x"})
    await store.put_meta("reminder:48h:TT-2026-00011", {"at": "y"})  # same ending, other ref
    await store.put_meta("reminder:48h:TT-2026-0011", {"at": "z"})

    await store.delete_case("TT-2026-0001", tombstone_of(case))

    assert await store.case("TT-2026-0001") == tombstone_of(case)
    assert await store.case_for_conversation(case.conversation_id) is None
    assert [c.reference for c in await store.cases()] == ["TT-2026-0001", "TT-2026-0011"]
    assert await store.cases(open_only=True) != []
    assert [c.reference for c in await store.cases(open_only=True)] == ["TT-2026-0011"]
    assert await ids_due(store) == ["card-11", "plain"]
    assert await store.get_meta("reminder:48h:TT-2026-0001") is None
    assert await store.get_meta("post:slack:TT-2026-0001") == {"ts": "1"}
    assert await store.get_meta("reminder:48h:TT-2026-00011") == {"at": "y"}
    assert await store.get_meta("reminder:48h:TT-2026-0011") == {"at": "z"}


async def test_delete_drops_every_stored_copy_failed_or_pending(store: Store) -> None:
    """Issue 14.2: the summary DM (tagged with the conversation) and a leader's `show` reply
    (tagged with the case) stayed in the outbox for ever once refused."""
    case = make_case("TT-2026-0001")
    await store.save_case(case)
    refused = {"failed": "chat.postMessage: HTTP 200 is_archived", "failed_at": T0}
    await store.enqueue(
        [
            make_item("summary", conversation_id=case.conversation_id),
            make_item("summary-refused", conversation_id=case.conversation_id),
            make_item("show-refused", case_reference="TT-2026-0001"),
            make_item("other-conversation", conversation_id="conv-other"),
            make_item("untagged"),
        ]
    )
    due = await store.due(Platform.SLACK, NOW)
    await store.reschedule(*(replace(i, **refused) for i in due if i.id.endswith("-refused")))
    assert [i.id for i in await store.undelivered(Platform.SLACK)] == [
        "summary-refused",
        "show-refused",
    ]

    await store.delete_case("TT-2026-0001", tombstone_of(case))

    assert await ids_due(store) == ["other-conversation", "untagged"]
    assert await store.undelivered(Platform.SLACK) == []


async def test_undelivered_lists_only_failed_items_of_the_platform(store: Store) -> None:
    await store.enqueue(
        [make_item("ok"), make_item("slack-1"), make_item("teams-1", platform=Platform.TEAMS)]
    )
    failed = {"failed": "refused", "failed_at": T0}
    due = [*await store.due(Platform.SLACK, NOW), *await store.due(Platform.TEAMS, NOW)]
    await store.reschedule(*(replace(i, **failed) for i in due if i.id != "ok"))
    [item] = await store.undelivered(Platform.SLACK)
    assert (item.id, item.failed, item.failed_at) == ("slack-1", "refused", T0)
    assert [i.id for i in await store.undelivered(Platform.TEAMS)] == ["teams-1"]
    assert await ids_due(store) == ["ok"]


async def test_meta_round_trip_and_copies(store: Store) -> None:
    assert await store.get_meta("missing") is None
    value: dict[str, Any] = {
        "conversation": {"id": "a:1", "serviceUrl": "https://smba.example"},
        "n": [1, 2],
    }
    await store.put_meta("teams:ref:29:bob", value)
    value["n"].append(3)
    loaded = await store.get_meta("teams:ref:29:bob")
    assert loaded == {
        "conversation": {"id": "a:1", "serviceUrl": "https://smba.example"},
        "n": [1, 2],
    }
    assert loaded is not None
    loaded["n"].append(4)
    assert (await store.get_meta("teams:ref:29:bob") or {})["n"] == [1, 2]
    await store.put_meta("teams:ref:29:bob", {"replaced": True})
    assert await store.get_meta("teams:ref:29:bob") == {"replaced": True}


async def test_concurrent_writers_do_not_lose_updates(store: Store) -> None:
    refs = await asyncio.gather(*(store.next_reference(2026) for _ in range(20)))
    assert sorted(refs) == [f"TT-2026-{n:04d}" for n in range(1, 21)]
    await asyncio.gather(*(store.enqueue([make_item(f"i{n}")]) for n in range(20)))
    assert sorted(i.seq for i in await store.due(Platform.SLACK, NOW)) == list(range(1, 21))


# === the TinyDB store only ======================================================================


def data_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


async def fill(store: Store) -> None:
    ref = await store.next_reference(2026)
    await store.save_case(make_case(ref))
    await store.commit(StepCommit(ANN.key, make_conversation(), "d1", [make_item("a")]))
    await store.put_meta("k", {"v": 1})


async def test_everything_survives_close_and_reopen(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as first:
        await fill(first)
        await first.enqueue([make_item("b")])
        await first.delivered("b")
        await first.next_reference(2027)

    async with await open_store(folder) as second:
        assert await second.case("TT-2026-0001") == make_case("TT-2026-0001")
        assert await second.conversation(ANN.key) == make_conversation()
        assert await second.seen("d1")
        assert await second.get_meta("k") == {"v": 1}
        assert await ids_due(second) == ["a"]
        item = make_item("c")
        await second.enqueue([item, make_item("b")])  # b was delivered before the restart
        assert item.seq == 3
        assert await ids_due(second) == ["a", "c"]
        assert await second.next_reference(2026) == "TT-2026-0002"
        assert await second.next_reference(2027) == "TT-2027-0002"


async def test_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    old_umask = os.umask(0o022)  # a typical umask would make 0644 files
    try:
        async with await open_store(folder) as store:
            await fill(store)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "cases").stat().st_mode) == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {".lock", "live.json", "TT-2026-00.json"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 000: every folder made without an explicit mode would be 0777."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
async def test_every_folder_the_bot_creates_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """Issue 14.5: new parent folders followed the umask (000 made them 0777)."""
    os.chmod(tmp_path, 0o755)
    folder = tmp_path / "school" / "reportbot" / "data"
    async with await open_store(folder) as store:
        await fill(store)
    for made in (tmp_path / "school", tmp_path / "school" / "reportbot", folder, folder / "cases"):
        assert mode_of(made) == 0o700, made  # checked as root too: chmod is not skipped
    assert mode_of(tmp_path) == 0o755  # a folder the bot did not make is left as it is
    assert all(mode_of(p) == 0o600 for p in folder.rglob("*") if p.is_file())


async def test_an_existing_data_folder_open_to_others_is_tightened_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14.5: an existing data folder kept its mode (0755 stayed 0755)."""
    folder = tmp_path / "data"
    (folder / "cases").mkdir(parents=True)
    folder.chmod(0o755)
    (folder / "cases").chmod(0o775)
    async with await open_store(folder):
        pass
    assert mode_of(folder) == 0o700 and mode_of(folder / "cases") == 0o700
    assert f"{folder} was open to other users (0755); it is now 0700" in caplog.text
    assert f"{folder / 'cases'} was open to other users (0775)" in caplog.text
    caplog.clear()
    async with await open_store(folder):
        pass
    assert "open to other users" not in caplog.text  # said once, when it was so


async def test_a_read_only_open_changes_no_mode(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder):
        pass
    folder.chmod(0o750)
    async with await open_store(folder, read_only=True):
        pass
    assert mode_of(folder) == 0o750


async def test_an_empty_or_missing_folder_is_a_fresh_start(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        async with await open_store(folder) as store:
            assert await store.cases() == []
            assert await store.next_reference(2026) == "TT-2026-0001"


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "empty": lambda raw: b"",
    "not a database": lambda raw: b"[1, 2, 3]",
    "garbage bytes": lambda raw: b"\xff\xfe" + raw,
}


@pytest.mark.parametrize("damage", CORRUPTIONS)
@pytest.mark.parametrize("name", ["live.json", "cases/TT-2026-00.json"])
async def test_a_damaged_file_is_refused_and_left_untouched(
    tmp_path: Path, name: str, damage: str
) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        await fill(store)
    path = folder / name
    path.write_bytes(CORRUPTIONS[damage](path.read_bytes()))
    before = data_files(folder)

    with pytest.raises(UnreadableDataError) as caught:
        await open_store(folder)

    message = str(caught.value)
    assert str(path) in message and "will not start" in message
    assert data_files(folder) == before
    # The refusal released the folder: once the file is moved aside the bot starts.
    path.rename(path.with_suffix(".damaged"))
    async with await open_store(folder):
        pass


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("live.json", lambda d: d["outbox"]["1"].pop("reply")),
        ("live.json", lambda d: d["counters"]["1"].update(value="7")),
        ("live.json", lambda d: d["conversations"]["1"]["conversation"].update(started_at="x")),
        ("cases/TT-2026-00.json", lambda d: d["cases"]["1"].update(status="lost")),
        ("cases/TT-2026-00.json", lambda d: d["cases"]["1"].update(reference="TT-2026-0500")),
    ],
)
async def test_documents_of_the_wrong_shape_are_refused(
    tmp_path: Path, name: str, edit: Callable[[Any], object]
) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        await fill(store)
    path = folder / name
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(UnreadableDataError, match="cannot be read") as caught:
        await open_store(folder)
    assert str(path) in str(caught.value)
    assert "tiktok" not in str(caught.value).lower()  # names no case content
    assert path.read_bytes() == before


async def test_a_second_open_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    first = await open_store(folder)
    with pytest.raises(StorageError, match="already using"):
        await open_store(folder)
    await first.close()
    second = await open_store(folder)
    await second.close()


async def test_a_closed_store_refuses_writes(tiny: TinyStore) -> None:
    await tiny.close()
    with pytest.raises(StorageError, match="closed"):
        await tiny.put_meta("k", {})


def fail_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(os, "replace", no_space)


async def test_a_failed_write_keeps_the_old_data_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    store = await open_store(folder)
    await fill(store)
    before = data_files(folder)

    fail_replace(monkeypatch)
    secret = make_case("TT-2026-0001", answers={"link": "SECRET-CONTENT"})
    attempts = [
        store.save_case(secret),
        store.commit(StepCommit(ANN.key, None, "d2", [make_item("b")])),
        store.next_reference(2026),
        store.delivered("a"),
        store.put_meta("k", {"v": 2}),
        store.delete_case("TT-2026-0001", tombstone_of(secret)),
    ]
    for attempt in attempts:
        with pytest.raises(StorageError) as caught:
            await attempt
        assert "SECRET" not in str(caught.value)
        assert "No space left on device" in str(caught.value)

    # Nothing changed, on disk (no stray temp files either) or in what the store serves.
    assert data_files(folder) == before
    assert await store.case("TT-2026-0001") == make_case("TT-2026-0001")
    assert await store.conversation(ANN.key) == make_conversation()
    assert not await store.seen("d2")
    assert await ids_due(store) == ["a"]
    assert await store.get_meta("k") == {"v": 1}

    monkeypatch.undo()
    await store.save_case(secret)
    assert await store.next_reference(2026) == "TT-2026-0002"
    await store.close()
    # The next successful writes carried none of the failed changes along.
    async with await open_store(folder) as reopened:
        assert await reopened.case("TT-2026-0001") == secret
        assert not await reopened.seen("d2")
        assert await ids_due(reopened) == ["a"]
        assert await reopened.get_meta("k") == {"v": 1}


async def test_a_failure_after_the_rename_leaves_memory_equal_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    store = await open_store(folder)
    await fill(store)

    def folder_fsync_fails(path: Path) -> None:
        raise StorageError("Could not save changes: Input/output error.")

    monkeypatch.setattr(atomic, "fsync_dir", folder_fsync_fails)
    changed = make_case("TT-2026-0001", status=CaseStatus.CLOSED)
    with pytest.raises(StorageError):
        await store.save_case(changed)
    with pytest.raises(StorageError):
        await store.commit(StepCommit(ANN.key, None, "d2"))
    monkeypatch.undo()
    # The files were replaced before the failure: what the store serves says so too.
    assert await store.case("TT-2026-0001") == changed
    assert await store.cases(open_only=True) == []
    assert await store.seen("d2") and await store.conversation(ANN.key) is None
    await store.close()
    async with await open_store(folder) as reopened:
        assert await reopened.case("TT-2026-0001") == changed
        assert await reopened.seen("d2")


async def test_each_change_is_one_file_write(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step is one atomic replace of live.json; a case one replace of its shard."""
    replaced: list[str] = []
    real_replace = os.replace

    def counting_replace(src: Any, dst: Any) -> None:
        replaced.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", counting_replace)
    items = [make_item("a"), make_item("b")]
    await tiny.commit(StepCommit(ANN.key, make_conversation(), "d1", items))
    assert replaced == ["live.json"]
    replaced.clear()
    case = make_case(await tiny.next_reference(2026))
    await tiny.save_case(case)
    await tiny.delete_case(case.reference, tombstone_of(case))
    # A deletion drops the copies in live.json before it replaces the case.
    assert replaced == ["live.json", "TT-2026-00.json", "live.json", "TT-2026-00.json"]


async def test_a_read_only_folder_raises_storage_error(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    store = await open_store(folder)
    await fill(store)
    os.chmod(folder, 0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes")
        with pytest.raises(StorageError, match="Permission denied"):
            await store.put_meta("k", {"v": 2})
        assert await store.get_meta("k") == {"v": 1}
    finally:
        os.chmod(folder, 0o700)
    await store.put_meta("k", {"v": 2})
    await store.close()


async def test_a_value_json_cannot_hold_changes_nothing(tiny: TinyStore) -> None:
    conv = make_conversation()
    conv.answers["when"] = datetime.now(UTC)  # a bug in a caller: not JSON
    with pytest.raises(TypeError):
        await tiny.commit(StepCommit(ANN.key, conv, "d1", [make_item("a")]))
    assert await tiny.conversation(ANN.key) is None
    assert not await tiny.seen("d1")
    assert await ids_due(tiny) == []
    await tiny.enqueue([make_item("a")])
    assert await ids_due(tiny) == ["a"]


async def test_unusual_text_survives(tmp_path: Path) -> None:
    odd = {"surrogate": "\ud800", "nul": "a\x00b", "emoji": "🙂", "rtl": "\u202e"}
    async with await open_store(tmp_path / "d") as store:
        await store.save_case(make_case("TT-2026-0001", answers=odd))
    async with await open_store(tmp_path / "d") as store:
        loaded = await store.case("TT-2026-0001")
        assert loaded is not None and loaded.answers == odd


async def test_a_case_write_rewrites_only_its_shard(tiny: TinyStore) -> None:
    await tiny.put_meta("k", {"v": 1})  # so that live.json exists
    for ref in ("TT-2026-0001", "TT-2026-0150", "TT-2027-0001", "ODD/../REF"):
        await tiny.save_case(make_case(ref))
    cases_dir = tiny.data_dir / "cases"
    names = sorted(p.name for p in cases_dir.iterdir())
    assert names == ["TT-2026-00.json", "TT-2026-01.json", "TT-2027-00.json", "other.json"]
    before = {
        p.name: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) for p in cases_dir.iterdir()
    }
    live_before = (tiny.data_dir / "live.json").read_bytes()

    await tiny.save_case(make_case("TT-2026-0099", answers={"new": True}))

    after = {
        p.name: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) for p in cases_dir.iterdir()
    }
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"TT-2026-00.json"}
    assert (tiny.data_dir / "live.json").read_bytes() == live_before
    assert await tiny.case("odd/../ref ") is not None  # stored in other.json


async def test_reference_counter_never_goes_below_the_archive(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        for _ in range(3):
            await store.save_case(make_case(await store.next_reference(2026)))
    (folder / "live.json").rename(folder / "live.json.moved-aside")  # counters lost
    async with await open_store(folder) as store:
        assert await store.next_reference(2026) == "TT-2026-0004"


async def test_seen_and_sent_ids_are_pruned(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    async with await open_store(tmp_path / "d", clock=clock) as store:
        await store.commit(StepCommit(ANN.key, None, "old-delivery"))
        await store.enqueue([make_item("old-item")])
        await store.delivered("old-item")
        clock.advance(days=3, seconds=1)
        await store.commit(StepCommit(ANN.key, None, "new-delivery"))
        assert not await store.seen("old-delivery")
        assert await store.seen("new-delivery")
        await store.enqueue([make_item("old-item")])
        assert await ids_due(store) == []  # still remembered as sent (14 days)
        clock.advance(days=11)
        await store.put_meta("tick", {})
        await store.enqueue([make_item("old-item")])
        assert await ids_due(store) == ["old-item"]
    live = json.loads((tmp_path / "d" / "live.json").read_text())
    assert live["seen"] == {}  # new-delivery too is 11 days old by now
    assert live["sent"] == {}


async def test_failed_items_are_pruned_two_weeks_after_they_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    async with await open_store(tmp_path / "d", clock=clock) as store:
        await store.enqueue([make_item("old"), make_item("new"), make_item("waiting")])
        old, new, _ = await store.due(Platform.SLACK, clock.now())
        await store.reschedule(replace(old, failed="refused", failed_at=clock.now()))
        clock.advance(days=2)
        await store.reschedule(replace(new, failed="refused", failed_at=clock.now()))
        clock.advance(days=12, seconds=1)
        await store.put_meta("tick", {})  # any write prunes
        assert [i.id for i in await store.undelivered(Platform.SLACK)] == ["new"]
        assert await ids_due(store, now=clock.now()) == ["waiting"]  # never pruned
    assert "dropped 1 message(s) refused for good more than 14 days ago" in caplog.text
    live = json.loads((tmp_path / "d" / "live.json").read_text())
    assert sorted(d["id"] for d in live["outbox"].values()) == ["new", "waiting"]


async def test_stale_temp_files_are_cleaned_at_open(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    async with await open_store(folder) as store:
        await fill(store)
    (folder / ".live.json.deadbeef.tmp").write_bytes(b"{half")
    (folder / "cases" / ".TT-2026-00.json.0123cafe.tmp").write_bytes(b"")
    (folder / ".someone-elses.tmp").write_bytes(b"keep")
    async with await open_store(folder):
        pass
    assert [p.name for p in folder.rglob("*.tmp")] == [".someone-elses.tmp"]


async def test_a_cancelled_caller_does_not_tear_or_lose_the_write(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def held_fsync(fd: int) -> None:
        entered.set()
        release.wait(timeout=10)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", held_fsync)
    saving = asyncio.create_task(tiny.save_case(make_case("TT-2026-0001")))
    assert await asyncio.to_thread(entered.wait, 10)  # the write is under way on the worker
    saving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await saving
    release.set()
    # The write was already on the worker: it completes, and the next one queues behind it.
    assert await tiny.next_reference(2026) == "TT-2026-0002"
    assert await tiny.case("TT-2026-0001") == make_case("TT-2026-0001")


async def test_disk_work_runs_on_one_worker_thread_off_the_event_loop(
    tiny: TinyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = 0
    ticked = threading.Event()
    in_time: list[bool] = []
    writer_threads: set[int] = set()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        # Hold each write until the ticker has run a few times meanwhile: were the write
        # blocking the event loop, the ticker could not run and this wait would time out.
        writer_threads.add(threading.get_ident())
        in_time.append(ticked.wait(timeout=10))
        real_fsync(fd)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks >= 3:
                ticked.set()
            await asyncio.sleep(0)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    big = make_case("TT-2026-0001", answers={f"q{n}": "x" * 1000 for n in range(2000)})
    task = asyncio.create_task(ticker())
    try:
        await tiny.save_case(big)
        ticked.clear()
        ticks = 0
        await tiny.commit(StepCommit(ANN.key, make_conversation(), "d1", [make_item("a")]))
    finally:
        task.cancel()
    assert in_time and all(in_time)
    assert len(writer_threads) == 1 and threading.get_ident() not in writer_threads


# === both stores agree on random sequences of outbox and step operations ========================

POOL = [f"item-{n}" for n in range(6)]
op_strategy = st.one_of(
    st.tuples(
        st.just("enqueue"),
        st.lists(
            st.tuples(
                st.sampled_from(POOL),
                st.sampled_from([Platform.SLACK, Platform.TEAMS]),
                st.sampled_from([None, -60, 0, 60]),
            ),
            max_size=3,
        ),
    ),
    st.tuples(
        st.just("commit"), st.sampled_from(["d1", "d2", "d3"]), st.booleans(), st.sampled_from(POOL)
    ),
    st.tuples(st.just("delivered"), st.sampled_from(POOL)),
    st.tuples(st.just("reschedule"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("reference"), st.sampled_from([2026, 2027])),
)


async def observe(store: Store) -> tuple[object, ...]:
    return (
        [codec.outbox_to_dict(i) for i in await store.due(Platform.SLACK, NOW, limit=4)],
        [codec.outbox_to_dict(i) for i in await store.due(Platform.TEAMS, NOW)],
        await store.next_due_at(Platform.SLACK),
        [await store.seen(d) for d in ("d1", "d2", "d3")],
        await store.conversation(ANN.key),
    )


async def apply(store: Store, op: tuple[Any, ...]) -> object:
    match op:
        case ("enqueue", specs):
            items = [
                make_item(i, platform=p, due_at=None if d is None else NOW + timedelta(seconds=d))
                for i, p, d in specs
            ]
            await store.enqueue(items)
            return [i.seq for i in items]
        case ("commit", delivery, keep, item_id):
            conv = make_conversation(delivery) if keep else None
            await store.commit(StepCommit(ANN.key, conv, delivery, [make_item(item_id)]))
        case ("delivered", item_id):
            await store.delivered(item_id)
        case ("reschedule", index, fail):
            due = await store.due(Platform.SLACK, NOW)
            if due:
                item = due[index % len(due)]
                item.attempts += 1
                item.failed, item.due_at = ("gone" if fail else ""), NOW + timedelta(minutes=1)
                await store.reschedule(item)
        case ("reference", year):
            return await store.next_reference(year)
    return None


async def run_both(ops: list[tuple[Any, ...]], folder: Path) -> None:
    memory = MemoryStore()
    tiny = await open_store(folder, clock=FakeClock(NOW))  # nothing here is old enough to prune
    for op in ops:
        assert await apply(tiny, op) == await apply(memory, op), op
        assert await observe(tiny) == await observe(memory), op
    await tiny.close()
    async with await open_store(folder) as reopened:  # and the same after a restart
        assert await observe(reopened) == await observe(memory)


@settings(max_examples=30, deadline=None)
@given(ops=st.lists(op_strategy, max_size=20))
def test_both_stores_agree_on_random_operations(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run_both(ops, Path(tmp) / "data"))


async def test_pending_lists_waiting_items_too_but_not_failed_or_other_platforms(
    store: Store,
) -> None:
    later = NOW + timedelta(minutes=5)
    await store.enqueue(
        [
            make_item("a"),
            make_item("b", due_at=later),
            make_item("c", failed="channel_not_found"),
            make_item("d", platform=Platform.TEAMS),
            make_item("e"),
        ]
    )
    assert [i.id for i in await store.pending(Platform.SLACK)] == ["a", "b", "e"]
    assert [i.id for i in await store.pending(Platform.SLACK, limit=1)] == ["a"]


async def test_facts_about_a_case_live_in_its_shard_not_in_the_file_every_message_rewrites(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    store = await open_store(data)
    try:
        ref = await store.next_reference(2026)
        await store.save_case(make_case(ref))
        before = (data / "live.json").read_bytes()
        await store.put_meta(f"post:slack:{ref}", {"channel": "C1", "ts": "1.1"})
        await store.put_meta(f"reminder:48h:{ref}", {"at": "x"})
        assert (data / "live.json").read_bytes() == before
        await store.put_meta("teams:leadership", {"team": "19:abc"})  # not about a case
        assert (data / "live.json").read_bytes() != before
    finally:
        await store.close()
    again = await open_store(data)
    try:
        assert await again.get_meta(f"post:slack:{ref}") == {"channel": "C1", "ts": "1.1"}
        assert await again.get_meta(f"reminder:48h:{ref}") == {"at": "x"}
        assert await again.get_meta("teams:leadership") == {"team": "19:abc"}
    finally:
        await again.close()


async def test_cases_can_be_found_by_the_accounts_they_are_about(store: Store) -> None:
    await store.save_case(make_case("TT-2026-0001", handles=("fake.head", "other")))
    await store.save_case(make_case("TT-2026-0002", handles=("someone.else",)))
    found = await store.cases(open_only=True, handles=("fake.head",))
    assert [c.reference for c in found] == ["TT-2026-0001"]
    assert await store.cases(handles=("nobody",)) == []


async def test_steps_arriving_together_share_one_write_and_all_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.atomic as atomic

    writes: list[str] = []
    real = atomic.write_temp

    def counting(path: Path, payload: bytes) -> Path:
        writes.append(path.name)
        return real(path, payload)

    monkeypatch.setattr(atomic, "write_temp", counting)
    data = tmp_path / "data"
    store = await open_store(data)
    people = [Person(Platform.SLACK, "T1", f"U{n}") for n in range(20)]
    try:
        await asyncio.gather(
            *(
                store.commit(
                    StepCommit(p.key, make_conversation(f"c{n}", p), f"d{n}", [make_item(f"i{n}")])
                )
                for n, p in enumerate(people)
            )
        )
        assert writes.count("live.json") < 20  # grouped: fewer writes than steps
    finally:
        await store.close()
    again = await open_store(data)
    try:
        for n, p in enumerate(people):
            assert await again.conversation(p.key) is not None and await again.seen(f"d{n}")
        assert len(await again.pending(Platform.SLACK)) == 20
    finally:
        await again.close()


async def test_one_bad_step_in_a_group_does_not_fail_the_others(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "data")
    good = [Person(Platform.SLACK, "T1", f"U{n}") for n in range(5)]
    bad = make_conversation("bad", Person(Platform.SLACK, "T1", "U-bad"))
    bad.answers["when"] = datetime(2026, 1, 1)  # JSON cannot hold it
    try:
        results = await asyncio.gather(
            store.commit(StepCommit(bad.person.key, bad)),
            *(store.commit(StepCommit(p.key, make_conversation(p.key, p))) for p in good),
            return_exceptions=True,
        )
        assert isinstance(results[0], TypeError)
        assert results[1:] == [None] * 5
        assert await store.conversation(bad.person.key) is None
        for p in good:
            assert await store.conversation(p.key) is not None
    finally:
        await store.close()


async def test_references_asked_for_together_are_all_different(store: Store) -> None:
    refs = await asyncio.gather(*(store.next_reference(2026) for _ in range(30)))
    assert len(set(refs)) == 30
    assert sorted(refs) == [f"TT-2026-{n:04d}" for n in range(1, 31)]
