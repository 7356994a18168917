"""Nudges in the leadership channel, so no case stalls quietly.

- A new case not sent to POSH within one working day of POSH's hours: to whoever said they
  would contact POSH – the leadership channel, or the reporter's own chat with the bot.
- Sent to POSH but not removed after 48 hours, and again after 7 days: suggest escalating
  (always to leaders: escalating to the union is theirs to do).

Nudges go out on weekdays in the daytime only (08:00–18:00 UK), never at night or at weekends,
and each says whether the line is open or when it opens. Each condition fires once: the
reminder's outbox id is fixed per case and condition, and the store remembers it was sent,
so a restart neither loses nor repeats one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import localtime
from bot.errors import Conflict, error_reference, log_bug
from bot.facts import Facts
from bot.filing import Filing
from bot.hours import opening, status_text
from bot.model import WITH_POSH, Audience, Case, CaseStatus, Notice, OutboxItem, PoshOwner
from bot.outbox import outbox_item
from bot.ports import Clock, Store, UnitOfWork
from bot.steps import Step

log = logging.getLogger(__name__)

NOT_SENT = frozenset({CaseStatus.REPORTING, CaseStatus.NEW, CaseStatus.REPORTED_IN_APP})
DAYTIME = (8, 18)


@dataclass(frozen=True)
class Due:
    kind: str
    case: Case
    text: str
    to_reporter: bool = False


def working_deadline(facts: Facts, start: datetime, hours: float) -> datetime:
    """`start` plus `hours` counted only while POSH is open."""
    left = timedelta(hours=hours)
    at = start
    for _ in range(30):  # a month of closures is more than any real calendar holds
        o = opening(facts, at)
        if not o.open_now:
            at = o.next_open
            continue
        assert o.closes is not None
        if at + left <= o.closes:
            return at + left
        left -= o.closes - at
        at = o.closes
    return at + left


def is_daytime(facts: Facts, now: datetime) -> bool:
    local = localtime.moment(now, facts)
    return local.weekday() < 5 and DAYTIME[0] <= local.hour < DAYTIME[1]


def due_reminders(case: Case, facts: Facts, now: datetime) -> list[Due]:
    """The reminders a case has earned by `now` (whether or not already sent)."""
    due: list[Due] = []
    line = status_text(facts, now)
    if case.status in NOT_SENT:
        deadline = working_deadline(facts, case.created_at, _session_hours(facts))
        if now >= deadline:
            at = localtime.moment(case.created_at, facts)
            reported = localtime.day_text(at, weekday=True, year=False)
            if _reporter_owns(case):
                text = (
                    f"You said you would contact POSH about {case.reference} (reported "
                    f"{reported}). If you have, type sent {case.reference}; if you can't, tell "
                    f"your leadership team. {line}"
                )
                due.append(Due("not_sent", case, text, to_reporter=True))
            else:
                text = (
                    f"{case.reference} was reported {reported} and has not been sent "
                    f"to POSH yet. {line} Use “I'll contact POSH” on the case to take it on."
                )
                due.append(Due("not_sent", case, text))
    sent = case.status_times.get(CaseStatus.SENT_TO_POSH)
    if case.status in WITH_POSH and sent:
        for kind, after, label in (("48h", 48, "48 hours"), ("7d", 24 * 7, "7 days")):
            if now - sent >= timedelta(hours=after):
                text = (
                    f"{case.reference} was sent to POSH {label} ago and is not marked removed. "
                    f"Ask POSH for an update, quoting {case.reference}; if TikTok has not "
                    f"acted, the unions have committed to challenge it: contact "
                    f"{facts.union_contact}. {line}"
                )
                due.append(Due(kind, case, text))
    return due


def trigger_times(case: Case, facts: Facts) -> dict[str, datetime]:
    """When each reminder of the case falls due, as things stand (sent or not)."""
    times: dict[str, datetime] = {}
    if case.status in NOT_SENT:
        times["not_sent"] = working_deadline(facts, case.created_at, _session_hours(facts))
    sent = case.status_times.get(CaseStatus.SENT_TO_POSH)
    if case.status in WITH_POSH and sent:
        times["48h"] = sent + timedelta(hours=48)
        times["7d"] = sent + timedelta(days=7)
    return times


def schedule(case: Case, facts: Facts) -> None:
    """Set `case.remind_at`: when its next reminder not yet sent can go (in the daytime).

    Called whenever a case is written, so the reminders check reads only the cases due (the
    stores index `remind_at`) instead of every open case.
    """
    pending = [at for kind, at in trigger_times(case, facts).items() if kind not in case.reminded]
    case.remind_at = next_daytime(facts, min(pending)) if pending and case.is_open else None


def next_daytime(facts: Facts, moment: datetime) -> datetime:
    """`moment`, or the start of the next weekday daytime after it (08:00 UK)."""
    local = localtime.moment(moment, facts)
    for _ in range(8):
        if is_daytime(facts, local):
            return local
        start = local.replace(hour=DAYTIME[0], minute=0, second=0, microsecond=0)
        local = start if local < start else start + timedelta(days=1)
    return local


def _reporter_owns(case: Case) -> bool:
    return (
        case.posh_owner == PoshOwner.REPORTER and not case.assignee and bool(case.reporter_address)
    )


def _session_hours(facts: Facts) -> float:
    opens = datetime.strptime(facts.posh_opens, "%H:%M")
    closes = datetime.strptime(facts.posh_closes, "%H:%M")
    return (closes - opens).total_seconds() / 3600


class Reminders:
    """Sends what is due on a timer: reads only the cases whose next reminder has come."""

    def __init__(
        self,
        store: Store,
        facts: Facts,
        clock: Clock,
        *,
        on_commit: Callable[[Sequence[OutboxItem]], None] = lambda items: None,
        every: float = 60.0,
        expiry: timedelta = timedelta(hours=24),
    ) -> None:
        self.expiry = expiry
        self.store = store
        self.facts = facts
        self.clock = clock
        self.every = every
        self._on_commit = on_commit
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """Close out every urgent report left unfinished past its expiry, day or night: the
        engine would only notice when its reporter writes again. Returns how many."""
        now = self.clock.now()
        filing = Filing(self.store, self.facts)  # the school's facts as they are now
        swept = 0
        for conv in await self.store.conversations():
            if not conv.case_reference or conv.step == Step.END:
                continue
            if now - conv.updated_at <= self.expiry:
                continue
            work = await filing.expired(conv, self.expiry, now)
            if not work.cases:
                continue
            for case in work.cases.values():
                schedule(case, self.facts)
            unit = UnitOfWork(
                person_key=conv.person.key,
                conversation=None,
                cases=list(work.cases.values()),
                outbox=work.outbox,
            )
            try:
                await self.store.commit(unit)
            except Conflict:
                continue  # the reporter wrote meanwhile: their turn dealt with it
            self._on_commit(work.outbox)
            swept += 1
        return swept

    async def check(self) -> int:
        """Sweep expired urgent reports, then queue every reminder that is due and not yet
        sent; returns how many reminders."""
        await self.sweep()
        now = self.clock.now()
        if not is_daytime(self.facts, now):
            return 0
        queued = 0
        for case in await self.store.cases_due(now):
            try:
                queued += await self._remind(case, now)
            except Conflict:
                continue  # the case changed meanwhile: its new schedule says when, next time
        return queued

    async def _remind(self, case: Case, now: datetime) -> int:
        due = [d for d in due_reminders(case, self.facts, now) if d.kind not in case.reminded]
        items = [self._item(d, f"reminder:{d.kind}:{case.reference}", now) for d in due]
        case.reminded = (*case.reminded, *(d.kind for d in due))
        schedule(case, self.facts)
        # The reminder and the mark that it went are one write: it fires once, on one
        # instance, whatever crashes (its outbox id is fixed per case and kind, too).
        await self.store.commit(UnitOfWork(cases=[case], outbox=items))
        self._on_commit(items)
        return len(items)

    def _item(self, due: Due, key: str, now: datetime) -> OutboxItem:
        case = due.case
        notice = Notice(due.text, tone="warning", title=f"Reminder: {case.reference}")
        if due.to_reporter:
            address = case.reporter_address
            return outbox_item(
                case.reporter, Audience.PERSON, address, notice, key, now, case.reference
            )
        return outbox_item(case.reporter, Audience.LEADERSHIP, {}, notice, key, now, case.reference)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reminders")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception as e:  # a bad case must not stop reminders for the rest
                log_bug(log, error_reference(), e)
            await asyncio.sleep(self.every)
