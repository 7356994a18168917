"""Leaders' records: timelines, the CSV export, statistics, the printable report, retention,
tombstones and subject access, on cases with known timestamps."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from test_engine import Roster

from bot import casework, codec, lifecycle, retention
from bot.case_report import case_html, case_text
from bot.clock import FakeClock
from bot.config import Settings
from bot.engine import Engine
from bot.errors import CaseworkError, ConfigError, InvalidMove
from bot.export_csv import CSV_COLUMNS, export_csv
from bot.facts import Facts
from bot.model import (
    Audience,
    Case,
    CaseCard,
    CaseStatus,
    Flag,
    HistoryEntry,
    Person,
    Platform,
    Turn,
)
from bot.stats import Durations, compute_stats, format_stats
from bot.timeline import duration_text, milestones, timeline, to_posh
from storage.memory import MemoryStore

ANN = Person(Platform.SLACK, "T1", "U1", name="Ann Teacher", email="ann@school.example")
BOB = Person(Platform.TEAMS, "tenant", "u2", name="Bob Jones", email="bob@school.example")
LEAD = "Dee Head"
FACTS = Facts()
H = timedelta(hours=1)
D = timedelta(days=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make(
    ref: str,
    created: datetime,
    harm: list[str],
    handles: tuple[str, ...],
    moves: Sequence[tuple[str, datetime, str]] = (),
    reporter: Person = ANN,
    **answers: object,
) -> Case:
    """A case as the engine files it, then moved by a leader at the given times."""
    case = Case(
        reference=ref,
        created_at=created,
        reporter=reporter,
        conversation_id=f"conv-{ref}",
        answers={"harm": harm, "target": ["staff"], "target_staff": "Mr J Smith", **answers},
        status_times={CaseStatus.NEW: created},
        handles=handles,
    )
    case.record(HistoryEntry(created, reporter.name, "reported", new=CaseStatus.NEW))
    for verb, at, reason in moves:
        lifecycle.apply(case, verb, LEAD, at, reason)
    return case


def seeded() -> list[Case]:
    """Six cases whose figures are worked out by hand in the tests below."""
    a0 = utc(2026, 6, 30, 23, 30)  # 00:30 on 1 July in UK (summer) time
    a = make(
        "TT-2026-0001",
        a0,
        ["impersonation", "harassment"],
        ("fake.mr.smith",),
        [("sent", a0 + 2 * H, ""), ("removed", a0 + 2 * H + 3 * D, "")],
    )
    b0 = utc(2026, 11, 2, 9)
    b = make(
        "TT-2026-0002",
        b0,
        ["impersonation"],
        ("fake.mr.smith", "other.acct"),
        [("in_app", b0, "reported in the app 2026-11-01")],
        in_app="yes",
        in_app_when="2026-11-01",
        in_app_reply="no_violation",
    )
    # As the engine does: the clock starts when TikTok was told, on the day staff gave.
    b.status_times[CaseStatus.REPORTED_IN_APP] = utc(2026, 11, 1)
    lifecycle.apply(b, "sent", LEAD, b0 + H, "")
    lifecycle.apply(b, "with_tiktok", LEAD, utc(2026, 11, 3, 10), "")
    lifecycle.apply(b, "refused", LEAD, utc(2026, 11, 5, 10), "TikTok: no violation")
    c0 = utc(2026, 11, 10, 12)
    c = make(
        "TT-2026-0003",
        c0,
        ["threats"],
        ("other.acct",),
        [("sent", c0 + 4 * H, ""), ("removed", c0 + 4 * H + D, "")],
        reporter=BOB,
    )
    d = make("TT-2026-0004", utc(2026, 11, 20, 8), ["harassment"], ("https://vm.tiktok.com/ZMa/",))
    e0 = utc(2026, 11, 12, 9)
    e = make(
        "TT-2026-0005",
        e0,
        ["threats", "harassment"],
        ("other.acct",),
        [("close", e0, "same account as TT-2026-0003")],
        reporter=BOB,
    )
    e.duplicate_of = "TT-2026-0003"
    f = make("TT-2026-0006", utc(2026, 11, 21, 8), ["sexualised"], ("gone.acct",))
    f = retention.tombstone(f, LEAD, utc(2026, 11, 22, 8), "reported in error")
    return [a, b, c, d, e, f]


# --- timelines ---------------------------------------------------------------------------------


def test_milestones_take_first_times_and_the_back_dated_in_app_report() -> None:
    a, b, *_ = seeded()
    times = milestones(b)
    assert times["created"] == utc(2026, 11, 2, 9)
    assert times[CaseStatus.REPORTED_IN_APP] == utc(2026, 11, 1)
    assert times[CaseStatus.SENT_TO_POSH] == utc(2026, 11, 2, 10)
    assert to_posh(times) == timedelta(hours=34)  # from the in-app report
    # A reopened, re-removed case keeps its first removal as the evidence.
    first = milestones(a)[CaseStatus.REMOVED]
    lifecycle.apply(a, "reopen", LEAD, first + D, "it came back")
    lifecycle.apply(a, "removed", LEAD, first + 2 * D, "")
    assert milestones(a)[CaseStatus.REMOVED] == first


def test_an_in_app_report_recorded_by_a_leader_keeps_its_time() -> None:
    d = seeded()[3]
    casework.move(d, "in_app", LEAD, utc(2026, 11, 20, 9, 15))
    assert rows(export_csv([d]))[0]["reported_in_app"] == "2026-11-20 09:15"
    assert ("Reported in the TikTok app", "Fri 20 Nov 2026, 09:15") in timeline(d)


def test_durations_read_well() -> None:
    assert duration_text(timedelta(seconds=20)) == "under 1 min"
    assert duration_text(timedelta(minutes=40)) == "40 min"
    assert duration_text(timedelta(hours=2, minutes=5)) == "2 h 5 min"
    assert duration_text(timedelta(hours=4)) == "4 h"
    assert duration_text(timedelta(days=1)) == "1 day"
    assert duration_text(timedelta(days=3, hours=4, minutes=59)) == "3 days 4 h"


# --- statistics --------------------------------------------------------------------------------


def test_stats_figures_on_the_seeded_cases() -> None:
    s = compute_stats(seeded())
    assert (s.reports, s.deleted, s.open, s.linked) == (5, 1, 1, 1)
    assert s.by_month == (("2026-07", 1), ("2026-11", 4))  # case A is July in UK time
    assert s.by_kind == (
        ("Harassment or bullying", 3),
        ("Fake account / impersonating staff or the school", 2),
        ("Threats of violence", 2),
    )
    # Report → POSH: A 2 h, B 34 h (from the in-app report), C 4 h.
    assert s.to_posh == Durations(3, timedelta(hours=4), timedelta(hours=34), "TT-2026-0002")
    # POSH → removal: A 3 days, C 1 day.
    assert s.posh_to_removal == Durations(2, 2 * D, 3 * D, "TT-2026-0001")
    # Report → removal: A 3 days 2 h, C 1 day 4 h; median is their mean, 2 days 3 h.
    assert s.report_to_removal == Durations(2, 2 * D + 3 * H, 3 * D + 2 * H, "TT-2026-0001")
    assert (s.removed, s.refused, s.no_violation_in_app) == (2, 1, 1)
    # A short link names no account; the deleted case's account is gone with it.
    assert s.repeat_accounts == (("@other.acct", 3), ("@fake.mr.smith", 2))


def test_a_case_reopened_after_removal_is_counted_open_again_not_removed() -> None:
    """Found by trying it: `reopen` after Removed left it counted as removed, and open."""
    cases = seeded()
    a = cases[0]
    lifecycle.apply(a, "reopen", LEAD, utc(2026, 7, 10, 9), "it came back")
    s = compute_stats(cases)
    assert (s.open, s.removed, s.refused, s.reopened) == (2, 1, 1, 1)
    assert s.posh_to_removal.count == 2  # its first removal still took the time it took
    text = format_stats(s)
    assert "Open again after an outcome (reopened)       1" in text
    lifecycle.apply(a, "removed", LEAD, utc(2026, 7, 12, 9), "")
    assert (compute_stats(cases).removed, compute_stats(cases).reopened) == (2, 0)


def test_stats_table_is_readable() -> None:
    text = format_stats(compute_stats(seeded()))
    assert text.startswith("TikTok reports: 5 (1 open, 1 further reports")
    assert "1 deleted case(s) hold no details" in text
    assert "  Jul 2026       1" in text and "  Nov 2026       4" in text
    posh = next(line for line in text.splitlines() if line.strip().startswith("Report to POSH"))
    assert posh.split()[3:] == ["3", "4", "h", "1", "day", "10", "h", "(TT-2026-0002)"]
    removal = next(line for line in text.splitlines() if "POSH to removal" in line)
    assert "2 days" in removal and "3 days (TT-2026-0001)" in removal
    assert "@other.acct" in text and "3 cases" in text


def test_stats_with_no_cases() -> None:
    text = format_stats(compute_stats([]))
    assert "TikTok reports: 0" in text and "None yet." in text


def test_stats_reports_progress_on_long_runs() -> None:
    base = seeded()[2]
    many = [replace(base, reference=f"TT-2026-{n:04d}") for n in range(1, 601)]
    told: list[tuple[int, int]] = []
    s = compute_stats(many, lambda done, total: told.append((done, total)))
    assert told == [(250, 600), (500, 600), (600, 600)]
    assert s.posh_to_removal.count == 600 and s.posh_to_removal.median == D


# --- the CSV export ----------------------------------------------------------------------------


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_every_column_and_uk_times() -> None:
    text = export_csv(seeded())
    header = next(csv.reader(io.StringIO(text)))
    assert tuple(header) == CSV_COLUMNS
    assert header[2:10] == [
        "created",
        "reported_in_app",
        "sent_to_posh",
        "with_tiktok",
        "removed",
        "refused",
        "closed",
        "deleted",
    ]
    a, b, c, d, e, _ = rows(text)
    assert a["created"] == "2026-07-01 00:30"  # BST
    assert (a["sent_to_posh"], a["removed"]) == ("2026-07-01 02:30", "2026-07-04 02:30")
    assert a["status"] == "Removed" and a["refused"] == ""
    assert a["kinds_of_harm"] == (
        "Fake account / impersonating staff or the school; Harassment or bullying"
    )
    assert b["reported_in_app"] == "2026-11-01"  # only the day is known
    assert (b["with_tiktok"], b["refused"]) == ("2026-11-03 10:00", "2026-11-05 10:00")
    assert b["handles"] == "fake.mr.smith; other.acct"
    assert e["duplicate_of"] == "TT-2026-0003" and e["closed"] == "2026-11-12 09:00"
    assert d["status"] == "New" and d["handles"] == "https://vm.tiktok.com/ZMa/"
    assert c["extra_reports"] == "0" and c["assignee"] == ""


def test_csv_keeps_no_content_of_a_deleted_case() -> None:
    f = rows(export_csv(seeded()))[-1]
    assert f["reference"] == "TT-2026-0006" and f["status"] == "Deleted"
    assert (f["created"], f["deleted"]) == ("2026-11-21 08:00", "2026-11-22 08:00")
    assert f["kinds_of_harm"] == f["handles"] == f["flags"] == f["extra_reports"] == ""


def test_csv_defuses_spreadsheet_formulas_and_keeps_flags() -> None:
    case = seeded()[0]
    case.assignee = '=HYPERLINK("http://evil.example","x")'
    case.flags = frozenset({Flag.PUPILS_TARGETED, Flag.DANGER})
    row = rows(export_csv([case]))[0]
    assert row["assignee"] == "'" + case.assignee
    assert row["flags"] == "danger; pupils_targeted"


# --- the printable report ----------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs |= {name for name, _ in attrs}


def hostile_case() -> Case:
    who = Person(Platform.SLACK, "T1", "U9", name="<script>alert(1)</script>", email="x@y")
    case = make(
        "TT-2026-0007",
        utc(2026, 11, 25, 11),
        ["other"],
        ("evil",),
        reporter=who,
        harm_other='<img src=x onerror="alert(2)">',
        target_staff="Mr <b>Smith</b> & co",
        links=[{"url": "https://www.tiktok.com/@evil", "handle": "evil", "label": "@evil"}],
        contact="01632 960 123",
        role="Teacher",
    )
    lifecycle.apply(case, "sent", LEAD, utc(2026, 11, 25, 12), "")
    lifecycle.note(case, "<i>Dee</i>", utc(2026, 11, 25, 13), 'POSH said "</td><script>x"')
    return case


def test_case_html_escapes_every_value() -> None:
    page = case_html(hostile_case(), FACTS, utc(2026, 11, 26, 9))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page
    assert "Mr &lt;b&gt;Smith&lt;/b&gt; &amp; co" in page
    assert "&lt;i&gt;Dee&lt;/i&gt;" in page and "&lt;/td&gt;&lt;script&gt;x" in page
    parsed = Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "b" not in parsed.tags
    assert not {a for a in parsed.attrs if a.startswith("on")}


def test_case_html_is_a_self_contained_printable_report() -> None:
    page = case_html(hostile_case(), FACTS, utc(2026, 11, 26, 9))
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert "default-src 'none'" in page  # loads and runs nothing
    assert "http://" not in page.replace("https://www.tiktok.com/@evil", "")
    for text in ("CONFIDENTIAL", "TT-2026-0007", "0344 381 4772", "helpline@saferinternet.org.uk"):
        assert text in page
    assert "Dear POSH team" in page  # the report as sent
    assert "Sent to POSH" in page and "Wed 25 Nov 2026, 12:00" in page  # history and timeline
    assert "Report to POSH</th><td>1 h" in page


def test_case_html_of_a_deleted_case_says_so_and_holds_nothing() -> None:
    page = case_html(seeded()[-1], FACTS, utc(2026, 12, 1))
    assert "Deleted. Only its reference" in page and "reported in error" in page
    assert "gone.acct" not in page and "Mr J Smith" not in page


# --- retention ---------------------------------------------------------------------------------

SCHEDULE = {"staff_allegation": 10, "low_level": 2}


def test_review_date_runs_from_closure_or_creation() -> None:
    a, _, _, d, e, _ = seeded()
    open_case = retention.review_of(d, SCHEDULE)
    assert (open_case.counted_from, open_case.review_on) == ("creation", date(2036, 11, 20))
    removed = retention.review_of(a, SCHEDULE)  # removed 4 Jul 2026, 02:30 UK time
    assert (removed.counted_from, removed.review_on) == ("closure", date(2036, 7, 4))
    e.retention_category = "low_level"
    assert retention.review_of(e, SCHEDULE).review_on == date(2028, 11, 12)
    assert (
        "low_level: 2 years from closure on 12 Nov 2026"
        in retention.review_of(e, SCHEDULE).describe()
    )


def test_a_reclosed_case_is_kept_from_its_last_closure() -> None:
    a = seeded()[0]
    lifecycle.apply(a, "reopen", LEAD, utc(2027, 1, 5), "it came back")
    assert retention.review_of(a, SCHEDULE).counted_from == "creation"
    lifecycle.apply(a, "close", LEAD, utc(2027, 2, 1), "gone again")
    assert retention.review_of(a, SCHEDULE).review_on == date(2037, 2, 1)


def test_review_due_lists_cases_whose_day_has_come() -> None:
    cases = seeded()
    assert retention.review_due(cases, SCHEDULE, date(2036, 7, 3)) == []
    due = retention.review_due(cases, SCHEDULE, date(2036, 7, 4))
    assert [r.reference for r in due] == ["TT-2026-0001"]
    later = retention.review_due(cases, SCHEDULE, date(2040, 1, 1))
    assert "TT-2026-0006" not in [r.reference for r in later]  # already deleted
    assert [r.reference for r in later][:2] == ["TT-2026-0001", "TT-2026-0002"]


def test_unknown_category_is_due_now_and_a_stored_date_wins() -> None:
    d = seeded()[3]
    d.retention_category = "pupil_record"
    r = retention.review_of(d, SCHEDULE)
    assert r.years is None and r.review_on == date(2026, 11, 20)
    assert "no period in the settings" in r.describe()
    d.review_on = "2031-01-31"
    assert retention.review_of(d, SCHEDULE).review_on == date(2031, 1, 31)


def test_leap_day_and_the_default_schedule() -> None:
    case = make("TT-2028-0001", utc(2028, 2, 29, 12), ["harassment"], ())
    schedule = retention.check_schedule(Settings().retention)
    assert retention.review_of(case, schedule).review_on == date(2038, 2, 28)


@pytest.mark.parametrize("years", [0, -1, "ten", 2.5, True])
def test_a_bad_schedule_is_a_config_error(years: object) -> None:
    with pytest.raises(ConfigError, match="staff_allegation"):
        retention.check_schedule({"staff_allegation": years})


def test_tombstone_is_content_free() -> None:
    case = hostile_case()
    case.assignee = "Dee Head"
    case.flags = frozenset({Flag.DANGER})
    case.extra_reports = 2
    lifecycle.apply(case, "removed", LEAD, utc(2026, 11, 27), "")
    at = utc(2037, 1, 5, 10)
    tomb = retention.tombstone(case, "dpo.user", at, "review agreed")
    stored = json.dumps(codec.case_to_dict(tomb))
    for secret in (
        "alert",
        "Smith",
        "evil",
        "01632",
        "Teacher",
        "Dee",
        "U9",
        '"T1"',
        "x@y",
        "POSH",
    ):
        assert secret not in stored, secret
    assert tomb.reference == case.reference and tomb.created_at == case.created_at
    assert tomb.status == CaseStatus.DELETED and tomb.answers == {} and tomb.handles == ()
    assert tomb.reporter == Person(Platform.SLACK, "", "")
    assert tomb.flags == frozenset() and tomb.extra_reports == 0 and tomb.assignee == ""
    assert tomb.history == [
        HistoryEntry(at, "dpo.user", "deleted", "removed", "deleted", "review agreed")
    ]
    assert codec.case_from_dict(codec.case_to_dict(tomb)) == tomb


def test_deletion_must_be_deliberate() -> None:
    open_case = seeded()[3]
    closed = seeded()[0]
    with pytest.raises(CaseworkError, match="--reason"):
        retention.check_deletion(closed, " ", confirm=True, force=False)
    with pytest.raises(CaseworkError, match="--confirm"):
        retention.check_deletion(closed, "review", confirm=False, force=False)
    with pytest.raises(CaseworkError, match=r"still open \(“New”\)\. .* --force"):
        retention.check_deletion(open_case, "review", confirm=True, force=False)
    retention.check_deletion(open_case, "review", confirm=True, force=True)
    retention.check_deletion(closed, "review", confirm=True, force=False)
    with pytest.raises(CaseworkError, match="already been deleted"):
        retention.check_deletion(seeded()[-1], "again", confirm=True, force=True)


# --- the operator's changes --------------------------------------------------------------------


def test_moves_need_reasons_for_decisions_and_record_who() -> None:
    case = seeded()[3]
    at = utc(2026, 11, 21, 9)
    with pytest.raises(CaseworkError, match="needs a reason"):
        casework.move(case, "close", "dee", at)
    with pytest.raises(InvalidMove, match="doesn't apply"):
        casework.move(case, "with_tiktok", "dee", at)
    with pytest.raises(InvalidMove, match="Try one of: in_app, sent"):
        casework.move(case, "zap", "dee", at)
    entry = casework.move(case, "sent", "dee", at, " called POSH ")
    assert entry == HistoryEntry(at, "dee", "sent", "new", "sent_to_posh", "called POSH")
    assert case.status_times[CaseStatus.SENT_TO_POSH] == at


def test_a_move_s_verb_is_read_in_any_case_of_letters() -> None:
    """Found by trying it: `reportbot cases move REF Removed` was "I don't know how to"."""
    case = seeded()[3]
    at = utc(2026, 11, 21, 9)
    assert casework.move(case, "Sent", "dee", at).action == "sent"
    assert casework.move(case, " REMOVED ", "dee", at).action == "removed"
    assert case.status == CaseStatus.REMOVED
    with pytest.raises(CaseworkError, match="use: reportbot cases assign"):
        casework.move(case, "Assign", "dee", at)


def test_assigning_someone_else_records_who_decided() -> None:
    case = seeded()[3]
    at = utc(2026, 11, 21, 9)
    entry = casework.assign(case, "Sam Deputy", "dee", at)
    assert entry == HistoryEntry(at, "dee", "assigned", "", "Sam Deputy")
    assert case.assignee == "Sam Deputy"
    with pytest.raises(InvalidMove, match="Sam Deputy is already contacting POSH"):
        casework.assign(case, "Sam Deputy", "dee", at)
    mine = casework.assign(case, "", "dee", at)
    assert (mine.who, mine.old, mine.new, case.assignee) == ("dee", "Sam Deputy", "dee", "dee")
    with pytest.raises(InvalidMove, match="can't be assigned"):
        casework.assign(seeded()[0], "Sam", "dee", at)


def test_notes_and_deleted_cases() -> None:
    case = seeded()[3]
    with pytest.raises(CaseworkError, match="empty"):
        casework.add_note(case, "dee", utc(2026, 11, 21), "  ")
    casework.add_note(case, "dee", utc(2026, 11, 21), "Spoke to Mr Smith")
    assert case.history[-1].note == "Spoke to Mr Smith"
    with pytest.raises(CaseworkError, match="was deleted"):
        casework.add_note(seeded()[-1], "dee", utc(2026, 11, 21), "x")
    with pytest.raises(CaseworkError, match="was deleted"):
        casework.move(seeded()[-1], "reopen", "dee", utc(2026, 11, 21), "x")


def test_a_change_queues_the_leadership_card_update() -> None:
    a, _, c, *_ = seeded()
    item = casework.card_update(a, utc(2026, 12, 1))
    assert item is not None and item.platform == Platform.SLACK and item.workspace == "T1"
    assert item.id == f"case:TT-2026-0001:card:{len(a.history)}"
    assert codec.reply_from_dict(item.reply) == CaseCard("TT-2026-0001", update=True)
    assert item.audience == Audience.LEADERSHIP and item.case_reference == "TT-2026-0001"
    terminal = replace(c, reporter=Person(Platform.TERMINAL, "local", "me"))
    assert casework.card_update(terminal, utc(2026, 12, 1)) is None


def test_case_text_shows_timeline_retention_and_history() -> None:
    b = seeded()[1]
    text = case_text(b, FACTS, utc(2026, 11, 6), "staff_allegation: …")
    assert "Status: Refused by TikTok – Dee Head, Thu 5 Nov 2026, 10:00" in text
    assert "  Reported in the TikTok app: Sun 1 Nov 2026 (the day staff gave)" in text
    assert "  Report to POSH: 1 day 10 h" in text
    assert "Retention: staff_allegation: …" in text
    assert "Dee Head: TikTok refused (With TikTok via POSH → Refused by TikTok)" in text
    assert "“TikTok: no violation”" in text

    assert "hand it to the Professional Online Safety Helpline" not in text  # it is with POSH


def test_case_text_of_a_case_not_yet_with_posh_says_how_to_hand_it_over() -> None:
    """Found by trying it: a terminal leader saw POSH's number and email only in an export."""
    d = seeded()[3]
    text = case_text(d, FACTS, utc(2026, 11, 21, 11))
    assert "Case TT-2026-0004: hand it to the Professional Online Safety Helpline (POSH)" in text
    assert f"Phone: {FACTS.posh_phone}" in text and f"Email: {FACTS.posh_email}" in text
    assert "Email text, ready to send:" in text and "Dear POSH team," in text
    assert text.rstrip().splitlines()[-1].startswith("Next: reportbot cases move TT-2026-0004")


