"""Filing a report as a case: the urgent alert before it is finished, the case itself, and a
second report of an account already open, which adds to that case instead of being dropped.

    urgent answer (danger, child images) ─> case opened now, status "reporting", leaders
                                            alerted with a content-minimal post
    submit ─> the case (the same one, if it was opened early) ─ same account open? ─> its news
              added to the open case, this one closed as linked ─> leadership post or update
    cancel / expiry of an urgent report ─> the case stays open for leaders, its history says so

Every case carries who contacts POSH (leaders by default, or the reporter) and where to tell
the reporter how it moves.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import flow, lifecycle, localtime, safety
from bot.case_words import flag_child_images
from bot.dates import when_from_iso
from bot.facts import Facts
from bot.lifecycle import in_scope
from bot.model import (
    JSON,
    WITH_POSH,
    Audience,
    Case,
    CaseCard,
    CaseStatus,
    Conversation,
    Flag,
    HandoffReply,
    HistoryEntry,
    Notice,
    OutboxItem,
    Person,
    PoshOwner,
    Question,
    Reply,
    Turn,
)
from bot.outbox import card_update_item, outbox_item
from bot.ports import Store
from bot.report import FLAG_TEXT, active_answers, build_handoff, contact_line, reporter_name
from bot.retention import category_for, longer
from bot.steps import FIRST_WORDS, Step
from bot.timeline import IN_APP_DAY_UNKNOWN
from bot.work import Work


@dataclass
class Filed(Work):
    after: Conversation | None = None
    """What is left of the conversation: END, when the reporter is to contact POSH."""


class Filing:
    """Turns a conversation into a case. Reads the store; writes nothing itself: what it
    decides comes back as `Work`, written with the turn."""

    def __init__(self, store: Store, facts: Facts) -> None:
        self.store = store
        self.facts = facts

    # -- before the report is finished -------------------------------------------------------

    async def urgent(
        self, conv: Conversation, raised: AbstractSet[Flag], now: datetime, said: str = ""
    ) -> Work:
        """Alert leaders at once: open the case now, or add the new flag to the one opened.
        `said`: the reporter's words that raised it, kept for leaders (never sent to POSH),
        as the DSL needs to know what the threat is, or which account holds the images."""
        kept = len(said.split()) >= _WORDS_WORTH_KEEPING
        note = lifecycle.written(said[: lifecycle.MAX_NOTE], "note") if kept else ""
        if not conv.case_reference:  # the same account again after an unfinished alert: one case
            left = await self._unfinished_of(conv)
            conv.case_reference = left.reference if left else ""
        if conv.case_reference:
            case = await self.store.case(conv.case_reference)
            if case is not None and case.is_open:
                case.flags = case.flags | frozenset(raised)
                case.retention_category = longer(case.retention_category, category_for(case))
                flagged = HistoryEntry(now, _who(conv), "flagged", new=_flags(raised), note=note)
                case.record(flagged)
                told = Notice(_ALSO_ALERTED.format(ref=case.reference), tone="danger")
                work = Work([told], [card_update_item(case, now)])
                work.write(case)
                return work
        case = await self._new_case(conv, now)
        case.handles = handles_of(case.answers.get(Step.LINKS) or [])  # `cases` finds it
        case.retention_category = category_for(case)
        case.status = CaseStatus.REPORTING
        case.status_times = {str(CaseStatus.REPORTING): now}
        case.history = [HistoryEntry(now, _who(conv), "urgent", new=_flags(case.flags), note=note)]
        conv.case_reference = case.reference
        lead = self._leadership(conv, case, CaseCard(case.reference), "leadership", now)
        work = Work([Notice(_ALERTED.format(ref=case.reference), tone="danger")], [lead])
        work.write(case)
        return work

    async def abandoned(self, conv: Conversation, why: str, now: datetime) -> Work:
        """An urgent report ended unfinished: leaders keep the case, and are told."""
        if not conv.case_reference:
            return Work()
        case = await self.store.case(conv.case_reference)
        if case is None or case.status != CaseStatus.REPORTING:
            return Work()
        earlier = case.answers
        case.answers = {**earlier, **active_answers(conv.answers, conv.flags)}
        case.answers[Step.LINKS] = _every_link(earlier, case.answers)  # the alert's stay
        case.handles = handles_of(case.answers[Step.LINKS]) or case.handles
        case.retention_category = longer(case.retention_category, category_for(case))
        case.record(HistoryEntry(now, _who(conv), f"report_{why}"))
        work = Work(outbox=[card_update_item(case, now)])
        work.write(case)
        return work

    async def after_handoff(self, conv: Conversation, said: str, kind: str, now: datetime) -> Work:
        """The reporter writes again of the case they filed: `kind` "images" (a child's images:
        the case is flagged), "hand_back" (leaders are to contact POSH instead) or "update".
        Their words go on the case, its card is updated, and leaders get a notice. Nothing
        (no work) for a case no longer open: the message is then a new one."""
        case = await self.store.case(conv.case_reference)
        if case is None or not case.is_open:
            return Work()
        return self.written_of(case, conv.person, conv.address, _who(conv), said, kind, now)

    async def recently_filed(self, person: Person, now: datetime) -> Case | None:
        """The open case this person filed most recently, within `_STILL_THEIRS`: what "it"
        is in a message after their conversation has ended ("there's a nude on it as well")."""
        mine = [
            c
            for c in await self.store.cases(reporter=person.key, open_only=True)
            if c.status != CaseStatus.REPORTING and now - c.created_at <= _STILL_THEIRS
        ]
        return max(mine, key=lambda c: c.created_at, default=None)

    def written_of(
        self,
        case: Case,
        person: Person,
        address: dict[str, str],
        who: str,
        said: str,
        kind: str,
        now: datetime,
    ) -> Work:
        """`after_handoff`'s work on the case it found (or `recently_filed`'s)."""
        if kind == "hand_back":
            case.posh_owner = PoshOwner.LEADERS
        note = lifecycle.written(said[: lifecycle.MAX_NOTE], "note")
        entry = HistoryEntry(now, who, f"reporter_{kind}", note=note)
        if kind == "images":
            flag_child_images(case, entry)
        else:
            case.flags = case.flags | ({Flag.DANGER} if kind == "danger" else set())
            case.record(entry)
        # Their words are on the case (`show`), never in a notice: the channel may not be
        # private, and a deleted case's notice could not be taken back.
        text = _TO_LEADERS[kind].format(name=who, ref=case.reference)
        notice = Notice(text, tone="danger" if kind in ("images", "danger") else "warning")
        key = f"reporter_{kind}:{case.reference}:{now.timestamp()}"
        told = outbox_item(person, Audience.LEADERSHIP, address, notice, key, now, case.reference)
        work = Work(outbox=[card_update_item(case, now), told])
        work.write(case)
        return work

    async def flagged_case(self, conv: Conversation) -> Case | None:
        """An open case of an account in these links that is flagged for sexual images of a
        child: a second report of it must not ask for images either."""
        handles = handles_of(conv.answers.get(Step.LINKS) or [])
        if not handles:
            return None
        for other in await self.store.cases(open_only=True, handles=handles):
            if (
                Flag.SEXUAL_IMAGES in other.flags
                and set(other.handles) & set(handles)
                and in_scope(other, conv.person)
            ):
                return other
        return None

    async def expired(self, conv: Conversation, expiry: timedelta, now: datetime) -> Work:
        """An urgent report left past its expiry, swept without waiting for the reporter to
        write again: leaders' card says so, the answers reach the case, the reporter is told."""
        work = await self.abandoned(conv, "expired", now)
        if not work.cases:  # not an urgent report still being made: nothing to sweep
            return work
        told = Notice(expired_text(conv, self.facts, expiry))
        key = f"expired:{conv.id}"
        person = outbox_item(conv.person, Audience.PERSON, conv.address, told, key, now)
        return work.add(Work(outbox=[person]))

    # -- submitting --------------------------------------------------------------------------------

    async def submit(self, turn: Turn, conv: Conversation, now: datetime) -> Filed:
        filed = Filed()
        early = await self.store.case(conv.case_reference) if conv.case_reference else None
        case = early or await self._unfinished_of(conv) or await self._new_case(conv, now)
        self._fill(case, conv, now)
        original = await self._duplicate_of(case)
        adds = ""
        if original is not None:
            adds = self._link(case, original, now)
            filed.write(original)
        filed.write(case)
        filed.add(self._messages(turn, conv, case, original, adds, now))
        if original is None and case.posh_owner == PoshOwner.REPORTER:
            filed.after = _ended(conv, case, now)
        return filed

    async def _unfinished_of(self, conv: Conversation) -> Case | None:
        """An urgent case this person left unfinished (cancelled, left, replaced) about an
        account in this report: this report completes it, not a second urgent case."""
        handles = handles_of(conv.answers.get(Step.LINKS) or [])
        if not handles:
            return None
        for case in await self.store.cases(open_only=True, handles=handles):
            ended = any(h.action.startswith("report_") for h in case.history)
            mine = case.reporter.key == conv.person.key
            if case.status == CaseStatus.REPORTING and ended and mine:
                return case
        return None

    async def _new_case(self, conv: Conversation, now: datetime) -> Case:
        year = localtime.moment(now, self.facts).year
        return Case(
            reference=await self.store.take_reference(year),
            created_at=now,
            reporter=conv.person,
            conversation_id=conv.id,
            answers=active_answers(conv.answers, conv.flags),
            flags=frozenset(conv.flags),
            reporter_address=dict(conv.address),
        )

    def _fill(self, case: Case, conv: Conversation, now: datetime) -> None:
        """The finished report's answers on the case (opened now, or early for an alert)."""
        answers = active_answers(conv.answers, conv.flags)
        was_reporting = case.status == CaseStatus.REPORTING
        if was_reporting:  # leaders were alerted with these links: none is dropped
            answers[Step.LINKS] = _every_link(case.answers, answers)
        links = answers.get(Step.LINKS) or []
        case.answers = answers
        case.flags = case.flags | frozenset(conv.flags)
        case.handles = handles_of(links)
        case.reporter_address = dict(conv.address) or case.reporter_address
        case.posh_owner = PoshOwner(str(answers.get(Step.WHO_CALLS) or PoshOwner.LEADERS))
        case.retention_category = longer(case.retention_category, category_for(case))
        if was_reporting or not case.history:
            old = str(case.status) if was_reporting else ""
            case.status = CaseStatus.NEW
            case.status_times[str(CaseStatus.NEW)] = now
            case.record(HistoryEntry(now, _who(conv), "reported", old=old, new=CaseStatus.NEW))
            first = lifecycle.written(str(conv.answers.get(FIRST_WORDS) or ""), "note")
            if first:  # the whole story typed at the start (`bot.engine`): leaders read it
                case.record(HistoryEntry(now, _who(conv), "note", note=f"First message: {first}"))
        self._in_app(case, _who(conv), now)

    def _in_app(self, case: Case, who: str, now: datetime) -> None:
        """A new case reported in TikTok's app moves on to "reported in the app"."""
        if case.answers.get(Step.IN_APP) != "yes" or case.status != CaseStatus.NEW:
            return
        when = when_from_iso(case.answers.get(Step.IN_APP_WHEN))
        if when.end is None:  # "don't know": no day is claimed for it, in any record
            lifecycle.apply(case, "in_app", who, now, IN_APP_DAY_UNKNOWN)
            return
        lifecycle.apply(case, "in_app", who, now, f"reported in the app {when.end}")
        # The clock for "time to removal" starts when TikTok was told, not when we were.
        reported = localtime.midnight(when.end, self.facts)
        case.status_times[CaseStatus.REPORTED_IN_APP] = min(reported, now)

    async def _duplicate_of(self, case: Case) -> Case | None:
        """An open, finished case of the same school about the same account."""
        if not case.handles:
            return None
        for other in await self.store.cases(open_only=True, handles=case.handles):
            if (
                other.reference != case.reference
                and other.status != CaseStatus.REPORTING
                and set(other.handles) & set(case.handles)
                and in_scope(other, case.reporter)
            ):
                return other
        return None

    def _link(self, case: Case, original: Case, now: datetime) -> str:
        """This report becomes a linked report; what it adds goes on the open case. Returns
        what it added, in words."""
        added = merge_into(original, case)
        case.duplicate_of = original.reference
        actor = reporter_name(case)
        lifecycle.apply(case, "close", actor, now, f"same account as {original.reference}")
        self._in_app(original, actor, now)  # the first report had not been made in the app
        original.extra_reports += 1
        adds = "Adds " + "; ".join(added) + "." if added else "Adds nothing new."
        # Leaders read who sent it and how to reach them beside what it adds.
        note = f"From {contact_line(case)}. {adds}"
        original.record(HistoryEntry(now, actor, "linked_report", new=case.reference, note=note))
        return adds

    # -- what the reporter and leaders are sent ----------------------------------------------------

    def _messages(
        self,
        turn: Turn,
        conv: Conversation,
        case: Case,
        original: Case | None,
        adds: str,
        now: datetime,
    ) -> Work:
        ref = case.reference
        harm = set(case.answers.get(Step.HARM) or [])
        support = safety.support_notice(self.facts, case.flags, harm)
        lead: list[OutboxItem] = []
        if original is not None:
            to_person: list[Reply] = [self._linked_notice(case, original, adds), support]
            lead.append(card_update_item(original, now))
            if conv.case_reference:  # its own urgent post now points to the open case
                lead.append(card_update_item(case, now))
        elif case.posh_owner == PoshOwner.REPORTER:
            to_person = [
                Notice(_THANKS_YOURS.format(ref=ref), tone="success", title=f"Report {ref} saved"),
                HandoffReply(build_handoff(case, self.facts, now)),
                support,
                Question(
                    Step.END, _WHEN_SENT.format(ref=ref), (flow.SENT_CHOICE,), accepts_text=False
                ),
            ]
        else:
            to_person = [
                Notice(
                    _THANKS_LEADERS.format(ref=ref), tone="success", title=f"Report {ref} saved"
                ),
                support,
            ]
        if original is None:
            card = CaseCard(ref, update=bool(conv.case_reference))
            lead.append(self._leadership(conv, case, card, "leadership", now))
        address = turn.address or conv.address
        person_items = [
            outbox_item(turn.person, Audience.PERSON, address, r, f"case:{ref}:reporter:{n}", now)
            for n, r in enumerate(to_person)
        ]
        return Work([], [*person_items, *lead])

    def _leadership(
        self, conv: Conversation, case: Case, card: CaseCard, kind: str, now: datetime
    ) -> OutboxItem:
        item_id = f"case:{case.reference}:{kind}"
        if card.update:
            return card_update_item(case, now)
        # The address is where the reporter is told if the post cannot be made at all.
        return outbox_item(
            conv.person, Audience.LEADERSHIP, conv.address, card, item_id, now, case.reference
        )

    def _linked_notice(self, case: Case, original: Case, added: str) -> Notice:
        handler = (
            "it is already with POSH: leaders will pass on what your report adds"
            if original.status in WITH_POSH
            else f"{original.assignee} is contacting POSH about it"
            if original.assignee
            else "the reporter who first reported it is contacting POSH"
            if original.posh_owner == PoshOwner.REPORTER
            else "the leadership team is handling it"
        )
        return Notice(
            f"Thank you. This account is already case {original.reference}, and {handler}. "
            f"I've added your report ({case.reference}) to it, and I'm telling leadership now. "
            f"{added} "
            "You don't need to contact POSH yourself; quote either reference if you talk "
            "about it.",
            tone="success",
            title=f"Added to case {original.reference}",
        )


