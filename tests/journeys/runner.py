"""Walk one journey through one surface, checking as it goes.

Every surface offers the same six calls (`Surface`); this module does the rest the same way
for all three: resolve a choice's labels against the last question, record the transcript,
check each step's reply, then the leadership channel, the handoff and the stored case.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

from journeys.slack import slack
from journeys.table import Journey, Step
from journeys.teams import teams
from journeys.terminal import terminal
from journeys.transcript import (
    Asked,
    Ending,
    JourneyFailed,
    Mismatch,
    StepRecord,
    Transcript,
    check_ending,
    check_step,
    pick,
)


class Surface(Protocol):
    """One front end. Each step returns the text the person saw in reply to it; `choose`
    also says what it did there ("typed '1,3'", "pressed 'Yes'"). `asked` is the question
    in the reply to the last step, if it asked one; `finish` ends the chat and reads what
    leadership got, the handoff and the stored cases."""

    async def start(self, text: str) -> str: ...
    async def type(self, text: str) -> str: ...
    async def choose(self, asked: Asked, picks: list[int]) -> tuple[str, str]: ...
    async def picture(self, text: str) -> str: ...
    def asked(self) -> Asked | None: ...
    async def finish(self) -> Ending: ...


Opener = Callable[[Journey, Path], AbstractAsyncContextManager[Surface]]
SURFACES: dict[str, Opener] = {"terminal": terminal, "slack": slack, "teams": teams}


async def run(journey: Journey, surface: str, tmp: Path) -> Transcript:
    """The transcript of a journey that went as the table says; else `JourneyFailed`."""
    transcript = Transcript(journey, surface)
    async with SURFACES[surface](journey, tmp) as chat:
        for number, step in enumerate(journey.steps, start=1):
            try:
                did, saw = await _act(chat, step, transcript.waiting())
            except Mismatch as e:
                raise JourneyFailed(transcript, number, str(e)) from None
            record = StepRecord(number, step, did, saw, chat.asked())
            transcript.steps.append(record)
            problems = check_step(journey, record)
            if problems:
                raise JourneyFailed(transcript, number, "; ".join(problems))
        try:
            transcript.ending = await chat.finish()
        except Mismatch as e:
            raise JourneyFailed(transcript, None, str(e)) from None
    problems = check_ending(journey, transcript.ending)
    if problems:
        raise JourneyFailed(transcript, None, "; ".join(problems))
    return transcript


async def _act(chat: Surface, step: Step, asked: Asked | None) -> tuple[str, str]:
    if step.kind == "choose":
        if asked is None:
            raise Mismatch("no question has been asked yet")
        return await chat.choose(asked, pick(asked, step.labels, step.multi))
    act = {"start": chat.start, "type": chat.type, "picture": chat.picture}[step.kind]
    return "", await act(step.text)
