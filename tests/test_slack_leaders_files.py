"""Leaders do in Slack what the command line does: export, export TT-…, sar, retention.

The real server app against the Slack stand-in, on a TinyDB data folder that the real
`reportbot` command line then reads: each file must arrive through Slack's three-step upload
(files.getUploadURLExternal, the bytes to the upload URL, files.completeUploadExternal) in the
leader's DM, and hold exactly the bytes the command line writes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from slack_fakes import (
    LEADER,
    LEADERS,
    STAFF,
    START,
    FakeSlack,
    Harness,
    all_text,
    block_actions,
    dm_channel,
    report,
    slack_env,
    slack_harness,
)

from adapters import compose
from adapters.cli import main
from bot import retention
from bot.clock import FakeClock
from bot.leaders import NOT_LEADER, NOT_LEADER_VIEW
from bot.model import CaseStatus
from storage.tinydb_store import open_store


@asynccontextmanager
async def on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeSlack | None = None
) -> AsyncIterator[Harness]:
    """The bot on a data folder, sharing its clock with the command line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPORTBOT_CONFIG", raising=False)
    clock = FakeClock(START)
    monkeypatch.setattr(compose, "SystemClock", lambda: clock)
    fake = fake or FakeSlack()
    api = await fake.start()
    store = await open_store(tmp_path / "data", clock=clock)
    try:
        async with slack_harness(store=store, fake=fake, clock=clock, env=slack_env(api)) as h:
            yield h
    finally:
        await store.close()
        await fake.close()


async def cli_file(tmp_path: Path, *argv: str) -> bytes:
    """What `reportbot … --out FILE` writes, from the same data folder."""
    out = tmp_path / "cli.out"
    argv = ("--data-dir", str(tmp_path / "data"), *argv, "--out", str(out))
    assert await asyncio.to_thread(main, list(argv)) == 0
    return out.read_bytes()


def uploaded(h: Harness) -> list[dict[str, object]]:
    return h.fake.shared(LEADER)


async def test_export_arrives_as_the_command_lines_csv_in_the_leaders_dm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_disk(tmp_path, monkeypatch) as h:
        ref = await report(h)
        await h.say(LEADER, "export")
        [step1] = h.fake.called("files.getUploadURLExternal")
        [step3] = h.fake.called("files.completeUploadExternal")
        assert step3["channel_id"] == dm_channel(LEADER)
        [file] = uploaded(h)
        assert int(step1["length"]) == len(file["content"])  # type: ignore[arg-type]
        assert file["content"] == await cli_file(tmp_path, "export")
        assert ref in file["content"].decode("utf-8-sig")  # type: ignore[attr-defined]
        assert str(file["filename"]).endswith(".csv")
        assert "keep it private" in str(file["comment"])
        assert not h.fake.files.get(LEADERS)  # never into a channel


async def test_export_of_a_case_is_its_printable_report_and_goes_in_its_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_disk(tmp_path, monkeypatch) as h:
        ref = await report(h)
        await h.command(LEADER, f"export {ref}", channel=LEADERS)  # typed in the channel
        await h.deliver()
        [file] = uploaded(h)
        assert file["filename"] == f"{ref}.html"
        case = await h.runtime.store.case(ref)
        assert case is not None
        exported = [e for e in case.history if e.action == "exported"]
        assert [e.who for e in exported] == ["Lee Leader"]
        assert file["content"] == await cli_file(tmp_path, "export", "--case", ref)


async def test_sar_arrives_as_the_command_lines_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_disk(tmp_path, monkeypatch) as h:
        ref = await report(h)
        await h.say(LEADER, "sar Patel")
        [file] = uploaded(h)
        bundle = json.loads(bytes(file["content"]))  # type: ignore[arg-type]
        assert [c["key"] for c in bundle["cases"]] == [ref]
        assert file["content"] == await cli_file(tmp_path, "sar", "Patel")


async def test_a_non_leader_is_refused_and_gets_no_file() -> None:
    async with slack_harness() as h:
        await report(h)
        for asked in ("export", "sar Patel", "retention review"):
            await h.say(STAFF, asked)
            assert NOT_LEADER_VIEW in all_text(h.fake.dm(STAFF)[-1])
        assert h.fake.called("files.getUploadURLExternal") == []
        assert h.fake.shared(STAFF) == []


async def test_a_refused_upload_is_kept_and_surfaced_not_dropped() -> None:
    fake = FakeSlack()
    fake.refuse("not_in_channel", lambda params: "reference,status" in params["text"])  # the CSV
    async with slack_harness(fake=fake) as h:
        await report(h)
        await h.say(LEADER, "export")
        assert uploaded(h) == []
        failed = await h.runtime.store.undelivered(h.courier.platform)
        assert [i.reply["type"] for i in failed] == ["file"]
        assert (await h.courier.undelivered())["messages"]["count"] == 1  # /healthz shows it


async def test_an_upload_url_that_fails_is_tried_again_and_the_file_goes_once() -> None:
    async with slack_harness() as h:
        await report(h)
        h.fake.fail("upload", 500)
        await h.say(LEADER, "export")
        assert uploaded(h) == []
        [waiting] = [i for i in await h.runtime.store.outbox_items() if i.reply["type"] == "file"]
        assert not waiting.failed and waiting.due_at is not None
        h.clock.advance(seconds=10)
        await h.deliver()
        assert len(uploaded(h)) == 1
        assert len(h.fake.called("files.getUploadURLExternal")) == 2


