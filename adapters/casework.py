"""Leaders' case commands for the terminal operator: cases, export, stats, retention, sar.

    reportbot cases [--all]                      list open (or all) cases
    reportbot cases show REF                     one case, its timeline and whole history
    reportbot cases move REF VERB [--reason …]   in_app, sent, with_tiktok, removed, refused,
                                                 close, reopen (refused/close/reopen need a reason)
    reportbot cases assign REF [--to NAME]       who is contacting POSH (default: you)
    reportbot cases note REF "text"              add a note to the history
    reportbot export [--out cases.csv]           every case as CSV (UK times)
    reportbot export --case REF [--out REF.html] a printable report of one case
    reportbot stats                              figures for governors and unions
    reportbot retention review                   cases due for retention review
    reportbot retention keep REF --until DATE --reason …
    reportbot retention delete REF --reason … --confirm [--force]
    reportbot sar NAME [--out FILE.json]         what the bot holds about a person
    reportbot schools                            the schools a Postgres database holds

With many schools (one Postgres database), every command but `schools` takes `--school KEY`
(`slack:T…`, `teams:<tenant id>`, as `reportbot schools` lists them) and then sees and changes
only that school's rows; without it, only the deployment's own rows (cases from before it
served many schools), and it says so on stderr.

Each command opens the runtime, calls the pure functions in `bot.casework`, `bot.case_report`,
`bot.export_csv`, `bot.stats`, `bot.retention` and `bot.subject_access`, saves through the
store and closes. The operator is the OS user. Known problems print a kind message and exit 1;
a bug prints a reference code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.compose import DATABASE_URL, Runtime, many_schools, runtime_for
from bot import (
    case_report,
    casework,
    leader_words,
    localtime,
    references,
    reminders,
    retention,
    subject_access,
)
from bot.config import Settings
from bot.errors import (
    CaseworkError,
    ConfigError,
    Conflict,
    ReportBotError,
    StorageError,
    error_reference,
    log_bug,
)
from bot.export_csv import export_csv
from bot.lifecycle import STATUS_LABELS, note, written
from bot.model import Case, CaseStatus
from bot.outbox import scrub_post
from bot.ports import UnitOfWork
from bot.school import SETTINGS_KEY, SchoolSettings
from bot.stats import compute_stats, format_stats
from bot.understand import clean
from bot.views import case_line
from storage import atomic
from storage.choice import open_chosen_store

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
if TYPE_CHECKING:  # argparse's class is generic only to type checkers
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger(__name__)

# Above this many cases, `stats` shows it is working (on stderr, so stdout stays the table).
PROGRESS_FROM = 1000
PRIVATE = "It holds safeguarding data: keep it private, and delete it when it has served."


# --- wiring ------------------------------------------------------------------------------------


def register(sub: SubParsers, commands: dict[str, Command]) -> None:
    """Add the casework sub-commands to the `reportbot` parser."""
    common = argparse.ArgumentParser(add_help=False)
    # Also accepted after the command, as `chat` does; SUPPRESS keeps an outer value.
    common.add_argument(
        "--data-dir",
        dest="data_dir_sub",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="where cases are kept (default ./data, or REPORTBOT_DATA_DIR)",
    )
    common.add_argument(
        "--school",
        metavar="KEY",
        default=argparse.SUPPRESS,
        help="many schools: this school only (slack:T…, teams:<tenant id>; reportbot schools)",
    )
    _cases_parser(sub, common)
    commands["cases"] = _guarded(cases_command)
    p = sub.add_parser("export", parents=[common], help="export cases as CSV, or one as HTML")
    p.add_argument("--case", metavar="REF", help="a printable HTML report of this case")
    p.add_argument("--out", help="file to write (default cases.csv or REF.html; - for screen)")
    commands["export"] = _guarded(export_command)
    sub.add_parser("stats", parents=[common], help="figures: months, kinds, times, refusals")
    commands["stats"] = _guarded(stats_command)
    _retention_parser(sub, common)
    commands["retention"] = _guarded(retention_command)
    p = sub.add_parser("sar", parents=[common], help="what the bot holds about a person")
    p.add_argument("name", help="a name or email (any case; part of one is enough)")
    p.add_argument("--out", help="write it as JSON to this file")
    commands["sar"] = _guarded(sar_command)
    sub.add_parser("schools", parents=[common], help="the schools a Postgres database holds")
    commands["schools"] = _guarded(schools_command)


def _cases_parser(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("cases", parents=[common], help="list, show and update cases")
    p.add_argument("--all", action="store_true", help="include ended and deleted cases")
    acts = p.add_subparsers(dest="cases_action", metavar="ACTION")
    s = acts.add_parser("show", parents=[common], help="a case with its whole history")
    s.add_argument("reference", metavar="REF")
    m = acts.add_parser("move", parents=[common], help="record a change of status")
    m.add_argument("reference", metavar="REF")
    m.add_argument("verb", metavar="VERB", help=", ".join(casework.OPERATOR_VERBS))
    _reason(m)
    a = acts.add_parser("assign", parents=[common], help="who is contacting POSH")
    a.add_argument("reference", metavar="REF")
    a.add_argument("name", nargs="*", help=argparse.SUPPRESS)  # `assign 1 Mrs Green`
    a.add_argument("--to", default="", metavar="NAME", help="someone else (default: you)")
    a.add_argument("--reason", default="")
    n = acts.add_parser("note", parents=[common], help="add a note to the history")
    n.add_argument("reference", metavar="REF")
    n.add_argument("text", nargs="+", help="the note (quotes are not needed)")
    # What leaders type without reading the help: `cases list`, `cases close 1 because …`.
    # Accepted, not listed (no help=), so the help stays one way of saying each thing.
    for alias in LIST_ALIASES:
        acts.add_parser(alias, parents=[common])
    for alias in MOVE_ALIASES:
        v = acts.add_parser(alias, parents=[common])
        v.add_argument("reference", metavar="REF")
        _reason(v)


LIST_ALIASES = ("list", "open")
MOVE_ALIASES = (
    "in_app", "in-app", "sent", "with_tiktok", "with-tiktok", "removed", "remove", "refused",
    "close", "closed", "reopen",
)  # fmt: skip


def _reason(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="*", help="why, if --reason is not given", metavar="REASON")
    p.add_argument("--reason", default="", help="why (needed for refused, close, reopen)")


def _retention_parser(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("retention", parents=[common], help="review and delete old cases")
    acts = p.add_subparsers(dest="retention_action", metavar="ACTION")
    acts.add_parser("review", parents=[common], help="cases due for review (the default)")
    k = acts.add_parser("keep", parents=[common], help="reviewed: keep a case until a date")
    k.add_argument("reference", metavar="REF")
    k.add_argument("--until", required=True, metavar="YYYY-MM-DD", help="next review date")
    k.add_argument("--reason", default="")
    k.add_argument(
        "--confirm", action="store_true", help="yes, review it sooner than it is due today"
    )
    d = acts.add_parser("delete", parents=[common], help="reviewed: delete a case's details")
    d.add_argument("reference", metavar="REF")
    d.add_argument("--reason", default="", help="why it is being deleted (kept on record)")
    d.add_argument("--confirm", action="store_true", help="yes, delete it")
    d.add_argument("--force", action="store_true", help="delete even though it is open")


def say(*parts: object, **kw: Any) -> None:
    """Print for the operator. Everything printed passes `clean`: a case kept before input was
    cleaned could hold a terminal escape sequence, which must not reach a leader's terminal."""
    print(*(clean(str(p)) for p in parts), **kw)


