"""The scripted check of issue 13: two instances on one Postgres, one killed mid-report.

    .venv/bin/python -m scripts.two_instances              # from the project folder; ~10 s
    .venv/bin/python -m scripts.two_instances --lease 120  # the default lease: ~2.5 minutes

Everything runs on 127.0.0.1 and is removed afterwards:
1. a throw-away Postgres cluster (tests/postgres_cluster.py), then `reportbot migrate`;
2. the Slack Web API stand-in (tests/slack_fakes.FakeSlack) in this process, and two
   `reportbot serve` processes, "one" and "two", with one school's Slack settings
   (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_LEADERSHIP_CHANNEL, SLACK_API_URL at the
   stand-in) and REPORTBOT_DATABASE_URL at the cluster;
3. USERS people each file a whole report with signed requests, pressing the buttons the bot
   sent them and typing the answers; each person's requests alternate between the instances;
4. in the middle of the reports, while requests are in flight, instance one gets `kill -9` at
   the moment Slack has taken one of its replies but not yet answered it, so that the reply is
   held by the dead instance's claim (the sender must look at Slack before posting it again);
5. every request left without a 200 is sent again to the other instance, as Slack sends it
   again: the same body, freshly signed, and for an event `X-Slack-Retry-Num: 1` and
   `X-Slack-Retry-Reason: http_timeout` (Slack retries only events; a slash command or a press
   that got no answer is the person trying again, sent here as the very same request);
6. instance one starts again; once everything has been delivered, the checks are printed.

Exit status 0 when every check passes, 1 when one fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import Case
from scripts.instances import Server, clean_env, start_two, throwaway_database
from scripts.two_instances_checks import (
    Notes,
    Outcome,
    read_back,
    scenario_checks,
    slack_checks,
    stored_checks,
)
from tests.slack_fakes import REPORT_STEPS, FakeSlack, dm_channel, eventually, slack_env
from tests.slack_steps import StepRequest, awaited_reply, step_request

USERS = 6  # people, each filing one whole report
KILL_AT = 8  # the step of the first person's report during which instance one dies
LEASE = 5.0  # seconds a claim on an outbox item lasts (REPORTBOT_OUTBOX_LEASE)
RESTART_AFTER = 1.0  # seconds instance one stays dead
SLACK_PATIENCE = 3.0  # seconds Slack waits for an acknowledgement
SLACK_TRIES = 4  # Slack's first attempt and its three retries
PATIENCE = 25.0  # seconds, beyond the lease, that a person waits for the bot's next question
JSONDict = dict[str, Any]


def user_id(n: int) -> str:
    return f"U0TWO{n}"


PEOPLE = [user_id(n) for n in range(USERS)]


def journey(n: int) -> list[tuple[str, str]]:
    """A whole report, as tests/slack_fakes.REPORT_STEPS files it, in this person's words."""
    said = {"Ms J Patel, Head of Year 9": staff_named(n), "Deputy Headteacher": f"Deputy Head {n}"}
    return [("command", handle(n)), *((how, said.get(what, what)) for how, what in REPORT_STEPS)]


def handle(n: int) -> str:
    return f"two.instances.{n}"


def staff_named(n: int) -> str:
    return f"Ms J Patel, Head of Year {n + 7}"


def answered(user: str, case: Case) -> bool:
    """The case holds what this person answered (so their steps were applied in order)."""
    n = PEOPLE.index(user)
    return (
        case.handles == (handle(n),)
        and case.answers.get("target_staff") == staff_named(n)
        and case.answers.get("harm") == ["impersonation", "harassment"]
        and case.answers.get("contact") == {"phone": "01632 960 123", "email": ""}
    )


