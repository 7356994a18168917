"""kill -9 the real server while several people report at once: nothing acknowledged is lost,
no leadership post is doubled, and the outbox delivers everything after the last restart.

The server is `reportbot serve` in a subprocess (tests/fault_server.py: the real CLI, bound to
127.0.0.1) on a TinyDB data folder, talking to the Slack stand-in (tests/slack_fakes.py) that
runs in this process. Each simulated person sends signed requests one after the other, as
Slack does: a request without a 200 (refused connection, connection cut by the kill, no answer
within Slack's 3 seconds) is sent again with the same body (and, for events, X-Slack-Retry-Num).
Set FAULT_SEED to replay another schedule of kills; the seed is printed with any failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp
from aiohttp import ClientResponse
from slack_fakes import (
    LEADERS,
    STAFFROOM,
    FakeSlack,
    block_actions,
    command_form,
    dm_channel,
    form_body,
    message_event,
    payload_body,
    signed_headers,
    slack_env,
    slack_harness,
)
from store_helpers import due_items

from bot.model import Platform
from storage.tinydb_store import open_store

ROOT = Path(__file__).resolve().parent.parent
SERVER = Path(__file__).resolve().parent / "fault_server.py"
SEED = int(os.environ.get("FAULT_SEED", "20260303"))
USERS = 6
REPORTS_EACH = 2
KILLS = 8
THINK = 0.15  # seconds, at most, between one person's answers
SLACK_PATIENCE = 3.0  # seconds Slack waits for an acknowledgement before it retries
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


# --- what each person sends -------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One signed request, sent unchanged until Slack gets a 200 for it."""

    body: bytes
    content_type: str
    delivery_id: str  # the id the bot de-duplicates on (see adapters/slack/translate.py)
    is_event: bool = False


def user_id(n: int) -> str:
    return f"U0FAULT{n}"


def handle(user: str, report: int) -> str:
    return f"fault.{user.lower()}.r{report}"


def staff_named(user: str, report: int) -> str:
    return f"Ms J Patel, Head of Year {report} ({user})"


def script(user: str, report: int) -> list[Request]:
    """A whole report: /report-tiktok with a link, then every answer, then submit."""
    dm = dm_channel(user)
    tag = f"{user}.{report}"
    requests: list[Request] = []

    def press(step: str, value: str) -> None:
        action = {"type": "button", "action_id": f"answer:{step}:0", "value": value}
        _action(action, None)

    def tick(step: str, *values: str) -> None:
        options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values]
        ticked = {"type": "checkboxes", "selected_options": options}
        state = {f"pick:{step}:0": {f"pick:{step}": ticked}}
        action = {"type": "button", "action_id": f"continue:{step}", "value": "continue"}
        _action(action, state)

    def _action(action: dict[str, Any], state: dict[str, Any] | None) -> None:
        n = len(requests)
        message_ts, action_ts = f"1700000000.{n:06d}", f"17000000{report}{n}.{n:06d}"
        payload = block_actions(
            user, action, channel=dm, message_ts=message_ts, state=state, action_ts=action_ts
        )
        delivery = f"slack:action:{message_ts}:{action_ts}:{user}"
        requests.append(Request(payload_body(payload), FORM, delivery))

    def say(text: str) -> None:
        event_id = f"Ev{tag}.{len(requests)}"
        body = json.dumps(message_event(user, text, event_id=event_id)).encode()
        requests.append(Request(body, JSON_TYPE, f"slack:event:{event_id}", is_event=True))

    trigger = f"trigger.{tag}"
    link = f"https://www.tiktok.com/@{handle(user, report)}"
    form = command_form(user, link, trigger=trigger, channel=STAFFROOM)
    requests.append(Request(form_body(form), FORM, f"slack:command:{trigger}"))
    press("links", "done")
    tick("harm", "impersonation", "harassment")
    press("danger", "no")
    press("sexual_images", "no")
    press("target", "staff")
    say(staff_named(user, report))
    press("first_seen", "today")
    press("in_app", "no")
    press("evidence", "yes")
    press("description", "skip")
    press("poster", "unknown")
    tick("told", "dsl")
    say(f"Fault Reporter {tag}")
    say(f"Deputy Head ({tag})")
    say("01632 960 123")
    press("who_calls", "reporter")
    press("summary", "submit")
    return requests


