"""A case's post in the leadership channel, the same on every platform.

Posted once, then updated in place; posted again if the platform says the post is gone; looked
for before posting again when an earlier attempt may have got through (a timeout after the
platform took it, a crash before the delivered mark). Case details go only to a private
channel: any other gets the content-free alert, once. A refused full card is shown in its
minimal form. When the case is deleted, every post kept for it is overwritten with one
content-free line, and nothing is posted anew.

Every post id ever made for a case is kept, under `post:PLATFORM:REF`, with the outbox item
that made it (so a retry finds its own post), ids only, no content:

    {"posts": [{"post": <the platform's id, e.g. {"channel", "ts"}>, "item": <outbox id>}, …]}

Receipts written before this list are read as it: Slack's single `{channel, ts}`, and Teams'
`{activity_id, reference, cards: [{activity_id, reference, item}, …]}`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from bot.errors import DeliveryRefused
from bot.model import JSON, Audience, CaseCard, OutboxItem, Person, Platform
from bot.outbox import outbox_item
from bot.ports import LeadershipPosts
from bot.resolve import Gone
from bot.views import CardForm, ResolvedCard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kept:
    """A post made for a case: the platform's id for it, and the outbox item that made it."""

    post: JSON
    item: str = ""  # "" for posts kept before items were recorded

    def to_doc(self) -> JSON:
        return {"post": self.post, "item": self.item}


def receipt_key(platform: Platform, reference: str) -> str:
    return f"post:{platform}:{reference}"


def kept_posts(doc: JSON | None) -> list[Kept]:
    """The posts a receipt holds, whichever shape it was written in."""
    if not doc:
        return []
    if isinstance(doc.get("posts"), list):
        return [Kept(dict(p["post"]), str(p.get("item", ""))) for p in doc["posts"]]
    if isinstance(doc.get("cards"), list):  # Teams, before this list
        return [Kept(_without(c, "item"), str(c.get("item", ""))) for c in doc["cards"]]
    return [Kept(dict(doc))]  # one post's id, as Slack (and Teams at first) kept it


def kept_doc(kept: list[Kept]) -> JSON:
    return {"posts": [k.to_doc() for k in kept]}


async def deliver(
    item: OutboxItem,
    card: CaseCard,
    case: ResolvedCard | Gone,
    kept: list[Kept],
    posts: LeadershipPosts,
) -> list[Kept]:
    """Deliver one leadership case card; returns the posts kept for the case afterwards."""
    kept = list(kept)
    if card.late_post is not None and all(k.post != card.late_post for k in kept):
        kept.append(Kept(dict(card.late_post)))  # its answer came after the attempt gave up
    if isinstance(case, Gone):
        await _scrub_all(kept, case.text, posts)
        return kept
    form = await _form(card, posts)
    if form is None:
        return kept
    shown = replace(case, form=form, update=card.update)
    if card.update:
        live = [k for k in kept if await posts.update(k.post, shown)]
        if live:
            return live  # a post the platform says is gone is forgotten: nothing left to scrub
        if kept:
            log.warning(
                "the %s post of %s is gone; posting it again", item.platform, card.reference
            )
        kept = []
    if item.attempts > 1 and any(k.item == item.id for k in kept):
        return kept  # posted by an earlier attempt, and kept before a crash
    new = await _post(item, shown, posts)
    return kept if any(k.post == new.post for k in kept) else [*kept, new]


async def _scrub_all(kept: list[Kept], text: str, posts: LeadershipPosts) -> None:
    """Every copy overwritten (never a post anew: a deleted case must leave the channel, not
    enter it); one the platform refuses is raised once the others are done."""
    refused: DeliveryRefused | None = None
    for k in kept:
        try:
            await posts.scrub(k.post, text)
        except DeliveryRefused as e:
            refused = e
    if refused is not None:
        raise refused


async def _form(card: CaseCard, posts: LeadershipPosts) -> CardForm | None:
    """How much of the case the card may show; None: nothing to send."""
    if not await posts.private():
        # Case details only where only leaders read; the alert never changes, so an update
        # has nothing to say.
        return None if card.update else CardForm.ALERT
    return CardForm.MINIMAL if card.minimal else CardForm.FULL


async def _post(item: OutboxItem, card: ResolvedCard, posts: LeadershipPosts) -> Kept:
    if item.attempts > 1:  # an earlier claim may have posted it, its answer lost
        earlier = await posts.find_earlier(item)
        if earlier is not None:
            return Kept(earlier, item.id)
    return Kept(await posts.post(item, card), item.id)


def late_post_item(item: OutboxItem, post: JSON, now: datetime) -> OutboxItem:
    """An update of the case's card that keeps `post`, which an attempt at `item` made but
    learned of too late; its id comes from the post, so it is queued once."""
    reference = str(item.reply["reference"])
    late = CaseCard(reference, update=True, late_post=post)
    digest = hashlib.sha256(json.dumps(post, sort_keys=True).encode()).hexdigest()[:16]
    place = Person(item.platform, item.workspace, "")  # the leadership channel: no one person
    return outbox_item(
        place, Audience.LEADERSHIP, {}, late, f"{item.id}:late:{digest}", now, reference
    )


def _without(doc: JSON, key: str) -> JSON:
    return {k: v for k, v in doc.items() if k != key}
