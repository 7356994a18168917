"""The neutral vocabulary shared by the engine, the stores and every front end.

Nothing here knows about Slack, Teams or TinyDB. Adapters translate platform payloads into a
`Turn`, and render the neutral `Reply` types back out; stores persist `Case`, `Conversation` and
`OutboxItem` through the codec in `bot.codec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

JSON = dict[str, Any]


class Platform(StrEnum):
    TERMINAL = "terminal"
    SLACK = "slack"
    TEAMS = "teams"


@dataclass(frozen=True)
class Person:
    """Who is talking to the bot, as the platform identifies them.

    `key` is platform + workspace + user, so the same person on two platforms is two people:
    the bot cannot prove otherwise, and must not merge their reports.
    """

    platform: Platform
    workspace: str
    user_id: str
    name: str = ""
    email: str = ""

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.workspace}:{self.user_id}"


@dataclass(frozen=True)
class Turn:
    """One inbound message or button press, already translated by an adapter.

    `address` is opaque to the engine: the adapter's note of where a reply to this turn goes
    (a Slack DM channel, a Teams conversation id). Whether the person leads is not said here:
    the engine asks the platform (`bot.ports.Membership`) when, and only when, it matters.
    """

    person: Person
    text: str = ""
    action: str | None = None
    values: tuple[str, ...] = ()
    delivery_id: str | None = None
    address: dict[str, str] = field(default_factory=dict)
    step: str = ""
    """The question a button belonged to; a press on an earlier one is not taken as an answer."""
    has_files: bool = False
    """Pictures or files came with the message: never wanted here (see NO_FILES)."""
    place: str = ""
    """The channel a command was typed in, when not the person's chat with the bot (a Slack
    slash command in a channel): what `setup` makes the leadership channel."""


# --- replies: what the engine asks a front end to show ---------------------------------------

Tone = Literal["info", "warning", "danger", "success"]


@dataclass(frozen=True)
class Choice:
    """An offered answer. `words` are other ways people say it (understood, never shown)."""

    value: str
    label: str
    words: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Notice:
    """A paragraph of plain text. Front ends escape it; it never carries markup."""

    text: str
    tone: Tone = "info"
    title: str = ""
    about: str = ""
    """The case whose content the text quotes (e.g. its history), so deleting the case deletes
    every stored copy of the notice too."""


@dataclass(frozen=True)
class Question:
    """A prompt. With `choices` a front end shows buttons (checkboxes when `multi`)."""

    step: str
    text: str
    choices: tuple[Choice, ...] = ()
    multi: bool = False
    hint: str = ""
    accepts_text: bool = True
    progress: str = ""


@dataclass(frozen=True)
class Handoff:
    """Everything the school needs to hand the case to POSH, in one neutral object."""

    reference: str
    phone: str
    phone_uri: str
    email: str
    mailto: str
    subject: str
    body: str
    hours: str
    open_now: bool
    opens: str
    checklist: tuple[str, ...]
    safety: tuple[str, ...]


@dataclass(frozen=True)
class HandoffReply:
    handoff: Handoff


@dataclass(frozen=True)
class CaseCard:
    """The leadership view of a case: rendered from the case as it is when delivered.

    `update` means "change the post already made for this case" rather than post a new one.
    `minimal` asks for the fallback every front end can always show: the case's reference and
    how to read it (`show REF`, `reportbot cases show REF`), no details. The courier sends it
    when a platform refuses the full card for good.
    """

    reference: str
    update: bool = False
    minimal: bool = False
    late_post: JSON | None = None
    """A post of this case whose id arrived after the attempt that made it gave up (a Teams
    answer that came late): kept with the case's other posts, and brought up to date."""


@dataclass(frozen=True)
class CaseList:
    title: str
    references: tuple[str, ...]
    empty: str
    lines: tuple[str, ...] = ()
    """One line per case, as leaders read them: complete, so no front end looks anything up."""


class FileKind(StrEnum):
    CASES = "cases"  # every case as CSV (`reportbot export`)
    CASE_REPORT = "case_report"  # one case's printable report (`reportbot export --case`)
    SUBJECT_ACCESS = "subject_access"  # what the bot holds about a person (`reportbot sar`)


@dataclass(frozen=True)
class FileReply:
    """A file for a leader: made from the store when it is delivered (or, where the platform
    delivers files by link, when the link is opened), so no copy of case content waits in the
    outbox, and a case deleted meanwhile is not in it."""

    kind: FileKind
    subject: str = ""
    """The case (CASE_REPORT) or the name searched for (SUBJECT_ACCESS)."""
    link: str = ""
    """A single-use download token (bot.files), where the file goes as a link."""


Reply = Notice | Question | HandoffReply | CaseCard | CaseList | FileReply


# --- cases --------------------------------------------------------------------------------------