# --- the server process -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(api_url: str) -> dict[str, str]:
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "Microsoft", "REPORTBOT_", "PORT"))
    }
    return {**kept, **slack_env(api_url, SLACK_API_TIMEOUT="2"), "PYTHONPATH": str(ROOT)}


@dataclass
class ServerProcess:
    """`reportbot serve` on one data folder and port, started, killed and restarted."""

    data_dir: Path
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.proc = self._spawn()
        self.starts += 1
        async with asyncio.timeout(20):
            while not await self._healthy(session):
                if self.proc.poll() is not None:
                    raise AssertionError(f"the server exited at start:\n{self.log_tail()}")
                await asyncio.sleep(0.02)

    def _spawn(self) -> subprocess.Popen[bytes]:
        args = ["--data-dir", str(self.data_dir), "serve", "--port", str(self.port)]
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, str(SERVER), *args],
                env=self.env,
                cwd=self.log.parent,  # no reportbot.toml from the project folder
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    async def _healthy(self, session: aiohttp.ClientSession) -> bool:
        try:
            async with session.get(f"{self.url}/healthz") as response:
                return response.status == 200
        except (aiohttp.ClientError, OSError):
            return False

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.proc.wait, 10)
        assert self.proc.returncode == -signal.SIGKILL, "the server died before it was killed"

    async def stop(self) -> None:
        """A graceful stop (SIGTERM), so the data folder is free for the checks."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, 15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, 10)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# --- a person, as Slack delivers for them -------------------------------------------------------


@dataclass
class Tally:
    acked: list[str] = field(default_factory=list)  # delivery ids that got a 200
    retries: int = 0
    odd: list[str] = field(default_factory=list)  # any answer other than 200 or a cut connection
    sorry: list[str] = field(default_factory=list)  # acknowledgements that carried an error code


async def send_until_acked(
    session: aiohttp.ClientSession, server: ServerProcess, request: Request, tally: Tally
) -> None:
    attempt = 0
    async with asyncio.timeout(40):
        while True:
            headers = {"Content-Type": request.content_type, **signed_headers(request.body)}
            if request.is_event and attempt:
                headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "timeout"}
            try:
                async with session.post(
                    f"{server.url}/slack/events",
                    data=request.body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=SLACK_PATIENCE),
                ) as response:
                    text = await response.text()
                    if response.status == 200:
                        tally.acked.append(request.delivery_id)
                        if "ERR-" in text:
                            tally.sorry.append(request.delivery_id)
                        return
                    tally.odd.append(f"{response.status} for {request.delivery_id}")
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass  # killed mid-request, not yet restarted, or too slow: Slack retries
            attempt += 1
            tally.retries += 1
            await asyncio.sleep(0.05)


async def person(
    session: aiohttp.ClientSession,
    server: ServerProcess,
    user: str,
    tally: Tally,
    rng: random.Random,
) -> None:
    for report in range(REPORTS_EACH):
        for request in script(user, report):
            await asyncio.sleep(rng.uniform(0.0, THINK))  # people read before they answer
            await send_until_acked(session, server, request, tally)


async def kill_now_and_then(
    session: aiohttp.ClientSession,
    server: ServerProcess,
    rng: random.Random,
    people_done: asyncio.Event,
) -> int:
    """SIGKILL at random moments while requests are in flight; restart on the same folder."""
    kills = 0
    while kills < KILLS and not people_done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(people_done.wait(), rng.uniform(0.05, 0.4))
        if people_done.is_set():
            break
        await server.kill()
        kills += 1
        await asyncio.sleep(rng.uniform(0.0, 0.3))  # Slack's retries meet a closed port
        await server.start(session)
    return kills


# --- the checks ---------------------------------------------------------------------------------


def case_ref(params: dict[str, Any]) -> str:
    """The case a leadership post is for, from the outbox id in its metadata ("" if none)."""
    meta = params.get("metadata") or {}
    if not isinstance(meta, dict) or meta.get("event_type") != "reportbot_case":
        return ""
    return str(meta["event_payload"]["outbox_id"]).split(":")[1]


def case_refs_in(posts: list[dict[str, Any]]) -> Counter[str]:
    return Counter(ref for p in posts if (ref := case_ref(p)))


async def quiet(fake: FakeSlack, condition: Callable[[], bool], limit: float = 30.0) -> None:
    """Wait until `condition()` holds and the stand-in has had no call for half a second."""
    async with asyncio.timeout(limit):
        while True:
            seen = len(fake.calls)
            await asyncio.sleep(0.5)
            if condition() and len(fake.calls) == seen:
                return


def every_file_loads(data_dir: Path) -> None:
    files = list(data_dir.rglob("*.json"))
    assert any(f.name == "live.json" for f in files)
    for path in files:
        json.loads(path.read_bytes())  # raises on a torn file
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def nothing_typed_in(log: Path) -> None:
    """The server's own log (every start and kill) holds no case text."""
    text = log.read_text(errors="replace")
    for typed in ("Patel", "Deputy Head", "01632", "fault.u0fault", "@school.example"):
        assert typed not in text, f"the server log holds {typed!r}"


