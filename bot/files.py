"""Leaders' files, made from the store when they are delivered: every case as CSV, one case's
printable report, and a subject access bundle; and the single-use links a platform gets
instead of a file where the bot cannot hand it one (Teams).

The bytes are the ones the command line writes (`reportbot export`, `export --case REF`,
`sar NAME --out FILE`): the same functions, the same encodings. A leader's file holds their
own school's records only (`bot.lifecycle.in_scope`). Made at delivery (or when the link is
opened), a file never waits in the outbox with case content in it, and a case deleted
meanwhile is not in it.

A link's token is random (256 bits) and shown only in the leader's DM; the store keeps its
SHA-256 with what it opens, for whom and until when (the grant, in meta). Opening it marks it
used through the store's once-only delivery ids, so two opens at once still give one file.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import localtime, subject_access
from bot.case_report import case_html
from bot.export_csv import csv_header, csv_rows
from bot.facts import Facts
from bot.lifecycle import in_scope, pages_in_scope
from bot.model import (
    JSON,
    CaseStatus,
    Conversation,
    FileKind,
    FileReply,
    Notice,
    OutboxItem,
    Person,
    Platform,
)
from bot.ports import Clock, Membership, Store, UnitOfWork
from bot.views import ResolvedFile, ResolvedLink

LINK_LIFETIME = timedelta(minutes=15)
BY_LINK = frozenset({Platform.TEAMS})
"""Platforms whose leaders get a link: a Teams bot can hand over a file only through a consent
card and the person's OneDrive (Graph permissions and `supportsFiles`); a link on the bot's own
address needs neither, and leaves no copy in anyone's OneDrive."""

PRIVATE = "It holds safeguarding data: keep it private, and delete it when it has served."
TITLES = {
    FileKind.CASES: "All cases (CSV)",
    FileKind.CASE_REPORT: "Case report {subject}",
    FileKind.SUBJECT_ACCESS: "Subject access: what the bot holds about “{subject}”",
}
GONE = "Case {subject} is no longer held, so there is no report to send."
UNKNOWN = "This download link is not one I know. Ask me again in chat for a new one."
USED = "This download link has already been used. Ask me again in chat for a new one."
EXPIRED = "This download link has expired (links last 15 minutes). Ask me again in chat."
NOT_LEADER = "Only members of the leadership team can open this link."
UNCHECKED = "I couldn't check just now that you are in the leadership team. Try again in a minute."


def title_of(reply: FileReply) -> str:
    return TITLES[reply.kind].format(subject=reply.subject)


async def make_file(
    store: Store, facts: Facts, now: datetime, reply: FileReply, place: Person
) -> ResolvedFile | Notice:
    """The file as the store holds it now, for `place`'s school (a Notice if there is none)."""
    day = localtime.day(now, facts).isoformat()
    comment = f"{title_of(reply)}, made {localtime.local(now, facts)}. {PRIVATE}"
    if reply.kind == FileKind.CASES:
        text = await _cases_csv(store, facts, place)
        # utf-8-sig, as the command line writes it: Excel needs the mark to read “ ” and £.
        content = text.encode("utf-8-sig")
        return ResolvedFile(f"cases-{day}.csv", title_of(reply), content, comment)
    if reply.kind == FileKind.CASE_REPORT:
        case = await store.case(reply.subject)
        if case is None or case.status == CaseStatus.DELETED or not in_scope(case, place):
            return Notice(GONE.format(subject=reply.subject), tone="warning")
        html = case_html(case, facts, now).encode()
        return ResolvedFile(f"{case.reference}.html", title_of(reply), html, comment)
    held = (
        subject_access.name_query(reply.subject),
        [c for c in await store.cases() if in_scope(c, place)],
        [c for c in await store.conversations() if _here(c, place)],
        [i for i in await store.outbox_items() if _held_message(i, place)],
    )
    found = await asyncio.to_thread(subject_access.search, *held)  # fuzzy matching: off the loop
    content = subject_access.sar_json(found, now).encode()
    return ResolvedFile(f"subject-access-{day}.json", title_of(reply), content, comment)


