"""The shared conversation engine: one inbound `Turn` in, a durable step out.

Every turn is handled under a per-person lock. What the turn changes (the conversation, the
delivery marked as seen, the replies owed) is committed to the store in one step before the
adapter acknowledges anything, and the replies go out through the outbox. `handle` returns
only what could not be stored: an apology with a reference code, sent best-effort.

The questions and what each answer means live in `bot.flow`; this module routes a turn to the
state the conversation is in, applies what that state's acceptor decided, and words the next
prompt. Filing a case (and the urgent alert before it) lives in `bot.filing`.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from asyncio import Lock
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from bot import flow, localtime, references, safety
from bot import retention as retention_
from bot.errors import Conflict, Problem, StorageError, error_reference, log_bug
from bot.facts import Facts
from bot.filing import Filing, expired_text
from bot.flow import FLOW, SPECS
from bot.leader_words import reference_in
from bot.leaders import LeaderDesk
from bot.lifecycle import MAX_NOTE, CaseAction
from bot.links import parse_links
from bot.model import (
    Audience,
    Case,
    Choice,
    Conversation,
    Flag,
    Notice,
    OutboxItem,
    Person,
    Platform,
    PoshOwner,
    Question,
    Reply,
    Turn,
)
from bot.outbox import outbox_item
from bot.ports import Clock, Membership, Store, UnitOfWork
from bot.records import PRESSES, RecordsDesk, is_records_command
from bot.report import lines_text, summary_lines
from bot.school import (
    SETTINGS_KEY,
    SchoolDesk,
    SchoolSettings,
    Workplace,
    installed,
    is_school_command,
)
from bot.steps import FIRST_WORDS, RISK_SAID, Accepted, Answer, Context, Step, StepSpec, Then
from bot.understand import clean, pick
from bot.work import Work

log = logging.getLogger(__name__)

COMMANDS = {
    "help": "help",
    "?": "help",
    "cancel": "cancel",
    "stop": "cancel",
    "back": "back",
    "go back": "back",
    "undo": "back",
    "wrong answer": "mistake",  # "back", or at the summary the menu of parts to change
    "previous question": "back",
    "oops": "mistake",
    "undo that": "back",
    "wait no": "back",
    "no wait": "back",
    "i made a mistake": "mistake",
    "made a mistake": "mistake",
    "change my answer": "mistake",
    "wait": "pause",  # never an answer ("Your name: wait"): the question waits
    "wait what": "pause",
    "hang on": "pause",
    "hold on": "pause",
    "one sec": "pause",
    "one moment": "pause",
    "just a sec": "pause",
    "give me a minute": "pause",
    "restart": "restart",
    "start again": "restart",
    "start over": "restart",
    "my reports": "my_reports",
    "status": "my_reports",
    "cases": "cases",
    "open cases": "cases",
    "list": "cases",
    "list cases": "cases",
    "show cases": "cases",
    "case list": "cases",
    "what's open": "cases",
    "whats open": "cases",
    "what is open": "cases",
    "what cases are open": "cases",
    "stats": "stats",
    "figures": "stats",
    "report": "start",
    "new report": "start",
    "report tiktok": "start",
    "/report-tiktok": "start",
}
BUTTON_COMMANDS = frozenset({"help", "cancel", "back", "restart", "start", "my_reports"})
GREETINGS = {"report", "hi", "hello", "start", "new report", "report tiktok", "hey"}
STICKY_FLAGS = frozenset({Flag.DANGER, Flag.SEXUAL_IMAGES})  # once raised, kept
CONFLICT_RETRIES = 5
_SENT_NOTED = (
    "Thank you – I've noted that you have contacted POSH about {ref}, and your leadership "
    "team can see it. I'll tell you here when anything changes."
)
# A first message this long, with its links, is the whole story told at once: leaders get it
# as it was written (never POSH: it may name pupils), and the questions fill in the report.
_A_WHOLE_ACCOUNT = 15
_FIRST_WORDS_KEPT = (
    "Thank you. When you send the report, what you wrote goes with it to your leadership "
    "team. A few quick questions will fill in the report for POSH; some may repeat it."
)
_OF_THE_CASE = {
    "danger": "I've told your leadership team on {ref} now, so someone can act straight away.",
    "images": "POSH never needs the images themselves. I've told your leadership team on "
    "{ref} and flagged it, so your DSL can act now.",
    "hand_back": "That's fine – I've asked your leadership team to contact POSH about {ref} "
    "instead, and they can see everything you told me. You don't need to do anything more.",
    "update": "Thank you – I've added that to {ref} for your leadership team.",
}
# After the handoff, the safety notice said before what was done on the case.
_FIRST_SAID: dict[str, Callable[[Facts], Notice]] = {
    "images": lambda facts: safety.sexual_images_notice(facts, written=True),
    "danger": lambda facts: safety.risk_notice(facts, asking=False),
}
_NEVER_THE_IMAGES = (
    "POSH never needs the images themselves: the web address is enough. If they ask, say "
    "the school's DSL holds the matter with the police ({ref})."
)
_NOT_THIS_ONE = " If you meant another account, type report to start a new report."
_SENT_NOTE_KEPT = " What you said is on the case for them too."
DEFAULT_LEASE = timedelta(minutes=2)  # a courier's claim on what it is sending
RETURNING = frozenset(
    {Step.CANCEL, Step.RESTART, Step.RESUME}
)  # states that go back where they came from

INTRO = (
    "I'll help you report a TikTok account or video that targets staff or the school, and "
    "hand it to the Professional Online Safety Helpline (POSH), who can ask TikTok to take "
    "it down. {count} short questions in {parts} parts, most answered with one tap; a few "
    "more only if an answer needs them. Type back, cancel or help at any time. If anyone is "
    "in immediate danger, call {emergency} now."
)
HOW_TO_ANSWER = {
    Platform.TERMINAL: "Type the number of a choice (or several, like 1,3), or answer in words.",
    Platform.SLACK: "Press a button, or type your answer in words.",
    Platform.TEAMS: "Press a button or choose and press Continue, or type your answer.",
}
HELP = (
    "{how} Type back to change the last answer, cancel to stop ({cancelled}), or my "
    "reports to see reports you have made. Your answers are saved as you go, so you can come "
    "back later (within {hours} hours). For a crisis, call {emergency}."
)


# Said around a command: "actually go back", "wait, wrong answer", "cancel please".
_BEFORE = frozenset({"actually", "wait", "oops", "sorry", "um", "erm", "oh", "hang", "on", "ok"})
_BEFORE_PHRASES = ("can we", "can i", "let me", "i want to", "i need to", "please")
_AFTER = frozenset({"please", "thanks", "one"})
# What is said in a hurry; never "report".
_LENIENT = frozenset({"back", "mistake", "cancel", "help"})


def _retired(step: str, conv: Conversation) -> bool:
    """A question that no longer applies to the conversation as it is now (a flag raised
    after it was passed: a child's images described in a later answer)."""
    spec = SPECS[Step(step)]
    return bool(spec.question) and not spec.when(conv.answers, conv.flags)


def _command_text(text: str) -> str:
    """As a command is looked up: "What’s open?" is "what's open" ("?" alone is help)."""
    typed = " ".join(text.strip().lower().replace("’", "'").rstrip(".!").split())
    return typed if typed == "?" else typed.rstrip("?").rstrip()


def _command_of(text: str) -> str:
    """The command a whole message is, if any: exactly, or with a few words around it."""
    typed = _command_text(text)
    if typed in COMMANDS:
        return COMMANDS[typed]
    words = typed.replace(",", " ").split()
    while words and words[0] in _BEFORE:
        words.pop(0)
    rest = " ".join(words)
    for phrase in _BEFORE_PHRASES:
        rest = rest.removeprefix(phrase + " ")
    words = rest.split()
    while len(words) > 1 and words[-1] in _AFTER:
        words.pop()
    found = COMMANDS.get(" ".join(words), "")
    return found if found in _LENIENT else ""


@dataclass
class Outcome:
    """What one turn produced: the conversation after it, the replies owed to the person, and
    everything else it writes (other messages, cases, references): one unit of work."""

    conversation: Conversation | None
    to_person: list[Reply]
    changes: Work = field(default_factory=Work)
    read_version: int = 0
    """The version of the conversation the turn read: the one it writes over, whatever object
    it ends with (a fresh report replaces an old one), so a concurrent turn is a Conflict."""

    @classmethod
    def of(cls, conversation: Conversation | None, work: Work, *after: Reply) -> Outcome:
        return cls(conversation, [*work.replies, *after], work)


class Engine:
    def __init__(
        self,
        store: Store,
        facts: Facts,
        clock: Clock,
        *,
        expiry: timedelta = timedelta(hours=24),
        who_calls: PoshOwner = PoshOwner.LEADERS,
        membership: Membership,
        schedule: Callable[[Case], None] = lambda case: None,
        on_commit: Callable[[Sequence[OutboxItem]], None] = lambda items: None,
        owner: str = "",
        lease: timedelta = DEFAULT_LEASE,
        workplace: Workplace | None = None,
        on_school: Callable[[SchoolSettings], None] = lambda settings: None,
        retention: Mapping[str, int] | None = None,
    ) -> None:
        self.store = store
        self.facts = facts
        self.clock = clock
        self.expiry = expiry
        self.who_calls = who_calls
        self._schedule = schedule
        self._on_commit = on_commit
        self.owner = owner or f"engine-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.desk = LeaderDesk(store, facts, membership)
        self.records = RecordsDesk(self.desk, facts, retention or retention_.SCHEDULE)
        self.filing = Filing(store, facts)
        self.school = SchoolDesk(workplace, self.desk.leads)
        self._on_school = on_school
        self._locks: weakref.WeakValueDictionary[str, Lock] = weakref.WeakValueDictionary()

    def use_facts(self, facts: Facts) -> None:
        """The school's settings changed: word everything from now on with these facts."""
        self.facts = self.desk.facts = self.filing.facts = facts

    async def installed(self, person: Person, address: dict[str, str], delivery_id: str) -> None:
        """The bot was just installed by `person`: remember them (they may run setup) and
        tell them how to finish, in one write (a repeated install event changes nothing)."""
        now = self.clock.now()
        current = SchoolSettings.from_json(await self.store.get_meta(SETTINGS_KEY))
        changed, welcome = installed(person, current)
        item = outbox_item(person, Audience.PERSON, address, welcome, f"{delivery_id}:0", now)
        item = replace(item, attempts=1, claimed_by=self.owner, claimed_until=now + self.lease)
        meta = {SETTINGS_KEY: changed.to_json()}
        if await self.store.commit(
            UnitOfWork(person.key, delivery_id=delivery_id, outbox=[item], meta=meta)
        ):
            self._on_commit([item])
            self._on_school(changed)

    # -- the one entry point --------------------------------------------------------------------

    async def handle(self, turn: Turn) -> list[Reply]:
        lock = self._locks.setdefault(turn.person.key, Lock())
        async with lock:
            try:
                for _ in range(CONFLICT_RETRIES):
                    if turn.delivery_id and await self.store.seen(turn.delivery_id):
                        return []
                    try:
                        result = await self._route(replace(turn, text=clean(turn.text).strip()))
                        await self._commit(turn, result)
                        return []
                    except Conflict:  # a case changed meanwhile: read it again, and redo
                        log.info("a case changed during a turn; trying the turn again")
                raise StorageError("a case kept changing while this turn was applied")
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
        ] + result.changes.outbox
        # Claimed in this very write, so they go out at once with no second write first. (Set
        # in place: every item is this turn's own, made for it; a replace() each cost 5.6 µs.)
        until = now + self.lease
        for item in items:
            item.attempts, item.claimed_by, item.claimed_until = 1, self.owner, until
        if result.conversation is not None:
            result.conversation.version = result.read_version
        cases = list(result.changes.cases.values())
        for case in cases:
            self._schedule(case)  # its next reminder, from what it is now
        unit = UnitOfWork(
            person_key=turn.person.key,
            conversation=result.conversation,
            delivery_id=turn.delivery_id,
            cases=cases,
            outbox=items,
            meta=result.changes.meta,
        )
        for tomb in result.changes.deleted:  # its every copy goes first (bot.ports.Store)
            await self.store.delete_case(tomb.reference, tomb)
        if await self.store.commit(unit):
            self._on_commit(items)
            if SETTINGS_KEY in unit.meta:
                self._on_school(SchoolSettings.from_json(unit.meta[SETTINGS_KEY]))

    # -- routing -------------------------------------------------------------------------------

    async def _route(self, turn: Turn) -> Outcome:
        now = self.clock.now()
        conv = await self.store.conversation(turn.person.key)
        read_version = conv.version if conv else 0
        notices: list[Reply] = []
        before = Work()
        if conv and now - conv.updated_at > self.expiry:
            if conv.step != Step.END:  # a filed report has nothing left to expire
                notices.append(Notice(expired_text(conv, self.facts, self.expiry)))
                before = await self.filing.abandoned(conv, "expired", now)
            conv = None
        if turn.has_files:  # said before any answer: a picture here could be of a child
            notices.append(safety.no_files_notice(conv.flags if conv else set()))
            if not turn.text:
                return Outcome(conv, [*notices, *self._ask(conv)], before, read_version)
            turn = replace(turn, has_files=False)
        result = await self._dispatch(turn, conv, now)
        if safety.distressed(turn.text):  # "i can't cope": support first, on every path
            result.to_person.insert(0, self._support(result.conversation))
        result.to_person[:0] = notices
        result.changes = before.add(result.changes)
        result.read_version = read_version
        return result

    async def _dispatch(self, turn: Turn, conv: Conversation | None, now: datetime) -> Outcome:
        action = CaseAction.parse(turn.action)
        if action is not None and action.verb in PRESSES:
            return Outcome.of(conv, await self.records.press(turn, action, now))
        if action is not None:
            return Outcome.of(conv, await self.desk.press(turn, action, now))
        typed = await self.desk.recognise(turn, now, lambda: self._takes(turn, conv))
        if typed is not None:
            work = await self.desk.command(turn, now, typed)
            return Outcome.of(conv, work, *self._reask(conv))
        if is_records_command(turn.text):
            work = await self.records.command(turn, now)
            return Outcome.of(conv, work, *self._reask(conv))
        if is_school_command(turn.text) and (turn.action == "start" or not _answering(conv)):
            current = SchoolSettings.from_json(await self.store.get_meta(SETTINGS_KEY))
            work = await self.school.command(turn, current)
            return Outcome.of(conv, work, *self._reask(conv))
        command = self._command(turn)
        names_case = reference_in(turn.text) and not _says_safety(turn.text, conv)
        if not command and names_case and not self._filed_takes(turn, conv):
            # Words that name a case are never a report's answer, nor a new report's start.
            return Outcome(conv, [await self.desk.did_you_mean(turn, now), *self._reask(conv)])
        if command in ("my_reports", "cases"):
            listing = await self.desk.listing(turn, mine=command == "my_reports")
            return Outcome(conv, [listing, *self._reask(conv)])
        if command == "stats":
            return Outcome(conv, [await self.desk.stats(turn), *self._reask(conv)])
        if conv is None:
            result = await self._without_conversation(turn, command, now)
        else:
            if turn.person.name or turn.person.email:  # a profile lookup may have failed
                conv.person = turn.person
            result = await self._with_conversation(turn, command, conv, now)
        if command == "help":  # a leader's commands, after the help and before the question
            result.to_person[1:1] = await self.desk.leader_help(turn.person)
        return result

    def _takes(self, turn: Turn, conv: Conversation | None) -> bool:
        """Whether the question waiting would take the words as its answer (with no report,
        a new one's first question takes only links): then they are not a leader's command."""
        if conv is None:
            return bool(parse_links(turn.text)[0])
        try:
            SPECS[Step(conv.step)].accept(Answer(turn.text, _values(turn), self._context(conv)))
        except Problem:
            return False
        return True

    def _filed_takes(self, turn: Turn, conv: Conversation | None) -> bool:
        """A filed report's reporter says how POSH went ("rang them about TT-…"): theirs, if
        the reference named is their case's."""
        if conv is None or conv.step != Step.END or not self._takes(turn, conv):
            return False
        named = reference_in(turn.text)
        return not named or references.canonical(named) == conv.case_reference

    def _support(self, conv: Conversation | None) -> Notice:
        """The support notice: whole the first time in a report, short after that."""
        again = conv is not None and conv.supported
        if conv is not None:
            conv.supported = True
        return safety.distress_notice(self.facts, saved=conv is not None, again=again)

    def _command(self, turn: Turn) -> str:
        if turn.action in BUTTON_COMMANDS:
            return turn.action or ""
        return _command_of(turn.text)

    async def _without_conversation(self, turn: Turn, command: str, now: datetime) -> Outcome:
        if command == "help":
            return Outcome(None, [Notice(self._help(turn.person.platform)), Notice(_START)])
        if turn.step and command != "start":
            return Outcome(None, [Notice(_FINISHED)])
        if command in ("cancel", "back", "mistake", "pause"):
            return Outcome(None, [Notice("There's no report in progress. " + _START)])
        written = await self._of_a_filed_case(turn, command, now)
        if written is not None:
            return written
        conv = self._new_conversation(turn)
        text = "" if turn.text.lower() in GREETINGS else turn.text
        taken = self._links_first(conv, text)
        # "/report-tiktok @x has nudes of a y9": flagged once its links are held, so the
        # alert and the case leaders get name the account.
        opened = await self._flagged_by_words(conv, text, now)
        replies: list[Reply] = [Notice(self._intro()), *taken, *opened.replies]
        if self._risky(conv, text):
            return Outcome(conv, [*replies, *self._risk_detour(conv, text)], opened)
        return Outcome(conv, [*replies, *self._ask(conv)], opened)

    async def _with_conversation(
        self, turn: Turn, command: str, conv: Conversation, now: datetime
    ) -> Outcome:
        if conv.step == Step.END:
            return await self._after_report(turn, command, conv, now)
        if command == "start":
            if conv.step != Step.RESUME:
                conv.detour.append(conv.step)
                conv.step = Step.RESUME
            return self._touch(conv, self._ask(conv))
        if command == "restart":
            answered = any(k in conv.answers for k in flow.SPECS)
            if conv.step in (Step.RESTART, Step.RESUME) or not answered:
                return await self._restart(turn, conv, now)
            conv.detour.append(conv.step)  # asked first: a slip of the tongue deletes nothing
            conv.step = Step.RESTART
            return self._touch(conv, self._ask(conv))
        if command == "cancel":
            return await self._cancel(conv, now)
        if command == "help":
            help_ = Notice(self._help(turn.person.platform, alerted=conv.case_reference))
            return self._touch(conv, [help_, *self._ask(conv)])
        if command == "pause":
            return self._touch(conv, [Notice(_PAUSED), *self._ask(conv, again=True)])
        if command in ("back", "mistake"):
            return self._touch(conv, self._back(conv, menu=command == "mistake"))
        if turn.step and turn.step != conv.step:
            return self._touch(conv, [Notice(_STALE), *self._ask(conv)])
        return await self._answer(turn, conv, now)

    async def _after_report(
        self, turn: Turn, command: str, conv: Conversation, now: datetime
    ) -> Outcome:
        """The report is filed; the reporter may say they have contacted POSH, or write of
        the case (`_of_the_case`). Anything else is what it would be with no conversation."""
        case = await self.store.case(conv.case_reference)  # its flags: the conversation's are gone
        flags = case.flags if case else frozenset()
        images = Flag.SEXUAL_IMAGES not in flags and safety.describes_child_images(turn.text, flags)
        if turn.text and images:  # "i emailed them the pic"
            return await self._of_the_case(turn, conv, "images", now)
        if safety.risk_words(turn.text):  # "mr x says he wants to die": on this case, at once
            return await self._of_the_case(turn, conv, "danger", now)
        copies = _no_copies(case, turn.text)
        if copies:  # "POSH want the pictures, shall I send them?": never
            return self._touch(conv, copies)
        try:
            said = SPECS[Step.END].accept(Answer(turn.text, _values(turn), self._context(conv)))
        except Problem:
            return await self._of_the_case(turn, conv, flow.after_handoff(turn.text), now)
        if said.then == Then.STAY:  # tried, and did not get through: how else to reach POSH
            return self._touch(conv, list(said.notices))
        sent = CaseAction("sent", conv.case_reference)
        person = replace(turn.person, name=turn.person.name or conv.person.name)  # not a login
        note = str(said.value or "")  # what more they said ("they said 48 hours"): on record
        work = await self.desk.press(replace(turn, text=note, person=person), sent, now)
        if work.replies:  # refused, or not a move from where the case is
            return Outcome.of(None, work)
        thanks = _SENT_NOTED + (_SENT_NOTE_KEPT if note else "")
        return Outcome.of(
            None, work, Notice(thanks.format(ref=conv.case_reference), tone="success")
        )

    async def _of_the_case(
        self, turn: Turn, conv: Conversation, kind: str, now: datetime
    ) -> Outcome:
        """After the handoff: a child's images mentioned, the case handed back to leaders, or
        news of it, kept on the case (the conversation waits on); else a new conversation."""
        if kind == "what_next":
            told = _what_next(PoshOwner.REPORTER, conv.case_reference, self.facts)
            return self._touch(conv, [Notice(told)])
        work = await self.filing.after_handoff(conv, turn.text, kind, now) if kind else Work()
        if not work.cases:
            return await self._without_conversation(turn, _command_of(turn.text), now)
        ref = conv.case_reference
        replies: list[Reply] = [Notice(_OF_THE_CASE[kind].format(ref=ref), tone="success")]
        if kind in _FIRST_SAID:  # the whole safety notice, then what was done on the case
            replies = [_FIRST_SAID[kind](self.facts), Notice(_OF_THE_CASE[kind].format(ref=ref))]
        return Outcome(conv if kind != "hand_back" else None, replies, work)

    async def _of_a_filed_case(self, turn: Turn, command: str, now: datetime) -> Outcome | None:
        """With no conversation (leaders contact POSH, or it was marked sent), words of the
        reporter's recent case are kept on it: a child's images ("there's a nude of a year 9
        girl on it as well": flagged, leaders alerted on that case) or news of it. None for
        anything else, a link, or a command: a new report."""
        text = turn.text
        if command or not text or parse_links(text)[0]:
            return None
        images = safety.describes_child_images(text, {Flag.PUPILS_TARGETED})
        danger = bool(safety.risk_words(text))
        said = flow.after_handoff(text)
        news, asking = said == "update", said == "what_next"
        if not (images or danger or news or asking or safety.mentions_copies(text)):
            return None
        case = await self.filing.recently_filed(turn.person, now)
        if case is None:
            return None
        if asking:  # "what happens now?"
            return Outcome(None, [Notice(_what_next(case.posh_owner, case.reference, self.facts))])
        copies = _no_copies(case, text)
        if copies:
            return Outcome(None, copies)
        if not (images or danger or news):
            return None  # "I saved the video" of a case not flagged: no news of it
        kind = "danger" if danger else "update"
        if Flag.SEXUAL_IMAGES not in case.flags and safety.describes_child_images(text, case.flags):
            kind = "images"
        name = str(case.answers.get(Step.NAME) or turn.person.name or turn.person.user_id)
        address = dict(turn.address or case.reporter_address)
        work = self.filing.written_of(case, turn.person, address, name, text, kind, now)
        told = Notice(_OF_THE_CASE[kind].format(ref=case.reference) + _NOT_THIS_ONE)
        first = [_FIRST_SAID[kind](self.facts)] if kind in _FIRST_SAID else []
        return Outcome(None, [*first, told], work)

    def _touch(self, conv: Conversation, replies: list[Reply]) -> Outcome:
        conv.updated_at = self.clock.now()
        return Outcome(conv, replies)

    async def _cancel(self, conv: Conversation, now: datetime) -> Outcome:
        if conv.step == Step.CANCEL or not any(k in conv.answers for k in flow.SPECS):
            work = await self.filing.abandoned(conv, "cancelled", now)
            return Outcome(None, [Notice(self._cancelled_text(conv))], work)
        conv.detour.append(conv.step)
        conv.step = Step.CANCEL
        return self._touch(conv, self._ask(conv))

    # -- answering --------------------------------------------------------------------------------

    async def _answer(self, turn: Turn, conv: Conversation, now: datetime) -> Outcome:
        spec = SPECS[Step(conv.step)]
        risk = bool(turn.text) and bool(safety.risk_words(turn.text))
        ask_danger = risk and conv.step != Step.DANGER and self._danger_unasked(conv)
        if ask_danger and not spec.question:  # cancel, submit, change, resume: danger first
            conv.detour.append(conv.step)
            return self._touch(conv, self._risk_detour(conv, turn.text))
        # Support (`_route`), never an answer; at the danger question it is one (at risk).
        if spec.question and spec.step != Step.DANGER and _only_distress(turn):
            return self._touch(conv, self._ask(conv, again=True))  # not "Your name: i can't cope"
        # Said again once asked: the 999 line each time (the danger question has its own).
        warn: list[Reply] = []
        if risk and not ask_danger and conv.step != Step.DANGER:
            warn.append(safety.risk_notice(self.facts, asking=False))
        try:
            accepted = spec.accept(Answer(turn.text, _values(turn), self._context(conv)))
        except Problem as p:
            if ask_danger:
                conv.detour.append(conv.step)
                return self._touch(conv, self._risk_detour(conv, turn.text))
            return await self._rejected(conv, turn.text, warn, Notice(str(p), tone="warning"), now)
        ends = accepted.then in (Then.SUBMIT, Then.CANCEL, Then.RESTART)
        if (ends or spec.step == Step.SUMMARY) and self._written_images(conv, turn.text):
            # "submit, and there are nudes of a y9": flagged, and the summary shown again
            flagged = await self._flagged_by_words(conv, turn.text, now)
            self._touch(conv, [])
            return Outcome(conv, [*warn, *flagged.replies, *self._ask(conv)], flagged)
        choices = spec.choices_for(self._context(conv))
        accepted = _added_to(conv, spec, turn.text, accepted)
        raised = set(self._apply(conv, accepted))
        understood = self._understood(spec, choices, turn, accepted.value)
        replies: list[Reply] = [*warn, *understood, *accepted.notices]
        if ends:
            ended = await self._leave(turn, conv, accepted.then, now)
            ended.to_person[:0] = warn
            return ended
        work = Work()
        if spec.step == Step.LINKS and accepted.then == Then.NEXT:
            known = await self._known_images(conv)  # leaders alerted, as the first was
            replies += known
            raised |= {Flag.SEXUAL_IMAGES} if known else set()
        elif Flag.SEXUAL_IMAGES in conv.flags - raised and safety.mentions_copies(turn.text):
            replies.append(safety.no_copies_notice())
        written = self._flag_written(conv, turn.text)
        if written:
            raised |= {Flag.SEXUAL_IMAGES}
            replies += written
        if raised & STICKY_FLAGS:
            said = turn.text if len(turn.text.split()) > 1 else ""  # "yes": the risk words
            said = said or str(conv.answers.get(RISK_SAID) or "")
            urgent = await self.filing.urgent(conv, raised, now, said=said)
            replies += urgent.replies
            work.add(Work(outbox=urgent.outbox, cases=urgent.cases))
        if ask_danger:
            if conv.step != Step.DANGER:  # threats chosen: the danger question is next anyway
                conv.detour.append(conv.step)
            return Outcome(conv, [*replies, *self._risk_detour(conv, turn.text)], work)
        self._touch(conv, [])
        return Outcome(conv, [*replies, *self._ask(conv)], work)

    async def _leave(self, turn: Turn, conv: Conversation, then: Then, now: datetime) -> Outcome:
        """The answer ends this report: filed, cancelled, or replaced by a fresh one."""
        if then == Then.SUBMIT:
            return await self._submit(turn, conv, now)
        if then == Then.CANCEL:
            work = await self.filing.abandoned(conv, "cancelled", now)
            return Outcome(None, [Notice(self._cancelled_text(conv))], work)
        return await self._restart(turn, conv, now)

    async def _restart(self, turn: Turn, old: Conversation, now: datetime) -> Outcome:
        """Start again: a new report of its own. An urgent case leaders were alerted with
        keeps the answers given so far, and its card says the reporter started again; the
        new report never fills that case (it may be of another account). Its safety flags
        carry over only when no account was named, since it may be the same one."""
        work = await self.filing.abandoned(old, "restarted", now)
        fresh = self._new_conversation(turn)
        fresh.address = dict(turn.address or old.address)
        if not old.answers.get(Step.LINKS):  # no account named: it may be this one, so the
            fresh.flags = old.flags & STICKY_FLAGS  # safe route stays (no images asked for)
        kept = _RESTARTED_ALERTED.format(ref=old.case_reference) if work.cases else ""
        return Outcome(fresh, [Notice(_RESTARTED + kept), *self._ask(fresh)], work)

    def _understood(
        self, spec: StepSpec, choices: tuple[Choice, ...], turn: Turn, value: object
    ) -> list[Reply]:
        """A choice read from a longer answer is said back, so a misreading is seen."""
        if not turn.text or _values(turn) or not spec.question or len(choices) < 2:
            return []
        if pick(turn.text, choices, multi=spec.multi).exact:
            return []
        stored = value if isinstance(value, list) else [value]
        names = "; ".join(c.label for c in choices if c.value in stored)
        return [Notice(f"I took that as: {names}. (Type back to change it.)")] if names else []

    def _links_first(self, conv: Conversation, text: str) -> list[Reply]:
        """The first message of a report held links: they are its first answer."""
        if not parse_links(text)[0]:
            return []
        try:
            accepted = SPECS[Step.LINKS].accept(Answer(text, (), self._context(conv)))
        except Problem as p:
            return [Notice(str(p), tone="warning")]
        self._apply(conv, accepted)
        if len(text.split()) >= _A_WHOLE_ACCOUNT:  # everything in a rush: kept for leaders
            conv.answers[FIRST_WORDS] = text[:MAX_NOTE]
            return [*accepted.notices, Notice(_FIRST_WORDS_KEPT)]
        return list(accepted.notices)

    def _apply(self, conv: Conversation, accepted: Accepted) -> frozenset[Flag]:
        """Store what the step decided and move to the next state; returns flags newly raised."""
        step = Step(conv.step)
        if accepted.value is not None:
            conv.answers[step] = accepted.value
        for key, value in accepted.also.items():
            if value is None:
                conv.answers.pop(key, None)
            else:
                conv.answers[key] = value
        conv.early += [s for s in accepted.ahead if s not in conv.early]
        raised = frozenset(accepted.raise_flags - conv.flags)
        conv.flags |= accepted.raise_flags
        conv.flags -= accepted.clear_flags - STICKY_FLAGS
        self._move(conv, accepted)
        return raised

    def _move(self, conv: Conversation, accepted: Accepted) -> None:
        then, goto = accepted.then, accepted.goto
        if then == Then.NEXT:
            if conv.detour:
                back_to = Step(conv.detour.pop())
                returns = (back_to, *conv.detour)  # e.g. cancel, then the harm question
                if conv.step == Step.DANGER and any(_before(Step(s), Step.DANGER) for s in returns):
                    conv.early.append(Step.DANGER)  # asked ahead of its turn: skip it later
                conv.step = back_to
            else:
                self._advance(conv)
        elif then in (Then.GOTO, Then.EDIT) and goto is not None:
            if goto in RETURNING:
                conv.detour.append(conv.step)
            elif then == Then.GOTO or conv.step == Step.SUMMARY:
                # An edit's "back" returns to the summary (named there, "change the date"),
                # not to the menu it was chosen from.
                conv.trail.append(conv.step)
            conv.step = goto
            conv.editing = conv.editing or then == Then.EDIT
        elif then == Then.RETURN:
            conv.step = conv.detour.pop() if conv.detour else Step.LINKS

    def _advance(self, conv: Conversation) -> None:
        self._next_in_flow(conv)
        self._earlier_first(conv)

    def _next_in_flow(self, conv: Conversation) -> None:
        conv.trail.append(conv.step)
        current = SPECS[Step(conv.step)]
        later = FLOW[FLOW.index(current) + 1 :] if current.question else ()
        if conv.editing:
            later = tuple(s for s in later if s.section == current.section)
        for spec in later:
            if not spec.when(conv.answers, conv.flags):
                continue
            if spec.step in conv.early:  # answered ahead of its turn (danger, a name)
                conv.early.remove(spec.step)
                continue
            conv.step = spec.step
            return
        conv.step, conv.editing = Step.SUMMARY, False

    def _earlier_first(self, conv: Conversation) -> None:
        """An answer made a question of an earlier part apply (a pupil named under Someone
        else, on sexualised content: the images question again): it is asked now, and the
        question that was next follows it."""
        pending = self._missing(conv)
        if pending is None or pending == conv.step or not _before(pending, Step(conv.step)):
            return
        conv.detour.append(conv.step)
        conv.step = pending

    def _back(self, conv: Conversation, *, menu: bool = False) -> list[Reply]:
        """The last question again; at the summary, "I made a mistake" (`menu`) asks which
        part instead, since the mistake is seldom in the last answer."""
        if menu and conv.step == Step.SUMMARY:
            conv.trail.append(conv.step)
            conv.step = Step.CHANGE
            return self._ask(conv)
        if conv.step in RETURNING and conv.detour:  # "no wait" at "Start again?": carry on
            conv.step = conv.detour.pop()
            return self._ask(conv)
        conv.detour.clear()
        # Past the questions that no longer apply: a report flagged since (a child's images
        # described in a later answer) never goes back to the screenshots question.
        while conv.trail and _retired(conv.trail[-1], conv):
            conv.trail.pop()
        if not conv.trail:
            return [Notice("This is the first question."), *self._ask(conv)]
        conv.step = conv.trail.pop()
        conv.editing = False
        return self._ask(conv)

    def _missing(self, conv: Conversation) -> Step | None:
        """The first question that applies but has no usable answer."""
        for spec in flow.QUESTIONS:
            if not spec.when(conv.answers, conv.flags):
                continue
            value = conv.answers.get(spec.step)
            if value is None or (value == "" and spec.step != Step.DESCRIPTION):
                return Step(spec.step)
        return None

    async def _submit(self, turn: Turn, conv: Conversation, now: datetime) -> Outcome:
        missing = self._missing(conv)
        if missing:  # e.g. links cleared and left empty: POSH needs every answer
            conv.step, conv.editing = missing, True
            return self._touch(conv, [Notice(_MISSING, tone="warning"), *self._ask(conv)])
        filed = await self.filing.submit(turn, conv, now)
        return Outcome(filed.after, [], filed)

    # -- safety -----------------------------------------------------------------------------------

    async def _known_images(self, conv: Conversation) -> list[Reply]:
        """An account already open as possibly holding a child's sexual images: this report
        carries the flag too, so it never asks for images either."""
        if Flag.SEXUAL_IMAGES in conv.flags or not await self.filing.flagged_case(conv):
            return []
        conv.flags.add(Flag.SEXUAL_IMAGES)
        return [safety.sexual_images_notice(self.facts, known=True)]

    async def _rejected(
        self, conv: Conversation, text: str, warn: list[Reply], refusal: Notice, now: datetime
    ) -> Outcome:
        """An answer the question cannot take is asked again, unless it describes a child's
        sexual images: then the report is flagged instead, as any answer would flag it."""
        flagged = await self._flagged_by_words(conv, text, now)
        if not flagged.replies:
            return self._touch(conv, [*warn, refusal, *self._ask(conv, again=True)])
        self._touch(conv, [])
        return Outcome(conv, [*warn, *flagged.replies, *self._ask(conv)], flagged)

    async def _flagged_by_words(self, conv: Conversation, text: str, now: datetime) -> Work:
        """Words that describe a child's sexual images flag the report as a Yes would, and
        alert leaders at once. The work's replies say so; none when the words do not."""
        written = self._flag_written(conv, text)
        if not written:
            return Work()
        urgent = await self.filing.urgent(conv, {Flag.SEXUAL_IMAGES}, now, said=text)
        return Work([*written, *urgent.replies], urgent.outbox, urgent.cases)

    def _flag_written(self, conv: Conversation, text: str) -> list[Reply]:
        """The report flagged when someone's own words describe a child's sexual images."""
        if not self._written_images(conv, text):
            return []
        screenshots_said = Step.EVIDENCE in conv.answers
        conv.flags.add(Flag.SEXUAL_IMAGES)
        self._skip_retired(conv)  # the evidence question, if it was next
        notice = safety.sexual_images_notice(
            self.facts, written=True, screenshots_said=screenshots_said
        )
        return [notice]

    def _written_images(self, conv: Conversation, text: str) -> bool:
        """Someone's own words describe sexual content involving a child (bot.safety), on a
        report not yet flagged for it: it is flagged as if they had answered Yes."""
        if not text or Flag.SEXUAL_IMAGES in conv.flags:
            return False
        return safety.describes_child_images(text, conv.flags)

    def _skip_retired(self, conv: Conversation) -> None:
        """The question about to be asked no longer applies (a flag was raised after the
        answer moved on): move past it, as if it had never been next."""
        if _retired(conv.step, conv):
            self._advance(conv)
            conv.trail.pop()  # the retired question was never asked

    def _risky(self, conv: Conversation, text: str) -> bool:
        return bool(text) and self._danger_unasked(conv) and bool(safety.risk_words(text))

    def _danger_unasked(self, conv: Conversation) -> bool:
        """Risk words ask the danger question once: not again after that, nor once flagged."""
        return not conv.risk_checked and Flag.DANGER not in conv.flags

    def _risk_detour(self, conv: Conversation, said: str) -> list[Reply]:
        """Risk words in an answer: the 999 notice at once, then the danger question (the
        words kept, for the alert a Yes or Not sure raises)."""
        conv.risk_checked = True
        conv.answers[RISK_SAID] = said[:MAX_NOTE]
        if not conv.detour and conv.step != Step.DANGER:
            conv.detour.append(conv.step)
        conv.step = Step.DANGER
        conv.updated_at = self.clock.now()
        return [safety.risk_notice(self.facts), *self._ask(conv)]

    # -- prompts ---------------------------------------------------------------------------------

    def _context(self, conv: Conversation) -> Context:
        answers = conv.answers
        if conv.step == Step.END:
            answers = {**answers, "case": conv.case_reference}
        return Context(
            answers=answers,
            flags=frozenset(conv.flags),
            person=conv.person,
            facts=self.facts,
            today=self._today(),
            who_calls=str(self.who_calls),
            urgent_case=conv.case_reference if conv.step != Step.END else "",
        )

    def _ask(self, conv: Conversation | None, *, again: bool = False) -> list[Reply]:
        """The question to answer; at the summary, the summary first (not `again` after a
        refusal: it was just shown, so one line and the choices are enough)."""
        if conv is None:
            return []
        step = Step(conv.step)
        spec = SPECS[step]
        ctx = self._context(conv)
        if step == Step.SUMMARY and not again:
            return [self._summary(conv), self._question(conv, spec, ctx)]
        return [self._question(conv, spec, ctx)]

    def _question(self, conv: Conversation, spec: StepSpec, ctx: Context) -> Question:
        text = spec.text_for(ctx)
        if spec.step == Step.RESUME:
            at = localtime.moment(conv.started_at, self.facts)
            when = f"{localtime.day_text(at, weekday=True, year=False)} at {at:%H:%M}"
            answered = any(k in conv.answers for k in SPECS)
            links = conv.answers.get(Step.LINKS) or []
            about = f" about {links[0]['label']}" if links else ""  # which one, days later
            about += f" (and {len(links) - 1} more)" if len(links) > 1 else ""
            text = (_RESUME if answered else _RESUME_UNANSWERED).format(when=when, about=about)
        choices = spec.choices_for(ctx)
        if conv.editing:
            text += _now_chosen(conv.answers.get(spec.step), choices, spec.multi)
        return Question(
            step=spec.step,
            text=text,
            choices=choices,
            multi=spec.multi,
            hint=spec.hint,
            accepts_text=spec.accepts_text,
            progress=self._progress(conv) if spec.question else "",
        )

    def _reask(self, conv: Conversation | None) -> list[Reply]:
        if conv is None or conv.step == Step.END:  # a filed report waits for nothing
            return []
        return [Notice("Your report in progress is waiting for you:"), *self._ask(conv)]

    def _progress(self, conv: Conversation) -> str:
        """'Part 3 of 12': counted by section, so follow-up questions don't move the goalposts."""
        sections = flow.QUESTION_SECTIONS
        section = SPECS[Step(conv.step)].section
        return f"Part {sections.index(section) + 1} of {len(sections)}"

    def _summary(self, conv: Conversation) -> Notice:
        lines = summary_lines(conv.answers, frozenset(conv.flags), self.facts, for_reporter=True)
        return Notice(lines_text(lines), title="Your report – please check it")

    def _intro(self) -> str:
        count, parts = len(flow.MAIN_QUESTIONS), len(flow.QUESTION_SECTIONS)  # "Part 3 of 12"
        return INTRO.format(count=count, parts=parts, emergency=self.facts.emergency)

    # -- conversations ------------------------------------------------------------------------

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

    # -- small helpers ----------------------------------------------------------------------

    def _today(self) -> date:
        return localtime.day(self.clock.now(), self.facts)

    def _help(self, platform: Platform, alerted: str = "") -> str:
        """`alerted`: the case leaders were alerted with, whom a cancel does not un-tell."""
        hours = int(self.expiry.total_seconds() // 3600)
        how = HOW_TO_ANSWER.get(platform, HOW_TO_ANSWER[Platform.SLACK])
        cancelled = (
            f"leadership already have the alert ({alerted}) and will follow it up"
            if alerted
            else "nothing is sent"
        )
        emergency = self.facts.emergency
        return HELP.format(how=how, hours=hours, emergency=emergency, cancelled=cancelled)

    def _cancelled_text(self, conv: Conversation) -> str:
        if conv.case_reference:
            return (  # the case keeps what was said: saying "deleted" would not be true
                "Cancelled. Leadership were already alerted to the safety concern "
                f"({conv.case_reference}), so they keep what you told me and will still follow "
                "it up. Nothing more will be sent."
            )
        again = "Run reportbot chat" if conv.person.platform == Platform.TERMINAL else "Type report"
        return _CANCELLED.format(again=again)


def _now_chosen(value: object, choices: tuple[Choice, ...], multi: bool) -> str:
    """Changing a choice answer: what it is now, so that a change keeps what should stay."""
    chosen = value if isinstance(value, list) else [value]
    if not chosen or not {str(v) for v in chosen} <= {c.value for c in choices}:
        return ""
    keep = " Choose every one that applies, including any to keep." if multi else ""
    return f" Now: {flow.label(choices, value)}.{keep}"


def _answering(conv: Conversation | None) -> bool:
    """A report is under way: "settings page" may be an answer, not a command."""
    return conv is not None and conv.step != Step.END


def _no_copies(case: Case | None, text: str) -> list[Reply]:
    """On a case flagged for a child's images, words of saving or sending copies get the
    no-copies notice, and that POSH never needs them (none for anything else)."""
    if case is None or Flag.SEXUAL_IMAGES not in case.flags or not safety.mentions_copies(text):
        return []
    return [safety.no_copies_notice(), Notice(_NEVER_THE_IMAGES.format(ref=case.reference))]


def _what_next(owner: PoshOwner, reference: str, facts: Facts) -> str:
    """ "What happens now?" after a report is filed: the next step, and who takes it."""
    first = (
        f"Next, you contact POSH about {reference}: the phone number and the email text are "
        "above. Then tell me here, and your leadership team sees it."
        if owner == PoshOwner.REPORTER
        else f"Your leadership team has {reference} and will contact POSH."
    )
    return (
        f"{first} POSH asks TikTok to take it down, which can take a few days; you'll hear here "
        f"when the case moves. If anyone is in danger, call {facts.emergency}."
    )


def _added_to(conv: Conversation, spec: StepSpec, text: str, accepted: Accepted) -> Accepted:
    """Changing a choose-all answer, "add hateful" or "we told the head as well" adds to what
    was chosen, as the words say, rather than replacing it."""
    before = conv.answers.get(spec.step)
    adding = set(_ADDING) & set(text.lower().replace(",", " ").split())
    if not (conv.editing and spec.multi and adding and isinstance(before, list)):
        return accepted
    if not isinstance(accepted.value, list):
        return accepted
    return replace(accepted, value=[*before, *(v for v in accepted.value if v not in before)])


_ADDING = ("add", "also", "too", "well", "plus")  # "as well", "add hateful"


def _only_distress(turn: Turn) -> bool:
    """A short message of someone not coping ("i feel like ending it"): no question's answer.
    A longer one keeps its answer ("mocking videos, honestly I can't cope with it")."""
    return not turn.values and len(turn.text.split()) <= 8 and safety.distressed(turn.text)


def _says_safety(text: str, conv: Conversation | None) -> bool:
    """Words the safety checks must read, whatever else they name (a case's reference)."""
    flags = conv.flags if conv else frozenset()
    return bool(
        safety.describes_child_images(text, flags)
        or safety.risk_words(text)
        or safety.distressed(text)
    )


def _before(step: Step, other: Step) -> bool:
    """Whether `step` comes before `other` in the flow (states count as after every question)."""
    order = [s.step for s in FLOW]
    return SPECS[step].question and order.index(step) < order.index(other)


def _values(turn: Turn) -> tuple[str, ...]:
    return turn.values or ((turn.action,) if turn.action else ())


_START = "Type report to start a new report, or my reports to see yours."
_STALE = "That button was on an earlier question, so I haven't used it. Here's where we are:"
_MISSING = "One answer is missing, so I can't send the report yet. Please answer this:"
_FINISHED = "That report has already been sent or cancelled. Type report to start a new one."
_CANCELLED = "Cancelled. Nothing was saved or sent. {again} whenever you want to start again."
_RESUME = "You have a report in progress{about}, started {when}. Carry on with it, or start again?"
_RESUME_UNANSWERED = (
    "You started a report on {when}, with nothing answered yet. Carry on with it, or start again?"
)
_PAUSED = "Take your time – your answers so far are saved. When you're ready:"
_RESTARTED = "Starting a new report."
_RESTARTED_ALERTED = (
    " Your leadership team keep the alert you raised ({ref}) with what you told me, and will "
    "follow it up; this new report is a separate one."
)
STORAGE_SORRY = (
    "Sorry – I couldn't save that just now, so please send it again in a minute. Everything "
    "you answered before is safe. If it keeps happening, give your IT team this code: {code}."
)
BUG_SORRY = (
    "Sorry – something went wrong on my side. Your earlier answers are safe; please try again. "
    "If it keeps happening, give your IT team this code: {code}."
)