@dataclass
class Rig:
    fake: FakeSlack
    servers: list[Server]
    session: aiohttp.ClientSession
    db: AsyncEngine  # for what only this check asks of the tables
    lease: float = LEASE
    notes: Notes = field(default_factory=Notes)
    trap: asyncio.Event = field(default_factory=asyncio.Event)
    trap_request: StepRequest | None = None
    requests: list[StepRequest] = field(default_factory=list)

    @property
    def victim(self) -> Server:
        return self.servers[0]

    def other(self, server: Server) -> Server:
        return self.servers[1] if server is self.servers[0] else self.servers[0]

    # -- people --------------------------------------------------------------------------------

    async def person(self, n: int) -> None:
        user, steps = user_id(n), journey(n)
        question: JSONDict | None = None
        for i, (how, what) in enumerate(steps):
            before = len(self.fake.dm(user))
            link = f"https://www.tiktok.com/@{what}" if how == "command" else what
            request = step_request(user, i, how, link, question)
            first = self.servers[(n + i) % 2]
            if n == 0 and i == KILL_AT:
                self.arm_trap(request)
            started = time.monotonic()
            self.requests.append(request)
            await self.send(request, first)
            if i + 1 < len(steps):
                question = await self.reply(user, i + 1, before, steps[i + 1])
                if request is self.trap_request:
                    self.notes.held_reply_wait = time.monotonic() - started

    async def reply(
        self, user: str, step: int, before: int, wanted: tuple[str, str]
    ) -> JSONDict | None:
        limit = self.lease + PATIENCE
        try:
            return await awaited_reply(self.fake, user, before, wanted, limit)
        except TimeoutError:
            raise RuntimeError(
                f"{user} got no reply to let them take step {step + 1} ({' '.join(wanted)}) "
                f"within {limit:.0f} s"
            ) from None

    # -- Slack ---------------------------------------------------------------------------------

    async def send(self, request: StepRequest, first: Server) -> None:
        """Until a 200: to `first` (or, if a load balancer knows it is down, the other), then
        Slack's retries to the other instance."""
        target = first if first.up else self.other(first)
        for attempt in range(SLACK_TRIES):
            if await self.post(target, request, attempt):
                return
            self.notes.retried.append(request.delivery_id)
            if await self.stored(request.delivery_id):
                self.notes.stored_unanswered.append(request.delivery_id)
            if self.other(target).up:
                target = self.other(target)
            await asyncio.sleep(0.05)
        self.notes.unanswered.append(request.delivery_id)
        raise RuntimeError(f"{request.user}: step {request.step + 1} was never acknowledged")

    async def post(self, server: Server, request: StepRequest, attempt: int) -> bool:
        headers = request.headers(retry=attempt)
        server.in_flight += 1
        server.sending.set()
        self.notes.sent[server.name] += 1
        try:
            async with self.session.post(
                f"{server.url}/slack/events",
                data=request.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=SLACK_PATIENCE),
            ) as response:
                status, text = response.status, await response.text()
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False  # killed mid-request, or too slow: Slack tries again
        finally:
            server.in_flight -= 1
        if status != 200:
            self.notes.odd.append(f"HTTP {status} from {server.name} for {request.delivery_id}")
            return False
        self.notes.acked.setdefault(request.delivery_id, server.name)
        if not await self.stored(request.delivery_id):  # persisted before acknowledged?
            self.notes.unstored_at_ack.append(request.delivery_id)
        if "ERR-" in text:
            self.notes.sorry.append(request.delivery_id)
        return True

    async def query(self, sql: str, **params: str) -> Any:
        async with self.db.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def stored(self, delivery_id: str) -> bool:
        found = await self.query("SELECT count(*) FROM deliveries WHERE id = :id", id=delivery_id)
        return bool(found)

    # -- the kill ------------------------------------------------------------------------------

    def arm_trap(self, request: StepRequest) -> None:
        """Slack will take this step's first reply and never answer: the sender is left
        waiting, holding its claim, when it is killed."""
        self.trap_request = request
        self.fake.fail("chat.postMessage", "hang-after-post", channel=dm_channel(request.user))
        self.trap.set()

    async def kill_mid_report(self) -> None:
        await self.trap.wait()
        assert self.trap_request is not None
        key = f"chat.postMessage#{dm_channel(self.trap_request.user)}"
        await eventually(lambda: not self.fake.faults.get(key), PATIENCE)  # Slack has it
        # Killed as the next of other people's requests is sent to it, so that one is in
        # flight (watching for one was too slow once steps took milliseconds).
        self.victim.sending.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(self.victim.sending.wait(), 5.0)
        self.notes.in_flight_at_kill = self.victim.in_flight
        await self.victim.kill()
        self.notes.held_at_kill = await self.held_by_dead(self.trap_request.delivery_id)
        await asyncio.sleep(RESTART_AFTER)
        await self.victim.start(self.session)
        await self.retry_late()

    async def retry_late(self) -> None:
        """Slack retries an event whose acknowledgement came after its 3 seconds, though the
        bot had applied it: the last one instance one answered goes again, to instance two."""
        answered = [
            r
            for r in self.requests
            if r.is_event and self.notes.acked.get(r.delivery_id) == self.victim.name
        ]
        if answered:
            self.notes.late_retry = answered[-1].delivery_id
            self.notes.late_retry_acked = await self.post(self.servers[1], answered[-1], 1)

    async def held_by_dead(self, delivery_id: str) -> int:
        """Unsent items under the claim of whoever was sending this step's replies."""
        owner = await self.query(
            "SELECT doc->>'claimed_by' FROM outbox WHERE id LIKE :ids AND sent_at IS NULL LIMIT 1",
            ids=f"{delivery_id}:%",
        )
        found = await self.query(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND claimed_until > now() "
            "AND doc->>'claimed_by' = :owner",
            owner=owner or "",
        )
        return int(found or 0)

    async def settle(self) -> None:
        """Wait until nothing is left to send and Slack has heard nothing for half a second."""

        async def pending() -> int:
            sql = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND NOT failed"
            return int(await self.query(sql))

        with suppress(TimeoutError):  # what is still unsent then, the checks report
            async with asyncio.timeout(self.lease + 2 * PATIENCE):
                while await pending():  # noqa: ASYNC110 - other processes empty it
                    await asyncio.sleep(0.1)
                calls = -1
                while calls != len(self.fake.calls):
                    calls = len(self.fake.calls)
                    await asyncio.sleep(0.5)
        self.notes.history_calls = len(self.fake.called("conversations.history"))