async def test_retention_review_lists_cases_due_and_delete_needs_the_press(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_disk(tmp_path, monkeypatch) as h:
        ref = await report(h)
        await h.say(LEADER, f"close {ref} because POSH confirmed removal")
        h.clock.advance(days=366 * 11)  # past the staff-allegation ten years
        await h.say(LEADER, "retention review")
        assert ref in all_text(h.fake.dm(LEADER)[-1])

        await h.say(LEADER, f"retention delete {ref}")  # no reason: asked for one, no button
        assert "Say why" in all_text(h.fake.dm(LEADER)[-1])
        assert not any(b for m in h.fake.dm(LEADER) for b in _delete_buttons(m))

        await h.say(LEADER, f"retention delete {ref} because the review agreed")
        case = await h.runtime.store.case(ref)
        assert case is not None and case.status == CaseStatus.CLOSED  # asking deletes nothing

        await h.say(STAFF, f"retention delete {ref} because I say so")
        assert NOT_LEADER_VIEW in all_text(h.fake.dm(STAFF)[-1])

        await h.answer(LEADER, f"case:delete:{ref}")
        case = await h.runtime.store.case(ref)
        assert case is not None and case.status == CaseStatus.DELETED
        assert case.history[-1].note == "the review agreed"
        assert f"Deleted {ref}" in all_text(h.fake.dm(LEADER)[-1])
        assert "deleted under the school's retention" in all_text(h.fake.posts(LEADERS)[0])

        await h.say(LEADER, "export")  # gone from later exports
        [file] = uploaded(h)
        text = bytes(file["content"]).decode("utf-8-sig")  # type: ignore[arg-type]
        assert text.startswith("reference,status") and ref not in text
        await h.say(LEADER, "sar Patel")
        bundle = json.loads(bytes(uploaded(h)[-1]["content"]))  # type: ignore[arg-type]
        assert bundle["cases"] == []


async def test_keep_it_deletes_nothing_and_a_press_by_a_non_leader_is_refused() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        await h.say(LEADER, f"close {ref} because done")
        await h.say(LEADER, f"retention delete {ref} because reviewed")
        confirm = h.fake.dm(LEADER)[-1]
        [delete] = [b for b in _delete_buttons(confirm) if b["value"].startswith("case:delete")]

        # Someone else presses the same button (a forwarded or replayed payload).
        await h.action(block_actions(STAFF, delete, channel=dm_channel(STAFF), message_ts="1.2"))
        await h.deliver()
        assert NOT_LEADER in all_text(h.fake.dm(STAFF)[-1])
        case = await h.runtime.store.case(ref)
        assert case is not None and case.status == CaseStatus.CLOSED

        await h.say(LEADER, f"retention keep {ref} until 2040")  # not here: says what is
        assert "reportbot retention keep" in all_text(h.fake.dm(LEADER)[-1])
        await h.answer(LEADER, f"case:spare:{ref}")
        assert "Nothing was deleted" in all_text(h.fake.dm(LEADER)[-1])
        await h.answer(LEADER, f"case:delete:{ref}")  # the old button: nothing waits for it now
        assert "no deletion of" in all_text(h.fake.dm(LEADER)[-1])
        case = await h.runtime.store.case(ref)
        assert case is not None and case.status == CaseStatus.CLOSED


def _delete_buttons(message: dict[str, object]) -> list[dict[str, str]]:
    found = []
    for block in message.get("blocks", []):  # type: ignore[attr-defined]
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if str(element.get("value", "")).startswith(("case:delete", "case:spare")):
                found.append(element)
    return found


async def test_a_deletion_interrupted_before_its_scrub_is_finished_by_pressing_again() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        await h.say(LEADER, f"close {ref} because done")
        await h.say(LEADER, f"retention delete {ref} because reviewed")
        case = await h.runtime.store.case(ref)
        assert case is not None
        tomb = retention.tombstone(case, "Lee Leader", h.clock.now(), "reviewed")
        await h.runtime.store.delete_case(ref, tomb)  # then the crash: its post not yet queued
        assert "deleted under" not in all_text(h.fake.posts(LEADERS)[0])
        await h.answer(LEADER, f"case:delete:{ref}")  # Slack redelivers, or the leader presses
        assert "deleted under the school's retention" in all_text(h.fake.posts(LEADERS)[0])
        assert f"{ref} has been deleted" in all_text(h.fake.dm(LEADER)[-1])


async def test_an_asked_for_file_survives_a_restart_while_slack_is_down(tmp_path: Path) -> None:
    fake, clock = FakeSlack(), FakeClock(START)
    api = await fake.start()
    store = await open_store(tmp_path / "data", clock=clock)
    try:
        async with slack_harness(store=store, fake=fake, clock=clock, env=slack_env(api)) as h:
            await report(h)
            fake.fail("files.getUploadURLExternal", 500)
            await h.say(LEADER, "export")  # acknowledged: so it is stored
            assert uploaded(h) == []
        await store.close()
        store = await open_store(tmp_path / "data", clock=clock)  # the bot starts again
        async with slack_harness(store=store, fake=fake, clock=clock, env=slack_env(api)) as h:
            clock.advance(seconds=10)
            await h.deliver()
            [file] = uploaded(h)
            assert str(file["filename"]).endswith(".csv")
    finally:
        await store.close()
        await fake.close()
