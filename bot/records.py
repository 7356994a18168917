"""What the command line does with records, for leaders in chat (a hosted school has no shell):

    export                               every case as CSV            reportbot export
    export TT-2026-0007                  the case's printable report  reportbot export --case
    retention review                     cases due for review         reportbot retention review
    retention delete TT-2026-0007 because …   asks to confirm with a button; only the press
                                         deletes (the terminal, with no buttons: the command
                                         to run)                      … delete --reason --confirm
    sar NAME                             what the bot holds about NAME   reportbot sar --out

Leaders only, asked of the platform as every leader's request is (`LeaderDesk.refusal`). A
file goes to the leader's own DM as a `FileReply`, made when it is delivered (bot.files). Who
asked for what, and when, is recorded: in the case's history for one case, and as an audit
note in the store (who, what, when; never the name searched for or what a file holds).
"""

from __future__ import annotations

import logging
import re
import shlex
import uuid
from collections.abc import Mapping
from datetime import datetime

from bot import lifecycle, localtime, references, retention
from bot.errors import QueryError
from bot.facts import Facts
from bot.files import BY_LINK, new_link
from bot.leaders import NOT_LEADER, NOT_LEADER_VIEW, LeaderDesk, who
from bot.lifecycle import CaseAction
from bot.model import (
    Case,
    CaseStatus,
    Choice,
    FileKind,
    FileReply,
    HistoryEntry,
    Notice,
    Platform,
    Question,
    Turn,
)
from bot.outbox import scrub_post
from bot.subject_access import MIN_QUERY, name_query
from bot.work import Work

log = logging.getLogger(__name__)

REF = references.PATTERN
COMMAND = re.compile(
    rf"^\s*(?:(?P<export>export)(?:\s+(?P<case>{REF}))?"
    rf"|retention\s+(?:(?P<review>review)|(?P<delete>delete)(?:\s+(?P<doomed>{REF}))?"
    r"(?:\s*[:,-]?\s*(?:because\b)?\s*(?P<reason>.*))?)"
    r"|(?P<sar>sar)\s+(?P<name>[^\n]{1,200})"
    r"|(?P<retention>retention)\b.*)\s*$",  # anything else said of retention: what it can do
    re.IGNORECASE | re.DOTALL,
)
DELETE, SPARE = "delete", "spare"  # the confirm buttons' verbs (CaseAction: case:VERB:REF)
PRESSES = frozenset({DELETE, SPARE})

HOW_TO_DELETE = "Send me: retention delete {ref} because … (why the review agreed to delete it)."
ON_THE_COMMAND_LINE = (
    "Here, the command line writes files for you: {command} (then keep the file private)."
)
CLI_FILES = {
    FileKind.CASES: "reportbot export",
    FileKind.CASE_REPORT: "reportbot export --case {subject}",
    FileKind.SUBJECT_ACCESS: "reportbot sar NAME --out FILE.json",
}
RETENTION_HELP = (
    "Here I can do: retention review (the cases due for review), and retention delete REF "
    "because … (I'll ask you to confirm). To keep a case longer, use reportbot retention keep "
    "on the server."
)
IN_PRIVATE = (
    "Files and deletions hold safeguarding records, so I do them only in our personal chat: "
    "message me there (find me under Chat or Apps) with the same words."
)
DELETE_IN_TERMINAL = (
    "Here, a deletion is confirmed on the command line, where nothing can be pressed by "
    "mistake. Run:\n{command}"
)
TOO_SHORT = "Please give at least {n} letters of a name or an email: sar NAME."
NOTHING_TO_CONFIRM = "There is no deletion of {ref} waiting for you to confirm. " + HOW_TO_DELETE


def is_records_command(text: str) -> bool:
    return bool(COMMAND.match(text))


