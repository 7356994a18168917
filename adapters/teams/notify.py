"""Messages the adapter itself owes (welcomes, channel confirmations), through the same outbox.

Ids are built from what caused the message, so a redelivered activity enqueues nothing new.
"""

from __future__ import annotations

from adapters.compose import Runtime
from bot.model import Audience, Notice, Person, Platform
from bot.outbox import outbox_item
from bot.ports import UnitOfWork


async def tell(
    runtime: Runtime, item_id: str, tenant: str, where: dict[str, str], notice: Notice
) -> None:
    """`where`: an address from `references.address` (it carries the conversation reference)."""
    # A channel or chat, not a person: outbox_item reads only the platform and tenant from it.
    place = Person(Platform.TEAMS, tenant, "")
    item = outbox_item(place, Audience.PERSON, where, notice, item_id, runtime.clock.now())
    await runtime.store.commit(UnitOfWork(outbox=[item]))
    runtime.wake(Platform.TEAMS)
