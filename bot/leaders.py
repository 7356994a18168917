"""What leaders do with cases from chat: press a status button, or type a command.

    cases                      open cases          show TT-2026-0007       one case + history
    stats                      the figures (times to POSH and to removal, refusals, repeats)
    assign TT-2026-0007        take it on          note TT-2026-0007 text  add a note
    sent|with_tiktok|removed|refused|close|reopen TT-2026-0007 [reason]

Leaders are the members of the leadership channel (the adapter finds that out and sets
`Turn.is_leader`). A reporter may see their own case. Every view and every change is checked
here and written to the case history; a refusal changes nothing.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from bot import lifecycle
from bot.facts import Facts
from bot.model import (
    Audience,
    Case,
    CaseCard,
    CaseList,
    CaseStatus,
    HistoryEntry,
    Notice,
    OutboxItem,
    Person,
    Platform,
    PoshOwner,
    Reply,
    Turn,
)
from bot.outbox import card_update_item, outbox_item
from bot.ports import Store
from bot.records import history_rows
from bot.report import lines_text, summary_lines
from bot.stats import compute_stats, format_stats
from bot.views import local

COMMAND = re.compile(
    r"^\s*(show|note|assign|in_app|sent|with_tiktok|removed|refused|close|reopen)\s+"
    r"(TT-\d{4}-\d{3,})\b[\s:,-]*(.*)$",
    re.IGNORECASE | re.DOTALL,
)

NOT_LEADER = (
    "Only members of the leadership channel can update cases, so nothing was changed. "
    "If you think you should be able to, ask your headteacher or DSL."
)
NOT_LEADER_VIEW = "Only members of the leadership channel can see other people's cases."


@dataclass
class DeskResult:
    replies: list[Reply] = field(default_factory=list)
    extra: list[OutboxItem] = field(default_factory=list)


def is_case_command(text: str) -> bool:
    return bool(COMMAND.match(text))


class LeaderDesk:
    def __init__(self, store: Store, facts: Facts) -> None:
        self.store = store
        self.facts = facts
        self._case_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def press(self, turn: Turn, now: datetime) -> DeskResult:
        """A status button: action `case:VERB:REF`."""
        parts = (turn.action or "").split(":", 2)
        verb, ref = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        async with self.case_lock(ref):
            return await self._move(turn, verb, ref, turn.text.strip(), now, from_button=True)

    async def command(self, turn: Turn, now: datetime) -> DeskResult:
        match = COMMAND.match(turn.text)
        assert match, "call is_case_command first"
        verb, ref, rest = match.group(1).lower(), match.group(2).upper(), match.group(3).strip()
        async with self.case_lock(ref):
            if verb == "show":
                return await self._show(turn, ref, now)
            if verb == "note":
                return await self._note(turn, ref, rest, now)
            return await self._move(turn, verb, ref, rest, now, from_button=False)

    def case_lock(self, reference: str) -> asyncio.Lock:
        """One change to a case at a time: two leaders pressing at once must not lose one."""
        return self._case_locks.setdefault(reference.upper(), asyncio.Lock())

    async def listing(self, turn: Turn, mine: bool) -> Reply:
        if mine:
            cases = await self.store.cases(reporter=turn.person.key)
            refs = tuple(c.reference for c in cases if c.status != CaseStatus.DELETED)
            return CaseList("Your reports", refs, "You haven't made any reports yet.")
        if not turn.is_leader:
            return Notice(NOT_LEADER_VIEW, tone="warning")
        cases = await self.store.cases(open_only=True)
        refs = tuple(c.reference for c in cases if in_scope(c, turn.person))
        return CaseList("Open cases", refs, "There are no open cases.")

    async def stats(self, turn: Turn) -> Notice:
        """The same figures as `reportbot stats`, for this school's leaders."""
        if not turn.is_leader:
            return Notice(NOT_LEADER_VIEW, tone="warning")
        cases = [c for c in await self.store.cases() if in_scope(c, turn.person)]
        return Notice(format_stats(compute_stats(cases)), title="TikTok reports: the figures")

    async def _move(
        self, turn: Turn, verb: str, ref: str, reason: str, now: datetime, *, from_button: bool
    ) -> DeskResult:
        case = await self._find(ref, turn.person)
        if not (turn.is_leader or (case is not None and _owner_may(case, turn.person, verb))):
            return DeskResult([Notice(NOT_LEADER, tone="warning")])
        if case is None:
            return DeskResult([Notice(f"I can't find case {ref}.", tone="warning")])
        result = DeskResult()
        move = lifecycle.MOVES.get(verb)
        if move and move.needs_reason and not reason:
            # A decision needs its reason on record (KCSIE); a button press carries none.
            ask = f"“{move.label}” is a decision, so it needs a reason on record. Send me: "
            return DeskResult([Notice(ask + f"{verb} {ref} because …")])
        try:
            lifecycle.apply(case, verb, who(turn.person), now, reason)
            if verb == "assign":
                case.posh_owner = PoshOwner.LEADERS
            await self.store.save_case(case)
        except lifecycle.InvalidMove as e:
            result.replies.append(Notice(str(e), tone="warning"))
        moved = not result.replies
        if not from_button and moved:
            label = lifecycle.STATUS_LABELS[case.status]
            result.replies.append(Notice(f"{ref}: done. It is now “{label}”.", tone="success"))
        result.extra.append(card_update_item(case, now))
        if moved and case.reporter.key != turn.person.key:
            result.extra += tell_reporter(case, verb, who(turn.person), now)
        return result

    async def _note(self, turn: Turn, ref: str, text: str, now: datetime) -> DeskResult:
        if not turn.is_leader:
            return DeskResult([Notice(NOT_LEADER, tone="warning")])
        case = await self._find(ref, turn.person)
        if case is None:
            return DeskResult([Notice(f"I can't find case {ref}.", tone="warning")])
        if not text:
            return DeskResult([Notice(f"What is the note? e.g. “note {ref} POSH called back”.")])
        lifecycle.note(case, who(turn.person), now, text[:2000])
        await self.store.save_case(case)
        reply = Notice(f"Note added to {ref}.", tone="success")
        return DeskResult([reply], [card_update_item(case, now)])

    async def _show(self, turn: Turn, ref: str, now: datetime) -> DeskResult:
        case = await self._find(ref, turn.person)
        if case is None:
            return DeskResult([Notice(f"I can't find case {ref}.", tone="warning")])
        mine = case.reporter.key == turn.person.key
        if not (turn.is_leader or mine):
            return DeskResult([Notice(NOT_LEADER_VIEW, tone="warning")])
        case.record(HistoryEntry(now, who(turn.person), "viewed"))
        await self.store.save_case(case)
        if not turn.is_leader:  # the reporter: their report and how far it has got, no notes
            view = self._reporter_view(case, now)
            return DeskResult([Notice(view, title=f"Your report {ref}", about=ref)])
        history = Notice(self.history_text(case), title="History", about=ref)
        return DeskResult([CaseCard(ref), history])

    def _reporter_view(self, case: Case, now: datetime) -> str:
        status = ("Status", lifecycle.STATUS_LABELS[case.status])
        return lines_text([status, *summary_lines(case.answers, case.flags, self.facts)])

    async def _find(self, reference: str, person: Person) -> Case | None:
        """The case, if it exists, is not deleted, and belongs to the person's school."""
        case = await self.store.case(reference)
        if case is None or case.status == CaseStatus.DELETED or not in_scope(case, person):
            return None
        return case

    def history_text(self, case: Case) -> str:
        lines = []
        for row in history_rows(case):
            change = f" {row.change}" if row.change else ""
            note = f": {row.note}" if row.note else ""
            lines.append(f"{local(row.at, self.facts)} · {row.who} · {row.action}{change}{note}")
        return "\n".join(lines)