def expired_text(conv: Conversation, facts: Facts, expiry: timedelta) -> str:
    started = localtime.moment(conv.started_at, facts)
    hours = int(expiry.total_seconds() // 3600)
    text = (
        f"Your unfinished report from {localtime.day_text(started, weekday=True, year=False)} "
        "expired after "
        f"{hours} hours without "
        "an answer, so I cleared it"
    )
    if conv.case_reference:
        return text + (
            f". Leadership were already alerted to its safety concern ({conv.case_reference})"
            " and will follow it up. Let's start again."
        )
    return text + " – nothing was sent. Let's start again."


def handles_of(links: list[JSON]) -> tuple[str, ...]:
    """The accounts a report's links are about, as cases are indexed by them."""
    return tuple(sorted({str(x["handle"] or x["url"]) for x in links}))


def _ended(conv: Conversation, case: Case, now: datetime) -> Conversation:
    """The conversation after a report the reporter will take to POSH: waiting for "sent"."""
    named = conv.person.name or str(conv.answers.get(Step.NAME) or "")  # for "done, I rang"
    return Conversation(
        id=conv.id,
        person=replace(conv.person, name=named),
        step=Step.END,
        started_at=conv.started_at,
        updated_at=now,
        address=dict(conv.address),
        case_reference=case.reference,
    )


def merge_into(original: Case, new: Case) -> list[str]:
    """Add what a second report of the same account brings; returns what was added, in words."""
    added: list[str] = []
    a, b = original.answers, new.answers
    old_links: list[JSON] = list(a.get(Step.LINKS) or [])
    fresh = [x for x in b.get(Step.LINKS) or [] if _link_key(x) not in map(_link_key, old_links)]
    if fresh:
        a[Step.LINKS] = old_links + fresh
        added.append("links " + ", ".join(str(x["label"]) for x in fresh))
    for step, choices, what in (
        (Step.HARM, flow.HARM_KINDS, "harm"),
        (Step.TARGET, flow.TARGETS, "targeted"),
    ):
        new_values = [v for v in b.get(step) or [] if v not in (a.get(step) or [])]
        if new_values:
            a[step] = [*(a.get(step) or []), *new_values]
            added.append(f"{what}: {flow.label(choices, new_values)}")
    new_flags = new.flags - original.flags
    if new_flags:
        original.flags = original.flags | new_flags
        added.append("safety: " + " ".join(FLAG_TEXT[f] for f in sorted(new_flags)))
    added += _merge_in_app(a, b)
    for step, what in _TEXT_ADDED.items():
        if b.get(step) and b.get(step) != a.get(step):
            a[step] = f"{a[step]}\n{new.reference}: {b[step]}" if a.get(step) else b[step]
            added.append(what)
    original.handles = tuple(sorted(set(original.handles) | set(new.handles)))
    original.retention_category = longer(
        original.retention_category, new.retention_category, category_for(original)
    )
    return added


# A second report's own words, added to the open case, as leaders read them.
_TEXT_ADDED = {
    Step.DESCRIPTION: "what it shows",
    Step.TARGET_STAFF: "which member of staff is targeted",
    Step.HARM_OTHER: "more about the kind of harm",
}


def _merge_in_app(a: JSON, b: JSON) -> list[str]:
    if b.get(Step.IN_APP) != "yes":
        return []
    reply = b.get(Step.IN_APP_REPLY)
    if a.get(Step.IN_APP) != "yes":
        for step in (Step.IN_APP, Step.IN_APP_WHEN, Step.IN_APP_REPLY):
            if step in b:
                a[step] = b[step]
        return ["reported in the app: " + flow.label(flow.TIKTOK_REPLIES, reply or "none")]
    if reply and reply not in ("none", a.get(Step.IN_APP_REPLY)):
        a[Step.IN_APP_REPLY] = reply
        return ["TikTok's answer: " + flow.label(flow.TIKTOK_REPLIES, reply)]
    return []


def _every_link(earlier: JSON, now: JSON) -> list[JSON]:
    """The links of an urgent case's alert and of the report as it ended, none twice: a
    link leaders were alerted with stays with them, whatever the report did after."""
    kept: list[JSON] = list(earlier.get(Step.LINKS) or [])
    keys = {_link_key(x) for x in kept}
    return kept + [x for x in now.get(Step.LINKS) or [] if _link_key(x) not in keys]


def _link_key(link: JSON) -> str:
    return str(link.get("url") or link.get("handle") or link.get("label"))


def _who(conv: Conversation) -> str:
    return str(conv.answers.get(Step.NAME) or conv.person.name or conv.person.user_id)


def _flags(flags: AbstractSet[Flag]) -> str:
    return ", ".join(sorted(str(f) for f in flags))


_ALERTED = (
    "Because of that answer, I've alerted your leadership team now (case {ref}), so someone "
    "can act straight away. Carry on with the report when you can – it adds the details."
)
_STILL_THEIRS = timedelta(days=14)  # a filed case "it" may still mean, unnamed
_TO_LEADERS = {
    "images": "URGENT: {name}, who reported {ref}, has written about sexual images of someone "
    "under 18. The case is now flagged for it: the DSL should act now (show {ref}).",
    "danger": "URGENT: {name}, who reported {ref}, has written that someone may be in "
    "danger. Contact them now (show {ref}).",
    "hand_back": "{name} asked the leadership team to contact POSH about {ref} instead of "
    "them: someone please take it on (show {ref}).",
    "update": "{name} has news of {ref}: show {ref} to read it.",
}
_WORDS_WORTH_KEEPING = 3  # "yes" is no account of anything; "he said he'd stab him" is
_ALSO_ALERTED = "I've told your leadership team about this too (case {ref})."
_THANKS_LEADERS = (
    "Thank you. I'm sending it to your leadership team now. They will contact POSH, so you "
    "don't need to; I'll tell you here when someone takes it on. Quote {ref} whenever you "
    "talk about this case."
)
_THANKS_YOURS = (
    "Thank you. I'm sending it to your leadership team now, so they know. You said you'll "
    "contact POSH yourself: everything they need is below. Quote {ref} whenever you talk "
    "about this case."
)
_WHEN_SENT = "When you have contacted POSH, tell me here (or type sent {ref}) so leaders see it."
