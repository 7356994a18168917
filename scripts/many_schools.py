"""The scripted check of issue 15: two schools installed through Slack's OAuth flow, served by
two instances on one Postgres, kept apart.

    .venv/bin/python -m scripts.many_schools     # from the project folder; 10-25 s

Everything runs on 127.0.0.1 and is removed afterwards:
1. a throw-away Postgres cluster (tests/postgres_cluster.py), then `reportbot migrate`;
2. the Slack stand-in (tests/slack_fakes.FakeSlack) playing two workspaces, Alpha and Bravo,
   each with its own private leadership channel, and two `reportbot serve` processes, "one"
   and "two", for many schools (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET,
   REPORTBOT_SECRET_KEY, no SLACK_BOT_TOKEN) with SLACK_API_URL at the stand-in;
3. each workspace installs the app as an installer's browser would: `GET /slack/install` on
   one instance, Slack's authorize page (the stand-in grants a code), `GET
   /slack/oauth_redirect` on the other (Alpha one -> two, Bravo two -> one);
4. each installer types `/report-tiktok setup` in their leadership channel, on the instance
   their install did not finish on;
5. two staff of each school file whole reports at the same time, each person's requests
   alternating between the instances;
6. a workspace that never installed sends a slash command and a DM to each instance; Bravo's
   leader presses a button on Alpha's case card with a request that claims to be from Alpha
   (signed, its ids forged); then Alpha's own leader presses the same button.

The checks are printed; exit status 0 when every one passes, 1 when one fails.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.instances import Server, clean_env, start_two, throwaway_database
from scripts.two_instances_checks import Check, Outcome, case_of
from tests.slack_fakes import (
    POSTING,
    REPORT_STEPS,
    FakeSlack,
    Grant,
    all_text,
    block_actions,
    buttons,
    command_form,
    dm_channel,
    eventually,
    form_body,
    install_app,
    message_event,
    oauth_env,
    payload_body,
    signed_headers,
)
from tests.slack_steps import FORM, JSON_TYPE, StepRequest, awaited_reply, step_request

PATIENCE = 20.0  # seconds a person waits for the bot's next message
LEASE = 5.0  # REPORTBOT_OUTBOX_LEASE
NEVER = "T0NEVERINSTALLED"
SECRET_LINK = "https://www.tiktok.com/@never.installed.secret"
SETUP_TRIES = 3  # an installer told "I couldn't check that just now" types setup again
MOVE = "sent"  # the button a leader presses on a case card: "Sent to POSH"
JSONDict = dict[str, Any]


@dataclass(frozen=True)
class School:
    team: str
    leaders: str  # the private leadership channel
    installer: str
    leader: str  # a member of the leadership channel (not the installer)
    staff: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"slack:{self.team}"

    def people(self) -> dict[str, str]:
        named = {self.installer: "Ivy Installer", self.leader: "Lou Leader"}
        return named | {s: f"Staff {s[-1]}" for s in self.staff}


ALPHA = School("T0ALPHA", "G0ALPHALEAD", "U0AINST", "U0ALEAD", ("U0ASTAFF1", "U0ASTAFF2"))
BRAVO = School("T0BRAVO", "G0BRAVOLEAD", "U0BINST", "U0BLEAD", ("U0BSTAFF1", "U0BSTAFF2"))
SCHOOLS = (ALPHA, BRAVO)


def handle(user: str) -> str:
    return f"many.schools.{user.lower()}"


@dataclass
class Notes:
    installs: dict[str, int] = field(default_factory=dict)  # school -> the redirect's status
    welcomed: dict[str, bool] = field(default_factory=dict)
    set_up: dict[str, bool] = field(default_factory=dict)
    setup_tries: dict[str, int] = field(default_factory=dict)
    setup_answers: dict[str, list[str]] = field(default_factory=dict)  # how each began
    odd: list[str] = field(default_factory=list)  # answers other than 200 to a person's step
    stopped: list[str] = field(default_factory=list)
    never: list[int] = field(default_factory=list)  # statuses the uninstalled workspace got
    before: str = ""  # the status of Alpha's first case before either press
    forged_status: int = 0
    forged_moved: str = ""  # its status after Bravo's leader's press
    told: list[str] = field(default_factory=list)  # what Bravo's leader was sent after it
    own_status: int = 0
    own_moved: str = ""  # its status after Alpha's leader's press
    took_install: float = 0.0


@dataclass
class Rig:
    fake: FakeSlack
    servers: list[Server]
    session: aiohttp.ClientSession
    db: AsyncEngine
    notes: Notes = field(default_factory=Notes)

    def told_since(self, user: str, before: int) -> bool:
        return len(self.fake.dm(user)) > before

    def said_to(self, user: str) -> str:
        return "\n".join(all_text(m) for m in self.fake.dm(user))

    async def post(self, server: Server, body: bytes, content_type: str) -> int:
        headers = {"Content-Type": content_type, **signed_headers(body)}
        async with self.session.post(
            f"{server.url}/slack/events", data=body, headers=headers
        ) as response:
            await response.read()
            return response.status

    async def rows(self, sql: str, **params: str) -> list[Any]:
        async with self.db.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    # -- installing and setting up -----------------------------------------------------------

    async def install(self, school: School, start: Server, finish: Server) -> None:
        began = time.monotonic()
        grant = Grant(team=school.team, installer=school.installer)
        done = await install_app(self.session, start.url, finish.url, self.fake, grant)
        self.notes.took_install = max(self.notes.took_install, time.monotonic() - began)
        self.notes.installs[school.id] = done.status
        try:
            await eventually(lambda: "/report-tiktok setup" in self.said_to(school.installer), 10)
            self.notes.welcomed[school.id] = True
        except TimeoutError:
            self.notes.welcomed[school.id] = False

    async def set_up(self, school: School, server: Server) -> None:
        """As the installer would: type setup, read the answer, and (told the bot could not
        check, or see the channel, just then) type it again, up to SETUP_TRIES times."""
        for _ in range(SETUP_TRIES):  # each a new command, with its own trigger id
            form = command_form(school.installer, "setup", team=school.team, channel=school.leaders)
            before = len(self.fake.dm(school.installer))
            status = await self.post(server, form_body(form), FORM)
            self.notes.setup_tries[school.id] = self.notes.setup_tries.get(school.id, 0) + 1
            try:
                await eventually(partial(self.told_since, school.installer, before), 10)
            except TimeoutError:
                break
            answer = str(self.fake.dm(school.installer)[-1].get("text", ""))
            self.notes.setup_answers.setdefault(school.id, []).append(answer[:60])
            if "now the leadership channel" in answer:
                self.notes.set_up[school.id] = status == 200
                return
            if "again" not in answer:  # not "try again", nor "then type … setup again"
                break
        self.notes.set_up[school.id] = False

    # -- people's reports ----------------------------------------------------------------------

    async def person(self, school: School, user: str, n: int) -> None:
        steps = [("command", handle(user)), *REPORT_STEPS]
        question: JSONDict | None = None
        for i, (how, what) in enumerate(steps):
            before = len(self.fake.dm(user))
            link = f"https://www.tiktok.com/@{what}" if how == "command" else what
            request = step_request(user, i, how, link, question, team=school.team)
            await self.send(request, self.servers[(n + i) % 2])
            if i + 1 < len(steps):
                question = await self.reply(user, before, steps[i + 1])

    async def send(self, request: StepRequest, server: Server) -> None:
        status = await self.post(server, request.body, request.content_type)
        if status != 200:
            self.notes.odd.append(f"HTTP {status} from {server.name} for {request.delivery_id}")
            raise RuntimeError(f"{request.user}: step {request.step + 1} refused ({status})")

    async def reply(self, user: str, before: int, wanted: tuple[str, str]) -> JSONDict | None:
        try:
            return await awaited_reply(self.fake, user, before, wanted, PATIENCE)
        except TimeoutError:
            raise RuntimeError(f"{user} got no reply offering {' '.join(wanted)}") from None

    async def settle(self) -> None:
        """Until nothing is left to send and Slack has heard nothing for half a second."""
        with suppress(TimeoutError):  # what is still unsent then, the checks report
            await self._settle()

    async def _settle(self) -> None:
        async with asyncio.timeout(LEASE + 2 * PATIENCE):
            pending = "SELECT 1 FROM outbox WHERE sent_at IS NULL AND NOT failed"
            while await self.rows(pending):  # noqa: ASYNC110 - other processes empty it
                await asyncio.sleep(0.1)
            calls = -1
            while calls != len(self.fake.calls):
                calls = len(self.fake.calls)
                await asyncio.sleep(0.5)

    # -- attempts on the other school ------------------------------------------------------------

    async def never_installed(self) -> None:
        for server in self.servers:
            form = command_form("U0NEVER", SECRET_LINK, team=NEVER)
            self.notes.never.append(await self.post(server, form_body(form), FORM))
            event = json.dumps(message_event("U0NEVER", SECRET_LINK, team=NEVER)).encode()
            self.notes.never.append(await self.post(server, event, JSON_TYPE))

    async def press(self, school: School, user: str, card: JSONDict, server: Server) -> int:
        """A press of MOVE on `card` (in `school`'s leadership channel), claiming `school`."""
        action = next(b for b in buttons(card) if b["action_id"] == f"case:{MOVE}")
        payload = block_actions(
            user, action, channel=school.leaders, message_ts=card["ts"], team=school.team
        )
        return await self.post(server, payload_body(payload), FORM)


# -- running it --------------------------------------------------------------------------------


def two_workspaces() -> FakeSlack:
    fake = FakeSlack()
    for school in SCHOOLS:
        fake.workspace(school.team, leaders=school.leaders, people=school.people())
        fake.members[school.leaders].append(school.leader)
    return fake


async def start_rig(stack: AsyncExitStack, folder: Path, url: str) -> Rig:
    fake = two_workspaces()
    api_url = await fake.start()
    stack.push_async_callback(fake.close)
    env = clean_env(
        **oauth_env(api_url, url, SLACK_API_TIMEOUT="3"),
        REPORTBOT_OUTBOX_LEASE=f"{LEASE:g}",
        REPORTBOT_DATA_DIR=str(folder / "no-data-folder"),  # never used: the database is
    )
    started = await start_two(stack, folder, env)
    return Rig(fake, started.servers, started.session, started.db)


async def scenario(rig: Rig) -> None:
    one, two = rig.servers
    await asyncio.gather(rig.install(ALPHA, one, two), rig.install(BRAVO, two, one))
    await asyncio.gather(rig.set_up(ALPHA, one), rig.set_up(BRAVO, two))
    people = [
        (school, user) for n in range(2) for school in SCHOOLS for user in school.staff[n:][:1]
    ]
    done = await asyncio.gather(
        *(rig.person(school, user, n) for n, (school, user) in enumerate(people)),
        return_exceptions=True,
    )
    rig.notes.stopped = [str(e) for e in done if isinstance(e, BaseException)]
    await rig.settle()
    await rig.never_installed()
    cards = rig.fake.posts(ALPHA.leaders)
    if cards:
        # Bravo's leader, with a request that says it comes from Alpha; then Alpha's leader.
        rig.notes.before = await status_of(rig, ALPHA, case_of(cards[0]))
        calls = len(rig.fake.calls)
        rig.notes.forged_status = await rig.press(ALPHA, BRAVO.leader, cards[0], two)
        await rig.settle()
        to_them = [c for c in rig.fake.calls[calls:] if told(c.params, BRAVO.leader)]
        rig.notes.told = [c.method for c in to_them if c.method in POSTING]
        rig.notes.forged_moved = await status_of(rig, ALPHA, case_of(cards[0]))
        rig.notes.own_status = await rig.press(ALPHA, ALPHA.leader, cards[0], one)
        await rig.settle()
        rig.notes.own_moved = await status_of(rig, ALPHA, case_of(cards[0]))


def told(params: JSONDict, user: str) -> bool:
    """A message to `user`: in their DM, or shown to them alone in a channel."""
    return params.get("user") == user or params.get("channel") == dm_channel(user)


async def status_of(rig: Rig, school: School, reference: str) -> str:
    found = await rig.rows(
        "SELECT doc->>'status' FROM cases WHERE school = :school AND reference = :ref",
        school=school.id,
        ref=reference,
    )
    return str(found[0][0]) if found else ""


@dataclass
class Stored:
    """What the database and the stand-in hold once everything has settled."""

    cases: dict[str, list[tuple[str, str]]]  # school -> (reference, reporter) per case
    schools: set[str]  # every school id anything is stored under
    settings: dict[str, str]  # school -> its leadership channel, as stored
    never_rows: int  # rows of any kind under the never-installed workspace


async def read_back(rig: Rig) -> Stored:
    cases: dict[str, list[tuple[str, str]]] = {}
    for school, ref, reporter_ in await rig.rows("SELECT school, reference, reporter FROM cases"):
        cases.setdefault(school, []).append((ref, reporter_))
    found: set[str] = set()
    never = 0
    for table in ("cases", "conversations", "deliveries", "outbox", "meta", "counters"):
        for (school,) in await rig.rows(f"SELECT DISTINCT school FROM {table}"):
            found.add(school)
        rows = await rig.rows(f"SELECT count(*) FROM {table} WHERE school = :s", s=f"slack:{NEVER}")
        never += int(rows[0][0])
    settings = {
        school: json.loads(value)["leadership"] if isinstance(value, str) else value["leadership"]
        for school, value in await rig.rows(
            "SELECT school, value FROM meta WHERE key = 'school:settings'"
        )
    }
    return Stored(cases, found, settings, never)


def checks(rig: Rig, stored: Stored) -> list[Check]:
    notes, fake = rig.notes, rig.fake
    logs = "\n".join(s.log.read_text(errors="replace") for s in rig.servers if s.log.exists())
    found = [
        Check(
            "both workspaces installed through OAuth, each begun on one instance, finished on "
            "the other, and each installer told by DM how to finish",
            notes.installs == {s.id: 200 for s in SCHOOLS}
            and all(notes.welcomed.values())
            and len(notes.welcomed) == 2,
            f"redirects answered {notes.installs}; welcomed {notes.welcomed}",
        ),
        Check(
            "each installer's /report-tiktok setup made their own channel the leadership channel",
            all(notes.set_up.values())
            and len(notes.set_up) == 2
            and stored.settings == {s.id: s.leaders for s in SCHOOLS},
            f"confirmed {notes.set_up} (typed {notes.setup_tries} times, answered "
            f"{notes.setup_answers}); stored {stored.settings}",
        ),
        Check(
            "every person finished their report, every step answered 200",
            not notes.stopped and not notes.odd,
            "; ".join(notes.stopped + notes.odd[:3]) or "4 reports, interleaved",
        ),
        Check(
            "nothing is stored under any school but the two that installed",
            stored.schools <= {s.id for s in SCHOOLS},
            f"schools in the tables: {sorted(stored.schools)}",
        ),
    ]
    for school in SCHOOLS:
        found += school_checks(fake, stored, school)
    found += [
        Check(
            "a workspace that never installed is refused (403) by both instances, logged "
            "with its id and without what it sent, and nothing of it is kept",
            notes.never == [403, 403, 403, 403]
            and stored.never_rows == 0
            and f"slack:{NEVER}" in logs
            and "never.installed.secret" not in logs
            and not fake.dm("U0NEVER"),
            f"answers {notes.never}; {stored.never_rows} rows kept; "
            f"{'logged' if f'slack:{NEVER}' in logs else 'not logged'}",
        ),
        Check(
            "a leader of Bravo cannot move Alpha's case, even with a request claiming Alpha",
            notes.forged_status == 200
            and bool(notes.before)
            and notes.forged_moved == notes.before
            and bool(notes.told),
            f"HTTP {notes.forged_status}; the case stayed {notes.forged_moved or '?'}; "
            f"Bravo's leader was told so ({', '.join(notes.told) or 'nothing: silence'})",
        ),
        Check(
            "Alpha's own leader can (the same press, from them)",
            notes.own_status == 200 and notes.own_moved not in ("", notes.before),
            f"HTTP {notes.own_status}; {notes.before} -> {notes.own_moved}",
        ),
        Check(
            "no token is in the instances' logs",
            not any(token in logs for token in fake.tokens),
            f"{len(fake.tokens)} tokens issued",
        ),
    ]
    return found


def school_checks(fake: FakeSlack, stored: Stored, school: School) -> list[Check]:
    """Its cases stored under it, each posted once in its own channel with its own token."""
    cases = stored.cases.get(school.id, [])
    reporters = sorted(r.rsplit(":", 1)[-1] for _, r in cases)
    posts = fake.posts(school.leaders)
    cards = Counter(case_of(m) for m in posts)
    teams = {str(m.get("_team")) for m in posts}
    handles = {h for m in posts for h in map(handle, school.staff) if h in all_text(m)}
    others = [m for m in _all_posts(fake, exclude=school.leaders) if _mentions(m, school)]
    dm_teams = {str(m.get("_team")) for u in (*school.staff, school.installer) for m in fake.dm(u)}
    name = school.team
    return [
        Check(
            f"{name}: each of its staff's cases stored once, under {school.id}",
            reporters == sorted(school.staff)
            and all(r.startswith(f"{school.id}:") for _, r in cases),
            f"{len(cases)} cases: {sorted(cases)}",
        ),
        Check(
            f"{name}: every case posted exactly once, in its own leadership channel, with its "
            "own token, and nowhere else",
            set(cards) == {ref for ref, _ in cases}
            and set(cards.values()) == {1}
            and len(posts) == len(cases)
            and teams == {school.team}
            and handles == {handle(u) for u in school.staff}
            and not others,
            f"{len(posts)} posts in {school.leaders} {dict(cards)}, posted with the token of "
            f"{sorted(teams)}; {len(others)} of its cases posted elsewhere",
        ),
        Check(
            f"{name}: every DM to its people sent with its own token",
            dm_teams == {school.team},
            f"DMs sent with the tokens of {sorted(dm_teams)}",
        ),
    ]


def _all_posts(fake: FakeSlack, *, exclude: str) -> list[JSONDict]:
    return [m for channel, ms in fake.messages.items() if channel != exclude for m in ms]


def _mentions(message: JSONDict, school: School) -> bool:
    """A post in someone else's channel, or a DM to someone else, naming this school's cases."""
    if message.get("channel", "").removeprefix("D") in {u[1:] for u in school.staff}:
        return False  # the reporter's own DMs
    return case_of(message) != "" and any(handle(u) in all_text(message) for u in school.staff)


def summary(rig: Rig, took: float) -> list[str]:
    calls = Counter(c.team or "(app)" for c in rig.fake.calls)
    return [
        "Two Slack workspaces installed through OAuth, two instances on one Postgres, "
        f"{sum(len(s.staff) for s in SCHOOLS)} interleaved reports.",
        f"Longest install (GET /slack/install to the redirect's answer): "
        f"{rig.notes.took_install * 1000:.0f} ms.",
        "Web API calls by whose token made them: "
        + ", ".join(f"{team} {n}" for team, n in sorted(calls.items())),
        f"The run took {took:.1f} s.",
    ]


async def run_check(folder: Path, database_url: str = "") -> Outcome:
    """The whole scenario, in `folder`; on `database_url` (an empty database) if given, else
    on a throw-away cluster of its own."""
    started = time.monotonic()
    async with AsyncExitStack() as stack:
        url = database_url or await stack.enter_async_context(throwaway_database())
        rig = await start_rig(stack, folder, url)
        await scenario(rig)
        for server in rig.servers:
            await server.stop()
        stored = await read_back(rig)
        found = checks(rig, stored)
    lines = summary(rig, time.monotonic() - started)
    if not all(c.ok for c in found):  # what the instances logged (never content), to see why
        for server in rig.servers:
            lines += ["", f"The end of {server.name}'s log:", server.log_tail(15)]
    return Outcome(lines, found)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="reportbot-schools-") as tmp:
        outcome = asyncio.run(run_check(Path(tmp)))
    print(outcome.render())
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    sys.exit(main())
