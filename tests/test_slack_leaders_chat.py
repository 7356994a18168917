"""Leaders in Slack beyond the buttons: reminders in the channel, a case shown in a DM."""

from __future__ import annotations

from slack_fakes import LEADER, LEADERS, all_text, dm_channel, report, slack_harness


async def test_a_reminder_reaches_the_leadership_channel_once() -> None:
    async with slack_harness() as h:
        ref = await report(h)
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


async def test_a_leader_can_see_a_case_in_their_dm() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        await h.say(LEADER, f"show {ref}")
        shown = [all_text(m) for m in h.fake.posts(dm_channel(LEADER))]
        assert any(ref in m and "Ms J Patel" in m for m in shown)  # the card
        assert any(m.startswith("History") and "Reported" in m for m in shown)
        assert "New – Sam Staff" in shown[0]  # viewing is not what the card reports
