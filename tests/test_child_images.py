"""A child's sexual images said in someone's own words, and what is said about them after.

The journeys (tests/journeys/journeys.yaml) hold the conversations; these hold the reading of
free text on its own, and what a journey cannot see (capital letters, the card's own lines).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.facts import DEFAULT_FACTS
from bot.flow import accept_sexual_images
from bot.model import Case, CaseStatus, Flag, Person, Platform
from bot.report import checklist, report_text
from bot.safety import child_sexual_content, screenshot_caveat, sexual_images_named
from bot.steps import Answer, Context
from bot.views import case_view

# What staff typed (the first three are from the exploratory tester's reports).
CHILD_CONTENT = [
    "rates year 11 girls, sexual comments and photos of them in their underwear",
    "Says the head is a paedo and shows an explicit video of a year 8 boy",
    "Account posts nude photos of a year 9 girl and comments saying she should kill herself",
    "nude pics of a yr9 girl",
    "sexaul pics of pupils",
    "naked photos of y10s",
    "it shows a pupil in her underware",
    "explicit videos of students",
    "semi nude pictures of a child",
    "indecent images of under 18s",
    "nudes of a student made by year 10 boys",
    "no, but there are nudes of a year 9 girl",
    # found in review: ages and sixth form
    "explicit pictures of a 14 year old",
    "nudes of a 15-year-old",
    "nude photos of a 14yo",
    "images of a 13 yr old in lingerie",
    "topless pics of a sixth former",
    # found by an exploratory test: a pupil's own images, sent or shared, and other words
    "its sharing sexting pics from year 10",
    "yes we reported it this morning, it's now reposting nudes sent by a year 9 girl",
    "a year 9 girl sent nudes to her boyfriend and this account posted them",
    "dick pics from a year 9 boy",
    "sexts from a year 10 girl",
    "upskirt photos of pupils",
    "CSAM of a pupil",
    "pics of a student with no clothes on",
    "nudez of a pupil",
    "a fake account posting nudes a year 8 girl sent",
    # found in review: a made-up word denied, or about other images
    "a year 9 girl sent nudes, they are real, not ai",
    "the account posts edits of Mr Smith, and a year 9 girl sent nudes to it",
    "deepfake nudes of a year 9 girl",
    # F21 (an exploratory test): under 18 when they were taken, whatever their age now
    "nude photos of me when I was 15",
    "topless photos of me aged 17",
    "nudes of miss jones from when she was at school herself",
    "nude photos of me when i was fifteen",
    "explicit pics of her at 16",
    "nudes of her, she's 16",
    "she was only 14 in the naked pictures",
    "naked photos of me from my school days",
    "nude pics of me when i was 16 years old",
    "nude pics of me and her, she was 15",
    "fake nudes of Miss Kay, she was 16 in the photo they edited",
    # F21: children named by their role at school, and nudity said another way
    "sexual video of one of my form group",
    "topless pic of one of my tutees",
    "nude pics of someone in my form",
    "naked photos of a kid in her tutor group",
    "photos of a lad in year 8 with his top off in the changing rooms",
    "videos of year 7 lads with their shirts off",
    # already flagged, and kept so (F21)
    "deepfake nudes of year 8 pupils",
    "AI nudes of a year 10 girl",
    "fake nudes of year 9s",
    "a sixth former in her bra",
    "a year 12 girl topless",
    "one of our girls naked",
    "a student in her underwear",
    "edited nude of a 15yo",
    "nude pics of a yr9",
    "naked pictures of our head girl",
    "upskirt video of a girl in my form",
    "a naked picture of my daughter, she's in year 7 here",
]
NOT_CHILD_CONTENT = [
    "sexual comments about Miss Davies, head of year 9",
    "pupils are posting sexual comments about Mr Smith",
    "a pupil made a fake account with deepfake nudes of me",
    "deepfake nudes of me made by year 10 boys",
    "we think year 10 boys made sexual edits of me",
    "Mrs L Green, Year 6 teacher, sexualised edits of her",
    "nothing sexual, just mocking year 9 pupils",
    "it isnt a pupil, the nudes are of me",
    "no its me im 34",
    "sexist comments about girls",
    "implicit threats to year 9 pupils",
    "Ms J Patel, Head of Year 9",
    # found in review: the bot's main case, sexual smears of staff that pupils share
    "we think its a student who makes sexual comments about me",
    "kids at school are sharing it, sexual stuff about me",
    "pupils follow it, posts sexual memes about teachers",
    "I teach sex education to year 10",
    "she is a sex ed teacher for year 9",
    # images of an adult that pupils sent or made, and an insult
    "year 10 boys sent nudes of Miss Jones around",
    "pupils are sharing nude edits of Mr Smith",
    "a year 9 boy called him a dick",
    "kids are sending it round, sexual stuff about me",
    # found in review: the bot's main case, fake nudes of staff that pupils made or shared
    "year 10 boys made fake nudes of our teacher and posted them",
    "fake nudes of the head posted by year 11s",
    "pupils are sharing nudes of her",
    "the year 11 boys are posting naked pictures of a teacher",
    "nudes of a teacher shared by pupils",
    "year 10 boys made a fake account and posted a fake nude of her",
    "no not of a child, its fake nudes of our deputy head sent round by year 9s",
    # F21: an adult's age, or numbers that are not an age
    "nude photos of me",
    "nude photos of me when I was 25",
    "topless photos of me aged 30",
    "a year 8 boy made a topless edit of Mr X",
    "year 10 boys made fake nudes of me when I was at school",
    "fake nudes of me, I was 15 minutes into a lesson when I saw them",
    "nude edits of miss jones posted at 10 last night",
    "sexual edits of me, I was 16 years into teaching",
    "fake nudes of me and Mr Cole, we were 2 teachers on duty",
    "fake nudes of my form tutor",
    "nude edits of her, posted in my form room",
    "deepfake nudes of our year 10 form group tutor",
    "photos of year 9 pupils on a trip, and to top off the week a video of a fight",
    "naked pictures of her in the form of a meme, made by year 8s",
    "no, they're of me",
    "no, I'm 34, they're fake nudes",
    # the age of whoever made them, not of whoever is in them
    "a year 10 boy made fake nudes of me, he's 15",
    "fake nudes of Mr Smith, she was 14 when she made them",
    "sexual edits of miss jones, he is 13",
]


# Typed at "Could it include sexual images of someone under 18?" (F21): a No that means "not a
# child now", by an age at the time. bot.flow reads the answer as Not sure, and flags it.
NO_BUT_A_CHILD_THEN = [
    "no, they're of me, but they're from when I was 17, my ex posted them years ago",
    "No. They are of her from when she was 16",
    "nope, I was 15 in them",
    "not now, they're of me aged 16",
]
# A No with an age in it, at that question or another: not a child's images.
NO_AND_AN_AGE = [
    "no idea who, probably a 14 year old",
    "no, he was 15 when he made it",
    "no, the account is run by a 14 year old",
    "no one yet, she's 15 and scared of him",
    "no, they're of me when I was 25",
    "they're of me, from when I was 17",  # no answer to the question: it is asked again
]


@pytest.mark.parametrize("text", NO_BUT_A_CHILD_THEN)
def test_a_no_that_says_they_were_under_18_at_the_time_is_read(text: str) -> None:
    assert child_sexual_content(text)


def test_at_the_images_question_a_no_about_their_age_then_flags_the_report() -> None:
    """F21, typed at "Could it include sexual images of someone under 18?": bot.flow reads
    the No as Not sure, flags the report and says what to do, as for any Not sure."""
    sam = Person(Platform.TERMINAL, "local", "sam")
    ctx = Context(
        answers={}, flags=frozenset(), person=sam, facts=DEFAULT_FACTS, today=date.today()
    )
    text = "no, they're of me, but they're from when I was 17, my ex posted them years ago"
    accepted = accept_sexual_images(Answer(text, (), ctx))
    assert accepted.value == "unsure" and accepted.raise_flags == {Flag.SEXUAL_IMAGES}
    assert DEFAULT_FACTS.iwf_report_url in accepted.notices[0].text
    assert accept_sexual_images(Answer("no, they're of me", (), ctx)).value == "no"


@pytest.mark.parametrize("text", NO_AND_AN_AGE)
def test_a_no_with_an_age_that_is_not_the_images_is_not(text: str) -> None:
    assert not child_sexual_content(text)


@pytest.mark.parametrize("text", CHILD_CONTENT)
def test_a_child_in_sexual_content_is_read(text: str) -> None:
    assert child_sexual_content(text)


@pytest.mark.parametrize("text", NOT_CHILD_CONTENT)
def test_staff_roles_posters_and_denials_are_not_a_child_in_it(text: str) -> None:
    assert not child_sexual_content(text)


def _case(flags: frozenset[Flag], status: CaseStatus = CaseStatus.NEW) -> Case:
    at = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    return Case(
        reference="TT-2026-0001",
        created_at=at,
        reporter=Person(Platform.TERMINAL, "local", "priya"),
        conversation_id="c1",
        answers={
            "links": [{"url": "", "handle": "year11.hotlist", "label": "@year11.hotlist"}],
            "harm": ["sexualised"],
            "sexual_images": "no",
            "target": ["pupils"],
            "sexual_images_again": "no",
            "first_seen": "2026-12-01",
            "in_app": "no",
            "evidence": "not_yet",
            "description": "photos of year 11 girls in their underwear",
            "poster": "pupils",
            "told": ["nobody"],
            "name": "Priya Shah",
            "role": "Head of Year 11",
            "contact": {"phone": "07700 900456", "email": ""},
            "who_calls": "reporter",
        },
        flags=flags,
        status=status,
    )


def test_the_email_says_only_what_is_known_and_never_describes_the_images() -> None:
    body = report_text(_case(frozenset({Flag.SEXUAL_IMAGES, Flag.PUPILS_TARGETED})), DEFAULT_FACTS)
    assert "underwear" not in body and "year 11 girls" not in body
    assert "have not included any images, or any description of them" in body
    assert "Who has been told: Nobody yet" in body
    for untrue in ("Nobody at the school has", "involving the police", "Staff said"):
        assert untrue not in body
    assert "Screenshots held" not in body


def test_the_email_leaves_out_tiktoks_answer_when_it_describes_the_images() -> None:
    """Found in review: TikTok's answer, typed by the reporter, was sent as typed."""
    case = _case(frozenset({Flag.SEXUAL_IMAGES}))
    case.answers.update(
        in_app="yes",
        in_app_when="2026-11-30",
        in_app_reply="they said it's fine though it has nude photos of a year 9 girl",
    )
    body = report_text(case, DEFAULT_FACTS)
    assert "nude photos" not in body and "year 9 girl" not in body
    assert "TikTok's answer: [" in body


