"""Slack and the Bot Connector fail (500, 429 with Retry-After, no answer at all) for a while
and then recover, while several reports are under way: every message still arrives, exactly
once and in order, and every case reaches the leadership channel exactly once.

Each scenario runs twice, without faults and with them, and the two transcripts (what each
person and the leadership channel received) must match. Time is the harnesses' fake clock,
moved on by `settle` until the outbox is empty; faults are drawn from a fixed seed (printed on
failure; FAULT_SEED replays another).
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from slack_fakes import (
    LEADER,
    LEADERS,
    REPORT_STEPS,
    FakeSlack,
    Harness,
    all_text,
    slack_env,
    slack_harness,
)
from store_helpers import due_items
from teams_fakes import (
    ANSWERS,
    LEADS_CHANNEL,
    PERSONAL_CHAT,
    REPORTER_KEY,
    TIKTOK_LINK,
    TeamsHarness,
    button,
    choose,
    harness,
    question_step,
    texts,
)

from bot.model import Platform

SEED = int(os.environ.get("FAULT_SEED", "7"))
STAFF = ("U0STAFFA", "U0STAFFB", "U0STAFFC")
Transcript = dict[str, list[str]]


@contextmanager
def seed_note(seed: int) -> Iterator[None]:
    try:
        yield
    except BaseException as exc:
        exc.add_note(f"FAULT_SEED={seed} replays this run")
        raise


def masked(text: str) -> str:
    """Text with digits hidden: times and references differ between runs, words must not."""
    return re.sub(r"\d", "#", text)


async def settle(
    deliver: Callable[[], Awaitable[int]],
    pending: Callable[[], Awaitable[bool]],
    advance: Callable[[], None],
) -> None:
    """Deliver, let time pass, deliver again, until nothing is waiting in the outbox."""
    for _ in range(80):
        await deliver()
        if not await pending():
            return
        advance()
    raise AssertionError("the outbox never emptied")


# --- Slack --------------------------------------------------------------------------------------


def slack_faults(rng: random.Random, n: int) -> list[Any]:
    return [rng.choice([500, 503, (429, rng.randint(1, 20)), "hang"]) for _ in range(n)]


async def slack_settle(h: Harness) -> None:
    async def pending() -> bool:
        later = h.clock.now() + timedelta(days=1)
        return bool(await due_items(h.runtime.store, Platform.SLACK, later))

    await settle(h.deliver, pending, lambda: h.clock.advance(seconds=30))


async def slack_reports(faults: random.Random | None) -> tuple[Transcript, FakeSlack]:
    """Three people report side by side, step by step; a leader then takes a case."""
    fake = FakeSlack()
    for user in STAFF:
        fake.users[user] = {"real_name": f"Staff {user}", "email": f"{user.lower()}@x.example"}
    api = await fake.start()
    try:
        async with slack_harness(fake=fake, env=slack_env(api, SLACK_API_TIMEOUT="0.3")) as h:
            for n, user in enumerate(STAFF):
                await h.command(user, f"https://www.tiktok.com/@outage.case{n}")
                await slack_settle(h)
            for how, what in REPORT_STEPS:
                for user in STAFF:
                    if faults and faults.random() < 0.5:
                        fake.fail("chat.postMessage", *slack_faults(faults, 2))
                    if how == "say":
                        await h.say(user, what)
                    else:
                        await h.answer(user, *what.split(","))
                    await slack_settle(h)
            if faults:
                fake.fail("chat.update", *slack_faults(faults, 3))
            await h.press_case(LEADER, "assign", message=fake.posts(LEADERS)[0])
            await slack_settle(h)
            leaders = [all_text(m) for m in fake.posts(LEADERS)]
            transcript = {u: [str(m["text"]) for m in fake.dm(u)] for u in STAFF}
            transcript[LEADERS] = leaders
            return transcript, fake
    finally:
        await fake.close()


async def test_slack_outages_delay_messages_but_each_arrives_exactly_once() -> None:
    with seed_note(SEED):
        calm, _ = await slack_reports(None)
        stormy, fake = await slack_reports(random.Random(SEED))
        sends = [c for c in fake.calls if c.method in ("chat.postMessage", "chat.update")]
        assert len(sends) > sum(len(m) for m in calm.values()) + 5, "the faults never happened"
        for who, messages in calm.items():
            assert [masked(m) for m in stormy[who]] == [masked(m) for m in messages], who
        assert len(stormy[LEADERS]) == len(STAFF)  # one post per case, the first one updated
        assert "Contacting POSH: Lee Leader" in stormy[LEADERS][0]


async def test_a_slack_timeout_after_the_dm_was_taken_does_not_double_it() -> None:
    fake = FakeSlack()
    api = await fake.start()
    try:
        async with slack_harness(fake=fake, env=slack_env(api, SLACK_API_TIMEOUT="0.3")) as h:
            user = STAFF[0]
            fake.fail("chat.postMessage", "hang-after-post")
            await h.command(user, "https://www.tiktok.com/@outage.dm")
            await slack_settle(h)
            texts_sent = [m["text"] for m in fake.dm(user)]
            assert len(texts_sent) == len(set(texts_sent)), texts_sent
    finally:
        await fake.close()


# --- Teams --------------------------------------------------------------------------------------


def teams_faults(h: TeamsHarness, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 2)):
        kind = rng.choice(["500", "502", "429", "hang"])
        if kind == "hang":
            h.connector.hang()
        elif kind == "429":
            h.connector.fail(429, headers={"Retry-After": str(rng.randint(1, 20))})
        else:
            h.connector.fail(int(kind))


async def teams_settle(h: TeamsHarness) -> None:
    async def pending() -> bool:
        later = h.clock.now() + timedelta(days=1)
        return bool(await due_items(h.runtime.store, Platform.TEAMS, later))

    await settle(h.deliver, pending, lambda: h.clock.advance(seconds=30))


async def teams_report(faults: random.Random | None) -> tuple[Transcript, TeamsHarness]:
    """A whole report in personal chat, with the Bot Connector failing now and then."""
    async with harness({"REPORTBOT_TEAMS_DEV": "1", "REPORTBOT_TEAMS_TIMEOUT": "0.3"}) as h:
        await h.install()
        for text in ("report", TIKTOK_LINK):
            if faults:
                teams_faults(h, faults)
            assert await h.say(text) == 200
            await teams_settle(h)
        await h.press(button(h.chat_cards()[-1], "done"))
        await teams_settle(h)
        for _ in range(len(ANSWERS) + 2):
            conversation = await h.runtime.store.conversation(REPORTER_KEY)
            if conversation is None or conversation.step == "end":  # filed
                break
            if faults and faults.random() < 0.6:
                teams_faults(h, faults)
            card = next(c for c in reversed(h.chat_cards()) if question_step(c))
            kind, answer = ANSWERS[conversation.step]
            if kind == "press":
                assert await h.press(button(card, answer)) == 200
            elif kind == "choose":
                assert await h.press(choose(card, *answer)) == 200
            else:
                assert await h.say(answer) == 200
            await teams_settle(h)
        transcript = {
            PERSONAL_CHAT: [texts(c) for c in h.chat_cards()],
            LEADS_CHANNEL: [texts(c.card) for c in h.connector.posts_to(LEADS_CHANNEL)],
        }
        return transcript, h


async def test_teams_outages_delay_messages_but_each_arrives_exactly_once() -> None:
    with seed_note(SEED):
        calm, _ = await teams_report(None)
        stormy, h = await teams_report(random.Random(SEED))
        assert sum(c.method == "FAILED" for c in h.connector.calls) >= 5, "no faults happened"
        for where, cards in calm.items():
            assert [masked(c) for c in stormy[where]] == [masked(c) for c in cards], where
        case_cards = [c for c in stormy[LEADS_CHANNEL] if "TikTok report TT-" in c]
        assert len(case_cards) == 1
