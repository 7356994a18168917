"""Leaders' files in Teams: a single-use, 15-minute download link on the bot's own address.

The real server app (Agents SDK) against the Bot Connector stand-in; the link's route is the
same app's, so a download is a real GET of the server a leader's browser would make.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from teams_fakes import (
    DEV_ENV,
    LEADER,
    LEADS_CHANNEL,
    REPORTER,
    TEAM,
    TeamsHarness,
    button,
    channel_message,
    complete_report,
    harness,
    texts,
)

from adapters import compose
from adapters.cli import main
from adapters.teams.render import NO_ADDRESS
from bot.files import grant_key
from bot.leaders import NOT_LEADER_VIEW
from bot.model import CaseStatus

PUBLIC = "https://reportbot.school.example"
ENV = {**DEV_ENV, "REPORTBOT_PUBLIC_URL": PUBLIC}
LEADER_CHAT = f"a:chat-{LEADER['id']}"


def leader_cards(h: TeamsHarness) -> list[dict[str, Any]]:
    return [c.card for c in h.connector.posts_to(LEADER_CHAT)]


def download_path(card: dict[str, Any]) -> str:
    [url] = [a["url"] for a in card.get("actions", []) if a["type"] == "Action.OpenUrl"]
    assert url.startswith(f"{PUBLIC}/files/")
    return urlsplit(url).path


async def ask(h: TeamsHarness, text: str) -> str:
    """A leader asks in their personal chat; returns the link's path on the bot."""
    assert await h.say(text, user=LEADER) == 200
    return download_path(leader_cards(h)[-1])


async def get(h: TeamsHarness, path: str) -> tuple[int, bytes, str]:
    response = await h.client.get(path)
    return response.status, await response.read(), response.headers.get("Content-Type", "")


async def test_export_link_works_once_and_gives_the_command_lines_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPORTBOT_CONFIG", raising=False)
    async with harness(ENV, data_dir=tmp_path / "data") as h:
        monkeypatch.setattr(compose, "SystemClock", lambda: h.clock)
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        ref = await complete_report(h)
        path = await ask(h, "export")
        assert "works once" in texts(leader_cards(h)[-1])

        status, body, kind = await get(h, path)
        assert status == 200 and kind.startswith("text/csv")
        out = tmp_path / "cli.csv"
        argv = ["--data-dir", str(tmp_path / "data"), "export", "--out", str(out)]
        assert await asyncio.to_thread(main, argv) == 0
        assert body == out.read_bytes() and ref in body.decode("utf-8-sig")

        status, body, _ = await get(h, path)
        assert status == 410 and b"already been used" in body


async def test_a_link_expires_after_fifteen_minutes_and_unknown_links_are_404() -> None:
    async with harness(ENV) as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        await complete_report(h)
        path = await ask(h, "export")
        h.clock.advance(minutes=15, seconds=1)
        status, body, kind = await get(h, path)
        assert status == 410 and b"expired" in body and kind.startswith("text/html")
        assert (await get(h, path))[0] == 410  # still gone, never a 500
        assert (await get(h, "/files/" + "x" * 43))[0] == 404
        assert (await get(h, "/files/not%20a%20token"))[0] == 404


async def test_a_non_leaders_request_issues_no_link() -> None:
    async with harness(ENV) as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        await complete_report(h)
        for asked in ("export", "sar Patel", "retention review"):
            await h.say(asked, user=REPORTER)
            assert NOT_LEADER_VIEW in texts(h.chat_cards()[-1])
        every_card = json.dumps([c.card for c in h.connector.posts])
        assert "/files/" not in every_card


async def test_case_report_and_sar_links_are_made_when_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(ENV) as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        ref = await complete_report(h)
        report_path = await ask(h, f"export {ref}")
        sar_path = await ask(h, "sar Patel")
        case = await h.runtime.store.case(ref)
        assert case is not None and case.history[-1].action == "exported"

        status, body, kind = await get(h, report_path)
        assert status == 200 and kind.startswith("text/html") and ref.encode() in body
        status, body, kind = await get(h, sar_path)
        assert status == 200 and kind.startswith("application/json")
        assert [c["key"] for c in json.loads(body)["cases"]] == [ref]


async def test_retention_delete_in_teams_needs_the_press_and_the_link_then_finds_nothing() -> None:
    async with harness(ENV) as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        ref = await complete_report(h)
        report_path = await ask(h, f"export {ref}")  # asked for, not yet opened
        await h.say(f"close {ref} because removed", user=LEADER)
        await h.say(f"retention delete {ref} because the review agreed", user=LEADER)
        case = await h.runtime.store.case(ref)
        assert case is not None and case.status == CaseStatus.CLOSED
        await h.press(button(leader_cards(h)[-1], f"case:delete:{ref}"), user=LEADER)
        case = await h.runtime.store.case(ref)
        assert case is not None and case.status == CaseStatus.DELETED
        assert f"Deleted {ref}" in texts(leader_cards(h)[-1])

        status, body, _ = await get(h, report_path)  # made when opened: the case is gone
        assert status == 410 and b"no longer held" in body
        status, body, _ = await get(h, await ask(h, "sar Patel"))
        assert status == 200 and json.loads(body)["cases"] == []


async def test_without_a_public_address_the_leader_is_told_not_left_waiting() -> None:
    async with harness() as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        await complete_report(h)
        await h.say("export", user=LEADER)
        assert NO_ADDRESS in texts(leader_cards(h)[-1])


async def test_two_opens_at_once_give_the_file_once_and_only_a_hash_is_stored() -> None:
    async with harness(ENV) as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        await complete_report(h)
        path = await ask(h, "export")
        token = path.rsplit("/", 1)[-1]
        assert await h.runtime.store.get_meta(f"download:{token}") is None
        assert await h.runtime.store.get_meta(grant_key(token)) is not None
        first, second = await asyncio.gather(get(h, path), get(h, path))
        assert sorted([first[0], second[0]]) == [200, 410]


async def test_asked_in_the_leadership_channel_the_leader_is_sent_to_the_personal_chat() -> None:
    async with harness(ENV) as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        await complete_report(h)
        assert await h.send(channel_message(h.service_url, "export")) == 200
        await h.deliver()
        said = h.connector.posts_to(f"{LEADS_CHANNEL};messageid=1575667808184")
        assert said and "only in our personal chat" in texts(said[-1].card)
        assert "/files/" not in json.dumps([c.card for c in h.connector.posts])


async def test_a_link_opens_only_while_its_leader_still_leads() -> None:
    async with harness(ENV) as h:
        h.connector.members.add((TEAM["id"], LEADER["id"]))
        await h.install()
        await complete_report(h)
        path = await ask(h, "export")
        h.connector.members.discard((TEAM["id"], LEADER["id"]))  # left the leadership team
        status, body, _ = await get(h, path)
        assert status == 403 and b"Only members of the leadership team" in body
        h.connector.members.add((TEAM["id"], LEADER["id"]))  # not used up by the refusal
        assert (await get(h, path))[0] == 200
