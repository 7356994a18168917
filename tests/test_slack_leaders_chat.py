"""Leaders in Slack beyond the buttons: reminders in the channel, a case shown in a DM."""

from __future__ import annotations

from dataclasses import replace

from slack_fakes import (
    LEADER,
    LEADERS,
    LEADERS_CALL,
    STAFF,
    all_text,
    dm_channel,
    eventually,
    home_event,
    report,
    slack_harness,
)
from store_helpers import save

from bot.model import Person, Platform


async def test_a_reminder_reaches_the_leadership_channel_once() -> None:
    async with slack_harness() as h:
        ref = await report(h, steps=LEADERS_CALL)
        posts = len(h.fake.posts(LEADERS))
        h.clock.advance(days=1, hours=1)  # a working day later, in the daytime
        assert await h.runtime.reminders.check() == 1
        await h.deliver()
        reminders = h.fake.posts(LEADERS)[posts:]
        assert len(reminders) == 1
        assert ref in all_text(reminders[0]) and "not been sent to POSH" in all_text(reminders[0])
        assert await h.runtime.reminders.check() == 0
        await h.deliver()
        assert len(h.fake.posts(LEADERS)) == posts + 1


async def test_a_reminder_follows_a_reporter_who_said_they_would_call_posh() -> None:
    async with slack_harness() as h:
        ref = await report(h)  # the reporter said they would contact POSH
        posts = len(h.fake.posts(LEADERS))
        h.clock.advance(days=1, hours=1)
        assert await h.runtime.reminders.check() == 1
        await h.deliver()
        assert len(h.fake.posts(LEADERS)) == posts  # not to leaders: the reporter owns it
        nudge = all_text(h.fake.dm(STAFF)[-1])
        assert ref in nudge and f"type sent {ref}" in nudge


async def test_a_leader_can_see_a_case_in_their_dm() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        await h.say(LEADER, f"show {ref}")
        shown = [all_text(m) for m in h.fake.posts(dm_channel(LEADER))]
        assert any(ref in m and "Ms J Patel" in m for m in shown)  # the card
        # The history, after the card in the same message: its own lines of the fallback text.
        texts = [str(m["text"]) for m in h.fake.posts(dm_channel(LEADER))]
        history = [t.split("\nHistory", 1)[1] for t in texts if "\nHistory" in t]
        assert history and "Reported" in history[0]
        assert "New – Sam Staff" in shown[0]  # viewing is not what the card reports


async def test_the_home_tab_lists_only_this_workspaces_open_cases() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        case = await h.runtime.store.case(ref)
        assert case is not None
        elsewhere = replace(
            case,
            reference="TT-2026-0099",
            reporter=Person(Platform.TEAMS, "tenant-b", "29:x"),
            conversation_id="other",
        )
        await save(h.runtime.store, elsewhere)
        await h.event(home_event(LEADER))
        await eventually(lambda: len(h.fake.called("views.publish")) == 1)
        view = str(h.fake.called("views.publish")[0]["view"])
        assert ref in view and "TT-2026-0099" not in view
