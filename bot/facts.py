"""Helpline and safety facts: the one place they live, each with its source.

A school can override any of them in its configuration file (`[facts]` in reportbot.toml), for
example when POSH changes its hours. Nothing else in the code spells out a phone number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Bank-holiday calendars the `holidays` package keeps for the UK: England and Wales share one.
HOLIDAY_REGIONS = frozenset({"GB-ENG", "GB-WLS", "GB-SCT", "GB-NIR"})


@dataclass(frozen=True)
class Facts:
    # Professional Online Safety Helpline, UK Safer Internet Centre. Source: TikTok/NAHT
    # guidance to schools (Nov 2021); saferinternet.org.uk/professionals-online-safety-helpline
    posh_name: str = "Professional Online Safety Helpline (POSH)"
    posh_phone: str = "0344 381 4772"
    posh_email: str = "helpline@saferinternet.org.uk"
    # Source: saferinternet.org.uk safeguarding page. Monday=0 … Friday=4, UK local time.
    posh_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    posh_opens: str = "10:00"
    posh_closes: str = "16:00"
    posh_timezone: str = "Europe/London"
    # Immediate danger to anyone.
    emergency: str = "999"
    # Sexual images of anyone under 18. Source: UKCIS "Sharing nudes and semi-nudes:
    # advice for education settings" (2024); Internet Watch Foundation.
    iwf_report_url: str = "https://www.iwf.org.uk/report"
    # Grooming or sexual abuse of a child (not bullying, fake accounts or hacking).
    # Source: CEOP Safety Centre.
    ceop_url: str = "https://www.ceop.police.uk"
    # For the public, after the platform's own route has been tried. Source: SWGfL.
    rhc_url: str = "https://reportharmfulcontent.com"
    # Reporting a fake account in the app, and TikTok's online form that anyone can use.
    # Source: TikTok Help Centre (support.tiktok.com), "Report an impersonation account".
    tiktok_report_howto: str = (
        "In TikTok, open the account's profile, tap the Share arrow, then Report → Report "
        "account → “Pretending to Be Someone” → “Me”. The member of staff impersonated should "
        "report it this way, as “Me”; for a video or comment, press and hold it, tap Report and "
        "pick the closest reason."
    )
    tiktok_form_howto: str = (
        "Anyone can also use TikTok's online form (support.tiktok.com, “Report an "
        "impersonation account”): Topic “Report a potential violation” → Category “Account "
        "violation” → Reason “Impersonation”."
    )
    # Support for anyone working in education: free, confidential, 24/7.
    # Source: Education Support press releases (2016, 2019); educationsupport.org.uk.
    staff_support_name: str = "Education Support"
    staff_support_phone: str = "08000 562 561"
    staff_support_url: str = "https://www.educationsupport.org.uk"
    # For anyone struggling to cope or thinking of ending their life: free, any time, day or
    # night. Sources: samaritans.org ("Contact Samaritans": 116 123, free, 24 hours);
    # giveusashout.org (Shout: text SHOUT to 85258, free, 24/7).
    samaritans_phone: str = "116 123"
    shout_text: str = "text SHOUT to 85258"
    # Police non-emergency number (England and Wales). Source: police.uk.
    police_non_emergency: str = "101"
    # Intimate images of an adult, sexualised edits and deepfakes included; for over-18s in the
    # UK. Source: SWGfL, revengepornhelpline.org.uk; StopNCII.org hashes images to stop them
    # being shared.
    rph_phone: str = "0345 6000 459"
    rph_hours: str = "Monday–Friday, 10:00–16:00, not bank holidays"
    rph_url: str = "https://revengepornhelpline.org.uk"
    stopncii_url: str = "https://stopncii.org"
    # POSH is closed on England and Wales bank holidays (source: gov.uk/bank-holidays, through
    # the `holidays` package, country GB, subdivision ENG); "" turns that off. A school adds
    # other days it knows the line is closed, as ISO dates.
    posh_holidays: str = "GB-ENG"
    posh_closed: tuple[str, ...] = ()
    # Where leaders escalate when TikTok does not act (configurable: NAHT, ASCL, NEU…).
    union_contact: str = "your union's regional office (NAHT, ASCL or your own union)"
    # The school's name, for the email to POSH. Unset, start-up warns and the email says so.
    school_name: str = ""

    @property
    def school(self) -> str:
        return self.school_name or SCHOOL_UNSET


DEFAULT_FACTS = Facts()
"""The facts as published, for a pure function called without a school's own (in tests)."""

SCHOOL_UNSET = "[our school – the bot's administrator sets the name in reportbot.toml, [school]]"
OPTIONAL = frozenset({"school_name", "posh_holidays"})


def facts_with(overrides: dict[str, Any]) -> Facts:
    """Facts with a school's overrides applied and checked: a wrong value must stop start-up,
    not break the handoff of the first report. Raises KeyError (unknown name) or ValueError."""
    known = {f.name for f in fields(Facts)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise KeyError(", ".join(unknown))
    cleaned = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    facts = replace(Facts(), **cleaned)  # type: ignore[arg-type]
    _check(facts)
    return facts


def _check(facts: Facts) -> None:
    for f in fields(Facts):
        value = getattr(facts, f.name)
        if f.name in ("posh_days", "posh_closed") or f.name in OPTIONAL:
            continue
        if not (isinstance(value, str) and value.strip()):
            raise ValueError(f"{f.name} must be some text")
    for name in OPTIONAL:
        if not isinstance(getattr(facts, name), str):
            raise ValueError(f"{name} must be text")
    for day in facts.posh_closed:
        try:
            date.fromisoformat(str(day))
        except ValueError:
            raise ValueError(f"posh_closed must list dates like 2026-12-24, not {day!r}") from None
    if facts.posh_holidays and facts.posh_holidays not in HOLIDAY_REGIONS:
        regions = ", ".join(sorted(HOLIDAY_REGIONS))
        raise ValueError(f"posh_holidays must be one of {regions}, or empty")
    try:
        ZoneInfo(facts.posh_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"posh_timezone {facts.posh_timezone!r} is not a time zone") from None
    for name in ("posh_opens", "posh_closes"):
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", getattr(facts, name)):
            raise ValueError(f"{name} must be a time like 10:00")
    if facts.posh_opens >= facts.posh_closes:
        raise ValueError("posh_opens must be before posh_closes")
    days = facts.posh_days
    if not days or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
        raise ValueError("posh_days must list weekdays as numbers, Monday 0 to Sunday 6")


def phone_uri(phone: str) -> str:
    """tel: link in international form: 0344 381 4772 → tel:+443443814772."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if digits.startswith("0"):
        digits = "+44" + digits[1:]
    return "tel:" + digits
