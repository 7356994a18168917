"""Leaders' chat as they type it, found by an exploratory test: their words in the forms they
use, what a case list and its history say of urgent cases, and a note that describes a
child's sexual images (flagged as a reporter's words would flag a report)."""

from __future__ import annotations

from test_engine import LEAD, Bot, texts

from bot.config import Settings
from bot.model import CaseList, CaseStatus, Flag
from bot.timeline import history_rows
from bot.views import case_line

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
