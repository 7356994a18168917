"""Building outbox items: the one place a reply becomes a message the bot owes someone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.codec import reply_to_dict
from bot.model import (
    JSON,
    Audience,
    Case,
    CaseCard,
    FileKind,
    FileReply,
    HandoffReply,
    Notice,
    OutboxItem,
    Person,
    Reply,
)


def outbox_item(
    person: Person,
    audience: Audience,
    address: dict[str, str],
    reply: Reply,
    item_id: str,
    now: datetime,
    case_reference: str = "",
    *,
    conversation_id: str = "",
) -> OutboxItem:
    """A message for `person` (or, for LEADERSHIP, their workspace's leadership channel).

    For LEADERSHIP, `address` is where `person` can be told if the post cannot be made at all.
    A reply that quotes a case is tagged with it even when the caller does not say so.
    """
    leadership = audience == Audience.LEADERSHIP
    return OutboxItem(
        id=item_id,
        platform=person.platform,
        audience=audience,
        workspace=person.workspace,
        address={} if leadership else dict(address),
        reply=reply_to_dict(reply),
        created_at=now,
        case_reference=case_reference or quoted_case(reply),
        conversation_id=conversation_id,
        reply_to=dict(address) if leadership else {},
    )


def quoted_case(reply: Reply) -> str:
    """The case whose content a reply carries, or ''."""
    match reply:
        case CaseCard(reference=reference) | Notice(about=reference):
            return reference
        case HandoffReply(handoff=handoff):
            return handoff.reference
        case FileReply(kind=FileKind.CASE_REPORT, subject=reference):
            return reference
    return ""


def card_update_item(case: Case, now: datetime) -> OutboxItem:
    """Update the case's leadership post. Keyed by the history's length: a redelivered
    change re-queues nothing new, and each real change is posted once."""
    return outbox_item(
        case.reporter,
        Audience.LEADERSHIP,
        case.reporter_address,
        CaseCard(case.reference, update=True),
        f"case:{case.reference}:card:{len(case.history)}",
        now,
        case.reference,
    )


def scrub_post(tomb: Case, now: datetime) -> OutboxItem:
    """The leadership post of a deleted case is overwritten with a content-free line (the
    command line's `retention delete` and a leader's confirmed deletion in chat alike)."""
    card = CaseCard(tomb.reference, update=True)
    item_id = f"case:{tomb.reference}:deleted"
    return outbox_item(tomb.reporter, Audience.LEADERSHIP, {}, card, item_id, now, tomb.reference)


def to_reply_to(item: OutboxItem, reply: Reply, suffix: str, now: datetime) -> OutboxItem:
    """A message about `item` for the person `item.reply_to` names (e.g. "it did not go")."""
    return replace(
        item,
        id=f"{item.id}:{suffix}",
        audience=Audience.PERSON,
        address=dict(item.reply_to),
        reply=reply_to_dict(reply),
        created_at=now,
        seq=0,
        attempts=0,
        due_at=None,
        failed="",
        failed_at=None,
        reply_to={},
        claimed_by="",
        claimed_until=None,
    )


def about_case(doc: JSON, reference: str, conversation_id: str) -> bool:
    """Does a stored outbox item (as the codec writes it) carry this case's content?"""
    if doc.get("case_reference") == reference:
        return True
    return bool(conversation_id) and doc.get("conversation_id") == conversation_id


def lane_of(doc: JSON) -> str:
    """Items in one lane are delivered in order: one person's chat, or one case's post.

    Works on the stored form (the codec's dict), as the stores select by it."""
    return _lane(
        str(doc.get("audience", "")), str(doc.get("case_reference", "")), doc.get("address")
    )


def item_lane(item: OutboxItem) -> str:
    """`lane_of` an item, without encoding it first (the courier sorts every item it sends)."""
    return _lane(item.audience, item.case_reference, item.address)


def _lane(audience: str, case_reference: str, address: JSON | None) -> str:
    if audience == Audience.LEADERSHIP:
        return f"leadership:{case_reference}"
    return f"person:{sorted(dict(address or {}).items())}"


def together(lane: Sequence[OutboxItem]) -> list[list[OutboxItem]]:
    """A person's lane in runs that go as one message: the replies one turn made for them,
    in order (a file always goes alone). Fewer messages: one notification, not four, and
    no run can be split by a later turn's reply arriving between its parts."""
    runs: list[list[OutboxItem]] = []
    for item in lane:
        last = runs[-1][-1] if runs else None
        if last is not None and _one_turn(last, item):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _one_turn(a: OutboxItem, b: OutboxItem) -> bool:
    def alone(i: OutboxItem) -> bool:
        return i.audience != Audience.PERSON or i.reply.get("type") == "file"

    turn = a.id.rpartition(":")[0]  # a turn's items are "<what caused it>:<n>"
    return not (alone(a) or alone(b)) and (
        bool(turn)
        and turn == b.id.rpartition(":")[0]
        and a.created_at == b.created_at
        and a.address == b.address
    )


def claimable(docs: Iterable[JSON], platform: str, now: datetime) -> list[JSON]:
    """The stored items a claim may take now, oldest first: due, not refused for good, not
    held by a live claim – and in whole lanes, so nothing overtakes an earlier item waiting."""
    mine = [d for d in docs if d.get("platform") == platform and not d.get("failed")]
    if not any(_free(d, now) for d in mine):
        return []  # the usual case, every item claimed already: no lanes to work out
    waiting: set[str] = set()
    ready: list[JSON] = []
    for doc in sorted(mine, key=lambda d: int(d.get("seq", 0))):
        lane = lane_of(doc)
        if lane in waiting:
            continue
        if not _free(doc, now):
            waiting.add(lane)
            continue
        ready.append(doc)
    return ready


def _free(doc: JSON, now: datetime) -> bool:
    """Due, and not held by a live claim (whatever waits before it in its lane)."""
    return not (_after(doc.get("claimed_until"), now) or _after(doc.get("due_at"), now))


def next_wake(docs: Iterable[JSON], platform: str) -> datetime | None:
    """When something of the platform's next becomes claimable: a due time or a lapsing claim
    of the first item of a lane (those behind it wait for it, however long it waits)."""
    first: dict[str, JSON] = {}
    for d in sorted(docs, key=lambda d: int(d.get("seq", 0))):
        if d.get("platform") == platform and not d.get("failed"):
            first.setdefault(lane_of(d), d)
    times = [
        datetime.fromisoformat(str(d.get("claimed_until") or d.get("due_at") or d["created_at"]))
        for d in first.values()
    ]
    return min(times, default=None)


def claimed(doc: JSON, owner: str, until: datetime) -> JSON:
    """The stored item as a claim leaves it: one more attempt, held by `owner` until `until`."""
    return {
        **doc,
        "attempts": int(doc.get("attempts", 0)) + 1,
        "claimed_by": owner,
        "claimed_until": until.isoformat(),
    }


def _after(value: object, now: datetime) -> bool:
    return bool(value) and datetime.fromisoformat(str(value)) > now