def _guarded(command: Command) -> Command:
    """Known problems → a kind message and exit 1; a bug → a reference code, not a traceback."""

    @wraps(command)
    async def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return await command(args, settings)
        except (ConfigError, StorageError, BrokenPipeError):
            raise  # `reportbot` itself explains these (exit 2), or (a closed pipe) says nothing
        except ReportBotError as e:
            say(f"reportbot: {e}", file=sys.stderr)
            return 1
        except Exception as e:
            code = error_reference()
            log_bug(log, code, e)
            say(
                f"reportbot: something went wrong ({code}). Please pass this code on to "
                "whoever looks after the bot.",
                file=sys.stderr,
            )
            return 1

    return run


# --- helpers -----------------------------------------------------------------------------------


def operator() -> str:
    """The terminal operator, as the history records them: the OS user."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        raise CaseworkError(
            "I can't tell who you are (no user name): set the USER environment variable."
        ) from None


@asynccontextmanager
async def _runtime(
    args: argparse.Namespace, settings: Settings, *, read_only: bool = False
) -> AsyncIterator[Runtime]:
    """The runtime of the school named with --school, or (none named) the deployment's own."""
    school = getattr(args, "school", "").strip()
    if school and os.environ.get(DATABASE_URL, "").strip():  # the data folder: runtime_for says
        known = {row.key for row in await school_rows(settings)}
        if school not in known:
            raise CaseworkError(
                f"The database holds nothing for the school {school!r}: `reportbot schools` "
                "lists the schools it holds, as --school takes them (slack:T…, teams:…)."
            )
    elif many_schools(os.environ):
        say(_DEPLOYMENT_ROWS, file=sys.stderr)
    async with runtime_for(settings, read_only=read_only, school=school) as runtime:
        yield runtime


