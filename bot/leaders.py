"""What leaders do with cases from chat: press a status button, or type a command.

    cases                      open cases          show TT-2026-0007       one case + history
    stats                      the figures (times to POSH and to removal, refusals, repeats)
    assign TT-2026-0007        take it on          note TT-2026-0007 text  add a note
    sent|with_tiktok|removed|refused|close|reopen TT-2026-0007 [reason]

A reference may be typed as `bot.references` reads it: tt 2026 7, TT–2026–0007, or 0007 alone
for this year's case; the verb as leaders say it (the card's labels, "taken down", a typo) and
the case by a short number ("show 2") as `bot.leader_words` reads them. A note or a reason is
read for a child's sexual images as a reporter's words are (`bot.case_words`).

Leaders are the members of the leadership channel or team: the desk asks the platform
(`bot.ports.Membership`) only when a leader's request comes, since that can cost a look-up. A
reporter may see their own case, and record that they have contacted POSH when they said they
would. Every view and every change is checked here and written to the case history; a refusal
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot import leader_words, lifecycle, localtime, references
from bot.case_words import read_words
from bot.errors import InvalidMove, ReasonNeeded
from bot.facts import Facts
from bot.lifecycle import CaseAction, in_scope, pages_in_scope, reporter_may
from bot.localtime import local
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
    Reply,
    Turn,
)
from bot.outbox import card_update_item, outbox_item
from bot.ports import Membership, Store
from bot.report import lines_text, summary_lines
from bot.stats import Tally, format_stats
from bot.timeline import history_rows
from bot.views import case_line
from bot.work import Work

NOT_LEADER = (
    "Only members of the leadership channel can update cases, so nothing was changed. "
    "If you think you should be able to, ask your headteacher or DSL."
)
NOT_LEADER_VIEW = "Only members of the leadership channel can see other people's cases."
DID_YOU_MEAN = (
    "Did you mean one of these?\n"
    "show {ref} · note {ref} … · assign {ref}\n"
    "in_app / sent / with_tiktok / removed {ref}\n"
    "refused / close / reopen {ref} because …\n"
    "(The card's button labels work too, e.g. “sent to POSH {ref}”. Type cases for the open "
    "cases, or help.)"
)
NOT_AN_ANSWER = (
    "That names a case ({ref}), so I haven't taken it as an answer. To see your report, type "
    "show {ref}; once you have contacted POSH about it, sent {ref}; or my reports for all yours."
)
LEADER_HELP = (
    "cases – the open cases · show REF – a case and its history · stats – the figures\n"
    "assign REF – you contact POSH · note REF … – add a note\n"
    "sent / with_tiktok / removed REF – move it on\n"
    "refused / close / reopen REF because … – a decision, with its reason\n"
    "REF is TT-2026-0007, or this year's number: 0007 (or 7, #7, case 7)."
)
CHAT_FILES = "\nexport [REF] · retention review · retention delete REF because … · sar NAME"
TERMINAL_FILES = (
    "\nretention review here; files and deletions on the command line: reportbot export, "
    "reportbot sar NAME, reportbot retention delete REF --reason … --confirm"
)
OUTCOMES = frozenset({CaseStatus.REMOVED, CaseStatus.REFUSED})
OUTCOME = (
    " That is its outcome, so it leaves the open cases (show still finds it); close it with a "
    "reason when nothing more is to be done, or reopen it if the content comes back."
)
UNCHECKED = (
    "Sorry – I couldn't check just now whether you're in the leadership team, so nothing was "
    "changed. Please try again in a minute."
)


def is_case_command(text: str) -> bool:
    """A case command by its words alone (a short number needs `LeaderDesk.recognise`)."""
    typed = leader_words.read(text)
    return typed is not None and not typed.short


class LeaderDesk:
    """The leaders' requests. Each returns a `Work`; the engine writes it with the turn."""

    def __init__(self, store: Store, facts: Facts, membership: Membership) -> None:
        self.store = store
        self.facts = facts
        self.membership = membership

    async def press(self, turn: Turn, action: CaseAction, now: datetime) -> Work:
        """A status button (or "I've contacted POSH", said by the reporter)."""
        return await self._move(
            turn, action.verb, action.reference, turn.text.strip(), now, from_button=True
        )

    async def recognise(
        self, turn: Turn, now: datetime, answers: Callable[[], bool]
    ) -> leader_words.Typed | None:
        """The case command the turn's words are, if any. A short number ("show 2", "note 1
        …") only if no question waiting would take the words (`answers`), a case of that
        number is the person's to see, and they lead: "sent 2 videos" stays an answer."""
        typed = leader_words.read(turn.text)
        if typed is None or not typed.short:
            return typed
        if answers() or await self.find(self._reference(typed, now), turn.person) is None:
            return None
        return typed if await self.leads(turn.person, self._reference(typed, now)) else None

    def _reference(self, typed: leader_words.Typed, now: datetime) -> str:
        # A number alone is this year's case, in the year cases are numbered in (bot.filing).
        return references.canonical(typed.reference, localtime.moment(now, self.facts).year)

    async def command(
        self, turn: Turn, now: datetime, typed: leader_words.Typed | None = None
    ) -> Work:
        """The command `recognise` read (or, not given, the turn's words say)."""
        typed = typed or leader_words.read(turn.text)
        assert typed is not None, "call recognise first"
        ref, rest = self._reference(typed, now), typed.rest
        if typed.verb == "show":
            return await self._show(turn, ref, now)
        if typed.verb == "note":
            return await self._note(turn, ref, rest, now)
        return await self._move(turn, typed.verb, ref, rest, now, from_button=False)

    async def did_you_mean(self, turn: Turn, now: datetime) -> Notice:
        """Words with a case's reference that are no command: never a report's answer."""
        ref = references.canonical(leader_words.reference_in(turn.text))
        if await self.leads(turn.person, ref):
            return Notice(DID_YOU_MEAN.format(ref=ref))
        return Notice(NOT_AN_ANSWER.format(ref=ref))

    async def leader_help(self, person: Person) -> list[Notice]:
        """For `help`: a leader's commands, in brief (none for others)."""
        if not await self.leads(person):
            return []
        files = TERMINAL_FILES if person.platform == Platform.TERMINAL else CHAT_FILES
        return [Notice(LEADER_HELP + files, title="For leaders")]

    async def leads(self, person: Person, reference: str = "") -> bool | None:
        """Asked only for a leader's request: the platform may have to look it up."""
        return await self.membership.is_leader(person, reference)

    async def listing(self, turn: Turn, mine: bool) -> Reply:
        if mine:
            cases = await self.store.cases(reporter=turn.person.key)
            shown = [c for c in cases if c.status != CaseStatus.DELETED]
            return self._list("Your reports", shown, "You haven't made any reports yet.")
        refused = await self.refusal(turn.person, "", NOT_LEADER_VIEW)
        if refused is not None:
            return refused
        cases = await self.store.cases(open_only=True)
        shown = [c for c in cases if in_scope(c, turn.person)]
        return self._list("Open cases", shown, "There are no open cases.")

    def _list(self, title: str, cases: list[Case], empty: str) -> CaseList:
        refs = tuple(c.reference for c in cases)
        return CaseList(title, refs, empty, tuple(case_line(c, self.facts) for c in cases))

    async def stats(self, turn: Turn) -> Notice:
        """The same figures as `reportbot stats`, for this school's leaders."""
        refused = await self.refusal(turn.person, "", NOT_LEADER_VIEW)
        if refused is not None:
            return refused
        tally = Tally(self.facts)
        async for page in pages_in_scope(self.store, turn.person):  # none kept once counted
            for case in page:
                tally.add(case)
        return Notice(format_stats(tally.stats()), title="TikTok reports: the figures")

    async def refusal(self, person: Person, reference: str, why: str) -> Notice | None:
        """None if the person leads; else the notice that says why nothing happened."""
        verdict = await self.leads(person, reference)
        if verdict is None:
            return Notice(UNCHECKED, tone="warning")
        return None if verdict else Notice(why, tone="warning")

    async def _move(
        self, turn: Turn, verb: str, ref: str, reason: str, now: datetime, *, from_button: bool
    ) -> Work:
        case = await self.find(ref, turn.person)
        if case is None or not reporter_may(case, turn.person, verb):
            refused = await self.refusal(turn.person, ref, NOT_LEADER)
            if refused is not None:
                return Work([refused])
        if case is None:
            return Work([self._not_found(ref, now)])
        try:
            to, reason = leader_words.assignee(reason) if verb == "assign" else ("", reason)
            if to:  # "assign TT-2026-0001 to Mrs Green": she contacts POSH, not the sender
                lifecycle.hand_over(case, to, who(turn.person), now, reason)
            else:
                lifecycle.apply(case, verb, who(turn.person), now, reason)
        except ReasonNeeded as e:
            # A decision needs its reason on record (KCSIE); a button press carries none.
            return Work([Notice(f"{e} Send me: {verb} {ref} because …")])
        except InvalidMove as e:  # refused: nothing changed, so nothing is written or posted
            return Work([Notice(str(e), tone="warning")])
        work = Work([*read_words(case, reason, who(turn.person), now, self.facts, "reason")])
        work.write(case)
        if not from_button and verb == "assign":
            taker = "You are" if case.assignee == who(turn.person) else f"{case.assignee} is"
            said = f"{ref}: {taker} contacting POSH."
            work.replies.append(Notice(said, tone="success"))
        elif not from_button:
            label = lifecycle.STATUS_LABELS[case.status]
            ended = OUTCOME if case.status in OUTCOMES else ""
            work.replies.append(Notice(f"{ref}: done. It is now “{label}”.{ended}", tone="success"))
        work.outbox.append(card_update_item(case, now))
        if case.reporter.key != turn.person.key:
            by = case.assignee if verb == "assign" else who(turn.person)  # who is contacting POSH
            work.outbox += tell_reporter(case, verb, by, now)
        return work

    async def _note(self, turn: Turn, ref: str, text: str, now: datetime) -> Work:
        refused = await self.refusal(turn.person, ref, NOT_LEADER)
        if refused is not None:
            return Work([refused])
        case = await self.find(ref, turn.person)
        if case is None:
            return Work([self._not_found(ref, now)])
        if not text:
            return Work([Notice(f"What is the note? e.g. “note {ref} POSH called back”.")])
        try:
            lifecycle.note(case, who(turn.person), now, text)
        except InvalidMove as e:
            return Work([Notice(str(e), tone="warning")])
        flagged = read_words(case, text, who(turn.person), now, self.facts)
        work = Work([*flagged, Notice(f"Note added to {ref}.", tone="success")])
        work.write(case)
        work.outbox.append(card_update_item(case, now))
        return work

    async def _show(self, turn: Turn, ref: str, now: datetime) -> Work:
        case = await self.find(ref, turn.person)
        if case is None:
            return Work([self._not_found(ref, now)])
        leads = case.reporter.key != turn.person.key
        if leads:
            refused = await self.refusal(turn.person, ref, NOT_LEADER_VIEW)
            if refused is not None:
                return Work([refused])
        else:  # their own report: a leader (the terminal's operator) still sees the card
            leads = bool(await self.leads(turn.person, ref))
        case.record(HistoryEntry(now, who(turn.person), "viewed"))
        if not leads:  # the reporter: their report and how far it has got, no notes
            view = self._reporter_view(case, now)
            work = Work([Notice(view, title=f"Your report {ref}", about=ref)])
        else:
            history = Notice(self.history_text(case), title="History", about=ref)
            work = Work([CaseCard(ref), history])
        work.write(case)
        return work

    def _reporter_view(self, case: Case, now: datetime) -> str:
        status = ("Status", lifecycle.STATUS_LABELS[case.status])
        return lines_text([status, *summary_lines(case.answers, case.flags, self.facts)])

    def _not_found(self, ref: str, now: datetime) -> Notice:
        year = localtime.moment(now, self.facts).year
        return Notice(f"I can't find case {ref}. {references.looks_like(year)}", tone="warning")

    async def find(self, reference: str, person: Person) -> Case | None:
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


def who(person: Person) -> str:
    return person.name or person.user_id