@contextlib.contextmanager
def seed_note(seed: int, server: ServerProcess | None = None) -> Iterator[None]:
    try:
        yield
    except BaseException as exc:
        exc.add_note(f"FAULT_SEED={seed} replays this run")
        if server is not None:
            exc.add_note(f"server log (last lines):\n{server.log_tail()}")
        raise


# --- tests ----------------------------------------------------------------------------------------


async def test_the_scripted_report_files_a_case_in_process() -> None:
    """The requests the kill test replays make a whole report (guards the script itself)."""
    async with slack_harness() as h:
        h.fake.users[user_id(1)] = {"real_name": "Fay Ult", "email": "fay@school.example"}
        for request in script(user_id(1), 0):
            response = cast(ClientResponse, await h.post(request.body, request.content_type))
            assert response.status == 200, request.delivery_id
            assert "ERR-" not in await response.text()
            await h.deliver()
        [case] = await h.runtime.store.cases()
        assert case.answers["target_staff"] == staff_named(user_id(1), 0)
        assert case.handles == (handle(user_id(1), 0),)
        assert len(h.fake.posts(LEADERS)) == 1


async def test_kill_9_while_reports_are_in_flight_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    fake = FakeSlack()
    users = [user_id(n) for n in range(1, USERS + 1)]
    for user in users:
        fake.users[user] = {"real_name": f"Staff {user}", "email": f"{user.lower()}@school.example"}
    api_url = await fake.start()
    server = ServerProcess(tmp_path / "data", free_port(), server_env(api_url), tmp_path / "log")
    tallies = {user: Tally() for user in users}
    started = time.monotonic()
    try:
        with seed_note(SEED, server):
            async with aiohttp.ClientSession() as session:
                await server.start(session)
                done = asyncio.Event()
                killer = asyncio.create_task(kill_now_and_then(session, server, rng, done))
                await asyncio.gather(
                    *(
                        person(session, server, u, tallies[u], random.Random(rng.random()))
                        for u in users
                    )
                )
                done.set()
                kills = await killer
                cases = USERS * REPORTS_EACH
                await quiet(fake, lambda: sum(case_refs_in(fake.posts(LEADERS)).values()) >= cases)
            await server.stop()
            doubled = await _check_everything(tmp_path / "data", fake, users, tallies)
            nothing_typed_in(server.log)
            assert kills >= 6, f"only {kills} kills happened while reports were in flight"
            retries = sum(t.retries for t in tallies.values())
            print(
                f"seed {SEED}: {kills} kills, {server.starts} starts, {retries} Slack retries, "
                f"{time.monotonic() - started:.1f}s"
            )
            assert not doubled, f"leadership posts doubled: {doubled}"
    finally:
        await server.stop()
        await fake.close()


