"""A whole report in Teams, through the real server app and a local Bot Connector stand-in."""

from __future__ import annotations

from typing import Any

from teams_fakes import (
    ANSWERS,
    LEADS_CHANNEL,
    PERSONAL_CHAT,
    REPORTER,
    TENANT,
    TIKTOK_LINK,
    bot_added_to_team,
    button,
    complete_report,
    harness,
    personal_message,
    question_step,
    texts,
)

from bot.model import CaseStatus


async def test_a_report_through_cards_and_typing_ends_with_the_handoff_and_a_channel_card() -> None:
    async with harness() as h:
        await h.install()
        reference = await complete_report(h)

        handoff = next(c for c in reversed(h.chat_cards()) if "ready to send" in texts(c))
        words = texts(handoff)
        assert "0344 381 4772" in words
        assert "helpline@saferinternet.org.uk" in words
        assert reference in words
        assert "Have ready for the call:" in words
        assert "Dear POSH team," in words  # the ready email text
        urls = [a["url"] for a in handoff["actions"] if a["type"] == "Action.OpenUrl"]
        assert "tel:+443443814772" in urls
        assert any(u.startswith("mailto:helpline@saferinternet.org.uk?subject=") for u in urls)

        channel = h.connector.posts_to(LEADS_CHANNEL)
        assert len(channel) == 2  # the install greeting, then exactly one case card
        assert channel[-1].body["channelData"] == {"tenant": {"id": TENANT}}
        assert "replyToId" not in channel[-1].body  # a new post, not a reply in a thread
        card = channel[-1].card
        assert f"TikTok report {reference}" in texts(card)
        assert TIKTOK_LINK in texts(card)
        titles = [a["title"] for a in card["actions"]]
        assert titles == ["I'll contact POSH", "Sent to POSH", "Content removed", "Close"]
        values = [a["data"]["action"] for a in card["actions"]]
        assert values[1] == f"case:sent:{reference}"

        case = await h.runtime.store.case(reference)
        assert case is not None and case.status == CaseStatus.REPORTED_IN_APP
        assert case.answers["harm"] == ["impersonation", "harassment"]
        assert case.reporter.workspace == TENANT


async def test_every_question_is_an_adaptive_card_with_buttons_or_a_choice_set() -> None:
    async with harness() as h:
        await h.install()
        await complete_report(h)
        questions = [c for c in h.chat_cards() if question_step(c)]
        assert questions
        for card in questions:
            assert card["version"] == "1.5"
            choice_sets = [b for b in card["body"] if b["type"] == "Input.ChoiceSet"]
            if question_step(card) in ("harm", "target"):  # "choose all that apply"
                assert choice_sets and choice_sets[0]["isMultiSelect"] is True
                assert [a["title"] for a in card["actions"]] == ["Continue"]


async def test_any_first_message_starts_the_report_and_help_back_cancel_work() -> None:
    async with harness() as h:
        await h.say("hello")
        assert question_step(h.chat_cards()[-1]) == "links"
        await h.say(TIKTOK_LINK)
        await h.press(button(h.chat_cards()[-1], "done"))
        assert question_step(h.chat_cards()[-1]) == "harm"
        await h.say("help")
        assert any("Type back" in texts(c) for c in h.chat_cards()[-3:])
        await h.say("back")
        assert question_step(h.chat_cards()[-1]) == "links"
        await h.say("cancel")
        await h.say("yes")  # it held an answer: the bot asked to confirm
        assert "Cancelled" in texts(h.chat_cards()[-1])
        key = f"teams:{TENANT}:{REPORTER['id']}"
        assert await h.runtime.store.conversation(key) is None


async def test_a_button_from_an_earlier_question_is_not_used_for_the_current_one() -> None:
    async with harness() as h:
        await h.say("report")
        await h.say(TIKTOK_LINK)
        links_card = h.chat_cards()[-1]
        await h.press(button(links_card, "done"))  # now at "harm"
        await h.press(button(links_card, "done"))  # the same old button again
        notice, again = h.chat_cards()[-2:]
        assert "earlier question" in texts(notice) and question_step(again) == "harm"
        key = f"teams:{TENANT}:{REPORTER['id']}"
        conversation = await h.runtime.store.conversation(key)
        assert conversation is not None and conversation.step == "harm"


async def test_a_picture_is_not_taken_and_the_report_waits() -> None:
    async with harness() as h:
        await h.say("report")
        picture: dict[str, Any] = personal_message(h.service_url, "")
        picture["attachments"] = [{"contentType": "image/png", "contentUrl": "https://x/y.png"}]
        assert await h.send(picture) == 200
        await h.deliver()
        warning, again = h.chat_cards()[-2:]
        assert "don't send pictures" in texts(warning) and question_step(again) == "links"


async def test_user_text_reaches_cards_only_as_plain_text_runs() -> None:
    async with harness() as h:
        await h.install()
        typed = "**Ms Patel** [click](https://evil.example) _Head_ of Year 9"
        answers = {**ANSWERS, "target_staff": ("type", typed)}
        reference = await complete_report(h, answers)
        card = h.connector.posts_to(LEADS_CHANNEL)[-1].card
        runs = [
            run["text"]
            for block in card["body"]
            if block["type"] == "RichTextBlock"
            for run in block["inlines"]
        ]
        assert any(typed in text for text in runs)
        assert not [b for b in card["body"] if b["type"] in ("TextBlock", "FactSet")]
        assert reference


async def test_the_personal_install_greets_once() -> None:
    async with harness() as h:
        added = bot_added_to_team(h.service_url)
        added["conversation"] = {"conversationType": "personal", "id": PERSONAL_CHAT}
        added["channelData"] = {"tenant": {"id": TENANT}}
        added["from"] = dict(REPORTER)
        assert await h.send(added) == 200
        assert await h.send(added) == 200
        await h.deliver()
        greetings = h.chat_cards()
        assert len(greetings) == 1 and "Type report to start" in texts(greetings[0])
