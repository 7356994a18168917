"""Urgent cases opened before a report is finished: what they hold, how long they are kept,
how leaders see them, and what happens when the reporter walks away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from test_engine import HAPPY, STAFF, Bot, texts

from bot import lifecycle, retention
from bot.codec import reply_from_dict
from bot.config import Settings
from bot.filing import merge_into
from bot.model import Audience, Case, CaseCard, CaseStatus, Flag, Person, Platform
from bot.reminders import Reminders
from bot.views import case_view

FACTS = Settings().facts
SCHEDULE = retention.check_schedule(Settings().retention)
NO_NAME = Person(Platform.TERMINAL, "", "root")  # a terminal: the OS user name is never used


async def _child_images_flagged(bot: Bot, person: Person = STAFF) -> Case:
    """Links, harm, danger no, child images yes – then nothing more."""
    for text in ("report", "@fake.mr.smith", "done", "5", "no", "yes"):
        await bot.say(text, person=person)
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.status == CaseStatus.REPORTING
    return case


async def test_an_unfinished_child_images_case_is_kept_as_child_protection() -> None:
    case = await _child_images_flagged(Bot())
    assert case.retention_category == "child_protection"
    assert retention.review_of(case, SCHEDULE).years == 25


async def test_an_urgent_case_knows_its_account_before_the_report_is_finished() -> None:
    bot = Bot()
    case = await _child_images_flagged(bot)
    assert case.handles == ("fake.mr.smith",)
    assert [c.reference for c in await bot.store.cases(handles=["fake.mr.smith"])] == [
        "TT-2026-0001"
    ]


async def test_a_finished_danger_report_of_threats_to_staff_is_a_staff_allegation() -> None:
    # The urgent case opened at the danger answer, before anyone was named as targeted.
    answers = [*HAPPY]
    answers[2], answers[3] = "4", "yes"  # threats of violence; someone in immediate danger
    bot = Bot()
    await bot.report(answers)
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and Flag.DANGER in case.flags
    assert case.retention_category == "staff_allegation"
    assert retention.review_of(case, SCHEDULE).years == 10


async def test_an_impersonation_report_is_online_abuse() -> None:
    bot = Bot()
    await bot.report()  # fake account and harassment of a member of staff
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.retention_category == "online_abuse"
    assert retention.review_of(case, SCHEDULE).years == 6


def _case(reference: str, category: str, **answers: object) -> Case:
    case = Case(reference, datetime(2026, 11, 25, tzinfo=UTC), STAFF, "", dict(answers))
    case.retention_category = category
    return case


def test_a_second_report_can_lengthen_the_keeping_but_never_shorten_it() -> None:
    original = _case("TT-2026-0001", "online_abuse", harm=["impersonation"])
    pupils = _case("TT-2026-0002", "child_protection", harm=["harassment"], target=["pupils"])
    pupils.flags = frozenset({Flag.PUPILS_TARGETED})
    merge_into(original, pupils)
    assert original.retention_category == "child_protection"
    milder = _case("TT-2026-0003", "online_abuse", harm=["impersonation"])
    merge_into(original, milder)
    assert original.retention_category == "child_protection"


async def test_the_card_stays_urgent_while_flagged_and_open() -> None:
    answers = [*HAPPY]
    answers[3] = "yes"  # someone in immediate danger
    bot = Bot()
    await bot.report(answers)
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.status == CaseStatus.NEW
    now = bot.clock.now()
    assert case_view(case, FACTS, now).title == "URGENT – TikTok report TT-2026-0001"
    lifecycle.apply(case, "close", "Dee Head", now, "dealt with")
    assert case_view(case, FACTS, now).title == "TikTok report TT-2026-0001"


async def test_an_urgent_post_without_a_name_says_who_to_contact() -> None:
    case = await _child_images_flagged(Bot(), NO_NAME)
    view = case_view(case, FACTS, datetime(2026, 11, 25, 11, tzinfo=UTC))
    shown = " ".join([view.status_line, *(v for _, v in view.lines)])
    assert "Contact the person making this report now" in shown
    assert "A member of staff" not in shown and "root" not in shown


async def test_an_urgent_report_left_past_expiry_is_swept_without_the_reporter() -> None:
    bot = Bot()
    await _child_images_flagged(bot)
    reminders = Reminders(bot.store, FACTS, bot.clock, expiry=timedelta(hours=24))
    bot.clock.advance(hours=23)
    assert await reminders.sweep() == 0  # still the reporter's to finish
    bot.clock.set(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))  # past expiry, at night
    await reminders.check()
    assert await bot.store.conversation(STAFF.key) is None
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.status == CaseStatus.REPORTING
    assert case.history[-1].action == "report_expired"
    assert case.answers["harm"] == ["sexualised"]
    view = case_view(case, FACTS, bot.clock.now())
    assert "did not finish it" in dict(view.lines)["What to do"]
    items = await bot.store.outbox_items()
    cards = [i for i in items if i.audience == Audience.LEADERSHIP]
    assert reply_from_dict(cards[-1].reply) == CaseCard("TT-2026-0001", update=True)
    await bot.courier.drain()  # the reporter is told, in their chat
    assert "Leadership were already alerted to its safety concern" in texts(bot.out.take())
    assert await reminders.sweep() == 0  # once
    assert "expired" not in texts(await bot.say("report"))  # nothing left to expire
