"""What scripts/two_instances.py notes while it runs, what it reads back, and its checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.model import Case
from storage.postgres import open_postgres_store
from tests.slack_fakes import LEADERS, TEAM, FakeSlack

JSONDict = dict[str, Any]


@dataclass
class Notes:
    """What happened while the scenario ran."""

    acked: dict[str, str] = field(default_factory=dict)  # delivery id -> instance that said 200
    unstored_at_ack: list[str] = field(default_factory=list)  # not in the database at its 200
    sent: Counter[str] = field(default_factory=Counter)  # requests (tries included) per instance
    odd: list[str] = field(default_factory=list)  # answers other than 200 or a cut connection
    sorry: list[str] = field(default_factory=list)  # 200s that carried an error code
    retried: list[str] = field(default_factory=list)
    stored_unanswered: list[str] = field(default_factory=list)  # in the database, yet no 200
    unanswered: list[str] = field(default_factory=list)  # no 200 after all of Slack's tries
    stopped: list[str] = field(default_factory=list)  # people who could not carry on
    in_flight_at_kill: int = -1
    held_at_kill: int = -1  # unsent items under the dead instance's claim
    held_reply_wait: float = 0.0  # how long the person waited for the reply it held
    late_retry: str = ""  # an event instance one had answered, sent again to instance two
    late_retry_acked: bool = False
    history_calls: int = 0  # conversations.history: looking before posting again


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Outcome:
    summary: list[str]
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    def render(self) -> str:
        lines = [*self.summary, ""]
        lines += [f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in self.checks]
        lines += ["", "All checks passed." if self.passed else "A check FAILED."]
        return "\n".join(lines)


@dataclass
class Stored:
    """What the database and Slack hold once everything has settled."""

    lost: list[str]  # acknowledged delivery ids the database does not have
    cases: dict[str, list[Case]]  # by person
    unfinished: dict[str, str]  # person -> step their conversation was left at
    unsent: list[str]  # outbox item ids not sent (pending or refused for good)
    posts: Counter[str]  # leadership posts per case reference
    dms: Counter[str]  # DMs per outbox item id


async def read_back(url: str, notes: Notes, fake: FakeSlack, people: Sequence[str]) -> Stored:
    """Through the store's own reads (and the stand-in's record of Slack)."""
    store = await open_postgres_store(url, migrate_now=False)
    try:
        lost = [d for d in notes.acked if not await store.seen(d)]
        cases = {u: await store.cases(reporter=reporter(u)) for u in people}
        left = {u: await store.conversation(reporter(u)) for u in people}
        unsent = [i.id for i in await store.outbox_items()]
    finally:
        await store.close()
    unfinished = {u: c.step for u, c in left.items() if c is not None and c.step != "end"}
    posts = Counter(ref for m in fake.posts(LEADERS) if (ref := case_of(m)))
    dms = Counter(i for u in people for m in fake.dm(u) if (i := outbox_id(m)))
    return Stored(lost, cases, unfinished, unsent, posts, dms)


def scenario_checks(notes: Notes, people: int) -> list[Check]:
    """That the run was the scenario it claims to be."""
    return [
        Check(
            "the kill came in the middle of reports, with requests in flight",
            notes.in_flight_at_kill > 0 and notes.held_at_kill > 0,
            f"{notes.in_flight_at_kill} request(s) in flight to instance one; it died holding "
            f"{max(notes.held_at_kill, 0)} unsent item(s) under its claim",
        ),
        Check(
            "every person finished their report",
            not notes.stopped and not notes.unanswered,
            "; ".join(notes.stopped) or f"{people} reports, every step acknowledged",
        ),
        Check(
            "no answer but a 200 (or a connection cut by the kill), and no error code",
            not notes.odd and not notes.sorry,
            "; ".join(notes.odd[:3] + notes.sorry[:3]) or "none",
        ),
    ]


def stored_checks(
    notes: Notes, stored: Stored, answered: Callable[[str, Case], bool]
) -> list[Check]:
    """Nothing acknowledged lost, nothing applied twice, every case as its person answered."""
    refs = {c.reference for cases in stored.cases.values() for c in cases}
    late = [i for i in stored.dms if i.startswith(f"{notes.late_retry}:")]
    return [
        Check(
            "no step acknowledged (HTTP 200) is missing from the database",
            not stored.lost and not notes.unstored_at_ack,
            f"of {len(notes.acked)} acknowledged steps, {len(notes.unstored_at_ack)} were not "
            f"stored when their 200 came {notes.unstored_at_ack[:3]}, {len(stored.lost)} are "
            f"missing at the end {stored.lost[:3]}",
        ),
        Check(
            "a Slack retry of a step the other instance had answered changed nothing",
            notes.late_retry_acked and bool(late) and all(stored.dms[i] == 1 for i in late),
            f"{notes.late_retry or 'no event to retry'}: "
            f"{'200' if notes.late_retry_acked else 'no 200'} from instance two; its "
            f"{len(late)} repl(ies) posted {sorted({stored.dms[i] for i in late})} time(s)",
        ),
        Check(
            "every case stored once, as its person answered",
            len(refs) == len(stored.cases)
            and all(len(cs) == 1 and answered(u, cs[0]) for u, cs in stored.cases.items()),
            f"{len(refs)} cases for {len(stored.cases)} people: "
            + ", ".join(f"{u} {[c.reference for c in cs]}" for u, cs in stored.cases.items()),
        ),
        Check(
            "every conversation finished",
            not stored.unfinished,
            f"left unfinished: {stored.unfinished or 'none'}",
        ),
        Check(
            "nothing left undelivered (or refused) in the outbox",
            not stored.unsent,
            f"{len(stored.unsent)} item(s) unsent {stored.unsent[:3]}",
        ),
    ]


def slack_checks(stored: Stored, fake: FakeSlack) -> list[Check]:
    """What reached Slack: each case posted once, each message once, every handoff."""
    refs = {c.reference for cases in stored.cases.values() for c in cases}
    handoffs = {
        user: sum(handoff_of(m, c.reference) for m in fake.dm(user) for c in cases)
        for user, cases in stored.cases.items()
    }
    return [
        Check(
            "every case's leadership post made exactly once in the leadership channel",
            set(stored.posts) == refs
            and set(stored.posts.values()) == {1}
            and len(fake.posts(LEADERS)) == len(stored.cases),
            f"{len(fake.posts(LEADERS))} posts: {dict(sorted(stored.posts.items()))}",
        ),
        Check(
            "no message posted twice to anyone",
            set(stored.dms.values()) == {1},
            f"{sum(stored.dms.values())} DMs, repeated: "
            f"{[i for i, n in stored.dms.items() if n > 1] or 'none'}",
        ),
        Check(
            "every reporter got their POSH handoff, once",
            set(handoffs.values()) == {1},
            ", ".join(f"{u}: {n}" for u, n in handoffs.items()),
        ),
    ]


def reporter(user: str) -> str:
    return f"slack:{TEAM}:{user}"


def outbox_id(message: JSONDict) -> str:
    """The outbox item a message was posted for, from the metadata the bot stamps on it."""
    meta = message.get("metadata") or {}
    return str((meta.get("event_payload") or {}).get("outbox_id", ""))


def case_of(message: JSONDict) -> str:
    """The case a leadership post is for ("" if it is not one)."""
    meta = message.get("metadata") or {}
    if meta.get("event_type") != "reportbot_case":
        return ""
    return outbox_id(message).split(":")[1]


def handoff_of(message: JSONDict, reference: str) -> bool:
    """Does the message carry the case's handoff (alone, or with the rest of its turn)?"""
    return f"Case {reference}: call POSH" in str(message.get("text", ""))
