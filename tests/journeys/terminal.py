"""The terminal: `reportbot chat` as a real subprocess, fed through a pipe one line at a time.

The chat reads a line only after printing its `> ` prompt, and echoes piped lines, so each
step writes one line and reads up to the next prompt (or to the end, when a submitted or
cancelled report ends the chat). Every read has a time limit. The stored cases are read from
the data folder afterwards; leadership posts are the chat's LEADERSHIP CHANNEL panels.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.facts import Facts
from journeys.table import Journey
from journeys.transcript import Asked, Ending, Mismatch, RunnerTimeout
from storage.tinydb_store import open_store

ROOT = Path(__file__).resolve().parents[2]
READ_LIMIT = 20.0  # seconds for one reply, generous for a loaded CI machine
RULE = "=" * 78
_PANEL = re.compile(rf"^{RULE}\n (?P<title>[^\n]*)\n{RULE}\n(?P<body>.*?)\n{RULE}$", re.M | re.S)
_CHOICE = re.compile(r"^  (\d+)\. (.+)$")
_ASKS = ("Type a number", "Type one or more numbers")
EMAIL_MARK = "Email text, ready to send:"


class TerminalChat:
    def __init__(self, data_dir: Path, cwd: Path) -> None:
        self.data_dir = data_dir
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.printed: list[str] = []  # what the chat printed, without prompts and echoes
        self.days = {uk_today()}
        self._step_text = ""  # what the last step printed
        self._stderr: asyncio.Task[bytes] | None = None

    # -- the steps ------------------------------------------------------------------------------

    async def start(self, text: str) -> str:
        # A chat still running is left as closing the terminal would: its answers stay saved.
        saw = await self._end()
        saw += await self._launch()
        return self._step(saw + (await self._send(text) if text else ""))

    async def type(self, text: str) -> str:
        saw = "" if self.proc else await self._launch()  # `reportbot chat`: the only way in
        return self._step(saw + await self._send(text))

    async def choose(self, asked: Asked, picks: list[int]) -> tuple[str, str]:
        if self.proc is None:
            raise Mismatch("the chat has ended, so no question is waiting for an answer")
        line = ",".join(str(k + 1) for k in picks)
        return f"typed {line!r}", self._step(await self._send(line))

    async def picture(self, text: str) -> str:
        raise Mismatch("the terminal cannot send a picture")

    def asked(self) -> Asked | None:
        return last_question(self._step_text)

    async def finish(self) -> Ending:
        await self._end()
        self.days.add(uk_today())
        store = await open_store(self.data_dir, read_only=True)
        try:
            cases = await store.cases()
        finally:
            await store.close()
        printed = "".join(self.printed)
        panels = [(m["title"], m["body"]) for m in _PANEL.finditer(printed)]
        leadership = "\n".join(b for t, b in panels if t.startswith("LEADERSHIP CHANNEL"))
        handoffs = [b for t, b in panels if t == "HANDOFF TO POSH"]
        handoff = handoffs[-1].partition(EMAIL_MARK)[2] if handoffs else None
        return Ending(leadership, handoff, cases, tuple(sorted(self.days)))

    def _step(self, text: str) -> str:
        self._step_text = text
        return text

    # -- the process ----------------------------------------------------------------------------

    async def _launch(self) -> str:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("REPORTBOT_DATA_DIR", None)
        self.proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "adapters.cli", "chat", "--data-dir", str(self.data_dir)),
            cwd=self.cwd,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.proc.stderr is not None
        self._stderr = asyncio.create_task(self.proc.stderr.read())
        return await self._read()

    async def _send(self, line: str) -> str:
        if "\n" in line:
            raise Mismatch("the terminal takes one line at a time")
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await asyncio.wait_for(self.proc.stdin.drain(), READ_LIMIT)
        return await self._read(echo=line + "\n")

    async def _end(self) -> str:
        """End input, as Ctrl-D would, and read what the chat says as it goes."""
        if self.proc is None:
            return ""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return await self._read()

    async def _read(self, echo: str = "") -> str:
        """Up to the next prompt, or to the end of the chat."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_LIMIT
        got = b""
        while not (got == b"> " or got.endswith(b"\n> ")):
            try:
                chunk = await asyncio.wait_for(proc.stdout.read(65536), deadline - loop.time())
            except TimeoutError:
                await self.close()
                raise RunnerTimeout(
                    f"the terminal said nothing more for {READ_LIMIT:.0f} s after: "
                    f"{got.decode(errors='replace')[-600:]!r}"
                ) from None
            if not chunk:
                await self._reap()
                break
            got += chunk
        text = got.decode().removesuffix("> ").removeprefix(echo)
        self.printed.append(text)
        return text

    async def _reap(self) -> None:
        proc, self.proc = self.proc, None
        assert proc is not None and self._stderr is not None
        try:
            code = await asyncio.wait_for(proc.wait(), READ_LIMIT)
        except TimeoutError:
            proc.kill()
            raise RunnerTimeout("the terminal closed its output but did not exit") from None
        errors = (await self._stderr).decode(errors="replace")
        if code != 0:
            raise Mismatch(f"`reportbot chat` exited with {code}: {errors[-800:]}")

    async def close(self) -> None:
        """Stop a chat still running (a journey that failed part-way)."""
        if self.proc is not None:
            with suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
            self.proc = None
        if self._stderr is not None:
            await self._stderr


def last_question(printed: str) -> Asked | None:
    """The last question block: its "[Part n of m]" line or its "Type a number…" line tell."""
    found: Asked | None = None
    for block in printed.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if not lines or not (lines[0].startswith("[Part ") or _asks(lines)):
            continue
        labels = tuple(m[2] for line in lines if (m := _CHOICE.match(line)))
        multi = any(line.startswith(_ASKS[1]) for line in lines)
        found = Asked(block.strip("\n"), labels, multi)
    return found


def _asks(lines: list[str]) -> bool:
    return any(line.startswith(_ASKS) for line in lines)


def uk_today() -> date:
    return datetime.now(ZoneInfo(Facts().posh_timezone)).date()


@asynccontextmanager
async def terminal(journey: Journey, tmp: Path) -> AsyncIterator[TerminalChat]:
    """The local operator is treated as a leader whatever `leader` says: the terminal has no
    leadership channel, its operator holds the data folder."""
    chat = TerminalChat(tmp / "data", tmp)
    try:
        yield chat
    finally:
        await chat.close()
