"""The safety routes: words that mean someone may be at risk, and what the bot says then.

Risk words are a short, readable list, not a model: a false alarm costs one extra question,
a missed one could cost a life, so the list leans towards asking. When any answer at any step
holds one, the engine shows the 999 notice at once and asks the danger question.

Once a report is flagged as possibly holding sexual images of a child, nothing the bot says
about it may ask for, suggest or accept images (UKCIS, "Sharing nudes and semi-nudes", 2024:
making or keeping a copy is an offence). `IMAGE_REQUESTS` lists the wording that would; the
tests hold every path of such a report against it.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet

from bot.facts import Facts
from bot.model import Flag, Notice

# Whole words or phrases, matched case-insensitively. Kept short on purpose (see above).
RISK_PATTERNS = (
    r"kill(?:s|ed|ing)?\s+(?:him|her|them|my|me|it|your)self",
    r"kill(?:s|ed|ing)?",
    r"suicid(?:e|al)",
    r"kys",
    r"end(?:s|ing)?\s+(?:my|his|her|their)\s+life",
    r"end\s+it\s+all",
    r"(?:hurt|harm|cut)(?:s|ing)?\s+(?:my|him|her|them|your)sel(?:f|ves)",
    r"self[\s-]?harm(?:ing)?",
    r"overdose",
    r"weapons?",
    r"knife|knives",
    r"guns?",
    r"shoot(?:s|ing)?",
    r"stab(?:s|bed|bing)?",
    r"bombs?",
    r"going\s+to\s+(?:hurt|kill|attack|stab|shoot|bomb|die|jump|beat)\b",
    r"gonna\s+(?:hurt|kill|attack|stab|shoot|bomb|die|jump|beat)\b",
)
_RISK = re.compile(r"\b(?:" + "|".join(RISK_PATTERNS) + r")\b", re.IGNORECASE)

# Wording that asks for, suggests or accepts images. Never shown on a report flagged
# SEXUAL_IMAGES (case-insensitive substrings).
IMAGE_REQUESTS = (
    "do you have screenshots",
    "take screenshots",
    "take a screenshot",
    "screenshots showing",
    "screenshots that show",
    "keep screenshots",
    "keep them somewhere secure",
    "screenshots held",
    "with the link and date showing",
)

# An answer that speaks of copies of the content (on a report flagged for a child's images).
_COPIES = re.compile(
    r"\b(?:screen\s?shots?|screenshott?(?:ed|ing)|screen\s?grabs?|photos?|pictures?|pics?|"
    r"images?|saved|copy|copies|copied|downloaded|recorded|recording)\b",
    re.IGNORECASE,
)


def risk_words(text: str) -> list[str]:
    """The risk words or phrases in the text, as typed ([] if none)."""
    return [m.group(0) for m in _RISK.finditer(text)]


def danger_notice(facts: Facts, *, unsure: bool = False) -> Notice:
    if unsure:
        text = (
            "If you're not sure, treat it as urgent. If anyone could be at risk right now, call "
            f"{facts.emergency}. Then tell your Designated Safeguarding Lead (DSL) straight away."
        )
    else:
        text = (
            f"Call {facts.emergency} now if anyone is in immediate danger, then tell your "
            "Designated Safeguarding Lead (DSL)."
        )
    return Notice(
        text + " I've saved your place – carry on when it is safe.",
        tone="danger",
        title=f"Immediate danger: call {facts.emergency}",
    )


def risk_notice(facts: Facts, *, asking: bool = True) -> Notice:
    """`asking`: the danger question follows (not when it has been asked already)."""
    return Notice(
        "What you wrote may mean someone is at risk. If anyone is in immediate danger, call "
        f"{facts.emergency} now, then tell your Designated Safeguarding Lead (DSL)."
        + (" First, one question:" if asking else ""),
        tone="danger",
        title=f"If anyone is in danger, call {facts.emergency}",
    )


def sexual_images_notice(facts: Facts, *, unsure: bool = False, known: bool = False) -> Notice:
    """`known`: the account is already an open case flagged this way."""
    start = (
        "This account is already reported as possibly holding sexual images of someone under 18. "
        if known
        else "If it might be, treat it as if it is. "
        if unsure
        else ""
    ) + "Stop: do not view it again, and do not copy, screenshot, download, forward or save it "
    return Notice(
        start + "– not even as evidence. Tell your Designated Safeguarding Lead (DSL) now; they "
        "will involve the police (101, or 999 if a child is at risk now). Report the web address "
        f"only to the Internet Watch Foundation ({facts.iwf_report_url}), who get such images "
        f"removed. If a child is being groomed or abused, report to CEOP ({facts.ceop_url}). "
        "I've flagged this report, and I won't ask you for any pictures.",
        tone="danger",
        title="Sexual images of someone under 18",
    )


def mentions_copies(text: str) -> bool:
    """Whether an answer speaks of screenshots, photos or saved copies."""
    return bool(_COPIES.search(text))


def no_copies_notice() -> Notice:
    """On a report flagged for a child's sexual images, an answer mentioned keeping copies."""
    return Notice(
        "Please don't make or keep any screenshot, photo or other copy of it – not even as "
        "evidence – and don't send one here. If one has been made, don't share it or open it "
        "again: tell your Designated Safeguarding Lead (DSL) now; they decide with the police "
        "what happens to it (UKCIS guidance).",
        tone="danger",
        title="Don't keep copies",
    )


