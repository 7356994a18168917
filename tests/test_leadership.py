"""bot.leadership on its own: every decision about a case's leadership posts, made once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.errors import DeliveryRefused
from bot.leadership import Kept, deliver, kept_doc, kept_posts
from bot.model import JSON, Audience, CaseCard, OutboxItem, Platform
from bot.resolve import Gone
from bot.views import CardForm, CaseView, ResolvedCard

NOW = datetime(2026, 11, 25, 11, tzinfo=UTC)
VIEW = CaseView("TT-2026-0001", "TikTok report TT-2026-0001", "new", "New", (), None, (), "alert")
CASE = ResolvedCard(VIEW, "The helpline is open now.")
GONE = Gone("TT-2026-0001", "Case TT-2026-0001 was deleted under the school's retention schedule.")


def item(attempts: int = 1, item_id: str = "case:TT-2026-0001:leadership") -> OutboxItem:
    reply = {"type": "case_card", "reference": "TT-2026-0001", "update": False}
    return OutboxItem(
        item_id, Platform.SLACK, Audience.LEADERSHIP, "T1", {}, reply, NOW, attempts=attempts
    )


@dataclass
class Channel:
    """A leadership channel that records what it was asked to do."""

    private_: bool = True
    gone: set[str] = field(default_factory=set)
    unreachable: set[str] = field(default_factory=set)  # scrubs refused (Teams gave no id)
    earlier: JSON | None = None
    calls: list[tuple[str, str, object]] = field(default_factory=list)
    made: int = 0

    async def private(self) -> bool:
        return self.private_

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        self.made += 1
        self.calls.append(("post", f"p{self.made}", (card.form, card.update)))
        return {"id": f"p{self.made}"}

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        self.calls.append(("update", post["id"], (card.form, card.update)))
        return post["id"] not in self.gone

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        self.calls.append(("find", item.id, None))
        return self.earlier

    async def scrub(self, post: JSON, text: str) -> None:
        self.calls.append(("scrub", post["id"], text))
        if post["id"] in self.unreachable:
            raise DeliveryRefused("no id")


def kept(*ids: str) -> list[Kept]:
    return [Kept({"id": i}, f"item-{i}") for i in ids]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (None, []),
        ({}, []),
        ({"channel": "C1", "ts": "1.2"}, [Kept({"channel": "C1", "ts": "1.2"})]),  # Slack's
        (
            {"activity_id": "a1", "reference": {"x": 1}},
            [Kept({"activity_id": "a1", "reference": {"x": 1}})],
        ),
        (
            {  # Teams' card list, the newest also at the top level
                "activity_id": "a2",
                "reference": {"x": 1},
                "cards": [
                    {"activity_id": "a1", "reference": {"x": 1}, "item": "i1"},
                    {"activity_id": "a2", "reference": {"x": 1}},
                ],
            },
            [
                Kept({"activity_id": "a1", "reference": {"x": 1}}, "i1"),
                Kept({"activity_id": "a2", "reference": {"x": 1}}),
            ],
        ),
    ],
)
def test_every_receipt_shape_ever_written_reads_as_the_list(
    doc: JSON | None, expected: list[Kept]
) -> None:
    assert kept_posts(doc) == expected
    assert kept_posts(kept_doc(expected)) == expected  # and the list reads as itself


async def test_a_first_post_in_a_private_channel_is_the_full_card() -> None:
    channel = Channel()
    after = await deliver(item(), CaseCard("TT-2026-0001"), CASE, [], channel)
    assert channel.calls == [("post", "p1", (CardForm.FULL, False))]
    assert after == [Kept({"id": "p1"}, "case:TT-2026-0001:leadership")]


async def test_a_channel_that_is_not_private_gets_the_alert_once_and_no_updates() -> None:
    channel = Channel(private_=False)
    after = await deliver(item(), CaseCard("TT-2026-0001"), CASE, [], channel)
    assert channel.calls == [("post", "p1", (CardForm.ALERT, False))]
    update = CaseCard("TT-2026-0001", update=True)
    assert await deliver(item(), update, CASE, after, channel) == after
    assert len(channel.calls) == 1


async def test_a_refused_card_is_tried_in_its_minimal_form() -> None:
    channel = Channel()
    await deliver(item(), CaseCard("TT-2026-0001", minimal=True), CASE, [], channel)
    assert channel.calls == [("post", "p1", (CardForm.MINIMAL, False))]


async def test_an_update_reaches_every_kept_post_and_forgets_the_gone_ones() -> None:
    channel = Channel(gone={"p2"})
    update = CaseCard("TT-2026-0001", update=True)
    after = await deliver(item(), update, CASE, kept("p1", "p2", "p3"), channel)
    assert [c[:2] for c in channel.calls] == [("update", "p1"), ("update", "p2"), ("update", "p3")]
    assert after == kept("p1", "p3")


async def test_when_every_post_is_gone_the_update_is_posted_again() -> None:
    channel = Channel(gone={"p1"})
    update = CaseCard("TT-2026-0001", update=True)
    after = await deliver(item(), update, CASE, kept("p1"), channel)
    assert channel.calls[-1] == ("post", "p1", (CardForm.FULL, True))
    assert [k.post for k in after] == [{"id": "p1"}]  # the channel's new id, not the old one


async def test_a_deleted_case_scrubs_every_kept_post_and_posts_nothing() -> None:
    channel = Channel()
    late = CaseCard("TT-2026-0001", update=True, late_post={"id": "late"})
    after = await deliver(item(), late, GONE, kept("p1", "p2"), channel)
    assert channel.calls == [("scrub", i, GONE.text) for i in ("p1", "p2", "late")]
    assert [k.post["id"] for k in after] == ["p1", "p2", "late"]  # kept: content-free ids


async def test_a_copy_that_refuses_its_scrub_leaves_the_others_scrubbed_and_is_raised() -> None:
    channel = Channel(unreachable={"p1"})
    with pytest.raises(DeliveryRefused):
        await deliver(item(), CaseCard("TT-2026-0001"), GONE, kept("p1", "p2"), channel)
    assert channel.calls == [("scrub", i, GONE.text) for i in ("p1", "p2")]


async def test_a_post_found_late_joins_the_list_once() -> None:
    channel = Channel()
    late = CaseCard("TT-2026-0001", update=True, late_post={"id": "p1"})
    after = await deliver(item(), late, CASE, kept("p1"), channel)
    assert after == kept("p1")


async def test_the_first_attempt_never_looks_for_an_earlier_post() -> None:
    channel = Channel(earlier={"id": "found"})
    await deliver(item(attempts=1), CaseCard("TT-2026-0001"), CASE, [], channel)
    assert [c[0] for c in channel.calls] == ["post"]


async def test_a_retry_looks_for_the_earlier_post_before_posting() -> None:
    channel = Channel(earlier={"id": "found"})
    after = await deliver(item(attempts=2), CaseCard("TT-2026-0001"), CASE, [], channel)
    assert [c[0] for c in channel.calls] == ["find"]
    assert after == [Kept({"id": "found"}, "case:TT-2026-0001:leadership")]


async def test_a_retry_whose_post_was_kept_before_a_crash_posts_nothing() -> None:
    channel = Channel()
    mine = [Kept({"id": "p1"}, "case:TT-2026-0001:leadership")]
    after = await deliver(item(attempts=2), CaseCard("TT-2026-0001"), CASE, mine, channel)
    assert channel.calls == [] and after == mine
