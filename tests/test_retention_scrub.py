"""Deleting a case removes it everywhere: the archive keeps a tombstone, and the
leadership post in Slack is overwritten with a content-free line."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_fakes import LEADERS, all_text, report, slack_harness
from store_helpers import enqueue, new_reference, put_meta

from adapters.casework import scrub_post
from bot import retention
from bot.errors import StorageError
from storage.tinydb_store import open_store


async def test_deleting_a_case_scrubs_its_leadership_post() -> None:
    async with slack_harness() as h:
        ref = await report(h)
        await h.deliver()
        [post] = h.fake.posts(LEADERS)
        assert "Ms J Patel" in all_text(post)
        case = await h.runtime.store.case(ref)
        assert case is not None
        now = h.runtime.clock.now()
        tomb = retention.tombstone(case, "Head", now, "retention review")
        await h.runtime.store.delete_case(ref, tomb)
        await enqueue(h.runtime.store, [scrub_post(tomb, now)])
        await h.deliver()
        [update] = [c for c in h.fake.called("chat.update") if c["ts"] == post["ts"]]
        assert "deleted" in update["text"] and "Patel" not in str(update)
        assert h.fake.posts(LEADERS) == [post]  # scrubbed in place, never re-posted


async def test_a_reader_works_beside_the_running_bot(tmp_path: Path) -> None:
    writer = await open_store(tmp_path)
    try:
        ref = await new_reference(writer)
        reader = await open_store(tmp_path, read_only=True)  # no lock taken
        assert await reader.cases() == []
        await reader.close()
        second = await open_store(tmp_path, read_only=True)
        assert ref == "TT-2026-0001" and await second.get_meta("missing") is None
        with pytest.raises(StorageError, match="read-only"):
            await put_meta(second, "x", {})
        await second.close()
    finally:
        await writer.close()
