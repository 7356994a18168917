"""The shared conversation engine: one inbound `Turn` in, a durable step out.

Every turn is handled under a per-person lock. What the turn changes (the conversation, the
delivery marked as seen, the replies owed) is committed to the store in one step before the
adapter acknowledges anything, and the replies go out through the outbox. `handle` returns
only what could not be stored: an apology with a reference code, sent best-effort.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from asyncio import Lock
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import flow, lifecycle
from bot.errors import StorageError, error_reference, log_bug
from bot.facts import Facts
from bot.flow import FLOW, SPECS, Accepted, Answer, Problem, Step
from bot.leaders import LeaderDesk, in_scope, is_case_command, who
from bot.links import parse_links
from bot.model import (
    Audience,
    Case,
    CaseCard,
    CaseStatus,
    Choice,
    Conversation,
    HandoffReply,
    HistoryEntry,
    Notice,
    OutboxItem,
    Person,
    Platform,
    Question,
    Reply,
    Turn,
)
from bot.outbox import outbox_item
from bot.ports import Clock, StepCommit, Store
from bot.report import active_answers, build_handoff, lines_text, summary_lines
from bot.retention import DEFAULT_CATEGORY

log = logging.getLogger(__name__)

COMMANDS = {
    "help": "help",
    "?": "help",
    "cancel": "cancel",
    "stop": "cancel",
    "back": "back",
    "undo": "back",
    "restart": "restart",
    "start again": "restart",
    "my reports": "my_reports",
    "status": "my_reports",
    "cases": "cases",
    "open cases": "cases",
    "stats": "stats",
    "figures": "stats",
}
RESUME_CHOICES = (Choice("resume", "Carry on"), Choice("restart", "Start again"))
GREETINGS = {"report", "hi", "hello", "start", "new report", "report tiktok"}

INTRO = (
    "I'll help you report a TikTok account or video that targets staff or the school, and "
    "hand it to the Professional Online Safety Helpline (POSH), who can ask TikTok to take "
    "it down. About ten short questions. Type back, cancel or help at any time. "
    "If anyone is in immediate danger, call {emergency} now."
)
HELP = (
    "Answer with the buttons, or type. Type back to change the last answer, cancel to stop "
    "(nothing is sent), or my reports to see reports you have made. Your answers are saved as "
    "you go, so you can come back later (within {hours} hours). For a crisis, call {emergency}."
)


@dataclass
class Outcome:
    """What one turn produced: the conversation after it and the replies owed."""

    conversation: Conversation | None
    to_person: list[Reply]
    extra: list[OutboxItem]


class Engine:
    def __init__(
        self,
        store: Store,
        facts: Facts,
        clock: Clock,
        *,
        expiry: timedelta = timedelta(hours=24),
        on_enqueue: Callable[[Platform], None] = lambda p: None,
    ) -> None:
        self.store = store
        self.facts = facts
        self.clock = clock
        self.expiry = expiry
        self._on_enqueue = on_enqueue
        self.desk = LeaderDesk(store, facts)
        self._locks: weakref.WeakValueDictionary[str, Lock] = weakref.WeakValueDictionary()

    # -- the one entry point --------------------------------------------------------------------

    async def handle(self, turn: Turn) -> list[Reply]:
        lock = self._locks.setdefault(turn.person.key, Lock())
        async with lock:
            try:
                if turn.delivery_id and await self.store.seen(turn.delivery_id):
                    return []
                result = await self._route(turn)
                await self._commit(turn, result)
                return []
            except StorageError as e:
                code = error_reference()
                log.error("storage failure %s on %s turn: %s", code, turn.person.platform, e)
                return [Notice(STORAGE_SORRY.format(code=code), tone="danger")]
            except Exception as e:
                code = error_reference()
                log_bug(log, code, e)
                return [Notice(BUG_SORRY.format(code=code), tone="danger")]

    async def _commit(self, turn: Turn, result: Outcome) -> None:
        key = turn.delivery_id or uuid.uuid4().hex
        address = turn.address or (result.conversation.address if result.conversation else {})
        now = self.clock.now()
        about = result.conversation.id if result.conversation else ""  # a deletion finds them
        items = [
            outbox_item(
                turn.person,
                Audience.PERSON,
                address,
                reply,
                f"{key}:{n}",
                now,
                conversation_id=about,
            )
            for n, reply in enumerate(result.to_person)
        ] + result.extra
        await self.store.commit(
            StepCommit(turn.person.key, result.conversation, turn.delivery_id, items)
        )
        for platform in {i.platform for i in items}:
            self._on_enqueue(platform)

    # -- routing -------------------------------------------------------------------------------

    async def _route(self, turn: Turn) -> Outcome:
        conv = await self.store.conversation(turn.person.key)
        if turn.has_files:  # said before any answer: a picture here could be of a child
            notice = Notice(NO_FILES, tone="warning")
            if not turn.text.strip():
                return Outcome(conv, [notice, *self._reask(conv)], [])
            turn = replace(turn, has_files=False)
            result = await self._route(turn)
            result.to_person.insert(0, notice)
            return result
        if turn.action and turn.action.startswith("case:"):
            desk = await self.desk.press(turn, self.clock.now())
            return Outcome(conv, desk.replies, desk.extra)
        if is_case_command(turn.text):
            desk = await self.desk.command(turn, self.clock.now())
            return Outcome(conv, [*desk.replies, *self._reask(conv)], desk.extra)
        notices: list[Reply] = []
        if conv and self.clock.now() - conv.updated_at > self.expiry:
            notices.append(Notice(self._expired_text(conv)))
            conv = None
        command = self._command(turn)
        if command in ("my_reports", "cases"):
            listing = await self.desk.listing(turn, mine=command == "my_reports")
            return Outcome(conv, [*notices, listing, *self._reask(conv)], [])
        if command == "stats":
            return Outcome(conv, [*notices, await self.desk.stats(turn), *self._reask(conv)], [])
        if conv is None:
            return await self._without_conversation(turn, command, notices)
        if turn.person.name or turn.person.email:  # a profile lookup may have failed earlier
            conv.person = turn.person
        result = await self._with_conversation(turn, command, conv)
        result.to_person[:0] = notices
        return result

    def _command(self, turn: Turn) -> str:
        if turn.action in ("help", "cancel", "back", "restart", "resume", "start", "my_reports"):
            return turn.action
        return COMMANDS.get(turn.text.strip().lower().rstrip(".!"), "")

    async def _without_conversation(
        self, turn: Turn, command: str, notices: list[Reply]
    ) -> Outcome:
        if command == "help":
            return Outcome(None, [*notices, Notice(self._help()), Notice(_START_HINT)], [])
        if turn.step and command != "start":
            return Outcome(None, [*notices, Notice(_FINISHED)], [])
        if command in ("cancel", "back", "resume"):
            return Outcome(
                None, [*notices, Notice("There's no report in progress. " + _START_HINT)], []
            )
        conv = self._new_conversation(turn)
        replies: list[Reply] = [*notices, Notice(INTRO.format(emergency=self.facts.emergency))]
        text = turn.text.strip()
        if text and text.lower() not in GREETINGS and parse_links(text)[0]:
            replies += self._answer(conv, Turn(turn.person, text=text))
        else:
            replies += self._ask(conv)
        return Outcome(conv, replies, [])

    async def _with_conversation(self, turn: Turn, command: str, conv: Conversation) -> Outcome:
        asked, conv.asked = conv.asked, ""
        if asked == Step.RESUME and not command:
            command = self._choice(turn, RESUME_CHOICES)  # "2" means start again, not "No"
            if not command:
                conv.asked = asked
                return Outcome(conv, [Notice(_RESUME_HINT), self._resume_question(conv)], [])
        if command == "start":
            conv.asked = Step.RESUME
            return Outcome(conv, [self._resume_question(conv)], [])
        if command == "resume":
            return self._touch(conv, self._ask(conv))
        if command == "restart":
            fresh = self._new_conversation(turn)
            return Outcome(fresh, [Notice("Starting a new report."), *self._ask(fresh)], [])
        if command == "cancel":
            return Outcome(None, [Notice(_CANCELLED)], [])
        if command == "help":
            return self._touch(conv, [Notice(self._help()), *self._ask(conv)])
        if command == "back":
            return self._touch(conv, self._back(conv))
        if turn.step and turn.step != conv.step:
            return self._touch(conv, [Notice(_STALE), *self._ask(conv)])
        if conv.step == Step.SUMMARY and self._choice(turn, flow.SUMMARY_CHOICES) == "submit":
            missing = self._missing(conv)
            if missing:  # e.g. links cleared and left empty: POSH needs every answer
                conv.step, conv.editing = missing, True
                return self._touch(conv, [Notice(_MISSING, tone="warning"), *self._ask(conv)])
            return await self._submit(turn, conv)
        if conv.step == Step.SUMMARY and self._choice(turn, flow.SUMMARY_CHOICES) == "cancel":
            return Outcome(None, [Notice(_CANCELLED)], [])
        return self._touch(conv, self._answer(conv, turn))

    def _touch(self, conv: Conversation, replies: list[Reply]) -> Outcome:
        conv.updated_at = self.clock.now()
        return Outcome(conv, replies, [])

    # -- the guided questions --------------------------------------------------------------------

    def _new_conversation(self, turn: Turn) -> Conversation:
        now = self.clock.now()
        return Conversation(
            id=uuid.uuid4().hex,
            person=turn.person,
            step=Step.LINKS,
            started_at=now,
            updated_at=now,
            address=dict(turn.address),
        )

    def _answer(self, conv: Conversation, turn: Turn) -> list[Reply]:
        step = Step(conv.step)
        if step == Step.SUMMARY:
            return self._summary_choice(conv, turn)
        if step == Step.CHANGE:
            return self._change_choice(conv, turn)
        spec = SPECS[step]
        answer = Answer(turn.text, turn.values or _action_values(turn), self._today(), conv)
        try:
            accepted = spec.accept(answer, self.facts) if spec.accept else Accepted(turn.text)
        except Problem as p:
            return [Notice(str(p), tone="warning"), *self._ask(conv)]
        conv.answers[str(step)] = accepted.value
        if accepted.stay:
            return [*accepted.notices, *self._ask(conv)]
        self._advance(conv)
        return [*accepted.notices, *self._ask(conv)]

    def _advance(self, conv: Conversation) -> None:
        conv.trail.append(conv.step)
        current = SPECS[Step(conv.step)]
        later = FLOW[FLOW.index(current) + 1 :]
        if conv.editing:
            later = tuple(s for s in later if s.section == current.section)
        nxt = next((s for s in later if s.when(conv.answers, conv.flags)), None)
        conv.step = nxt.step if nxt else Step.SUMMARY
        if conv.step == Step.SUMMARY:
            conv.editing = False

    def _missing(self, conv: Conversation) -> Step | None:
        """The first question that applies but has no usable answer."""
        for spec in FLOW:
            if spec.when(conv.answers, conv.flags) and conv.answers.get(spec.step) in (None, ""):
                return spec.step
        return None

    def _back(self, conv: Conversation) -> list[Reply]:
        if not conv.trail:
            return [Notice("This is the first question."), *self._ask(conv)]
        conv.step = conv.trail.pop()
        conv.editing = False
        return self._ask(conv)

    def _ask(self, conv: Conversation | None) -> list[Reply]:
        if conv is None:
            return []
        step = Step(conv.step)
        if step == Step.SUMMARY:
            return self._summary(conv)
        if step == Step.CHANGE:
            return [Question(Step.CHANGE, "Which part would you like to change?", flow.SECTIONS)]
        spec = SPECS[step]
        return [
            Question(
                step=spec.step,
                text=spec.text,
                choices=flow.choices_for(spec, conv),
                multi=spec.multi,
                hint=spec.hint,
                accepts_text=spec.accepts_text,
                progress=self._progress(conv),
            )
        ]

    def _reask(self, conv: Conversation | None) -> list[Reply]:
        if conv is None:
            return []
        return [Notice("Your report in progress is waiting for you:"), *self._ask(conv)]

    def _progress(self, conv: Conversation) -> str:
        """'Part 3 of 9': counted by section, so follow-up questions don't move the goalposts."""
        sections = [c.value for c in flow.SECTIONS]
        section = SPECS[Step(conv.step)].section
        return f"Part {sections.index(section) + 1} of {len(sections)}"

    def _summary(self, conv: Conversation) -> list[Reply]:
        lines = summary_lines(conv.answers, frozenset(conv.flags), self._today())
        lines.append(
            (
                "Your role and contact",
                f"{conv.answers.get(Step.ROLE, '')} – {conv.answers.get(Step.CONTACT, '')}",
            )
        )
        text = lines_text(lines)
        return [
            Notice(text, title="Your report – please check it"),
            Question(Step.SUMMARY, "Submit it now?", flow.SUMMARY_CHOICES, accepts_text=False),
        ]

    def _summary_choice(self, conv: Conversation, turn: Turn) -> list[Reply]:
        if self._choice(turn, flow.SUMMARY_CHOICES) == "change":
            conv.trail.append(conv.step)
            conv.step = Step.CHANGE
            return self._ask(conv)
        return [Notice("Please choose Submit, Change an answer, or Cancel."), *self._ask(conv)]

    def _change_choice(self, conv: Conversation, turn: Turn) -> list[Reply]:
        section = self._choice(turn, flow.SECTIONS)
        first = next((s for s in FLOW if s.section == section), None)
        if first is None:
            return [Notice("Please choose which part to change."), *self._ask(conv)]
        conv.step, conv.editing = first.step, True
        return self._ask(conv)

    def _choice(self, turn: Turn, choices: tuple[Choice, ...]) -> str:
        answer = Answer(turn.text, turn.values or _action_values(turn), self._today(), _NO_CONV)
        try:
            return flow.match_choices(answer, choices, multi=False)[0]
        except Problem:
            return ""

    def _resume_question(self, conv: Conversation) -> Question:
        started = conv.started_at.astimezone(ZoneInfo(self.facts.posh_timezone))
        return Question(
            Step.RESUME,
            f"You have a report in progress, started {started:%a %d %b at %H:%M}. "
            "Carry on with it, or start again?",
            RESUME_CHOICES,
            accepts_text=False,
        )

    # -- submitting --------------------------------------------------------------------------------

    async def _submit(self, turn: Turn, conv: Conversation) -> Outcome:
        now = self.clock.now()
        # A crash after the case was saved but before the step committed must not file it twice.
        case = await self.store.case_for_conversation(conv.id)
        if case is None:
            case = await self._new_case(conv, now)
            found = await self._duplicate_of(case)
            if found:
                async with self.desk.case_lock(found.reference):
                    original = await self.store.case(found.reference)  # fresh, under the lock
                    if original and original.is_open:
                        await self._link_duplicate(case, original, now)
                    await self.store.save_case(case)
            else:
                await self.store.save_case(case)
        handler = ""
        if case.duplicate_of:
            original = await self.store.case(case.duplicate_of)
            handler = original.assignee if original else ""
        return self._submitted(turn, case, now, handler)

    async def _new_case(self, conv: Conversation, now: datetime) -> Case:
        reference = await self.store.next_reference(self._local(now).year)
        answers = active_answers(conv.answers, conv.flags)
        for step in (Step.ROLE, Step.CONTACT):
            answers[step] = conv.answers.get(step, "")
        links = answers.get(Step.LINKS) or []
        case = Case(
            reference=reference,
            created_at=now,
            reporter=conv.person,
            conversation_id=conv.id,
            answers=answers,
            flags=frozenset(conv.flags),
            status_times={CaseStatus.NEW: now},
            retention_category=DEFAULT_CATEGORY,
            handles=tuple(sorted({str(x["handle"] or x["url"]) for x in links})),
        )
        case.record(HistoryEntry(now, who(conv.person), "reported", new=CaseStatus.NEW))
        if answers.get(Step.IN_APP) == "yes":
            day = str(answers.get(Step.IN_APP_WHEN) or self._local(now).date().isoformat())
            lifecycle.apply(case, "in_app", who(conv.person), now, f"reported in the app {day}")
            # The clock for "time to removal" starts when TikTok was told, not when we were.
            reported = datetime.fromisoformat(day).replace(tzinfo=self._local(now).tzinfo)
            case.status_times[CaseStatus.REPORTED_IN_APP] = min(reported, now)
        return case

    async def _duplicate_of(self, case: Case) -> Case | None:
        """An open case of the same school about the same account, that this report adds
        nothing new to for safety: a report with a safety flag the open case lacks is its own
        case, so leadership sees the new danger."""
        if not case.handles:
            return None
        for other in await self.store.cases(open_only=True, handles=case.handles):
            if (
                set(other.handles) & set(case.handles)
                and other.reference != case.reference
                and in_scope(other, case.reporter)
                and case.flags <= other.flags
            ):
                return other
        return None

    async def _link_duplicate(self, case: Case, original: Case, now: datetime) -> None:
        actor = who(case.reporter)
        case.duplicate_of = original.reference
        lifecycle.apply(case, "close", actor, now, f"same account as {original.reference}")
        original.extra_reports += 1
        original.record(HistoryEntry(now, actor, "linked_report", new=case.reference))
        await self.store.save_case(original)

    def _submitted(self, turn: Turn, case: Case, now: datetime, handler: str) -> Outcome:
        ref = case.reference
        if case.duplicate_of:
            by = f" by {handler}" if handler else ""
            text = _DUPLICATE.format(ref=ref, orig=case.duplicate_of, by=by)
            to_person: list[Reply] = [Notice(text, tone="success")]
            card_ref, card_id = case.duplicate_of, f"case:{ref}:linked"
            card = CaseCard(case.duplicate_of, update=True)
        else:
            to_person = [
                Notice(_THANKS.format(ref=ref), tone="success", title=f"Report {ref} saved"),
                HandoffReply(build_handoff(case, self.facts, now)),
            ]
            card_ref, card_id, card = ref, f"case:{ref}:leadership", CaseCard(ref)
        address = turn.address or {}
        person_items = [
            outbox_item(
                turn.person, Audience.PERSON, address, r, f"case:{ref}:reporter:{n}", now, ref
            )
            for n, r in enumerate(to_person)
        ]
        lead = outbox_item(turn.person, Audience.LEADERSHIP, address, card, card_id, now, card_ref)
        return Outcome(None, [], [*person_items, lead])

    # -- small helpers ----------------------------------------------------------------------

    def _today(self) -> date:
        return self._local(self.clock.now()).date()

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.facts.posh_timezone))

    def _help(self) -> str:
        hours = int(self.expiry.total_seconds() // 3600)
        return HELP.format(hours=hours, emergency=self.facts.emergency)

    def _expired_text(self, conv: Conversation) -> str:
        started = conv.started_at.astimezone(ZoneInfo(self.facts.posh_timezone))
        hours = int(self.expiry.total_seconds() // 3600)
        return (
            f"Your unfinished report from {started:%a %d %b} expired after {hours} hours without "
            "an answer, so I cleared it – nothing was sent. Let's start again."
        )


def _action_values(turn: Turn) -> tuple[str, ...]:
    return (turn.action,) if turn.action else ()


_NO_CONV = Conversation("", Person(Platform.TERMINAL, "", ""), "", datetime.min, datetime.min)
_START_HINT = "Type report to start a new report, or my reports to see yours."
_STALE = "That button was on an earlier question, so I haven't used it. Here's where we are:"
NO_FILES = (
    "Please don't send pictures or files here: I don't keep them, and if they could show a "
    "child they must not be shared at all. Keep screenshots somewhere secure for your "
    "Designated Safeguarding Lead, and type your answer instead."
)
_MISSING = "One answer is missing, so I can't send the report yet. Please answer this:"
_RESUME_HINT = "Please choose Carry on or Start again."
_FINISHED = "That report has already been sent or cancelled. Type report to start a new one."
_CANCELLED = "Cancelled. Nothing was saved or sent. Type report whenever you want to start again."
_THANKS = (
    "Thank you. I'm sending it to the leadership team now. Below is everything POSH needs: "
    "call them, or send the email as it is. Quote {ref} whenever you talk about this case."
)
_DUPLICATE = (
    "Thank you. This account is already being handled{by} as case {orig}, so I've added your "
    "report ({ref}) to it and told leadership. You don't need to contact POSH yourself."
)
STORAGE_SORRY = (
    "Sorry – I couldn't save that just now, so please send it again in a minute. Everything "
    "you answered before is safe. If it keeps happening, give your IT team this code: {code}."
)
BUG_SORRY = (
    "Sorry – something went wrong on my side. Your earlier answers are safe; please try again. "
    "If it keeps happening, give your IT team this code: {code}."
)
