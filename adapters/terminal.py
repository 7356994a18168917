"""The terminal front end: the whole report in a shell, no Slack or Teams account needed.

Input is read on a worker thread so the event loop stays free; it works from a keyboard or from
piped input, so a whole report can be scripted. The local operator is treated as a leader, and
what leadership would receive is shown in a marked panel.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import textwrap
import threading
from collections.abc import Callable
from typing import TextIO

from adapters.compose import Runtime
from bot.codec import reply_from_dict
from bot.model import (
    JSON,
    Audience,
    CaseCard,
    CaseList,
    HandoffReply,
    Notice,
    OutboxItem,
    Person,
    Platform,
    Question,
    Reply,
    Turn,
)
from bot.report import handoff_text
from bot.views import case_line, case_view

WIDTH = 78
TONE_MARK = {"info": "", "warning": "(!) ", "danger": "(!!) ", "success": "(ok) "}


class TerminalSender:
    """Delivers outbox items by printing them."""

    def __init__(self, runtime: Runtime, out: TextIO) -> None:
        self.runtime = runtime
        self.out = out

    async def send(self, item: OutboxItem) -> JSON | None:
        reply = reply_from_dict(item.reply)
        text = await self.render(reply)
        if item.audience == Audience.LEADERSHIP:
            text = _panel("LEADERSHIP CHANNEL (what leaders receive)", text)
        self.out.write(text + "\n\n")
        self.out.flush()
        return None

    async def render(self, reply: Reply) -> str:
        now = self.runtime.clock.now()
        match reply:
            case Notice(text=text, tone=tone, title=title):
                head = f"{TONE_MARK[tone]}{title}\n" if title else TONE_MARK[tone]
                return head + _wrap(text)
            case Question():
                return _question(reply)
            case HandoffReply(handoff=h):
                return _panel("HANDOFF TO POSH", handoff_text(h, self.runtime.facts, now))
            case CaseCard(reference=ref, update=update):
                return await self._card(ref, update)
            case CaseList(title=title, references=refs, empty=empty):
                return await self._list(title, refs, empty)
        raise TypeError(f"the terminal cannot show {type(reply).__name__}")

    async def _card(self, reference: str, update: bool) -> str:
        case = await self.runtime.store.case(reference)
        if case is None:
            return f"Case {reference} is no longer held."
        view = case_view(case, self.runtime.facts, self.runtime.clock.now())
        head = f"{'Updated' if update else 'New'}: {view.title} · {view.status_line}"
        body = [head, ""] + [f"{k}: {v}" for k, v in view.lines]
        if not update and view.handoff is not None:
            body += ["", handoff_text(view.handoff, self.runtime.facts, self.runtime.clock.now())]
        verbs = ", ".join(a.label for a in view.actions)
        body += ["", f"Leaders can: {verbs} (reportbot cases --help)"]
        return "\n".join(body)

    async def _list(self, title: str, refs: tuple[str, ...], empty: str) -> str:
        lines = [title + ":"]
        for ref in refs:
            case = await self.runtime.store.case(ref)
            if case:
                lines.append("  " + case_line(case, self.runtime.facts))
        return "\n".join(lines) if len(lines) > 1 else empty


def _question(q: Question) -> str:
    lines = [f"[{q.progress}]"] if q.progress else []
    lines.append(_wrap(q.text))
    if q.hint:
        lines.append(_wrap(q.hint))
    for n, choice in enumerate(q.choices, start=1):
        lines.append(f"  {n}. {choice.label}")
    if q.multi:
        lines.append("Type one or more numbers, e.g. 1,3.")
    elif q.choices and q.accepts_text:
        lines.append("Type a number, or your answer.")
    elif q.choices:
        lines.append("Type a number.")
    return "\n".join(lines)


def _wrap(text: str) -> str:
    return "\n".join(textwrap.fill(p, WIDTH) if p else "" for p in text.split("\n"))


def _panel(title: str, text: str) -> str:
    rule = "=" * WIDTH
    return f"{rule}\n {title}\n{rule}\n{text}\n{rule}"


class _LineReader:
    """Reads lines on a daemon thread, so the event loop stays free and Ctrl-C exits at once.

    (A thread from asyncio's default executor would be joined at exit, waiting for Enter.)
    """

    def __init__(self, read_line: Callable[[], str]) -> None:
        self._read_line = read_line
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._wanted = threading.Semaphore(0)
        threading.Thread(target=self._pump, name="terminal-input", daemon=True).start()

    def _pump(self) -> None:
        while True:
            self._wanted.acquire()  # read only when asked: piped input stays in the pipe
            try:
                line = self._read_line()
            except (OSError, ValueError):
                line = ""
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            if not line:
                return

    async def next(self) -> str:
        self._wanted.release()
        return await self._lines.get()


async def _goodbye(runtime: Runtime, person: Person) -> str:
    conv = await runtime.store.conversation(person.key)
    if conv is not None and conv.step == "end":
        ref = conv.case_reference
        return f"(report {ref} is filed; after contacting POSH: reportbot cases move {ref} sent)"
    return "(end of input – your answers so far are saved; run it again to carry on)"


def local_person() -> Person:
    # The computer's user name identifies the operator in the history, but is never taken
    # for the reporter's name: the report asks for that.
    return Person(Platform.TERMINAL, "local", getpass.getuser())


async def chat(
    runtime: Runtime,
    *,
    read_line: Callable[[], str] | None = None,
    out: TextIO | None = None,
    echo: bool | None = None,
) -> None:
    """Run one terminal conversation until the report ends or input runs out."""
    out = out or sys.stdout
    read_line = read_line or sys.stdin.readline
    echo = (not sys.stdin.isatty()) if echo is None else echo
    sender = TerminalSender(runtime, out)
    courier = runtime.add_platform(Platform.TERMINAL, sender, start=False)
    person = local_person()

    async def say(turn: Turn) -> None:
        for reply in await runtime.engine.handle(turn):
            out.write(await sender.render(reply) + "\n\n")
        await courier.drain()

    await runtime.reminders.check()  # the operator is the leadership channel here
    await say(Turn(person, action="start", address={"tty": "local"}))
    lines = _LineReader(read_line)
    while True:
        out.write("> ")
        out.flush()
        line = await lines.next()
        if not line:
            out.write("\n" + await _goodbye(runtime, person) + "\n")
            return
        if echo:
            out.write(line.rstrip("\n") + "\n")
        await say(Turn(person, text=line.strip(), address={"tty": "local"}))
        if await runtime.store.conversation(person.key) is None:
            return