async def _cases_csv(store: Store, facts: Facts, place: Person) -> str:
    """A page of cases at a time, each page's rows made off the event loop (10,000 rows take
    most of a second). All 10,000 decoded at once, their full garbage collection alone
    stalled the loop about 130 ms (benchmarks.storage_probe)."""
    parts = [csv_header()]
    async for page in pages_in_scope(store, place):
        parts.append(await asyncio.to_thread(csv_rows, page, facts))
    return "".join(parts)


def _here(conv: Conversation, place: Person) -> bool:
    return conv.person.platform == place.platform and conv.person.workspace == place.workspace


def _held_message(item: OutboxItem, place: Person) -> bool:
    """A message of the school's still waiting; a file request holds only what was asked."""
    same = item.platform == place.platform and item.workspace == place.workspace
    return same and item.reply.get("type") != "file"


def link_of(reply: FileReply) -> ResolvedLink:
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    comment = (
        f"{title_of(reply)}: it is made when you open the link, which works once, for you, "
        f"within {minutes} minutes. {PRIVATE}"
    )
    return ResolvedLink(title_of(reply), reply.link, comment)


# --- download links ----------------------------------------------------------------------------


def grant_key(token: str) -> str:
    return "download:" + hashlib.sha256(token.encode()).hexdigest()


def new_link(reply: FileReply, person: Person, now: datetime) -> tuple[FileReply, str, JSON]:
    """The reply with a fresh token, and the grant to store with the turn (key, value)."""
    token = secrets.token_urlsafe(32)
    grant: JSON = {
        "kind": str(reply.kind),
        "subject": reply.subject,
        "platform": str(person.platform),
        "workspace": person.workspace,
        "user": person.user_id,
        "expires": (now + LINK_LIFETIME).isoformat(),
    }
    return FileReply(reply.kind, reply.subject, token), grant_key(token), grant


@dataclass(frozen=True)
class Refused:
    """Why a link gives no file: 404 unknown, 410 used or expired, 403 no longer a leader,
    503 leadership could not be checked."""

    status: int
    text: str


class Downloads:
    """Opens a download link: once, within its time, while the leader it was made for still
    leads (asked of the platform again), the file made from the store then."""

    def __init__(self, store: Store, facts: Facts, clock: Clock, membership: Membership) -> None:
        self.store = store
        self.facts = facts
        self.clock = clock
        self.membership = membership

    async def open(self, token: str) -> ResolvedFile | Notice | Refused:
        key = grant_key(token)
        grant = await self.store.get_meta(key)
        if not grant or "expires" not in grant:
            return Refused(404, UNKNOWN)
        if "used" in grant:
            return Refused(410, USED)
        now = self.clock.now()
        if "kind" not in grant or datetime.fromisoformat(str(grant["expires"])) <= now:
            if "kind" in grant:  # what it would have opened goes; that it expired stays
                await self.store.commit(UnitOfWork(meta={key: {"expires": grant["expires"]}}))
            return Refused(410, EXPIRED)
        leader = Person(Platform(grant["platform"]), str(grant["workspace"]), str(grant["user"]))
        verdict = await self.membership.is_leader(leader)
        if not verdict:  # left the team since: not used up, for whoever leads now to ask again
            return Refused(403, NOT_LEADER) if verdict is False else Refused(503, UNCHECKED)
        spent: JSON = {"used": now.isoformat(), "expires": grant["expires"]}
        # The once-only mark: of two opens at once, the store applies one.
        if not await self.store.commit(UnitOfWork(delivery_id=key, meta={key: spent})):
            return Refused(410, USED)
        reply = FileReply(FileKind(grant["kind"]), str(grant.get("subject", "")))
        return await make_file(self.store, self.facts, now, reply, leader)