class CaseStatus(StrEnum):
    REPORTING = "reporting"  # an urgent report still being made: leaders alerted already
    NEW = "new"
    REPORTED_IN_APP = "reported_in_app"
    SENT_TO_POSH = "sent_to_posh"
    WITH_TIKTOK = "with_tiktok"
    REMOVED = "removed"
    REFUSED = "refused"
    CLOSED = "closed"
    DELETED = "deleted"


WITH_POSH = frozenset({CaseStatus.SENT_TO_POSH, CaseStatus.WITH_TIKTOK})
"""Handed to POSH, and waiting for TikTok to act."""

OPEN_STATUSES = frozenset(
    {
        CaseStatus.REPORTING,
        CaseStatus.NEW,
        CaseStatus.REPORTED_IN_APP,
        CaseStatus.SENT_TO_POSH,
        CaseStatus.WITH_TIKTOK,
    }
)


class PoshOwner(StrEnum):
    """Who contacts POSH about a case: one side, so POSH hears once and nobody waits."""

    LEADERS = "leaders"
    REPORTER = "reporter"


class Flag(StrEnum):
    DANGER = "danger"
    SEXUAL_IMAGES = "sexual_images"
    PUPILS_TARGETED = "pupils_targeted"


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    who: str
    action: str
    old: str = ""
    new: str = ""
    note: str = ""


@dataclass
class Case:
    reference: str
    created_at: datetime
    reporter: Person
    conversation_id: str
    answers: JSON
    flags: frozenset[Flag] = frozenset()
    status: CaseStatus = CaseStatus.NEW
    status_times: dict[str, datetime] = field(default_factory=dict)
    assignee: str = ""
    history: list[HistoryEntry] = field(default_factory=list)
    handles: tuple[str, ...] = ()
    duplicate_of: str = ""
    extra_reports: int = 0
    retention_category: str = ""
    review_on: str = ""
    reporter_address: dict[str, str] = field(default_factory=dict)
    """Where the reporter's chat with the bot is, to tell them how the case moves."""
    posh_owner: PoshOwner = PoshOwner.LEADERS
    reminded: tuple[str, ...] = ()
    """The reminders already sent about it (kinds, e.g. "48h"): each goes once."""
    remind_at: datetime | None = None
    """When its next reminder falls due (None: none to come); stores index it."""
    version: int = 0
    """How many times it has been written: a writer must have read the latest (bot.ports)."""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def record(self, entry: HistoryEntry) -> None:
        """Append-only: the history is a record of decisions, never edited."""
        self.history.append(entry)


# --- conversations and the outbox -------------------------------------------------------------


@dataclass
class Conversation:
    id: str
    person: Person
    step: str
    started_at: datetime
    updated_at: datetime
    answers: JSON = field(default_factory=dict)
    trail: list[str] = field(default_factory=list)
    flags: set[Flag] = field(default_factory=set)
    address: dict[str, str] = field(default_factory=dict)
    editing: bool = False
    detour: list[str] = field(default_factory=list)
    """Where to go back to after a state entered on the way (resume, cancel, danger)."""
    early: list[str] = field(default_factory=list)
    """Questions answered ahead of their turn (danger, after risk words): not asked again."""
    risk_checked: bool = False
    supported: bool = False
    """The support notice for someone not coping was given; said again, it is short."""
    """Risk words already brought the danger question once."""
    case_reference: str = ""
    """The case opened early for an urgent report (leaders alerted before it was finished)."""
    version: int = 0
    """As stored: a turn that read an older version is refused (`Conflict`) and done again on
    the newer one, so two instances never apply one person's steps over each other."""


class Audience(StrEnum):
    """Who an outgoing message is for."""

    PERSON = "person"
    LEADERSHIP = "leadership"


@dataclass
class OutboxItem:
    """A message the bot owes someone. Stored before anyone is told it was sent.

    `id` is deterministic (built from the inbound delivery or the case), so enqueueing the same
    thing twice after a crash is a no-op rather than a second post. An item that carries what a
    report says knows its case (`case_reference`) or the conversation the case came from
    (`conversation_id`, which the case records), so a deletion finds every copy.
    """

    id: str
    platform: Platform
    audience: Audience
    workspace: str
    address: dict[str, str]
    reply: JSON
    created_at: datetime
    seq: int = 0
    attempts: int = 0
    due_at: datetime | None = None
    case_reference: str = ""
    failed: str = ""
    """Why the platform refused it for good; a failed item is kept (and shown on /healthz)
    until `failed_at` is old enough to prune."""
    failed_at: datetime | None = None
    conversation_id: str = ""
    reply_to: dict[str, str] = field(default_factory=dict)
    """For a leadership item: where the person whose report it carries can be told if it
    cannot be delivered at all."""
    claimed_by: str = ""
    """The instance sending it now; the claim lapses at `claimed_until` (see bot.ports)."""
    claimed_until: datetime | None = None
