"""Messages the adapter itself owes (welcomes, channel confirmations), through the same outbox.

Ids are built from what caused the message, so a redelivered activity enqueues nothing new.
"""

from __future__ import annotations

from adapters.compose import Runtime
from bot.model import Audience, Notice, Person, Platform
from bot.outbox import outbox_item


async def tell(
    runtime: Runtime, item_id: str, tenant: str, conversation_id: str, notice: Notice
) -> None:
    # A channel or chat, not a person: outbox_item reads only the platform and tenant from it.
    place = Person(Platform.TEAMS, tenant, "")
    address = {"conversation": conversation_id}
    item = outbox_item(place, Audience.PERSON, address, notice, item_id, runtime.clock.now())
    await runtime.store.enqueue([item])
    runtime.wake(Platform.TEAMS)