class RecordsDesk:
    def __init__(self, desk: LeaderDesk, facts: Facts, schedule: Mapping[str, int]) -> None:
        self.desk = desk
        self.store = desk.store
        self.facts = facts
        self.schedule = schedule

    async def command(self, turn: Turn, now: datetime) -> Work:
        match = COMMAND.match(turn.text)
        assert match, "call is_records_command first"
        ref = references.canonical(match["case"] or match["doomed"] or "")
        refused = await self.desk.refusal(turn.person, ref, NOT_LEADER_VIEW)
        if refused is not None:
            return Work([refused])
        if match["export"]:
            return await (self._case_report(turn, ref, now) if ref else self._all(turn, now))
        if match["review"]:
            return Work([await self._review(turn, now)])
        if match["delete"]:
            return await self._ask_to_delete(turn, ref, (match["reason"] or "").strip(), now)
        if match["sar"]:
            return self._subject_access(turn, match["name"].strip(), now)
        return Work([Notice(RETENTION_HELP)])

    # -- files ------------------------------------------------------------------------------

    async def _all(self, turn: Turn, now: datetime) -> Work:
        work = self._file(turn, FileReply(FileKind.CASES), now)
        self._audit(work, turn, "export of every case", now)
        return work

    def _form(self, now: datetime) -> str:
        return references.looks_like(localtime.moment(now, self.facts).year, bare=False)

    async def _case_report(self, turn: Turn, ref: str, now: datetime) -> Work:
        case = await self.desk.find(ref, turn.person)
        if case is None:
            return Work([Notice(f"I can't find case {ref}. {self._form(now)}", tone="warning")])
        case.record(HistoryEntry(now, who(turn.person), "exported", note="printable report"))
        work = self._file(turn, FileReply(FileKind.CASE_REPORT, ref), now)
        work.write(case)
        return work

    def _subject_access(self, turn: Turn, name: str, now: datetime) -> Work:
        try:
            name_query(name)
        except QueryError:
            return Work([Notice(TOO_SHORT.format(n=MIN_QUERY))])
        work = self._file(turn, FileReply(FileKind.SUBJECT_ACCESS, name), now)
        self._audit(work, turn, "subject access search", now)
        return work

    def _file(self, turn: Turn, reply: FileReply, now: datetime) -> Work:
        """The file, for the chat the leader asked in: their DM with the bot (Slack's slash
        command answers there too). A link where the platform takes no file from us."""
        if turn.person.platform == Platform.TERMINAL:  # the operator holds the data folder
            command = CLI_FILES[reply.kind].format(subject=reply.subject)
            return Work([Notice(ON_THE_COMMAND_LINE.format(command=command))])
        work = Work()
        if turn.person.platform in BY_LINK:
            reply, key, grant = new_link(reply, turn.person, now)
            work.meta[key] = grant
        work.replies.append(reply)
        return work

    def _audit(self, work: Work, turn: Turn, what: str, now: datetime) -> None:
        """A deployment-level note of who asked for what, and when (no content)."""
        note = {"at": now.isoformat(), "who": turn.person.key, "name": who(turn.person)}
        work.meta[f"audit:{now.isoformat()}:{uuid.uuid4().hex[:8]}"] = note | {"what": what}
        log.info("leader's request on %s: %s", turn.person.platform, what)

    # -- retention --------------------------------------------------------------------------

    async def _review(self, turn: Turn, now: datetime) -> Notice:
        today = localtime.day(now, self.facts)
        due: list[retention.Review] = []
        async for page in lifecycle.pages_in_scope(self.store, turn.person):  # due ones kept
            due += retention.review_due(page, self.schedule, today, self.facts)
        due.sort(key=retention.review_order)
        if not due:
            return Notice(
                f"No cases are due for retention review (today is {localtime.day_text(today)})."
            )
        lines = [
            f"{r.reference} – {lifecycle.STATUS_LABELS[r.status]} – {r.describe()}" for r in due
        ]
        how = (
            "After review, delete one with: retention delete REF because … (I'll ask you to "
            "confirm). To keep one longer, use reportbot retention keep on the server."
        )
        return Notice("\n".join([*lines, "", how]), title=f"Due for retention review ({len(due)})")

    async def _ask_to_delete(self, turn: Turn, ref: str, reason: str, now: datetime) -> Work:
        if not ref:
            return Work([Notice(HOW_TO_DELETE.format(ref="TT-…"))])
        case = await self.desk.find(ref, turn.person)
        if case is None:
            gone = f"I can't find case {ref} (or it is already deleted). {self._form(now)}"
            return Work([Notice(gone, tone="warning")])
        problem = _not_yet(case, reason)
        if problem:
            return Work([Notice(problem, tone="warning")])
        if turn.person.platform == Platform.TERMINAL:  # no button to press: the command line's
            command = f"reportbot retention delete {ref} --reason {shlex.quote(reason)} --confirm"
            return Work([Notice(DELETE_IN_TERMINAL.format(command=command))])
        work = Work([_confirm(ref)])
        work.meta[_pending(turn, ref)] = {"reason": reason, "at": now.isoformat()}
        return work

    async def press(self, turn: Turn, action: CaseAction, now: datetime) -> Work:
        """A confirm button: only a press deletes, and only what its presser asked for."""
        ref = action.reference
        refused = await self.desk.refusal(turn.person, ref, NOT_LEADER)
        if refused is not None:
            return Work([refused])
        pending = await self.store.get_meta(_pending(turn, ref))
        case = await self.store.case(ref)
        if _deleted_here(case, turn) and case is not None:
            # A deletion interrupted before its post was queued to be scrubbed is finished.
            return Work([Notice(f"{ref} has been deleted.")], outbox=[scrub_post(case, now)])
        if not pending:
            return Work([Notice(NOTHING_TO_CONFIRM.format(ref=ref))])
        work = Work(meta={_pending(turn, ref): None})
        if action.verb == SPARE:
            return work.add(Work([Notice(f"Nothing was deleted: {ref} is kept.")]))
        return work.add(await self._delete(turn, ref, str(pending.get("reason", "")), now))

    async def _delete(self, turn: Turn, ref: str, reason: str, now: datetime) -> Work:
        """The confirmed deletion: checked again (the case may have moved since it was asked)."""
        case = await self.desk.find(ref, turn.person)
        problem = "I can't find that case any more." if case is None else _not_yet(case, reason)
        if case is None or problem:
            return Work([Notice(problem, tone="warning")])
        tomb = retention.tombstone(case, who(turn.person), now, reason)
        kept = f"({who(turn.person)}, {localtime.local(now, self.facts)}, “{reason}”)"
        done = Notice(
            f"Deleted {ref}. Kept: its reference, the date it was reported, and this deletion "
            f"{kept}.",
            tone="success",
        )
        return Work([done], outbox=[scrub_post(tomb, now)], deleted=[tomb])


