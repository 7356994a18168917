"""Leaders' chat as they type it, found by an exploratory test: their words in the forms they
use, what a case list and its history say of urgent cases, and a note that describes a
child's sexual images (flagged as a reporter's words would flag a report)."""

from __future__ import annotations

from test_engine import LEAD, Bot, texts

from bot.config import Settings
from bot.model import Audience, CaseCard, CaseList, CaseStatus, Flag, Notice
from bot.timeline import history_rows
from bot.views import case_line, case_view

FACTS = Settings().facts


async def _child_images_case(bot: Bot) -> None:
    for text in ("report", "@fake.mr.smith", "done", "5", "no", "yes"):
        await bot.say(text)


async def test_an_open_urgent_case_leads_its_list_line_and_says_why() -> None:
    bot = Bot()
    await _child_images_case(bot)
    listing = await bot.say("cases", person=LEAD, is_leader=True)
    [shown] = [r for r in listing if isinstance(r, CaseList)]
    assert shown.lines[0].startswith("URGENT (child images) – TT-2026-0001 – Urgent")
    case = await bot.store.case("TT-2026-0001")
    assert case is not None
    case.flags = frozenset({Flag.DANGER, Flag.SEXUAL_IMAGES})
    assert case_line(case, FACTS).startswith("URGENT (danger, child images) – TT-2026-0001")
    case.status = CaseStatus.CLOSED  # ended: no longer urgent
    assert case_line(case, FACTS).startswith("TT-2026-0001 – Closed")


async def test_the_history_says_an_urgent_alert_in_words_not_codes() -> None:
    bot = Bot()
    await _child_images_case(bot)
    case = await bot.store.case("TT-2026-0001")
    assert case is not None
    [row] = history_rows(case)
    assert row.action == "Urgent alert to leaders: possible sexual images of someone under 18"
    assert row.change == ""
    shown = texts(await bot.say("show TT-2026-0001", person=LEAD, is_leader=True))
    assert "sexual_images" not in shown and "– →" not in shown


# --- a note that describes a child's sexual images ------------------------------------------


async def test_a_leader_s_note_describing_a_child_s_nude_photo_flags_the_case() -> None:
    bot = Bot()
    await bot.report()
    note = "note TT-2026-0001 she says there is now a nude photo of a year 8 boy on the account"
    replies = await bot.say(note, person=LEAD, is_leader=True)
    titles = [r.title for r in replies if isinstance(r, Notice)]
    assert "Sexual images of someone under 18" in titles
    told = texts(replies)
    assert "don't copy, screenshot, download, forward" in told and "Internet Watch" in told
    assert "TT-2026-0001 is now flagged for it" in told and "Note added to TT-2026-0001." in told
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and Flag.SEXUAL_IMAGES in case.flags
    assert case.retention_category == "child_protection"
    assert case.history[-2].note.startswith("she says there is now a nude photo")  # kept
    view = case_view(case, FACTS, bot.clock.now())
    assert view.title.startswith("URGENT")
    assert view.handoff is not None
    assert not any("Screenshots" in c for c in view.handoff.checklist)
    assert CaseCard("TT-2026-0001", update=True) in bot.out.replies(Audience.LEADERSHIP)
    history = texts(await bot.say("show TT-2026-0001", person=LEAD))
    assert "Flagged: possible sexual images of someone under 18: said in a note" in history


async def test_a_move_s_reason_is_read_too_and_copies_get_the_no_copies_notice() -> None:
    bot = Bot()
    await bot.report()
    await bot.say("sent TT-2026-0001", person=LEAD, is_leader=True)
    reason = "refused TT-2026-0001 because they say the nude pics of a 14 year old are fine"
    told = texts(await bot.say(reason, person=LEAD))
    assert "Report the web address only to the Internet Watch Foundation" in told
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and Flag.SEXUAL_IMAGES in case.flags
    replies = await bot.say("note TT-2026-0001 Mr B saved copies on his phone", person=LEAD)
    assert "Don't keep copies" in [r.title for r in replies if isinstance(r, Notice)]
    plain = await bot.say("note TT-2026-0001 POSH called back", person=LEAD)
    assert texts(plain) == "Note added to TT-2026-0001."