def kept_flag_notice(flag: Flag) -> Notice:
    """A safety answer changed to No after a Yes: the flag stays, and the person is told why."""
    what = (
        "possibly including sexual images of someone under 18"
        if flag == Flag.SEXUAL_IMAGES
        else "possibly involving someone in immediate danger"
    )
    return Notice(
        f"To be safe, I'll keep this report flagged as {what}; leadership have already been "
        "alerted, and your DSL can review it.",
        tone="warning",
    )


def pupils_notice() -> Notice:
    return Notice(
        "Because pupils are targeted, tell your Designated Safeguarding Lead (DSL) today: "
        "it is a safeguarding matter. Carry on with this report for the account itself.",
        tone="warning",
        title="Pupils targeted: tell the DSL",
    )


def tell_dsl_notice(flags: AbstractSet[Flag]) -> Notice:
    when = "now" if Flag.DANGER in flags or Flag.SEXUAL_IMAGES in flags else "today"
    return Notice(
        f"Please tell your Designated Safeguarding Lead (DSL) {when}: this report raises a "
        "safeguarding concern, and the DSL decides what happens next (including telling any "
        "pupil's parents).",
        tone="warning",
    )


def no_files_notice(flags: AbstractSet[Flag]) -> Notice:
    """A picture or file arrived: it is not kept, and the person is told why."""
    if Flag.SEXUAL_IMAGES in flags:
        text = (
            "Please don't send pictures or files here, and don't copy or share anything from "
            "this account: the DSL, the police and the IWF route cover it. I haven't kept what "
            "you sent. Please type your answer instead."
        )
    else:
        text = (
            "Please don't send pictures or files here: I don't keep them, and if they could "
            "show a child they must not be shared at all. Keep any evidence where your school "
            "keeps safeguarding records, and type your answer instead."
        )
    return Notice(text, tone="warning")


def support_notice(facts: Facts, flags: AbstractSet[Flag], harm: AbstractSet[str]) -> Notice:
    """For the reporter after the handoff: short, and about the person targeted too."""
    child_images = Flag.SEXUAL_IMAGES in flags
    lines = [
        "Don't reply to the account, and don't discuss it with pupils.",
        "Keep a note of the web addresses and dates somewhere the school controls (not a "
        "personal phone)."
        if child_images
        else "Keep any evidence somewhere the school controls, not on a personal phone.",
        f"{facts.staff_support_name}'s free, confidential helpline is open 24/7 to anyone "
        f"working in education: {facts.staff_support_phone} ({facts.staff_support_url}).",
        "Your union can advise and support you, and the person targeted.",
        f"The police ({facts.police_non_emergency}, or {facts.emergency} in danger) for threats, "
        "malicious communications or intimate images.",
    ]
    if "sexualised" in harm and not child_images:
        lines.append(
            "Sexual images or deepfakes of an adult: the Revenge Porn Helpline, "
            f"{facts.rph_phone} ({facts.rph_hours}; for over-18s; {facts.rph_url}), and "
            f"StopNCII ({facts.stopncii_url}) to stop the images being shared."
        )
    lines += [
        f"If TikTok and POSH have not resolved it: Report Harmful Content ({facts.rhc_url}).",
        "Whether a pupil's parents are told is your DSL's decision.",
    ]
    return Notice("\n".join(f"• {line}" for line in lines), title="Looking after yourselves")
