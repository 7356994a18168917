"""The leaders' records commands as typed, and a file request as it is stored."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.codec import reply_from_dict, reply_to_dict
from bot.files import LINK_LIFETIME, grant_key, new_link
from bot.model import FileKind, FileReply, Person, Platform
from bot.outbox import quoted_case
from bot.records import COMMAND, is_records_command

NOW = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "group", "value"),
    [
        ("export", "export", "export"),
        ("  Export  ", "export", "Export"),
        ("export TT-2026-0007", "case", "TT-2026-0007"),
        ("retention review", "review", "review"),
        ("retention delete TT-2026-0007 because the review agreed", "reason", "the review agreed"),
        ("retention delete TT-2026-0007: agreed by governors", "reason", "agreed by governors"),
        ("retention delete TT-2026-0007", "doomed", "TT-2026-0007"),
        ("sar Mrs Jones", "name", "Mrs Jones"),
        ("retention keep TT-2026-0007", "retention", "retention"),
    ],
)
def test_commands_are_read_as_typed(text: str, group: str, value: str) -> None:
    match = COMMAND.match(text)
    assert match is not None and match[group] == value


@pytest.mark.parametrize(
    "text",
    ["exported it yesterday", "export the video", "sar", "sarah jones", "my export", "exports"],
)
def test_other_words_are_answers_not_commands(text: str) -> None:
    assert not is_records_command(text)


def test_a_file_request_round_trips_and_a_case_report_is_tagged_with_its_case() -> None:
    for reply in (
        FileReply(FileKind.CASES),
        FileReply(FileKind.CASE_REPORT, "TT-2026-0007"),
        FileReply(FileKind.SUBJECT_ACCESS, "Mrs Jones", link="tok"),
    ):
        assert reply_from_dict(reply_to_dict(reply)) == reply
    assert quoted_case(FileReply(FileKind.CASE_REPORT, "TT-2026-0007")) == "TT-2026-0007"
    assert quoted_case(FileReply(FileKind.SUBJECT_ACCESS, "TT-2026-0007")) == ""


def test_a_link_keeps_only_its_tokens_hash_and_lasts_fifteen_minutes() -> None:
    leader = Person(Platform.TEAMS, "tenant", "29:lead")
    reply, key, grant = new_link(FileReply(FileKind.CASES), leader, NOW)
    assert len(reply.link) >= 43  # 32 random bytes
    assert (
        key
        == "download:" + hashlib.sha256(reply.link.encode()).hexdigest()
        == grant_key(reply.link)
    )
    assert reply.link not in str(grant)
    assert datetime.fromisoformat(grant["expires"]) - NOW == LINK_LIFETIME == timedelta(minutes=15)
    again, _, _ = new_link(FileReply(FileKind.CASES), leader, NOW)
    assert again.link != reply.link
