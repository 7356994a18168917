"""Messages the adapter itself owes (welcomes, channel confirmations), through the same outbox.

Ids are built from what caused the message, so a redelivered activity enqueues nothing new.
"""

from __future__ import annotations

from adapters.compose import Runtime
from bot.codec import reply_to_dict
from bot.model import Audience, Notice, OutboxItem, Platform


async def tell(
    runtime: Runtime, item_id: str, tenant: str, conversation_id: str, notice: Notice
) -> None:
    item = OutboxItem(
        id=item_id,
        platform=Platform.TEAMS,
        audience=Audience.PERSON,
        workspace=tenant,
        address={"conversation": conversation_id},
        reply=reply_to_dict(notice),
        created_at=runtime.clock.now(),
    )
    await runtime.store.enqueue([item])
    runtime.wake(Platform.TEAMS)
