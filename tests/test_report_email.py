"""The email to POSH as the sender sees it: the school's name, set or not, and who is named."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.facts import DEFAULT_FACTS
from bot.model import Case, Person, Platform, PoshOwner
from bot.report import build_handoff

AT = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def _case() -> Case:
    return Case(
        reference="TT-2026-0007",
        created_at=AT,
        reporter=Person(Platform.TERMINAL, "local", "sam"),
        conversation_id="c7",
        answers={
            "links": [{"url": "", "handle": "fake.mr.smith", "label": "@fake.mr.smith"}],
            "harm": ["impersonation"],
            "target": ["staff"],
            "name": "Sam Patel",
            "contact": {"phone": "01632 960123", "email": ""},
        },
    )


def test_with_no_school_name_the_email_asks_the_sender_to_write_it_in() -> None:
    h = build_handoff(_case(), DEFAULT_FACTS, AT)
    first, *_ = h.body.splitlines()
    assert first.startswith("[Before sending: write your school's name")
    assert "I am writing from [your school's name] about" in h.body
    assert h.body.rstrip().endswith("Thank you,\n[your school's name]")
    assert "[your school's name]" in h.subject
    assert "reportbot.toml" not in h.body + h.subject  # an administrator's note, not for POSH


def test_with_the_school_name_set_the_email_is_ready_as_it_is() -> None:
    facts = replace(DEFAULT_FACTS, school_name="Oakfield Academy")
    h = build_handoff(_case(), facts, AT)
    assert h.body.startswith("Dear POSH team,")
    assert "I am writing from Oakfield Academy about" in h.body
    assert "[" not in h.body.split("\n")[2] and "Oakfield Academy" in h.subject


def test_each_name_stays_with_the_target_it_names() -> None:
    """Found by trying it: with staff and someone else chosen, both names followed the last."""
    case = _case()
    case.answers |= {
        "target": ["staff", "school", "other"],
        "target_staff": "Mrs A Okafor, Headteacher",
        "target_other": "a parent governor",
    }
    line = next(
        x for x in build_handoff(case, DEFAULT_FACTS, AT).body.splitlines() if "targeted" in x
    )
    assert line == (
        "Who is targeted: A member of staff – Mrs A Okafor, Headteacher; The school itself; "
        "Someone else – a parent governor"
    )


def test_a_role_typed_with_the_name_is_said_once() -> None:
    case = _case()
    case.answers |= {"name": "Sam Patel, deputy head", "role": "Deputy Head"}
    body = build_handoff(case, DEFAULT_FACTS, AT).body
    assert "Reported to us by: Sam Patel, deputy head – 01632 960123" in body
    case.answers["name"] = "Mr Headley"
    case.answers["role"] = "Head"
    assert "Reported to us by: Mr Headley, Head – " in build_handoff(case, DEFAULT_FACTS, AT).body


def test_content_tiktok_removed_already_is_asked_to_stay_gone() -> None:
    case = _case()
    case.answers |= {"in_app": "yes", "in_app_reply": "removed"}
    body = build_handoff(case, DEFAULT_FACTS, AT).body
    assert "TikTok removed what we reported after our report in the app" in body
    assert "does not come back" in body and "Please ask TikTok to remove the account" not in body


def test_a_reporter_who_sends_it_signs_it_and_a_leader_signs_it_themselves() -> None:
    case = _case()
    case.answers |= {"role": "deputy head"}
    case.posh_owner = PoshOwner.REPORTER
    signed = build_handoff(case, DEFAULT_FACTS, AT).body.rstrip()
    assert signed.endswith("Thank you,\nSam Patel, deputy head\n[your school's name]")
    case.posh_owner = PoshOwner.LEADERS
    assert (
        build_handoff(case, DEFAULT_FACTS, AT)
        .body.rstrip()
        .endswith("Thank you,\n[your school's name]")
    )