def _owner_may(case: Case, person: Person, verb: str) -> bool:
    """A reporter who said they would contact POSH records that they have."""
    return (
        verb == "sent" and case.reporter.key == person.key and case.posh_owner == PoshOwner.REPORTER
    )


REPORTER_NEWS = {
    "assign": "{who} from the leadership team is contacting POSH about {ref}.{instead}",
    "sent": "{ref} has been sent to POSH (by {who}).",
    "with_tiktok": "POSH has passed {ref} to TikTok.",
    "removed": "Good news: TikTok has removed the content in {ref}.",
    "refused": "TikTok has refused to remove the content in {ref}; leaders are following it up.",
    "close": "{ref} has been closed by {who}.",
    "reopen": "{ref} has been reopened by {who}.",
}


def tell_reporter(case: Case, verb: str, actor: str, now: datetime) -> list[OutboxItem]:
    """The reporter hears how their case moves (status only, nothing from leaders' notes)."""
    text = REPORTER_NEWS.get(verb)
    if text is None or not case.reporter_address:
        return []
    instead = " You don't need to contact POSH yourself." if verb == "assign" else ""
    notice = Notice(text.format(who=actor, ref=case.reference, instead=instead), tone="info")
    item_id = f"case:{case.reference}:told:{len(case.history)}"
    return [
        outbox_item(
            case.reporter, Audience.PERSON, case.reporter_address, notice, item_id, now,
            case.reference,
        )
    ]  # fmt: skip


def in_scope(case: Case, person: Person) -> bool:
    """A leader sees the cases of their own workspace (Slack team, Teams tenant) only.

    The terminal operator holds the data folder itself, so sees every case in it.
    """
    if person.platform == Platform.TERMINAL:
        return True
    reporter = case.reporter
    return reporter.platform == person.platform and reporter.workspace == person.workspace


def who(person: Person) -> str:
    return person.name or person.user_id