# -- running it --------------------------------------------------------------------------------


def summary(rig: Rig, took: float) -> list[str]:
    notes = rig.notes
    victim = rig.trap_request
    where = f"{victim.user}'s step {victim.step + 1} of {len(journey(0))}" if victim else "never"
    return [
        f"Two instances on one Postgres: {USERS} people, {len(journey(0))} steps each, "
        f"requests alternating; outbox lease {rig.lease:g} s.",
        "Requests sent (retries included): "
        + ", ".join(f"{name} {n}" for name, n in sorted(notes.sent.items())),
        f"kill -9 of instance one during {where}: {notes.in_flight_at_kill} request(s) in "
        f"flight to it, {max(notes.held_at_kill, 0)} unsent item(s) held under its claim.",
        f"Sent again to the other instance: {len(notes.retried)} request(s), of which "
        f"{len(notes.stored_unanswered)} the dead instance had stored before it could answer.",
        f"The reply the dead instance held reached its person after {notes.held_reply_wait:.1f} s "
        f"(its claim ran out; the instances looked at Slack before posting again: "
        f"{notes.history_calls} conversations.history look-up(s)).",
        f"Instance one was started again after {RESTART_AFTER:g} s; the run took {took:.1f} s.",
    ]


async def start_rig(stack: AsyncExitStack, folder: Path, url: str, lease: float) -> Rig:
    """The Slack stand-in, the migrated database and both instances, each closed by `stack`."""
    fake = FakeSlack()
    for n, user in enumerate(PEOPLE):
        fake.users[user] = {"real_name": f"Staff {n}", "email": f"staff{n}@school.example"}
    api_url = await fake.start()
    stack.push_async_callback(fake.close)
    env = clean_env(
        **slack_env(api_url, SLACK_API_TIMEOUT="3"),
        REPORTBOT_DATABASE_URL=url,
        REPORTBOT_OUTBOX_LEASE=f"{lease:g}",
        REPORTBOT_DATA_DIR=str(folder / "no-data-folder"),  # never used: the database is
    )
    started = await start_two(stack, folder, env)
    return Rig(fake, started.servers, started.session, started.db, lease)


async def run_check(folder: Path, database_url: str = "", lease: float = LEASE) -> Outcome:
    """The whole scenario, in `folder`; on `database_url` (an empty database) if given, else
    on a throw-away cluster of its own."""
    started = time.monotonic()
    async with AsyncExitStack() as stack:
        url = database_url or await stack.enter_async_context(throwaway_database())
        rig = await start_rig(stack, folder, url, lease)
        await scenario(rig)
        for server in rig.servers:
            await server.stop()
        stored = await read_back(url, rig.notes, rig.fake, PEOPLE)
    found = scenario_checks(rig.notes, USERS)
    found += stored_checks(rig.notes, stored, answered) + slack_checks(stored, rig.fake)
    return Outcome(summary(rig, time.monotonic() - started), found)


async def scenario(rig: Rig) -> None:
    killer = asyncio.create_task(rig.kill_mid_report())
    done = await asyncio.gather(*(rig.person(n) for n in range(USERS)), return_exceptions=True)
    rig.notes.stopped = [str(e) for e in done if isinstance(e, BaseException)]
    if not rig.trap.is_set():
        killer.cancel()
    with suppress(asyncio.CancelledError):
        await killer
    await rig.settle()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--lease", type=float, default=LEASE, help=f"REPORTBOT_OUTBOX_LEASE (default {LEASE:g})"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reportbot-two-") as tmp:
        outcome = asyncio.run(run_check(Path(tmp), lease=args.lease))
    print(outcome.render())
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    sys.exit(main())
