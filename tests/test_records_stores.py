"""Leaders' records on every store (memory, TinyDB, Postgres): a link opens once, a confirmed
deletion leaves nothing of the request behind, and a refused press changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from store_helpers import ANN, BOB, NOW, make_case, save

from bot.clock import FakeClock
from bot.engine import Engine
from bot.facts import Facts
from bot.files import USED, Downloads, Refused, make_file
from bot.model import CaseStatus, FileKind, FileReply, Person, Platform, Turn
from bot.ports import Store
from bot.views import ResolvedFile

REF = "TT-2026-0042"
CHAT = {"conversation": "a:chat-bob"}


@dataclass
class Leaders:
    """`Membership`: the people who lead, by key."""

    keys: set[str]

    async def is_leader(self, person: Person, case_reference: str = "") -> bool | None:
        return person.key in self.keys


def turn(n: int, text: str = "", action: str | None = None) -> Turn:
    return Turn(BOB, text=text, action=action, delivery_id=f"d{n}", address=CHAT)


async def test_a_link_opens_once_on_every_store(store: Store) -> None:
    clock, leaders = FakeClock(NOW), Leaders({BOB.key})
    engine = Engine(store, Facts(), clock, membership=leaders)
    await save(store, make_case(REF, reporter=BOB, status=CaseStatus.CLOSED))
    await engine.handle(turn(1, "export"))
    [item] = [i for i in await store.outbox_items() if i.reply["type"] == "file"]
    downloads = Downloads(store, Facts(), clock, leaders)
    got = await downloads.open(item.reply["link"])
    assert isinstance(got, ResolvedFile) and REF.encode() in got.content
    assert await downloads.open(item.reply["link"]) == Refused(410, USED)


async def test_a_confirmed_deletion_on_every_store(store: Store) -> None:
    clock, leaders = FakeClock(NOW), Leaders({BOB.key})
    engine = Engine(store, Facts(), clock, membership=leaders)
    await save(store, make_case(REF, reporter=BOB, status=CaseStatus.CLOSED))
    pending = f"deleting:{BOB.key}:{REF}"
    await engine.handle(turn(1, f"retention delete {REF} because the review agreed"))
    assert (await store.get_meta(pending) or {}).get("reason") == "the review agreed"

    leaders.keys.clear()  # no longer leads: the press is refused, nothing changes
    await engine.handle(turn(2, action=f"case:delete:{REF}"))
    case = await store.case(REF)
    assert case is not None and case.status == CaseStatus.CLOSED

    leaders.keys.add(BOB.key)
    await engine.handle(turn(3, action=f"case:delete:{REF}"))
    case = await store.case(REF)
    assert case is not None and case.status == CaseStatus.DELETED and case.answers == {}
    assert await store.get_meta(pending) is None  # the request went with the case


async def test_a_leaders_file_holds_only_their_own_schools_cases(store: Store) -> None:
    here, there = Person(Platform.SLACK, "T1", "U7"), Person(Platform.SLACK, "T2", "U8")
    clock, leaders = FakeClock(NOW), Leaders({here.key})
    await save(store, make_case(REF, reporter=ANN), make_case("TT-2026-0043", reporter=there))
    csv = await make_file(store, Facts(), NOW, FileReply(FileKind.CASES), here)
    assert isinstance(csv, ResolvedFile)
    assert REF.encode() in csv.content and b"TT-2026-0043" not in csv.content
    bundle = await make_file(store, Facts(), NOW, FileReply(FileKind.SUBJECT_ACCESS, "Ann"), here)
    assert isinstance(bundle, ResolvedFile) and b"TT-2026-0043" not in bundle.content
    engine = Engine(store, Facts(), clock, membership=leaders)
    await engine.handle(Turn(here, text="export TT-2026-0043", delivery_id="d1", address=CHAT))
    items = await store.outbox_items()
    assert not [i for i in items if i.reply["type"] == "file"]  # another school's: not found
    assert any("can't find case TT-2026-0043" in str(i.reply) for i in items)
    assert any("References look like TT-2026-0002." in str(i.reply) for i in items)