_DEPLOYMENT_ROWS = (
    "(This deployment serves many schools: without --school KEY this is only its own rows, "
    "from before it did, not any school's. `reportbot schools` lists them.)"
)


async def _case(runtime: Runtime, reference: str) -> Case:
    """The case a reference names, as the operator typed it: a number alone is this year's on
    the school's clock, the year cases are numbered in (`bot.filing`)."""
    year = localtime.moment(runtime.clock.now(), runtime.facts).year
    ref = references.canonical(reference, year)
    case = await runtime.store.case(ref)
    if case is None:
        raise CaseworkError(f"No case {ref} here. {references.looks_like(year)}")
    return case


async def _save(runtime: Runtime, case: Case) -> None:
    """Save the case with the leadership post's update, for the running bot to deliver, in one
    write. A case changed meanwhile (by a leader in chat) is not overwritten: asked again."""
    reminders.schedule(case, runtime.facts)
    item = casework.card_update(case, runtime.clock.now())
    try:
        await runtime.store.commit(UnitOfWork(cases=[case], outbox=[item] if item else []))
    except Conflict:
        raise CaseworkError(
            f"{case.reference} was changed meanwhile (in chat?): run the command again."
        ) from None


def _write_private(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write a file only its owner can read: a new 0600 file beside the target, renamed into
    place. A planted link, pipe or folder at the target is refused, never followed, so no
    other file is changed or has its mode changed."""
    _check_target(path)
    try:
        atomic.replace(atomic.write_temp(path, text.encode(encoding)), path)
    except StorageError as e:
        reason = getattr(e.__cause__, "strerror", None) or "it could not be saved"
        raise CaseworkError(f"Could not write {path}: {reason}.") from None


def _check_target(path: Path) -> None:
    try:
        what = atomic.odd_target(path)
    except OSError as e:
        raise CaseworkError(f"Could not check {path}: {e.strerror}.") from None
    if what is not None:
        raise CaseworkError(
            f"{path} is {what}, so nothing was written there (it could change another file). "
            "Choose another name with --out, or move it aside first."
        )


async def _output(out: str, text: str, what: str, encoding: str = "utf-8") -> None:
    if out == "-":
        sys.stdout.write(text)
        return
    await asyncio.to_thread(_write_private, Path(out), text, encoding)
    say(f"Wrote {what} to {out}. {PRIVATE}")


def _schedule(settings: Settings) -> dict[str, int]:
    return retention.check_schedule(settings.retention)


# --- cases -------------------------------------------------------------------------------------


async def cases_command(args: argparse.Namespace, settings: Settings) -> int:
    action = args.cases_action
    if action in MOVE_ALIASES:  # `cases close 1 because …` is `cases move 1 close …`
        action, args.verb = "move", action
    reading = action in (None, "show", *LIST_ALIASES)
    async with _runtime(args, settings, read_only=reading) as runtime:
        if action is None or action in LIST_ALIASES:
            return await _list(runtime, args.all)
        case = await _case(runtime, args.reference)
        if action == "show":
            review = retention.review_of(case, _schedule(settings), runtime.facts).describe()
            say(case_report.case_text(case, runtime.facts, runtime.clock.now(), review))
            return 0
        who, now, done = operator(), runtime.clock.now(), ""
        if action == "move":
            args.reason = args.reason or " ".join(args.words)
            casework.move(case, args.verb, who, now, args.reason)
        elif action == "assign":
            to, why = (args.to, "") if args.to else leader_words.assignee(" ".join(args.name))
            args.reason = args.reason or why  # "cases assign 1 to Mrs Green because …"
            done = casework.assigned(case, casework.assign(case, to, who, now, args.reason))
        else:
            args.text = " ".join(args.text)
            casework.add_note(case, who, now, args.text)
        said, what = (args.text, "note") if action == "note" else (args.reason, "reason")
        warned = casework.safety_said(case, said, who, now, runtime.facts, what)
        await _save(runtime, case)
        for notice in warned:  # a child's images described: said first, and on stdout
            say(notice + "\n")
        if done:
            say(done)
        say(case_line(case, runtime.facts))
        return 0


async def _list(runtime: Runtime, everything: bool) -> int:
    found = await runtime.store.cases(open_only=not everything)
    if not found:
        say("There are no cases yet." if everything else _NO_OPEN)
        return 0
    say(f"{'All' if everything else 'Open'} cases ({len(found)}), times in UK time:")
    for case in found:
        say("  " + case_line(case, runtime.facts))
    if not everything:
        say(_ENDED)
    return 0


_NO_OPEN = "There are no open cases. (reportbot cases --all lists ended ones too.)"
_ENDED = "Removed, refused and closed cases are not open: reportbot cases --all lists them too."


# --- export and stats --------------------------------------------------------------------------


async def export_command(args: argparse.Namespace, settings: Settings) -> int:
    async with _runtime(args, settings, read_only=True) as runtime:
        if args.case:
            case = await _case(runtime, args.case)
            html = case_report.case_html(case, runtime.facts, runtime.clock.now())
            await _output(args.out or f"{case.reference}.html", html, f"{case.reference}'s report")
            return 0
        found = await runtime.store.cases()
        text = export_csv(found, runtime.facts)
    # utf-8-sig: Excel, which most schools open CSV in, needs the mark to read “ ” and £.
    await _output(args.out or "cases.csv", text, f"{len(found)} case(s)", "utf-8-sig")
    return 0


def _progress(done: int, total: int) -> None:
    end = "\n" if done >= total else ""
    say(f"\rWorking out the figures: {done}/{total} cases", end=end, file=sys.stderr, flush=True)


async def stats_command(args: argparse.Namespace, settings: Settings) -> int:
    async with _runtime(args, settings, read_only=True) as runtime:
        found, facts = await runtime.store.cases(), runtime.facts
    if len(found) > PROGRESS_FROM:
        say(f"{len(found)} cases: this may take a moment.", file=sys.stderr)
    stats = compute_stats(found, _progress if len(found) > PROGRESS_FROM else None, facts)
    say(format_stats(stats), end="")
    return 0


# --- retention ---------------------------------------------------------------------------------


async def retention_command(args: argparse.Namespace, settings: Settings) -> int:
    schedule = _schedule(settings)
    async with _runtime(args, settings) as runtime:
        action = args.retention_action or "review"
        if action == "review":
            return await _review(runtime, schedule)
        case = await _case(runtime, args.reference)
        who, now = operator(), runtime.clock.now()
        if action == "keep":
            review = retention.review_of(case, schedule, runtime.facts)
            return await _keep(runtime, case, args, review.review_on, who)
        if case.status == CaseStatus.DELETED:
            # Finishes a deletion interrupted before its post was queued to be scrubbed.
            await runtime.store.commit(UnitOfWork(outbox=[scrub_post(case, now)]))
        retention.check_deletion(case, args.reason, confirm=args.confirm, force=args.force)
        tomb = retention.tombstone(case, who, now, args.reason)
        await runtime.store.delete_case(case.reference, tomb)
        await runtime.store.commit(UnitOfWork(outbox=[scrub_post(tomb, now)]))
        say(
            f"Deleted {case.reference}. Kept: its reference, the date it was reported, and this "
            f"deletion ({who}, {localtime.local(now, runtime.facts)}, “{args.reason.strip()}”)."
        )
        return 0


async def _review(runtime: Runtime, schedule: dict[str, int]) -> int:
    today = localtime.day(runtime.clock.now(), runtime.facts)
    due = retention.review_due(await runtime.store.cases(), schedule, today, runtime.facts)
    if not due:
        say(f"No cases are due for retention review (today is {localtime.day_text(today)}).")
        return 0
    say(f"Due for retention review ({len(due)}), today {localtime.day_text(today)}:")
    for r in due:
        status = STATUS_LABELS[r.status]
        say(f"  {r.reference} – {status} – {r.describe()}")
    say(
        "\nAfter review, either keep it: reportbot retention keep REF --until YYYY-MM-DD "
        '--reason "…"\nor delete it: reportbot retention delete REF --reason "…" --confirm'
    )
    return 0


async def _keep(
    runtime: Runtime, case: Case, args: argparse.Namespace, current: date, who: str
) -> int:
    """A review that keeps the case: the next review date and the reason go on record.

    A date before the one the case is due for now would shorten how long it is kept: that
    is asked for again, with --confirm, rather than done by a slip of the keyboard.
    """
    until, reason = args.until, written(args.reason, "reason")
    try:
        day = date.fromisoformat(until)
    except ValueError:
        raise CaseworkError(f"{until} is not a date: write it as YYYY-MM-DD.") from None
    if case.status == CaseStatus.DELETED:
        raise CaseworkError(f"{case.reference} has already been deleted.")
    if not reason:
        raise CaseworkError(f'Say why {case.reference} is being kept: add --reason "…".')
    if day <= localtime.day(runtime.clock.now(), runtime.facts):
        raise CaseworkError("The next review date must be in the future.")
    if day < current and not args.confirm:
        raise CaseworkError(
            f"{case.reference} is due for review on {localtime.day_text(current)}; "
            f"{localtime.day_text(day)} is sooner, so it would be kept for less time. If that "
            "is what the review decided, "
            "run the same command again with --confirm."
        )
    case.review_on = day.isoformat()
    note(
        case,
        who,
        runtime.clock.now(),
        f"Retention review: kept until {localtime.day_text(day)}. {reason}",
    )
    await _save(runtime, case)
    say(f"{case.reference} is kept; next review on {localtime.day_text(day)}.")
    return 0


# --- subject access ----------------------------------------------------------------------------


async def sar_command(args: argparse.Namespace, settings: Settings) -> int:
    query = subject_access.name_query(args.name)
    async with _runtime(args, settings, read_only=True) as runtime:
        store = runtime.store
        found = subject_access.search(
            query, await store.cases(), await store.conversations(), await store.outbox_items()
        )
        now, facts = runtime.clock.now(), runtime.facts
    if args.out:
        what = f"{found.count} record(s)"
        await _output(args.out, subject_access.sar_json(found, now), what)
    else:
        say(subject_access.sar_text(found, localtime.local(now, facts)))
    return 0


# --- schools -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolRow:
    key: str  # "" for the deployment's own rows
    cases: int
    open: int
    name: str


async def school_rows(settings: Settings) -> list[SchoolRow]:
    """Every school the Postgres database holds anything of (a case, a conversation, a message
    owed, a setting), with its case counts and the name it set; [] for the data folder."""
    url = os.environ.get(DATABASE_URL, "")
    if not url.strip():
        return []
    # Imported here, as storage.choice does: SQLAlchemy is slow to load.
    from sqlalchemy import func, select, union

    from storage.postgres import PostgresStore
    from storage.postgres.database import storage_errors
    from storage.postgres.schema import cases, conversations, meta, outbox

    opened = await open_chosen_store(url, settings.data_dir, read_only=True)
    try:
        store = opened.schools
        assert isinstance(store, PostgresStore)
        keys = union(
            select(cases.c.school),
            select(conversations.c.school),
            select(outbox.c.school),
            select(meta.c.school),
        ).subquery()
        counted = (
            select(
                cases.c.school,
                func.count().label("cases"),
                func.count().filter(cases.c.is_open).label("open"),
            )
            .group_by(cases.c.school)
            .subquery()
        )
        query = (
            select(
                keys.c.school,
                func.coalesce(counted.c.cases, 0),
                func.coalesce(counted.c.open, 0),
            )
            .select_from(keys.outerjoin(counted, keys.c.school == counted.c.school))
            .order_by(keys.c.school)
        )
        async with storage_errors(), store.engine.connect() as conn:
            found = (await conn.execute(query)).all()
        rows = []
        for key, total, still_open in found:
            chosen = SchoolSettings.from_json(await store.for_school(key).get_meta(SETTINGS_KEY))
            rows.append(SchoolRow(str(key), int(total), int(still_open), chosen.name))
        return rows
    finally:
        await opened.store.close()


async def schools_command(args: argparse.Namespace, settings: Settings) -> int:
    if not os.environ.get(DATABASE_URL, "").strip():
        say(
            "The data folder holds one school, so there are no others to choose: the commands "
            f"need no --school. (Many schools are kept in a Postgres database, {DATABASE_URL}.)"
        )
        return 0
    rows = await school_rows(settings)
    if not rows:
        say("The database holds no school yet.")
        return 0
    say(f"Schools in the database ({len(rows)}); name one with --school KEY:")
    for row in rows:
        key = row.key or "(no --school: the deployment's own rows)"
        name = f" – {row.name}" if row.name else ""
        say(f"  {key}{name} – {row.cases} case(s), {row.open} open")
    return 0