async def _check_everything(
    data_dir: Path, fake: FakeSlack, users: list[str], tallies: dict[str, Tally]
) -> dict[str, int]:
    """Every check but the one for doubled leadership posts, whose count it returns."""
    every_file_loads(data_dir)
    theirs: dict[str, list[str]] = {}
    async with await open_store(data_dir) as store:
        for user in users:
            tally = tallies[user]
            assert not tally.odd, f"{user} got answers other than 200: {tally.odd}"
            assert not tally.sorry, f"{user} was told something went wrong: {tally.sorry}"
            # Every step Slack got a 200 for was stored (its delivery id is marked seen) ...
            lost = [d for d in tally.acked if not await store.seen(d)]
            assert not lost, f"acknowledged steps of {user} not in the store: {lost}"
            # ... and the conversation went where the answers took it: whole, correct cases.
            key = f"slack:T0SCHOOL:{user}"
            left = await store.conversation(key)
            assert left is None or left.step == "end", f"{user}'s report was left unfinished"
            cases = await store.cases(reporter=key)
            assert sorted(c.handles for c in cases) == [
                (handle(user, r),) for r in range(REPORTS_EACH)
            ], f"{user}: expected one case per report, got {[c.reference for c in cases]}"
            for case in cases:
                report = int(case.handles[0].rsplit(".r", 1)[1])
                assert case.answers["target_staff"] == staff_named(user, report)
                assert case.answers["harm"] == ["impersonation", "harassment"]
                assert case.answers["contact"] == {"phone": "01632 960 123", "email": ""}
            theirs[user] = [c.reference for c in cases]
        # Nothing is left in the outbox, and nothing was given up on.
        later = datetime.now(UTC) + timedelta(days=30)
        assert await due_items(store, Platform.SLACK, later) == []
    references = {ref for refs in theirs.values() for ref in refs}
    assert len(references) == USERS * REPORTS_EACH
    # Every case reached the leadership channel (exactly once: see the caller).
    posted = case_refs_in(fake.posts(LEADERS))
    assert set(posted) == references
    # Every reporter got each of their cases' POSH handoff, and never an error code.
    for user, refs in theirs.items():
        texts = [str(m.get("text", "")) for m in fake.dm(user)]
        assert not any("ERR-" in t for t in texts), f"{user} was sent an error code"
        for ref in refs:
            assert any(f"Case {ref}: call POSH" in t for t in texts), (user, ref)
    return {ref: n for ref, n in posted.items() if n > 1}


async def test_a_kill_just_after_slack_took_the_leadership_post_does_not_post_it_again(
    tmp_path: Path,
) -> None:
    """Deterministic: Slack records the post, then never answers; the server is killed then."""
    fake = FakeSlack()
    api_url = await fake.start()
    env = server_env(api_url) | {"SLACK_API_TIMEOUT": "30"}  # the kill comes first
    server = ServerProcess(tmp_path / "data", free_port(), env, tmp_path / "log")
    user = user_id(1)
    tally = Tally()
    try:
        async with aiohttp.ClientSession() as session:
            await server.start(session)
            fake.fail("chat.postMessage", "hang-after-post", channel=LEADERS)
            for request in script(user, 0):
                await send_until_acked(session, server, request, tally)
            async with asyncio.timeout(10):
                while not fake.posts(LEADERS):  # noqa: ASYNC110 - the stand-in is in this loop
                    await asyncio.sleep(0.01)
            await server.kill()  # Slack has the post; the outbox does not know it went
            await server.start(session)
            await quiet(fake, lambda: True, limit=10)
        await server.stop()
        posted = case_refs_in(fake.posts(LEADERS))
        assert list(posted.values()) == [1], f"leadership posts per case: {dict(posted)}"
    finally:
        await server.stop()
        await fake.close()
