"""Leaders' records on every store (memory, TinyDB, Postgres): a link opens once, a confirmed
deletion leaves nothing of the request behind, and a refused press changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from store_helpers import BOB, NOW, make_case, save

from bot.clock import FakeClock
from bot.engine import Engine
from bot.facts import Facts
from bot.files import USED, Downloads, Refused
from bot.model import CaseStatus, Person, Turn
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