def test_the_next_step_hint_lists_only_what_each_command_takes() -> None:
    """Found by an exploratory test: the hint offered `cases move REF assign`, which `cases
    move` refuses (assigning is `cases assign`'s)."""
    at = utc(2026, 12, 1)

    def moved(path: Sequence[str]) -> Case:
        case = seeded()[3]
        for verb in path:
            casework.move(case, verb, "dee", at)
        return case

    for path in ([], ["in_app"], ["sent"], ["sent", "with_tiktok"]):
        last = case_text(moved(path), FACTS, at).rstrip().splitlines()[-1]
        verbs, _, assign = last.partition("(one of: ")[2].partition("), or ")
        assert assign == "reportbot cases assign TT-2026-0004 [--to NAME]", last
        for verb in verbs.split(", "):  # each one is taken by `cases move`
            casework.move(moved(path), verb, "dee", at, "why")
    assert case_text(moved([]), FACTS, at).rstrip().splitlines()[-1] == (
        "Next: reportbot cases move TT-2026-0004 VERB (one of: in_app, sent, removed, close), "
        "or reportbot cases assign TT-2026-0004 [--to NAME]"
    )


# --- subject access ----------------------------------------------------------------------------


# --- a case filed through the engine ---------------------------------------------------------

HAPPY = [
    "https://www.tiktok.com/@fake.mr.smith/video/7301234567890123456",
    "done",
    "1, 2",
    "no",
    "no",
    "1",
    "Mr J Smith, Head of Maths",
    "yesterday",
    "yes",
    "2 days ago",
    "2",
    "yes",
    "skip",
    "don't know",
    "dsl",
    "Ann Teacher",
    "Deputy Headteacher",
    "01632 960 123",
    "leaders",
    "submit",
]


