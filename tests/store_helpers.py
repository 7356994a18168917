"""Builders and one-line helpers for store tests: every store is driven through `commit`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import codec
from bot.model import (
    JSON,
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
from bot.outbox import claimable
from bot.ports import Store, UnitOfWork, each_alone, one_at_a_time
from bot.views import Resolved, ResolvedCard
from storage.live import LiveFile

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 6, 1, 9, 30, 15, 123456, tzinfo=LONDON)  # BST: +01:00
NOW = T0 + timedelta(days=1)
LEASE = timedelta(minutes=2)
ANN = Person(Platform.SLACK, "T1", "U1", name="Ann Teacher", email="ann@school.example")
BOB = Person(Platform.TEAMS, "tenant", "29:bob", name="Bob Head", email="bob@school.example")


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
        "reporter_address": {"channel": "D123"},
        "reminded": ("not_sent",),
        "remind_at": T0 + timedelta(days=2),
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


async def save(store: Store, *cases: Case) -> list[Case]:
    """Write cases as a caller would: read the version first. Returns them as stored."""
    for case in cases:
        stored = await store.case(case.reference)
        case.version = stored.version if stored else 0
    await store.commit(UnitOfWork(cases=list(cases)))
    return [c for c in [await store.case(c.reference) for c in cases] if c]


async def enqueue(store: Store, items: Sequence[OutboxItem]) -> None:
    await store.commit(UnitOfWork(outbox=list(items)))


async def put_meta(store: Store, key: str, value: JSON | None) -> None:
    await store.commit(UnitOfWork(meta={key: value}))


async def new_reference(store: Store, year: int = 2026) -> str:
    return await store.take_reference(year)


async def claim_ids(
    store: Store, platform: Platform = Platform.SLACK, now: datetime = NOW, limit: int = 50
) -> list[str]:
    return [i.id for i in await store.claim(platform, "me", now, LEASE, limit)]


def claimed_by_me(item: OutboxItem, now: datetime = NOW) -> OutboxItem:
    """An item as a turn commits it to send at once: already claimed by its committer."""
    return replace(item, attempts=1, claimed_by="me", claimed_until=now + LEASE)


async def pending(store: Store, platform: Platform = Platform.SLACK) -> list[OutboxItem]:
    """Items of a platform not yet delivered and not refused for good, oldest first."""
    return [i for i in await store.outbox_items() if i.platform == platform and not i.failed]


async def due_items(
    store: Store, platform: Platform = Platform.SLACK, now: datetime = NOW
) -> list[OutboxItem]:
    """What a courier could claim at `now` (a look only: nothing is claimed)."""
    docs = [codec.outbox_to_dict(i) for i in await store.outbox_items()]
    ready = {d["id"] for d in claimable(docs, str(platform), now)}
    return [i for i in await store.outbox_items() if i.id in ready]


class QuietPlatform:
    """A sender and a leadership channel (the two outbound ports) that take everything and
    say nothing; a test's stand-in overrides what it records."""

    async def send(self, item: OutboxItem, reply: Resolved) -> None:
        return None

    def joined(self, replies: Sequence[Resolved]) -> list[list[int]]:
        return each_alone(replies)

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        await one_at_a_time(self, items, replies)

    async def private(self) -> bool:
        return True

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        return {}

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        return True

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        return None

    async def scrub(self, post: JSON, text: str) -> None:
        return None


def people_answering(count: int) -> tuple[list[Person], list[UnitOfWork]]:
    """`count` people, each with one step to store: a conversation, a delivery id `dN` and
    one reply `iN`."""
    people = [Person(Platform.SLACK, "T1", f"U{n}") for n in range(count)]
    units = [
        UnitOfWork(
            p.key,
            make_conversation(f"c{n}", p),
            f"d{n}",
            outbox=[make_item(f"i{n}", address={"channel": f"D{n}"})],
        )
        for n, p in enumerate(people)
    ]
    return people, units


def live_json(folder: Path) -> dict[str, Any]:
    """What live.json holds with its log on top, in live.json's own format: the state a
    reader (or the next start) finds on disk."""
    live = LiveFile(folder / "live.json")
    live.load(read_only=True)
    return live.view.tables()
