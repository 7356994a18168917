"""Every leadership card ever posted for a case, so that updates and the scrub reach them all.

A card can be posted twice (the Bot Connector took it but its answer came too late), and each
copy shows the whole case. Each posted card's id and conversation are kept – ids only, no
content – under the case's receipt key, which the stores keep when a case is deleted:

    post:teams:<case reference>   {"activity_id": the newest card, "reference": its conversation,
                                   "cards": [{"activity_id", "reference", "item"}, …]}

"item" is the outbox item that posted the card, so a retried post can tell that it landed.
The newest card stays at the top level, as receipts written before this list had it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.model import JSON
from bot.ports import Store, UnitOfWork


def receipt_key(reference: str) -> str:
    return f"post:teams:{reference}"  # the key family bot.delivery.Courier uses for receipts


@dataclass(frozen=True)
class Card:
    activity_id: str
    reference: JSON  # the conversation it is in (a stored conversation reference)
    item: str = ""  # the outbox item that posted it ("" in receipts from before the list)

    def to_doc(self) -> JSON:
        return {"activity_id": self.activity_id, "reference": self.reference, "item": self.item}


def cards_of(doc: JSON | None) -> list[Card]:
    if not doc:
        return []
    if isinstance(doc.get("cards"), list):
        cards = doc["cards"]
        return [Card(str(c["activity_id"]), c["reference"], c.get("item", "")) for c in cards]
    if doc.get("activity_id"):
        return [Card(str(doc["activity_id"]), doc["reference"])]
    return []


def doc_of(cards: list[Card]) -> JSON:
    doc: JSON = {"cards": [c.to_doc() for c in cards]}
    if cards:
        doc.update(activity_id=cards[-1].activity_id, reference=cards[-1].reference)
    return doc


class Receipts:
    """The card lists in the store; one change at a time, as late answers arrive on their own."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = asyncio.Lock()

    async def cards(self, reference: str) -> list[Card]:
        return cards_of(await self.store.get_meta(receipt_key(reference)))

    async def add(self, reference: str, card: Card) -> None:
        async with self._lock:
            cards = await self.cards(reference)
            if all(c.activity_id != card.activity_id for c in cards):
                await self.store.commit(
                    UnitOfWork(meta={receipt_key(reference): doc_of([*cards, card])})
                )

    async def drop(self, reference: str, gone: set[str]) -> None:
        """Forget cards Teams no longer has (deleted in Teams: 404)."""
        if not gone:
            return
        async with self._lock:
            cards = await self.cards(reference)
            kept = [c for c in cards if c.activity_id not in gone]
            if len(kept) != len(cards):
                await self.store.commit(UnitOfWork(meta={receipt_key(reference): doc_of(kept)}))