def _deleted_here(case: Case | None, turn: Turn) -> bool:
    """A tombstone keeps only its platform (no workspace): re-queueing its content-free scrub
    is harmless wherever it is asked."""
    if case is None or case.status != CaseStatus.DELETED:
        return False
    return case.reporter.platform == turn.person.platform


def _not_yet(case: Case, reason: str) -> str:
    """Why the case may not be deleted now ('' if it may): the command line's rules."""
    ref = case.reference
    if not lifecycle.written(reason, "reason"):
        return f"Say why {ref} is being deleted. " + HOW_TO_DELETE.format(ref=ref)
    if case.is_open:
        status = lifecycle.STATUS_LABELS[case.status]
        return f"{ref} is still open (“{status}”). Close it first: close {ref} because …"
    return ""


def _confirm(ref: str) -> Question:
    return Question(
        step="confirm_delete",
        text=(
            f"Delete {ref} for good? Its details go from every copy the bot holds; only its "
            "reference, the date it was reported and this deletion (who, when, why) are kept."
        ),
        choices=(
            Choice(CaseAction(DELETE, ref).value, "Delete it"),
            Choice(CaseAction(SPARE, ref).value, "Keep it"),
        ),
        accepts_text=False,
    )


def _pending(turn: Turn, ref: str) -> str:
    """The deletion a leader asked for, waiting for their press. The key ends with the case's
    reference, so deleting the case removes it too."""
    return f"deleting:{turn.person.key}:{ref}"