async def test_a_case_filed_through_the_engine_exports_and_counts() -> None:
    store, clock = MemoryStore(), FakeClock(utc(2026, 11, 25, 11))
    engine = Engine(store, FACTS, clock, membership=Roster())
    await engine.handle(Turn(ANN, action="start"))
    for answer in HAPPY:
        await engine.handle(Turn(ANN, text=answer))
    (case,) = await store.cases()
    clock.advance(hours=3)
    casework.move(case, "sent", LEAD, clock.now())
    clock.advance(days=2)
    casework.move(case, "removed", LEAD, clock.now())
    row = rows(export_csv([case]))[0]
    assert row["reported_in_app"] == "2026-11-23"  # "2 days ago": a day, not a moment
    assert (row["sent_to_posh"], row["removed"]) == ("2026-11-25 14:00", "2026-11-27 14:00")
    s = compute_stats([case])
    assert s.to_posh.median == timedelta(days=2, hours=14)  # from the in-app report
    assert s.posh_to_removal.median == timedelta(days=2)
    assert s.no_violation_in_app == 1
    assert "Mr J Smith, Head of Maths" in case_html(case, FACTS, clock.now())


def test_a_case_action_is_parsed_once_and_written_one_way() -> None:
    from bot.lifecycle import CaseAction

    action = CaseAction.parse("case:sent:tt-2026-0007 ")
    assert action == CaseAction("sent", "TT-2026-0007")
    assert action.value == "case:sent:TT-2026-0007"
    for odd in (None, "", "case:", "case:sent", "case:sent:", "answer:step:x", "sent:TT-1"):
        assert CaseAction.parse(odd) is None


def test_a_case_is_listed_by_its_account_before_a_short_link() -> None:
    """From an exploratory test: `cases` listed a report by its vm.tiktok.com link."""
    from bot.views import case_line

    d = seeded()[3]
    d.handles = ("https://vm.tiktok.com/ZMa/", "mr.jones.fake")
    assert " – @mr.jones.fake – " in case_line(d, FACTS)
    d.handles = ("https://vm.tiktok.com/ZMa/",)
    assert " – https://vm.tiktok.com/ZMa/ – " in case_line(d, FACTS)


def test_a_reopened_case_s_timeline_says_it_was_reopened() -> None:
    """Found by an exploratory test: the printed timeline of a reopened case ended "Closed"."""
    a = seeded()[0]
    lifecycle.apply(a, "reopen", LEAD, utc(2026, 7, 10, 9), "it came back")
    rows = timeline(a)
    assert rows[-1][0] != "Reopened"  # the durations come last
    assert dict(rows)["Reopened"] == "Fri 10 Jul 2026, 10:00"
