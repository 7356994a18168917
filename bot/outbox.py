"""Building outbox items: the one place a reply becomes a message the bot owes someone."""

from __future__ import annotations

from datetime import datetime

from bot.codec import reply_to_dict
from bot.model import Audience, Case, CaseCard, OutboxItem, Person, Reply


def outbox_item(
    person: Person,
    audience: Audience,
    address: dict[str, str],
    reply: Reply,
    item_id: str,
    now: datetime,
    case_reference: str = "",
) -> OutboxItem:
    """A message for `person` (or, for LEADERSHIP, their workspace's leadership channel)."""
    return OutboxItem(
        id=item_id,
        platform=person.platform,
        audience=audience,
        workspace=person.workspace,
        address=dict(address) if audience == Audience.PERSON else {},
        reply=reply_to_dict(reply),
        created_at=now,
        case_reference=case_reference,
    )


def card_update_item(case: Case, now: datetime) -> OutboxItem:
    """Update the case's leadership post. Keyed by the history's length: a redelivered
    change re-queues nothing new, and each real change is posted once."""
    return outbox_item(
        case.reporter,
        Audience.LEADERSHIP,
        {},
        CaseCard(case.reference, update=True),
        f"case:{case.reference}:card:{len(case.history)}",
        now,
        case.reference,
    )