def test_leaders_card_keeps_the_words_marked_as_not_sent() -> None:
    case = _case(frozenset({Flag.SEXUAL_IMAGES}))
    lines = dict(case_view(case, DEFAULT_FACTS, case.created_at).lines)
    assert lines["What it shows (not sent to POSH)"] == case.answers["description"]


def test_screenshots_in_the_checklist_carry_the_caveat() -> None:
    items = checklist(_case(frozenset()), DEFAULT_FACTS)
    shots = next(i for i in items if i.startswith("Screenshots"))
    assert screenshot_caveat(DEFAULT_FACTS) in shots
    assert DEFAULT_FACTS.iwf_report_url in shots and DEFAULT_FACTS.ceop_url in shots


def test_urgent_alert_names_the_link_and_the_reporter_and_reads_as_sentences() -> None:
    case = _case(frozenset({Flag.DANGER, Flag.SEXUAL_IMAGES}), CaseStatus.REPORTING)
    case.answers = {"links": case.answers["links"]}  # only the link so far, no name
    view = case_view(case, DEFAULT_FACTS, case.created_at)
    lines = dict(view.lines)
    assert lines["TikTok links"] == "https://www.tiktok.com/@year11.hotlist"
    # The platform's name for them (none in the terminal: never its login, priya)
    assert lines["Reporting"].startswith("The person making this report, ")
    assert "priya" not in " ".join(lines.values())
    case.reporter = Person(Platform.TEAMS, "t1", "29:1", name="Priya Shah")
    assert dict(case_view(case, DEFAULT_FACTS, case.created_at).lines)["Reporting"].startswith(
        "Priya Shah, "
    )
    assert view.status_line.endswith(
        "flags someone may be in immediate danger. It may include sexual images of someone under 18"
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("including the one where she is in her underwear", True),
        ("a topless photo of her", True),
        ("she is naked in one of the videos", True),
        ("fake nudes of miss jones", False),  # an adult's, said so
        ("topless photo of Mr Smith", False),
        ("nude photos of me", False),  # the reporter, an adult
        ("mean comments about her hair", False),
    ],
)
def test_sexual_images_named_without_an_age(text: str, named: bool) -> None:
    """For a report that targets pupils (bot.engine): such images, no age said, are a child's."""
    assert sexual_images_named(text) is named


def test_one_reading_of_a_child_s_images_with_the_report_s_flags() -> None:
    """Found in review: after the handoff and in leaders' notes, "nudes of her" on a report
    that targets pupils was read more narrowly than in the report's own answers."""
    from bot.safety import describes_child_images

    said = "it's back up again and now there are nudes of her on it"
    assert describes_child_images(said, frozenset({Flag.PUPILS_TARGETED}))
    assert not describes_child_images(said, frozenset())
    assert describes_child_images("nude pics of a year 9", frozenset())
