"""Risk words and words of distress, read as staff write them (from an exploratory test)."""

from __future__ import annotations

import pytest

from bot.facts import DEFAULT_FACTS
from bot.safety import distress_notice, distressed, risk_words


@pytest.mark.parametrize(
    "text",
    [
        "i want to die",
        "i wanna die",
        "I don’t want to be here anymore",
        "thinking of ending it all",
        "i could hang myself",
        "no. but i'm not ok to be honest, i can't cope",
        "only me. I'm not coping",
        "I cant cope with this",
        "i can't take any more",
        # found by an exploratory test (F24): other forms of wanting to die
        "i wanted to die when i saw it",
        "i feel like ending it",
        "i feel suicidal",
        "i can't cope anymore",
        "i've been crying all day, i can't face going in",
        "I cant stop crying",
        "i cannot face work tomorrow",
        "i think i might do something stupid",
        "I’ll do something stupid",
    ],
)
def test_words_of_someone_not_coping_bring_support(text: str) -> None:
    assert distressed(text)


@pytest.mark.parametrize(
    "text",
    [
        "no violation",
        "they said it's ok",
        "Harassment or bullying",
        "copes well",
        "die-cast",
        "they said they can't take it down",  # found in review
        "I'm not ok with this",
        "they're ending its run of posts",
        "the die was cast",
        "i'm worried he might do something stupid",  # a risk word: someone else
        "the baby was crying in the video",
    ],
)
def test_ordinary_answers_are_not_distress(text: str) -> None:
    assert not distressed(text)


@pytest.mark.parametrize(
    "text",
    [
        "i want to die",
        "they'll batter her",
        "posted her HOME ADDRESS",
        "we know where you live",
        "says she'll get what's coming",
        "an acid attack",
        "burn your house down",
        "watch your back miss",
        # found by an exploratory test (F24), typed at "what it shows" after No to danger
        "he says he wants to die because of this",
        "she wanted to die after the last video",
        "i feel like ending it",
        "I don't want to be here anymore",
        "they posted her home address and said they are coming round tonight",
        "they said they'd burn his house down",
        "someone is in danger",
        "the teacher is in danger",
        "they will hurt him after school",
        "they'll jump her at the gates",
        "someone is going to get hurt",
        "a boy got hurt after school over it",
        "we're gonna get you miss",
        "we are coming for you",
        "they're going to get her after school",
        "we'll get you for this.",
        # fear for someone's safety, and a hint of self-harm: the danger question is asked
        "she is scared to come into school",
        "he's afraid to go home",
        "scared for her safety",
        "i'm worried he might do something stupid",
    ],
)
def test_threats_said_another_way_are_risk_words(text: str) -> None:
    assert risk_words(text)


@pytest.mark.parametrize(
    "text",
    [
        "she is not in danger",
        "he's in no danger",
        "we're going to get them to take it down",
        "I'll get him to call POSH",
        "we will get her account removed",
        "we're going to get him suspended",
        "it will hurt the school's reputation",
        "she was really hurt by the comments",
        "scared to go on tiktok now",
        "parents are coming for a meeting",
        "please do something about it",
    ],
)
def test_ordinary_answers_are_not_risk_words(text: str) -> None:
    assert not risk_words(text)


def test_the_support_notice_names_each_line_from_the_facts() -> None:
    text = distress_notice(DEFAULT_FACTS).text
    for fact in (DEFAULT_FACTS.samaritans_phone, DEFAULT_FACTS.shout_text):
        assert fact in text
    assert DEFAULT_FACTS.staff_support_phone in text and DEFAULT_FACTS.emergency in text


def test_after_a_cancel_the_support_notice_does_not_say_answers_are_saved() -> None:
    assert "your answers are saved" in distress_notice(DEFAULT_FACTS).text
    assert "saved" not in distress_notice(DEFAULT_FACTS, saved=False).text


def test_the_support_notice_said_again_is_short_and_still_names_every_line() -> None:
    short = distress_notice(DEFAULT_FACTS, again=True).text
    assert len(short) < len(distress_notice(DEFAULT_FACTS).text) / 2
    for fact in ("samaritans_phone", "shout_text", "staff_support_phone", "emergency"):
        assert getattr(DEFAULT_FACTS, fact) in short


def test_someone_else_wanting_to_die_is_a_risk_not_the_reporter_s_distress() -> None:
    """Found by an exploratory test: "he says he wants to die" told the reporter "I'm so sorry
    you're going through this … thoughts of ending your life"."""
    for text in ("he says he wants to die", "she wanted to die", "he's suicidal"):
        assert risk_words(text) and not distressed(text), text
