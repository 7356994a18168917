"""The terminal's way out: outbox items printed, leadership posts in a marked panel.

What leadership would receive is shown in a panel, so a whole report can be tried in a shell
with no Slack or Teams account (`reportbot chat`, in `adapters.chat`). Replies arrive resolved
(`bot.views.Resolved`): nothing here reads the store, the clock or the facts.
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
from bot.model import JSON, Audience, CaseList, Notice, OutboxItem, Person, Platform, Question, Turn
from bot.resolve import complete
from bot.views import CardForm, Resolved, ResolvedCard, ResolvedHandoff, minimal_text

WIDTH = 78
TONE_MARK = {"info": "", "warning": "(!) ", "danger": "(!!) ", "success": "(ok) "}
LEADERSHIP = "LEADERSHIP CHANNEL (what leaders receive)"


class TerminalSender:
    """Delivers outbox items by printing them; also the terminal's `LeadershipPosts`, whose
    "posts" are panels printed one after another (an update prints the card again)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send(self, item: OutboxItem, reply: Resolved) -> None:
        text = render(reply)
        self._print(_panel(LEADERSHIP, text) if item.audience == Audience.LEADERSHIP else text)

    # -- bot.ports.LeadershipPosts ---------------------------------------------------------------

    async def private(self) -> bool:
        return True  # the operator holds the data folder itself

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        self._print(_panel(LEADERSHIP, render(card)))
        return {"printed": item.id}

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        self._print(_panel(LEADERSHIP, render(card)))
        return True

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        return None  # what was printed cannot be read back

    async def scrub(self, post: JSON, text: str) -> None:
        self._print(_panel(LEADERSHIP, text))

    def _print(self, text: str) -> None:
        self.out.write(text + "\n\n")
        self.out.flush()


def render(reply: Resolved) -> str:
    match reply:
        case Notice(text=text, tone=tone, title=title):
            head = f"{TONE_MARK[tone]}{title}\n" if title else TONE_MARK[tone]
            return head + _wrap(text)
        case Question():
            return _question(reply)
        case ResolvedHandoff(text=text):
            return _panel("HANDOFF TO POSH", text)
        case ResolvedCard():
            return _card(reply)
        case CaseList(title=title, lines=lines, empty=empty):
            return "\n".join([title + ":", *(f"  {line}" for line in lines)]) if lines else empty
    raise TypeError(f"the terminal cannot show {type(reply).__name__}")


def _card(card: ResolvedCard) -> str:
    view = card.view
    match card.form:
        case CardForm.ALERT:
            return view.alert
        case CardForm.MINIMAL:
            return minimal_text(view.reference)
    head = f"{'Updated' if card.update else 'New'}: {view.title} · {view.status_line}"
    body = [head, ""] + [f"{k}: {v}" for k, v in view.lines]
    if not card.update and card.handoff_text:
        body += ["", card.handoff_text]
    verbs = ", ".join(a.label for a in view.actions)
    body += ["", f"Leaders can: {verbs} (reportbot cases --help)"]
    return "\n".join(body)


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
    sender = TerminalSender(out)
    courier = runtime.add_platform(Platform.TERMINAL, sender, sender, start=False)
    person = local_person()

    async def say(turn: Turn) -> None:
        for reply in await runtime.engine.handle(turn):  # what could not be stored
            out.write(render(complete(reply)) + "\n\n")
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
